//! The products flow in the real `plumbd`, between the Shopify sandbox and the ERP double:
//! ERP changes to the fields the ERP owns reach Shopify, nothing Shopify owns is ever
//! written (a description edited in Shopify survives a price sync), an edit made in
//! Shopify to an ERP-owned field is reverted or reported as configured, and a SKU on two
//! variants is a dead letter.

use plumb_common::protocol::{DeadLetterSelection, Request, Response};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET, eventually};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::faults::FaultConfig;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;

const MUG: &str = "MUG-1";
const DESCRIPTION: &str = "<p>Thrown by hand in Stoke.</p>";

/// Polls fast and retries fast, so the tests wait for little; ends in `[products]`, so a
/// test's extra keys land there.
const FAST: &str = "\n[queue]\nbackoff_base = \"50ms\"\nbackoff_cap = \"200ms\"\n\
                    [flows.inventory]\nenabled = false\n\
                    [fulfilment]\npoll_interval = \"1h\"\n\
                    [products]\npoll_interval = \"100ms\"\n";

/// A shop with the Mug (described, 12.50), the same product in the ERP under another
/// name, the agent between them, subscribed to `products/update`.
struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    double: ErpDouble,
    agent: Agent,
    product: u64,
}

impl Setup {
    async fn start(extra: &str) -> Setup {
        let sandbox = Sandbox::start(SandboxConfig {
            app_secret: WEBHOOK_SECRET.to_owned(),
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox");
        let admin = sandbox.admin();
        let product = admin
            .add_product("Mug", &[(MUG, Decimal::new(1250, 2))])
            .product_id;
        admin.edit_product(product, |p, _| p.description_html = DESCRIPTION.to_owned());
        let double = ErpDouble::start().await;
        double.add_product(MUG, "Stoneware mug 350 ml", "12.50", None);
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = agent_toml(
            dir.path(),
            &sandbox,
            &double.settings(),
            &[],
            &format!("{FAST}{extra}"),
        );
        let agent = Agent::start(dir.path(), &toml);
        let url = format!("http://{}/webhooks/shopify", agent.webhook_address);
        admin.subscribe("products/update", &url);
        // The first poll takes the ERP's cursor: changes made after it are followed.
        eventually(&agent, "the products poller's first run", || {
            agent
                .stderr()
                .contains("ERP product changes are followed from now on")
        })
        .await;
        Setup {
            _dir: dir,
            sandbox,
            double,
            agent,
            product,
        }
    }

    /// (title, description, price, cost) of the Mug in Shopify.
    fn shopify(&self) -> (String, String, Decimal, Option<Decimal>) {
        self.sandbox.admin().with_state(|state| {
            let product = &state.products[&self.product];
            let variant = &state.variants[&product.variants[0]];
            let cost = state.items[&variant.inventory_item_id].cost;
            (
                product.title.clone(),
                product.description_html.clone(),
                variant.price,
                cost,
            )
        })
    }

    fn price(&self) -> Decimal {
        self.shopify().2
    }

    /// A merchant sets the Mug's price in the Shopify admin.
    fn edit_price_in_shopify(&self, price: Decimal) {
        self.sandbox
            .admin()
            .edit_product(self.product, |_, variants| variants[0].price = price);
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erp_price_and_cost_reach_shopify_and_nothing_shopify_owns_is_written() {
    let setup = Setup::start("").await;
    setup.double.set_price(MUG, "14.00");
    setup.double.set_cost(MUG, "5.25");
    eventually(&setup.agent, "price and cost reach Shopify", || {
        let (_, _, price, cost) = setup.shopify();
        price == dec("14.00") && cost == Some(dec("5.25"))
    })
    .await;
    // The title is Shopify's by default: the ERP's name is not written.
    assert_eq!(
        setup.shopify(),
        (
            "Mug".to_owned(),
            DESCRIPTION.to_owned(),
            dec("14.00"),
            Some(dec("5.25"))
        )
    );

    // A merchant rewrites the description; the next price sync leaves it as they wrote it.
    let edited = "<p>Now dishwasher safe.</p>";
    setup
        .sandbox
        .admin()
        .edit_product(setup.product, |p, _| p.description_html = edited.to_owned());
    setup.double.set_price(MUG, "15.00");
    eventually(&setup.agent, "the second price reaches Shopify", || {
        setup.price() == dec("15.00")
    })
    .await;
    let (title, description, _, _) = setup.shopify();
    assert_eq!((title.as_str(), description.as_str()), ("Mug", edited));
    assert_eq!(setup.agent.status().await.dead_letters, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_title_is_written_when_the_erp_owns_it() {
    let setup = Setup::start("[ownership]\nerp = [\"title\"]\nshopify = [\"description\"]\n").await;
    setup.double.set_title(MUG, "Stoneware mug 400 ml");
    eventually(&setup.agent, "the ERP's title reaches Shopify", || {
        setup.shopify().0 == "Stoneware mug 400 ml"
    })
    .await;
    assert_eq!(setup.shopify().1, DESCRIPTION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_edited_in_shopify_is_reverted_by_default() {
    let setup = Setup::start("").await;
    setup.double.set_price(MUG, "14.00");
    eventually(&setup.agent, "the ERP price reaches Shopify", || {
        setup.price() == dec("14.00")
    })
    .await;
    setup.edit_price_in_shopify(dec("9.99"));
    eventually(
        &setup.agent,
        "the edit is reverted to the ERP's price",
        || {
            setup.price() == dec("14.00")
                && setup
                    .agent
                    .stderr()
                    .contains("writing the ERP's values back")
        },
    )
    .await;
    assert_eq!(setup.agent.status().await.dead_letters, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_edited_in_shopify_is_reported_when_configured_and_a_retry_writes_the_erp_price() {
    let setup = Setup::start("on_conflict = \"report\"\n").await;
    setup.double.set_price(MUG, "14.00");
    eventually(&setup.agent, "the ERP price reaches Shopify", || {
        setup.price() == dec("14.00")
    })
    .await;
    setup.edit_price_in_shopify(dec("9.99"));
    let (summary, detail) = setup.agent.dead_letter("owned_field_edited").await;
    let message = &detail.summary.message;
    assert!(
        message.contains("price: Shopify has 9.99, the ERP 14.00"),
        "{message}"
    );
    assert_eq!(setup.price(), dec("9.99"), "reported, not reverted");

    // The person decides for the ERP: retrying writes its price.
    let mut control = Control::connect(&setup.agent.socket(), false)
        .await
        .expect("connect");
    let answer = control
        .request(Request::RetryDeadLetters {
            selection: DeadLetterSelection::Ids {
                ids: vec![summary.id],
            },
        })
        .await
        .expect("retry");
    assert_eq!(answer, Response::Affected { count: 1 });
    eventually(&setup.agent, "the retry writes the ERP's price", || {
        setup.price() == dec("14.00")
    })
    .await;
}

/// (handle, status, title, price, SKU) of every product carrying `sku`.
fn products_with(sandbox: &Sandbox, sku: &str) -> Vec<(String, String, String, Decimal)> {
    sandbox.admin().with_state(|state| {
        state
            .variants
            .values()
            .filter(|v| v.sku == sku)
            .map(|v| {
                let p = &state.products[&v.product_id];
                (p.handle.clone(), p.status.clone(), p.title.clone(), v.price)
            })
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_erp_product_is_created_only_when_allowed_and_once_whatever_the_lost_answers() {
    // Not allowed (the default): a new ERP product is left out of Shopify.
    let setup = Setup::start("").await;
    setup
        .double
        .add_product("LAMP-1", "Desk lamp", "48.00", None);
    setup.double.set_price(MUG, "14.00");
    eventually(&setup.agent, "the Mug's price reaches Shopify", || {
        setup.price() == dec("14.00")
    })
    .await;
    assert!(products_with(&setup.sandbox, "LAMP-1").is_empty());
    drop(setup);

    // Allowed: created once as a draft, although every answer to it is lost at first.
    let setup = Setup::start("create_missing = true\n").await;
    setup.sandbox.admin().set_faults(FaultConfig {
        response_lost: 1.0,
        ..FaultConfig::default()
    });
    setup
        .double
        .add_product("LAMP-1", "Desk lamp", "48.00", Some("4006381333931"));
    eventually(
        &setup.agent,
        "the product is created (its answer lost)",
        || !products_with(&setup.sandbox, "LAMP-1").is_empty(),
    )
    .await;
    // Let the job retry a few times into lost answers, then let the answers through.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    setup.sandbox.admin().set_faults(FaultConfig::default());
    eventually(&setup.agent, "the creation job completes", || {
        setup
            .agent
            .stderr()
            .contains("ERP product created in Shopify as a draft")
    })
    .await;
    assert_eq!(
        products_with(&setup.sandbox, "LAMP-1"),
        vec![(
            "plumb-lamp-1".to_owned(),
            "DRAFT".to_owned(),
            "Desk lamp".to_owned(),
            dec("48.00")
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_on_two_shopify_variants_is_a_dead_letter_and_nothing_is_guessed() {
    let setup = Setup::start("").await;
    let twin = setup
        .sandbox
        .admin()
        .add_product("Mug (copy)", &[(MUG, Decimal::new(1100, 2))]);
    setup.double.set_price(MUG, "14.00");
    let (_, detail) = setup.agent.dead_letter("duplicate_sku").await;
    assert!(
        detail
            .summary
            .message
            .contains(&twin.variants[0].variant_id.to_string()),
        "{}",
        detail.summary.message
    );
    assert_eq!(setup.price(), dec("12.50"));
    let twin_price = setup
        .sandbox
        .admin()
        .with_state(|state| state.variants[&twin.variants[0].variant_id].price);
    assert_eq!(twin_price, dec("11.00"));
}
