//! Plumb's own Shopify orders (`tests/fixtures/shopify/orders`), mapped by the orders flow
//! and booked into a real Tryton: the sale comes to Shopify's total to the cent, and so do
//! its untaxed amount and its tax, although Tryton recomputes every tax from its rate.

use serde_json::{Value, json};

use plumb_agent::config::LocationMapping;
use plumb_agent::erp::{Erp, SalesOrder};
use plumb_agent::flows::orders::mapping::{OrderRules, sales_order};
use plumb_agent::flows::orders::payload::OrderPayload;
use plumb_common::{Decimal, Sku};
use plumb_tests::tryton::{Clerk, TrytonServer};

macro_rules! own {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../fixtures/shopify/orders/", $name)),
        )
    };
}

const ORDERS: [(&str, &str); 7] = [
    own!("discounts_split.json"),
    own!("taxes_included.json"),
    own!("gift_cards.json"),
    own!("presentment_eur.json"),
    own!("deleted_product.json"),
    own!("big_ids.json"),
    own!("shipping_discount.json"),
];

/// WH-EAST at location 6001, WH-WEST at big_ids.json's location; gift cards on GIFT-CARD.
fn rules() -> OrderRules {
    let locations = [("WH-EAST", 6001), ("WH-WEST", 9_007_199_254_741_005)];
    OrderRules {
        locations: locations
            .into_iter()
            .map(|(warehouse, location)| LocationMapping {
                erp_warehouse: warehouse.into(),
                shopify_location: location,
            })
            .collect(),
        gift_card_sku: Sku::new("GIFT-CARD").ok(),
        ..OrderRules::default()
    }
}

/// Shopify's total and tax of an order body, in shop money.
fn shopify_figures(payload: &OrderPayload) -> (Decimal, Decimal) {
    let tax = payload
        .total_tax_set
        .as_ref()
        .map_or(Decimal::ZERO, |t| t.shop_money.amount);
    (payload.total_price_set.shop_money.amount, tax)
}

fn mapped(body: &str) -> (OrderPayload, SalesOrder) {
    let payload = OrderPayload::parse(body).expect("parses");
    let sale = sales_order(&payload, &rules()).expect("maps");
    (payload, sale)
}

/// The description of the sale booked for a Shopify order.
async fn description(clerk: &Clerk<'_>, erp: &impl Erp, shopify_order_id: u64) -> Value {
    let sale = erp
        .sales_order(shopify_order_id)
        .await
        .ok()
        .flatten()
        .and_then(|sale| sale.reference.erp_id.parse::<i64>().ok())
        .expect("a booked sale");
    clerk.read("sale.sale", &[sale], &["description"]).await[0]["description"].clone()
}

/// One test, the orders one after the other: they share a customer, and the last step
/// changes the company's tax rounding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_own_order_books_to_shopifys_total_untaxed_and_tax() {
    let server = TrytonServer::shared();
    let erp = server.connector();
    for (name, body) in ORDERS {
        let (payload, sale) = mapped(body);
        let (total, tax) = shopify_figures(&payload);
        let booked = erp
            .create_sales_order(&sale)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(booked.created, "{name}");
        let read = erp
            .sales_order(sale.shopify_order_id)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: not booked"));
        assert_eq!(
            (read.total, read.untaxed, read.tax),
            (total, total - tax, tax),
            "{name}: Tryton's (total, untaxed, tax) against Shopify's"
        );
        assert_eq!(read.shopify_order_id, payload.id, "{name}");
        assert_eq!(read.currency.as_str(), "USD", "{name}");
    }

    let clerk = Clerk::new(server);
    assert_eq!(
        description(&clerk, &erp, 5504).await,
        json!("Shopify order #1504, presented in EUR 34.72, paid by shopify_payments")
    );
    assert_eq!(
        description(&clerk, &erp, 5503).await,
        json!("Shopify order #1503, paid by gift_card, shopify_payments")
    );
    let gift_cards = erp.sales_order(5503).await.unwrap().unwrap();
    let skus: Vec<Option<&str>> = gift_cards
        .lines
        .iter()
        .map(|l| l.sku.as_ref().map(Sku::as_str))
        .collect();
    assert_eq!(skus, vec![Some("SKU-0001"), Some("GIFT-CARD"), None]);
    let big = erp
        .sales_order(9_007_199_254_740_993)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(big.warehouse.as_deref(), Some("WH-WEST"));

    // Why the company rounds tax per line: with Tryton's default, per document, the three
    // lines of discounts_split are taxed together (50.00 x 4 % = 2.00) where Shopify
    // rounded each (3 x 0.67 = 2.01), and the sale is a cent short.
    let company_rounding = |rounding: &'static str| {
        let clerk = &clerk;
        async move {
            clerk
                .call(
                    "account.configuration",
                    "write",
                    vec![json!([1]), json!({"tax_rounding": rounding})],
                )
                .await;
        }
    };
    company_rounding("document").await;
    let (payload, mut sale) = mapped(ORDERS[0].1);
    sale.shopify_order_id = 5591;
    let booked = erp.create_sales_order(&sale).await;
    company_rounding("line").await;
    booked.expect("books");
    let read = erp.sales_order(5591).await.unwrap().unwrap();
    let (total, tax) = shopify_figures(&payload);
    assert_eq!(
        (read.total, read.tax),
        (total - Decimal::new(1, 2), tax - Decimal::new(1, 2))
    );
}
