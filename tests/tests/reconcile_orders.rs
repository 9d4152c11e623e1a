//! The orders dimension end to end: the real `plumbd` between the Shopify sandbox and the
//! ERP double. Orders are booked through the orders flow (webhooks delivered by the test);
//! then one order never reaches the agent, one is cancelled in Shopify with the webhook
//! lost, and one gets a second sale in the ERP. A dry run must find exactly those three and
//! write nothing; a repairing run books the missing one and cancels what Tryton lets it
//! cancel of the other, through the orders flow's own sync jobs.

use std::collections::BTreeSet;

use plumb_common::FlowKind;
use plumb_common::protocol::{Mismatch, ParityDimension, Request, Response};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::reconcile::{
    ask, eventually, finished_run, flow_idle, live_jobs, mismatches, shop, start_agent,
};
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::{Sandbox, payloads};
use plumb_tests::webhooks::{Delivery, Sender};
use rust_decimal::Decimal;

const SKU: &str = "MUG-1";

fn sales_of(double: &ErpDouble, order: u64) -> Vec<String> {
    let reference = format!("shopify:{order}");
    double
        .sales()
        .into_iter()
        .filter(|sale| sale.reference == reference)
        .map(|sale| sale.state)
        .collect()
}

/// (kind, order, repairable) of each mismatch.
fn kinds(found: &[Mismatch]) -> BTreeSet<(String, String, bool)> {
    found
        .iter()
        .map(|m| (m.kind.clone(), m.subject.clone(), m.repair.is_some()))
        .collect()
}

/// The sandbox, the ERP double and the agent, with `delivered` orders placed and booked
/// through the orders flow (their webhooks delivered by the test) and `lost` placed with
/// no webhook at all.
struct Booked {
    sandbox: Sandbox,
    double: ErpDouble,
    agent: Agent,
    _dir: tempfile::TempDir,
    delivered: Vec<u64>,
    lost: Vec<u64>,
}

