//! The real Tryton connector against the ERP double: the contract end to end, and the
//! faults a real ERP cannot be made to produce on demand (a lost answer, an outage, a slow
//! server, a business refusal, throttling), each classified right and leaving exactly one
//! document behind. Also `plumbd`'s start-up check, run by the real binary.

use std::time::{Duration, Instant};

use plumb_agent::erp::{Cursor, Erp, ErpError, SalesOrderRef, Selection};
use plumb_common::{ErrorClass, Sku};
use plumb_tests::agent::Agent;
use plumb_tests::erp::double::{ErpDouble, Fault};
use plumb_tests::erp::orders::{dec, line, ny_state, order, refund, refund_line, refund_split};

async fn double() -> ErpDouble {
    let double = ErpDouble::start().await;
    double.seed_products(5, 10, 5);
    double
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_runs_the_whole_contract_against_the_double() {
    let double = double().await;
    let tryton = double.connector();
    let mut cursor = tryton.stock_cursor().await.unwrap();

    let sale = order(
        1001,
        "WH-EAST",
        vec![line("SKU-0001", 3, "11.00", "2.00", vec![ny_state("1.24")])],
    );
    assert!(tryton.create_sales_order(&sale).await.unwrap().created);
    assert!(!tryton.create_sales_order(&sale).await.unwrap().created);
    let booked = tryton.sales_order(1001).await.unwrap().expect("booked");
    assert_eq!(booked.untaxed, dec("36.00"));
    assert_eq!(booked.tax, dec("1.44"));

    let changes = tryton
        .stock_changes(&cursor, &["WH-EAST".into(), "WH-WEST".into()])
        .await
        .unwrap();
    cursor = changes.cursor;
    assert_eq!(changes.levels.len(), 1, "{:?}", changes.levels);
    assert_eq!(changes.levels[0].sku.as_str(), "SKU-0001");
    assert_eq!(
        (changes.levels[0].on_hand, changes.levels[0].available),
        (dec("10"), dec("7"))
    );

    double.ship(1001, "1ZDOUBLE");
    let shipped = tryton.shipments_since(&Cursor::default()).await.unwrap();
    assert_eq!(shipped.shipments.len(), 1);
    assert_eq!(
        shipped.shipments[0].tracking_number.as_deref(),
        Some("1ZDOUBLE")
    );
    assert_eq!(
        shipped.shipments[0].carrier.as_deref(),
        Some("Plumb Parcel")
    );
    assert_eq!(shipped.shipments[0].shopify_order_id, Some(1001));
    let changes = tryton
        .stock_changes(&cursor, &["WH-EAST".into()])
        .await
        .unwrap();
    assert_eq!(changes.levels[0].on_hand, dec("7"));

    let credited = tryton
        .record_refund(&refund(
            5001,
            1001,
            vec![refund_line("SKU-0001", 1, "11.00", Some("WH-WEST"))],
        ))
        .await
        .unwrap();
    assert_eq!(credited.credited, dec("-11.00"));
    assert!(
        credited.credit_notes().len() == 1 && credited.credit_notes()[0].starts_with("CN"),
        "{credited:?}"
    );
    assert_eq!(double.on_hand("SKU-0001", "WH-WEST"), dec("6"));

    let skus = [Sku::new("SKU-0002").unwrap()];
    let products = tryton.products(Selection::Skus(&skus)).await.unwrap();
    assert_eq!(products[0].price, dec("12.00"));
    assert!(tryton.health().await.unwrap().version.contains("double"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_on_create_still_books_exactly_one_order_after_the_retry() {
    let double = double().await;
    let tryton = double.connector();
    let sale = order(
        2001,
        "WH-EAST",
        vec![line("SKU-0002", 1, "12.00", "0", vec![])],
    );
    double.inject("model.sale.sale.create", Fault::LoseResponse, 1);
    let lost = tryton.create_sales_order(&sale).await.unwrap_err();
    assert_eq!(lost.class(), ErrorClass::Transient, "{lost}");
    assert_eq!(double.sales().len(), 1, "the ERP did create it");
    // the queue retries the job
    let retried = tryton.create_sales_order(&sale).await.unwrap();
    assert!(!retried.created);
    let sales = double.sales();
    assert_eq!(sales.len(), 1, "{sales:?}");
    assert_eq!(sales[0].reference, "shopify:2001");
    assert_eq!(
        sales[0].state, "processing",
        "the retry finished the half-done sale"
    );
    assert_eq!(
        sales[0].lines[0],
        ("SKU-0002".into(), dec("1"), dec("12.00"))
    );
    assert_eq!(double.calls("model.sale.sale.create"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_between_two_restock_warehouses_books_each_return_once() {
    let double = double().await;
    let tryton = double.connector();
    tryton
        .create_sales_order(&order(
            4001,
            "WH-EAST",
            vec![line("SKU-0004", 3, "14.00", "0", vec![])],
        ))
        .await
        .unwrap();
    let refund = refund(
        6001,
        4001,
        vec![
            refund_line("SKU-0004", 2, "14.00", Some("WH-WEST")),
            refund_line("SKU-0004", 1, "14.00", Some("WH-EAST")),
        ],
    );
    let refunds = |double: &ErpDouble| {
        let mut references: Vec<String> = double
            .sales()
            .into_iter()
            .map(|s| s.reference)
            .filter(|r| r.starts_with("shopify-refund:"))
            .collect();
        references.sort();
        references
    };
    // WH-EAST's credit note is posted, the answer is lost: WH-WEST is never reached
    double.inject("model.account.invoice.post", Fault::LoseResponse, 1);
    let lost = tryton.record_refund(&refund).await.unwrap_err();
    assert_eq!(lost.class(), ErrorClass::Transient, "{lost}");
    assert_eq!(refunds(&double), vec!["shopify-refund:6001:WH-EAST"]);

    // the queue retries the job: only WH-WEST is booked
    let retried = tryton.record_refund(&refund).await.unwrap();
    assert!(retried.created);
    assert_eq!(retried.credited, dec("-42.00"));
    assert_eq!(
        refund_split(&retried),
        vec![
            (Some("WH-EAST"), dec("-14.00"), false),
            (Some("WH-WEST"), dec("-28.00"), true),
        ]
    );
    assert_eq!(retried.credit_notes().len(), 2, "{retried:?}");
    assert_eq!(
        refunds(&double),
        vec!["shopify-refund:6001:WH-EAST", "shopify-refund:6001:WH-WEST"]
    );
    assert_eq!(double.on_hand("SKU-0004", "WH-EAST"), dec("11"));
    assert_eq!(double.on_hand("SKU-0004", "WH-WEST"), dec("7"));

    let again = tryton.record_refund(&refund).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.credit_notes(), retried.credit_notes());
    assert_eq!(
        double.calls("model.sale.sale.create"),
        3,
        "order + 2 returns"
    );
    assert_eq!(double.on_hand("SKU-0004", "WH-WEST"), dec("7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_and_slowness_are_transient() {
    let double = double().await;
    let tryton = double.connector();
    tryton.health().await.unwrap();
    for (fault, cause) in [
        (Fault::Status(503), "erp_unavailable"),
        (Fault::Status(504), "erp_timeout"),
        (Fault::Status(429), "erp_throttled"),
        (Fault::Refuse, "erp_unavailable"),
    ] {
        double.inject("*", fault.clone(), 1);
        let error = tryton.warehouses().await.unwrap_err();
        assert_eq!(
            (error.class(), error.cause()),
            (ErrorClass::Transient, cause),
            "{fault:?}: {error}"
        );
    }
    let mut settings = double.settings();
    settings.timeout = Duration::from_millis(200);
    let impatient = plumb_agent::erp::tryton::Tryton::new(settings).unwrap();
    impatient.health().await.unwrap();
    double.inject("*", Fault::Delay(Duration::from_secs(2)), 1);
    let error = impatient.warehouses().await.unwrap_err();
    assert_eq!(error.cause(), "erp_timeout", "{error}");

    double.shut_down();
    let error = tryton.warehouses().await.unwrap_err();
    assert!(matches!(error, ErpError::Unavailable(_)), "{error}");
    let failure: plumb_agent::store::Failure = error.into();
    assert_eq!(failure.class, ErrorClass::Transient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_error_is_permanent_and_a_retry_after_the_fix_books_one_order() {
    let double = double().await;
    let tryton = double.connector();
    let sale = order(
        3001,
        "WH-EAST",
        vec![line("SKU-0003", 1, "13.00", "0", vec![])],
    );
    double.inject(
        "model.sale.sale.quote",
        Fault::UserError("The customer is blocked.".into()),
        1,
    );
    let error = tryton.create_sales_order(&sale).await.unwrap_err();
    assert_eq!(error, ErpError::Rejected("The customer is blocked.".into()));
    let failure: plumb_agent::store::Failure = error.into();
    assert_eq!(
        (failure.class, failure.cause.as_str()),
        (ErrorClass::Permanent, "erp_rejected")
    );
    assert!(failure.message.contains("The customer is blocked."));
    // someone fixed it in the ERP and retried the dead letter
    let booked = tryton.create_sales_order(&sale).await.unwrap();
    assert!(!booked.created);
    assert_eq!(double.sales().len(), 1);
    assert_eq!(double.sales()[0].state, "processing");
}

/// An order from a customer the ERP does not know yet, so booking it creates a party.
fn new_customer_order(shopify_order_id: u64) -> plumb_agent::erp::SalesOrder {
    let mut sale = order(
        shopify_order_id,
        "WH-EAST",
        vec![line("SKU-0003", 1, "13.00", "0", vec![])],
    );
    sale.customer.email = Some(format!("new-{shopify_order_id}@example.com"));
    sale
}

/// Books a new customer's order while the double refuses the first party create with
/// Tryton's `message`: the double, and what the booking came to.
async fn book_with_party_refused(
    shopify_order_id: u64,
    message: &str,
) -> (ErpDouble, Result<SalesOrderRef, ErpError>) {
    let double = double().await;
    let fault = Fault::UserError(message.into());
    double.inject("model.party.party.create", fault, 1);
    let sale = new_customer_order(shopify_order_id);
    let booked = double.connector().create_sales_order(&sale).await;
    (double, booked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_create_that_loses_a_race_is_looked_up_and_created_again() {
    // What Tryton on SQLite answers when two parties drew the same code at once.
    let (double, booked) = book_with_party_refused(3002, "The code on party must be unique.").await;
    assert!(booked.unwrap().created);
    // The double counts the calls it carried out: the refused one is not among them.
    assert_eq!(double.calls("model.party.party.create"), 1);
    assert_eq!(double.sales().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_party_is_refused_for_good() {
    let (double, booked) =
        book_with_party_refused(3003, "The name of the party is not valid.").await;
    let error = booked.unwrap_err();
    assert_eq!(
        error,
        ErpError::Rejected("The name of the party is not valid.".into())
    );
    // Refused once and not tried again: the double carried out no create.
    assert_eq!(double.calls("model.party.party.create"), 0);
    assert!(double.sales().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_logs_in_again_once() {
    let double = double().await;
    let tryton = double.connector();
    tryton.warehouses().await.unwrap();
    tryton.warehouses().await.unwrap();
    assert_eq!(double.calls("common.db.login"), 1, "one login per session");
    double.expire_sessions();
    tryton.warehouses().await.unwrap();
    assert_eq!(double.calls("common.db.login"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plumbd_reports_unmapped_and_missing_warehouses_at_start() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("erp-password");
    std::fs::write(&password, plumb_tests::erp::double::PASSWORD).unwrap();
    let extra = format!(
        r#"[erp]
kind = "tryton"
url = "{url}"
database = "plumb"
user = "admin"
password = {{ file = "{password}" }}

[[locations]]
erp_warehouse = "WH-EAST"
shopify_location = 1

[[locations]]
erp_warehouse = "WH-GONE"
shopify_location = 2
"#,
        url = double.url(),
        password = password.display()
    );
    let agent = start_until_logged(dir.path(), extra, "WH-GONE").await;
    let log = agent.stderr();
    assert!(log.contains("WH-GONE") && log.contains("WH-WEST"), "{log}");
    assert!(!log.contains("\"WH-EAST\" has no"), "{log}");
}

/// Starts `plumbd` in `dir` with `extra` configuration (off the runtime: it blocks) and
/// waits up to 30 s for its log to mention `text`.
async fn start_until_logged(dir: &std::path::Path, extra: String, text: &str) -> Agent {
    let agent = tokio::task::spawn_blocking({
        let dir = dir.to_owned();
        move || Agent::start(&dir, &extra)
    })
    .await
    .expect("plumbd starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !agent.stderr().contains(text) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    agent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plumbd_starts_when_the_erp_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("erp-password");
    std::fs::write(&password, "x").unwrap();
    let port = plumb_tests::agent::free_port();
    let extra = format!(
        "[erp]\nkind = \"tryton\"\nurl = \"http://127.0.0.1:{port}\"\ndatabase = \"plumb\"\nuser = \"admin\"\npassword = {{ file = \"{}\" }}\n",
        password.display()
    );
    let agent = start_until_logged(dir.path(), extra, "ERP check could not run").await;
    assert!(
        agent.stderr().contains("ERP check could not run"),
        "{}",
        agent.stderr()
    );
    assert!(agent.pid().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_are_asked_for_gzipped_and_decoded() {
    let double = ErpDouble::start().await;
    for n in 0..80 {
        double.add_product(
            &format!("BULK-{n:03}"),
            &format!("A product with a long enough title {n}"),
            "9.99",
            Some("4006381333931"),
        );
    }
    let products = double.connector().products(Selection::All).await.unwrap();
    assert_eq!(products.len(), 80);
    assert!(
        products
            .iter()
            .all(|p| p.barcode.as_deref() == Some("4006381333931"))
    );
    assert!(
        double.gzipped_answers() > 0,
        "the connector did not ask for gzip"
    );
}
