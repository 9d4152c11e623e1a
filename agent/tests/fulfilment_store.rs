//! The fulfilment flow's ledger in a real redb file: a shipment recorded once per order,
//! read back after a reopen, and an order's fulfilments listed without its neighbours'.

use plumb_agent::store::{FulfilledShipmentRecord, Store, StoreSettings};
use plumb_common::Timestamp;

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), T0).expect("open")
}

async fn record(store: &Store, order: u64, shipment: &str, fulfillment_id: u64) {
    let record = FulfilledShipmentRecord {
        fulfillment_id,
        tracking_number: Some(format!("1Z{fulfillment_id}")),
        fulfilled_at: T0,
    };
    let shipment = shipment.to_owned();
    store
        .write(move |ctx| ctx.shipment_fulfilled(order, &shipment, &record))
        .await
        .expect("write");
}

#[tokio::test]
async fn shipments_are_recorded_per_order_and_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    record(&store, 7, "12", 100).await;
    record(&store, 7, "3", 101).await;
    record(&store, 8, "12", 200).await;
    record(&store, 6, "99", 300).await;
    store.close().await;
    drop(store);

    let store = open(&dir);
    let found = store
        .fulfilled_shipment(7, "12".into())
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(
        (found.fulfillment_id, found.tracking_number.as_deref()),
        (100, Some("1Z100"))
    );
    assert!(
        store
            .fulfilled_shipment(9, "12".into())
            .await
            .expect("read")
            .is_none()
    );
    let mut seven = store.order_fulfilments(7).await.expect("list");
    seven.sort_unstable();
    assert_eq!(seven, vec![100, 101]);
    assert_eq!(store.order_fulfilments(8).await.expect("list"), vec![200]);
    assert!(store.order_fulfilments(9).await.expect("list").is_empty());
}
