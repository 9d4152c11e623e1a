//! The inventory flow's state in a real redb file: targets, the pending set and its
//! versions, echo and drift judgement, and un-imported order lines lowering targets.

use plumb_agent::store::{InventoryRecord, ShopifyReport, Store, StoreSettings, TargetUpdate};
use plumb_common::Timestamp;
use plumb_common::protocol::{Event, InventoryQuery, InventoryStatus};

const T0: Timestamp = Timestamp(1_800_000_000_000);
const LOC: u64 = 7;

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), T0).expect("open")
}

fn update(sku: &str, erp: i64, base: i64) -> TargetUpdate {
    TargetUpdate {
        sku: sku.into(),
        location: LOC,
        warehouse: "WH-EAST".into(),
        erp,
        base,
    }
}

async fn set(store: &Store, u: TargetUpdate) -> bool {
    store
        .write(move |ctx| ctx.set_inventory_target(&u))
        .await
        .expect("write")
}

async fn record_of(store: &Store) -> InventoryRecord {
    store
        .inventory("MUG".into(), LOC)
        .await
        .expect("read")
        .expect("record")
}

/// Records that the push of `version` set MUG to `value`.
async fn pushed(store: &Store, version: u64, value: i64) {
    store
        .write(move |ctx| ctx.inventory_pushed("MUG", LOC, version, value, T0))
        .await
        .expect("write");
}

async fn pending(store: &Store) -> Vec<(String, i64)> {
    store
        .pending_pushes(100)
        .await
        .expect("read")
        .into_iter()
        .map(|p| (p.sku, p.record.target))
        .collect()
}

#[tokio::test]
async fn a_push_of_an_older_version_never_clears_a_newer_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let mut events = store.subscribe();
    assert!(set(&store, update("MUG", 10, 8)).await);
    assert!(
        !set(&store, update("MUG", 10, 8)).await,
        "same figure: nothing to do"
    );
    let first = store.pending_pushes(10).await.expect("read").remove(0);
    assert_eq!(first.record.target, 8);
    assert!(matches!(events.recv().await, Ok(Event::InventoryDelta(row)) if row.target == 8));

    // The ERP moves while the push of 8 is in flight.
    assert!(set(&store, update("MUG", 12, 10)).await);
    let version = first.record.version;
    pushed(&store, version, 8).await;
    assert_eq!(pending(&store).await, vec![("MUG".to_owned(), 10)]);
    let record = record_of(&store).await;
    assert_eq!(
        (record.shopify, record.status),
        (Some(8), InventoryStatus::Pending)
    );

    let version = record.version;
    pushed(&store, version, 10).await;
    assert!(pending(&store).await.is_empty());
    let page = store
        .list_inventory(InventoryQuery {
            limit: 10,
            ..InventoryQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].status, InventoryStatus::InSync);
    assert_eq!(page.items[0].delta, Some(0));
}

#[tokio::test]
async fn echoes_are_ignored_and_drift_above_is_reverted_below_is_only_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    set(&store, update("MUG", 10, 10)).await;
    let version = store.pending_pushes(1).await.expect("read")[0]
        .record
        .version;
    pushed(&store, version, 10).await;
    let report = |available: i64| {
        let store = store.clone();
        async move {
            store
                .write(move |ctx| ctx.inventory_reported("MUG", LOC, available, true))
                .await
                .expect("write")
        }
    };
    assert_eq!(report(10).await, ShopifyReport::Expected, "our own write");
    assert!(pending(&store).await.is_empty());
    // The ERP moves on before the echo of our 10 arrives: still our own write, not a
    // drift below the new target.
    set(&store, update("MUG", 12, 12)).await;
    assert_eq!(report(10).await, ShopifyReport::Expected, "a late echo");
    assert_eq!(record_of(&store).await.status, InventoryStatus::Pending);
    set(&store, update("MUG", 10, 10)).await;
    let version = record_of(&store).await.version;
    pushed(&store, version, 10).await;

    assert_eq!(report(15).await, ShopifyReport::DriftAbove);
    assert_eq!(
        pending(&store).await,
        vec![("MUG".to_owned(), 10)],
        "reverted"
    );
    let record = record_of(&store).await;
    assert_eq!(
        (record.status, record.shopify),
        (InventoryStatus::Drift, Some(15))
    );

    let version = record.version;
    pushed(&store, version, 10).await;
    assert_eq!(report(9).await, ShopifyReport::DriftBelow);
    assert!(
        pending(&store).await.is_empty(),
        "never raised: it may be a sale"
    );
    let unmanaged = store
        .write(|ctx| ctx.inventory_reported("OTHER", LOC, 3, true))
        .await
        .expect("write");
    assert_eq!(unmanaged, ShopifyReport::Unmanaged);
}

#[tokio::test]
async fn unimported_order_lines_lower_the_target_until_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    set(&store, update("MUG", 10, 8)).await;
    let lines = vec![("MUG".to_owned(), LOC, 3), ("MUG".to_owned(), LOC, 2)];
    let marked = store
        .write(move |ctx| ctx.record_unimported_order(1001, &lines))
        .await
        .expect("write");
    assert_eq!(marked, 1);
    assert_eq!(pending(&store).await, vec![("MUG".to_owned(), 3)]);
    // Recording the same order again replaces its lines: still 5 units.
    let again = vec![("MUG".to_owned(), LOC, 5)];
    store
        .write(move |ctx| ctx.record_unimported_order(1001, &again))
        .await
        .expect("write");
    assert_eq!(pending(&store).await, vec![("MUG".to_owned(), 3)]);
    let big = vec![("MUG".to_owned(), LOC, 50)];
    store
        .write(move |ctx| ctx.record_unimported_order(1002, &big))
        .await
        .expect("write");
    assert_eq!(
        pending(&store).await,
        vec![("MUG".to_owned(), 0)],
        "floored at 0"
    );
    store
        .write(|ctx| ctx.mark_order_imported(1002))
        .await
        .expect("write");
    store
        .write(|ctx| ctx.mark_order_imported(1001))
        .await
        .expect("write");
    assert_eq!(pending(&store).await, vec![("MUG".to_owned(), 8)]);
    // A new ERP figure keeps counting what is still unimported.
    store
        .write(|ctx| ctx.record_unimported_order(1003, &[("MUG".to_owned(), LOC, 1)]))
        .await
        .expect("write");
    set(&store, update("MUG", 20, 18)).await;
    assert_eq!(pending(&store).await, vec![("MUG".to_owned(), 17)]);
}

#[tokio::test]
async fn drift_with_alert_only_is_recorded_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    set(&store, update("MUG", 10, 10)).await;
    let version = record_of(&store).await.version;
    pushed(&store, version, 10).await;
    let report = store
        .write(|ctx| ctx.inventory_reported("MUG", LOC, 25, false))
        .await
        .expect("write");
    assert_eq!(report, ShopifyReport::DriftAbove);
    assert!(
        pending(&store).await.is_empty(),
        "alert only: nothing pushed"
    );
    let row = store
        .list_inventory(InventoryQuery {
            status: Some(InventoryStatus::Drift),
            limit: 10,
            ..InventoryQuery::default()
        })
        .await
        .expect("list")
        .items;
    assert_eq!(row.len(), 1);
    assert_eq!((row[0].shopify, row[0].delta), (Some(25), Some(15)));
    assert!(
        row[0]
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("above the target"))
    );
}