async fn booked(delivered: usize, lost: usize) -> Booked {
    let (sandbox, locations) = shop(&["East"]).await;
    let east = locations[0];
    let admin = sandbox.admin();
    let product = admin.add_product("Mug", &[(SKU, Decimal::new(1250, 2))]);
    let variant = product.variants[0].variant_id;
    admin.stock(product.variants[0].inventory_item_id, east, 100);
    let double = ErpDouble::start().await;
    double.add_product(SKU, "Mug", "12.50", None);
    double.set_stock(SKU, "WH-EAST", 100);
    // The backfill's first poll only sets its cursor; the next is an hour away, so only
    // the reconciler finds what the webhooks missed.
    let extra = "\n[queue]\nbackoff_base = \"100ms\"\nbackoff_cap = \"1s\"\n\
                 [flows.inventory]\nenabled = false\n[flows.fulfilment]\nenabled = false\n\
                 [orders]\nbackfill_interval = \"1h\"\n\
                 [reconcile]\nenabled = false\nbulk_poll_interval = \"100ms\"\n";
    let (dir, agent) = start_agent(&sandbox, &double.settings(), &[("WH-EAST", east)], extra);
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let place = || {
        admin
            .place_order(&OrderSpec {
                lines: vec![(variant, 1)],
                location_id: Some(east),
                email: "buyer@example.com".to_owned(),
                paid: true,
            })
            .expect("place")
    };
    let delivered: Vec<u64> = (0..delivered).map(|_| place()).collect();
    let lost: Vec<u64> = (0..lost).map(|_| place()).collect();
    for &order in &delivered {
        let body = admin.with_state(|state| payloads::order(state, order, "orders/create"));
        let status = sender
            .send(&Delivery {
                topic: "orders/create".to_owned(),
                event_id: format!("create-{order}"),
                body: serde_json::to_vec(&body).expect("json"),
            })
            .await
            .expect("deliver");
        assert_eq!(status, 200);
        eventually(&agent, "the order booked", || async {
            (sales_of(&double, order).len() == 1).then_some(())
        })
        .await;
    }
    flow_idle(&agent, FlowKind::Orders).await;
    Booked {
        sandbox,
        double,
        agent,
        _dir: dir,
        delivered,
        lost,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_duplicated_and_cancelled_orders_are_found_and_synced() {
    let booked = booked(3, 1).await;
    let (admin, double, agent) = (booked.sandbox.admin(), &booked.double, &booked.agent);
    let (delivered, lost) = (&booked.delivered, &booked.lost);
    // delivered[0] agrees on both sides
    let (cancelled, duplicated, missing) = (delivered[1], delivered[2], lost[0]);
    admin.cancel_order(cancelled, false).expect("cancel");
    double.duplicate_sale(duplicated);

    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("control");
    let run = finished_run(agent, &mut control, Request::Reconcile { dry_run: true }).await;
    let figures = run.dimension(ParityDimension::Orders).expect("orders");
    assert_eq!((figures.checked, figures.mismatched), (4, 3), "{run:#?}");
    assert_eq!(figures.repairable, 2);
    let found = mismatches(&mut control, run.id, ParityDimension::Orders).await;
    let listed = kinds(&found);
    assert_eq!(
        listed,
        BTreeSet::from([
            ("missing_in_erp".to_owned(), missing.to_string(), true),
            ("state_mismatch".to_owned(), cancelled.to_string(), true),
            (
                "duplicated_in_erp".to_owned(),
                duplicated.to_string(),
                false
            ),
        ]),
        "{found:#?}"
    );
    let state = found
        .iter()
        .find(|m| m.kind == "state_mismatch")
        .expect("state");
    assert!(
        state
            .shopify
            .as_deref()
            .is_some_and(|s| s.starts_with("cancelled, updated ")),
        "{state:#?}"
    );
    assert!(
        state.erp.as_deref().is_some_and(|e| e.ends_with(" open")),
        "{state:#?}"
    );

    // The dry run wrote nothing: no sale for the missing order, no job for the flow.
    assert!(sales_of(double, missing).is_empty());
    let jobs = live_jobs(&mut control, FlowKind::Orders).await;
    assert!(jobs.is_empty(), "{jobs:#?}");
    let cancels = double.calls("model.stock.shipment.out.cancel");

    // Repair: the orders flow books the missing order and cancels the cancelled one (Tryton
    // keeps a processing sale and cancels its shipment).
    let repairing = finished_run(agent, &mut control, Request::Reconcile { dry_run: false }).await;
    assert_eq!(
        repairing
            .dimension(ParityDimension::Orders)
            .map(|d| d.mismatched),
        Some(3)
    );
    eventually(agent, "the missing order booked", || async {
        (sales_of(double, missing).len() == 1).then_some(())
    })
    .await;
    eventually(
        agent,
        "the cancelled order's shipment cancelled",
        || async { (double.calls("model.stock.shipment.out.cancel") == cancels + 1).then_some(()) },
    )
    .await;
    flow_idle(agent, FlowKind::Orders).await;
    let stored = ask(
        &mut control,
        Request::ListMismatches(plumb_common::protocol::MismatchQuery {
            run: Some(repairing.id),
            dimension: Some(ParityDimension::Orders),
            kind: None,
            after: None,
            limit: 10,
        }),
    )
    .await;
    let Response::Mismatches(page) = stored else {
        panic!("unexpected answer: {stored:?}");
    };
    let repaired: BTreeSet<(String, bool)> = page
        .items
        .iter()
        .map(|m| (m.kind.clone(), m.repaired))
        .collect();
    assert_eq!(
        repaired,
        BTreeSet::from([
            ("missing_in_erp".to_owned(), true),
            ("state_mismatch".to_owned(), true),
            ("duplicated_in_erp".to_owned(), false),
        ])
    );

    // After: the missing order is in; the duplicate is for a person; the cancelled order's
    // sale stays open in Tryton, listed for a person now that the flow did what it can.
    let after = finished_run(agent, &mut control, Request::Reconcile { dry_run: true }).await;
    let found = mismatches(&mut control, after.id, ParityDimension::Orders).await;
    let listed = kinds(&found);
    assert_eq!(
        listed,
        BTreeSet::from([
            ("state_mismatch".to_owned(), cancelled.to_string(), false),
            (
                "duplicated_in_erp".to_owned(),
                duplicated.to_string(),
                false
            ),
        ]),
        "{found:#?}"
    );
    let figures = after.dimension(ParityDimension::Orders).expect("orders");
    assert_eq!((figures.checked, figures.mismatched), (4, 2));
    assert_eq!(figures.parity_percent, 50.0);
}

/// (kind, subject, Shopify's side, the ERP's side) of each mismatch.
fn figures(found: &[Mismatch]) -> BTreeSet<(String, String, Option<String>, Option<String>)> {
    found
        .iter()
        .map(|m| {
            (
                m.kind.clone(),
                m.subject.clone(),
                m.shopify.clone(),
                m.erp.clone(),
            )
        })
        .collect()
}

/// A money mismatch as [`figures`] lists it.
fn figure(
    kind: &str,
    subject: &str,
    shopify: &str,
    erp: &str,
) -> (String, String, Option<String>, Option<String>) {
    let owned = |text: &str| Some(text.to_owned());
    (
        kind.to_owned(),
        subject.to_owned(),
        owned(shopify),
        owned(erp),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_fulfilments_and_money_per_day_are_compared() {
    let booked = booked(4, 1).await;
    let (admin, double, agent) = (booked.sandbox.admin(), &booked.double, &booked.agent);
    let (delivered, lost) = (&booked.delivered, &booked.lost);
    let (taxed, refunded, by_hand, shipped, missing) = (
        delivered[0],
        delivered[1],
        delivered[2],
        delivered[3],
        lost[0],
    );
    // A refund whose webhook never came, goods fulfilled by hand in Shopify, goods the
    // ERP shipped that the (disabled) fulfilment flow never wrote.
    let line = admin.order(refunded).expect("order").line_items[0].id;
    admin
        .refund(refunded, &[(line, 1, "NO_RESTOCK", None)])
        .expect("refund");
    admin.fulfil_order(by_hand, None).expect("fulfil");
    double.ship(shipped, "1Z-ERP-ONLY");
    // A clerk adds a 4 % tax to one booked sale: money only, the order itself agrees.
    double.tax_sale(taxed, "NY State Tax");
    let day = admin.order(missing).expect("order").created_at.date_naive();
    let currency = admin.with_state(|state| state.currency.clone());

    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("control");
    let run = finished_run(agent, &mut control, Request::Reconcile { dry_run: true }).await;
    let orders = run.dimension(ParityDimension::Orders).expect("orders");
    assert_eq!((orders.checked, orders.mismatched), (5, 4), "{run:#?}");
    let found = mismatches(&mut control, run.id, ParityDimension::Orders).await;
    assert_eq!(
        kinds(&found),
        BTreeSet::from([
            ("missing_in_erp".to_owned(), missing.to_string(), true),
            ("refund_differs".to_owned(), refunded.to_string(), true),
            (
                "fulfilled_in_shopify_only".to_owned(),
                by_hand.to_string(),
                false
            ),
            ("shipped_in_erp_only".to_owned(), shipped.to_string(), false),
        ]),
        "{found:#?}"
    );
    let refund = found
        .iter()
        .find(|m| m.kind == "refund_differs")
        .expect("refund");
    assert!(
        refund.detail.contains("Shopify refunded 12.50") && refund.detail.contains("credited 0.00"),
        "{refund:#?}"
    );
    assert_eq!(
        refund.repair.as_deref(),
        Some(
            format!(
                "sync order {refunded} through the orders flow (book its refunds in the ERP, each once)"
            )
            .as_str()
        )
    );

    // Money of the day: five orders of 12.50 in Shopify, four booked, one of them with
    // 0.50 of tax added in the ERP; 12.50 refunded in Shopify, nothing credited.
    let money = run.dimension(ParityDimension::Money).expect("money");
    assert_eq!((money.checked, money.mismatched), (3, 3), "{run:#?}");
    let found = mismatches(&mut control, run.id, ParityDimension::Money).await;
    let subject = format!("{day} {currency}");
    assert_eq!(
        figures(&found),
        BTreeSet::from([
            figure("order_total_differs", &subject, "62.50", "50.50"),
            figure("tax_total_differs", &subject, "0.00", "0.50"),
            figure("refund_total_differs", &subject, "12.50", "0.00"),
        ]),
        "{found:#?}"
    );
    let totals = found
        .iter()
        .find(|m| m.kind == "order_total_differs")
        .expect("totals");
    assert!(
        totals
            .detail
            .contains(&format!("{missing} (Shopify 12.50, ERP 0.00)")),
        "the order that makes the difference is named: {totals:#?}"
    );
    assert!(found.iter().all(|m| m.repair.is_none()));

    // A repairing run books the missing order and the refund (read from Shopify, as its
    // lost webhook would have brought it): what is left is for a person (the tax added by
    // hand, and the fulfilments).
    finished_run(agent, &mut control, Request::Reconcile { dry_run: false }).await;
    eventually(agent, "the missing order booked", || async {
        (sales_of(double, missing).len() == 1).then_some(())
    })
    .await;
    eventually(agent, "the refund booked", || async {
        let returns = double
            .sales()
            .into_iter()
            .filter(|sale| sale.reference.starts_with("shopify-refund:"))
            .count();
        (returns == 1).then_some(())
    })
    .await;
    flow_idle(agent, FlowKind::Orders).await;
    flow_idle(agent, FlowKind::Refunds).await;
    let after = finished_run(agent, &mut control, Request::Reconcile { dry_run: true }).await;
    let found = mismatches(&mut control, after.id, ParityDimension::Money).await;
    assert_eq!(
        figures(&found),
        BTreeSet::from([
            figure("order_total_differs", &subject, "62.50", "63.00"),
            figure("tax_total_differs", &subject, "0.00", "0.50"),
        ]),
        "the refund and the missing order repaired: {found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|m| m.detail.contains(&format!("orders: {taxed} (Shopify"))),
        "the taxed order is named: {found:#?}"
    );
    let found = mismatches(&mut control, after.id, ParityDimension::Orders).await;
    assert_eq!(
        kinds(&found),
        BTreeSet::from([
            (
                "fulfilled_in_shopify_only".to_owned(),
                by_hand.to_string(),
                false
            ),
            ("shipped_in_erp_only".to_owned(), shipped.to_string(), false),
        ]),
        "{found:#?}"
    );
}
