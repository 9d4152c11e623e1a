//! End to end with a real Tryton: a list price and a barcode corrected in Tryton by a user
//! reach the Shopify variant through the real `plumbd`; the title and the description,
//! Shopify's by default, are left as Shopify has them. (Tryton changes the cost price of a
//! stocked product only through its "Modify Cost Price" wizard; the cost path is tested
//! against the ERP double.)

use plumb_tests::agent::{Agent, WEBHOOK_SECRET, eventually};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::Decimal;
use serde_json::json;

const SKU: &str = "SKU-0038";
const EAN: &str = "4006381333931";

fn decimal(text: &str) -> serde_json::Value {
    json!({"__class__": "Decimal", "decimal": text})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_and_barcode_edited_in_tryton_reach_the_shopify_variant() {
    let server = TrytonServer::shared();
    let clerk = Clerk::new(server);
    let sandbox = Sandbox::start(SandboxConfig {
        app_secret: WEBHOOK_SECRET.to_owned(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let admin = sandbox.admin();
    let created = admin.add_product("Desk lamp", &[(SKU, Decimal::new(4800, 2))]);
    admin.edit_product(created.product_id, |p, _| {
        p.description_html = "<p>Warm light.</p>".to_owned();
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[queue]\nbackoff_base = \"100ms\"\nbackoff_cap = \"1s\"\n\
                 [flows.inventory]\nenabled = false\n\
                 [products]\npoll_interval = \"200ms\"\n";
    let agent = Agent::start(
        dir.path(),
        &agent_toml(dir.path(), &sandbox, &server.settings(), &[], extra),
    );
    eventually(&agent, "the products poller's first run", || {
        agent
            .stderr()
            .contains("ERP product changes are followed from now on")
    })
    .await;

    let product = server.product(SKU);
    let rows = clerk
        .read("product.product", &[product], &["template"])
        .await;
    let template = rows[0]["template"].as_i64().expect("a template");
    clerk
        .call(
            "product.template",
            "write",
            vec![json!([template]), json!({"list_price": decimal("52.50")})],
        )
        .await;

    let variant = created.variants[0].variant_id;
    let item = created.variants[0].inventory_item_id;
    let seen = || {
        admin.with_state(|state| {
            let v = &state.variants[&variant];
            let p = &state.products[&created.product_id];
            (
                v.price,
                state.items[&item].cost,
                v.barcode.clone(),
                p.title.clone(),
                p.description_html.clone(),
            )
        })
    };
    eventually(&agent, "the price reaches Shopify", || {
        seen().0 == Decimal::new(5250, 2)
    })
    .await;
    // Then a barcode alone (only product.identifier is written): its own change.
    // The seed gives the product a barcode: a user corrects it.
    let identifiers = clerk
        .call(
            "product.identifier",
            "search",
            vec![
                json!([["product", "=", product]]),
                json!(0),
                json!(null),
                json!(null),
            ],
        )
        .await;
    clerk
        .call(
            "product.identifier",
            "write",
            vec![identifiers, json!({"code": EAN})],
        )
        .await;
    eventually(&agent, "the barcode reaches Shopify", || {
        seen().2.as_deref() == Some(EAN)
    })
    .await;
    let (_, cost, _, title, description) = seen();
    // The seeded product's cost price is unset (0 in Tryton): no cost is written.
    assert_eq!(cost, None);
    assert_eq!(
        (title.as_str(), description.as_str()),
        ("Desk lamp", "<p>Warm light.</p>")
    );
}
