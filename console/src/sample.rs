//! Scripted agent states: what the snapshot tests render and the frame benchmark
//! measures. Fixed times, so renders are byte-for-byte repeatable.

use plumb_common::protocol::{
    AlertRule, CauseCount, DeadLetterDetail, DeadLetterSummary, FlowStatus, Incident, InventoryRow,
    InventoryStatus, JobSummary, LastError, StatusSnapshot,
};
use plumb_common::protocol::{
    DimensionParity, KindCount, LatestParity, Mismatch, MismatchPage, ParityDimension, ParityRun,
    RunScope, RunState, RunTrigger,
};
use plumb_common::{ErrorClass, FlowKind, JobId, JobState, Timestamp};

/// The "now" of every sample: 2026-11-23T13:42:05Z.
pub const NOW: Timestamp = Timestamp(1_795_441_325_000);

/// `secs` seconds before [`NOW`].
pub const fn before(secs: u64) -> Timestamp {
    Timestamp(NOW.0 - secs * 1_000)
}

/// An agent with orders flowing, inventory paused, and a few dead letters.
pub fn status() -> StatusSnapshot {
    let flows = FlowKind::ALL
        .into_iter()
        .map(|flow| {
            let busy = matches!(flow, FlowKind::Orders | FlowKind::Inventory);
            FlowStatus {
                flow,
                paused_since: (flow == FlowKind::Inventory).then(|| before(300)),
                pending: if busy { 12 } else { 0 },
                in_flight: u64::from(flow == FlowKind::Orders),
                oldest_pending: busy.then(|| before(95)),
                dead: match flow {
                    FlowKind::Orders => 2,
                    FlowKind::Inventory => 1,
                    _ => 0,
                },
                completed_last_minute: if busy { 340 } else { 0 },
                failed_last_minute: u64::from(flow == FlowKind::Orders) * 3,
                last_success: busy.then(|| before(2)),
                last_error: (flow == FlowKind::Orders).then(|| LastError {
                    at: before(40),
                    message: "erp unavailable: connection refused".into(),
                }),
            }
        })
        .collect();
    StatusSnapshot {
        agent_version: "0.1.0".into(),
        started_at: before(3_600),
        taken_at: NOW,
        flows,
        dead_letters: 3,
        dead_letter_bound: 10_000,
        dead_letter_causes: causes(),
        incidents: incidents(),
    }
}

/// One alert open (the orders queue is old), one resolved (the ERP answered again).
fn incidents() -> Vec<Incident> {
    vec![
        Incident {
            id: 2,
            rule: AlertRule::QueueAge,
            subject: Some("orders".into()),
            summary: "oldest pending job 17m old, threshold 15m".into(),
            opened_at: before(120),
            resolved_at: None,
            open_delivered: true,
            resolve_delivered: false,
        },
        Incident {
            id: 1,
            rule: AlertRule::ErpUnreachable,
            subject: None,
            summary: "the ERP has not answered for 2m 10s".into(),
            opened_at: before(900),
            resolved_at: Some(before(600)),
            open_delivered: true,
            resolve_delivered: true,
        },
    ]
}

fn causes() -> Vec<CauseCount> {
    vec![
        CauseCount {
            flow: FlowKind::Orders,
            cause: "malformed_payload".into(),
            count: 2,
        },
        CauseCount {
            flow: FlowKind::Inventory,
            cause: "unknown_sku".into(),
            count: 1,
        },
    ]
}

/// `count` inventory rows over two locations, a few of them off.
pub fn inventory(count: usize) -> Vec<InventoryRow> {
    (0..count)
        .map(|n| {
            let (status, shopify, cause) = match n % 50 {
                3 => (
                    InventoryStatus::Drift,
                    Some(14),
                    Some("hand edit in Shopify"),
                ),
                7 => (InventoryStatus::Failing, None, Some("unknown_sku")),
                11 => (InventoryStatus::Pending, Some(4), None),
                _ => (InventoryStatus::InSync, Some(10), None),
            };
            let target = 10;
            InventoryRow {
                sku: format!("SKU-{:06}", n / 2),
                location: if n % 2 == 0 { 71_001 } else { 71_002 },
                warehouse: if n % 2 == 0 { "WH-EAST" } else { "WH-WEST" }.into(),
                erp: 12,
                target,
                shopify,
                delta: shopify.map(|s| s - target),
                last_sync: (status == InventoryStatus::InSync).then(|| before(n as u64 % 600)),
                status,
                cause: cause.map(str::to_owned),
            }
        })
        .collect()
}

/// Pending and in-flight jobs.
pub fn jobs() -> Vec<JobSummary> {
    (0..6)
        .map(|n| JobSummary {
            id: JobId(1_000 + n),
            flow: if n % 2 == 0 {
                FlowKind::Orders
            } else {
                FlowKind::Inventory
            },
            state: if n == 0 {
                JobState::InFlight
            } else {
                JobState::Pending
            },
            attempts: (n % 3) as u32,
            created_at: before(120 - n * 10),
            due_at: Some(if n == 4 {
                NOW.plus(std::time::Duration::from_secs(30))
            } else {
                before(1)
            }),
            last_error: (n % 3 == 2).then(|| "erp unavailable: timed out".into()),
        })
        .collect()
}

/// Three dead letters in two groups.
pub fn dead_letters() -> Vec<DeadLetterSummary> {
    let letter = |id, flow, cause: &str, message: &str, secs| DeadLetterSummary {
        id: JobId(id),
        flow,
        class: ErrorClass::Permanent,
        cause: cause.into(),
        message: message.into(),
        attempts: 1,
        created_at: before(secs + 1),
        first_failed_at: before(secs),
        last_failed_at: before(secs),
    };
    vec![
        letter(
            42,
            FlowKind::Orders,
            "malformed_payload",
            "orders/create: missing field `line_items` at line 1 column 80",
            30,
        ),
        letter(
            41,
            FlowKind::Orders,
            "malformed_payload",
            "orders/create: expected a number at line_items[0].quantity",
            90,
        ),
        letter(
            17,
            FlowKind::Inventory,
            "unknown_sku",
            "SKU GHOST-1 is not in Shopify",
            600,
        ),
    ]
}

/// The detail of dead letter 42.
pub fn detail() -> DeadLetterDetail {
    let summary = dead_letters().remove(0);
    DeadLetterDetail {
        summary,
        payload_kind: "shopify webhook orders/create".into(),
        payload: "{\"topic\":\"orders/create\",\"event_id\":\"evt-bad-1\"}\n{\"id\":820982911946154508,\"email\":\"jon@example.com\"}".into(),
        payload_bytes: 98,
    }
}

/// The dead-letter page the agent would answer for these letters.
pub fn dead_letter_page() -> plumb_common::protocol::DeadLetterPage {
    plumb_common::protocol::DeadLetterPage {
        page: plumb_common::protocol::Page {
            items: dead_letters(),
            next: None,
        },
        causes: causes(),
    }
}

/// The latest reports: stock at 99.5 % (one level below its target), the catalogue at
/// 97.5 % (one SKU only in the ERP), from a full run that repaired.
pub fn parity_latest() -> Vec<LatestParity> {
    parity_run(3)
        .dimensions
        .into_iter()
        .map(|parity| LatestParity {
            run: 3,
            at: before(300),
            scope: RunScope::Full,
            dry_run: false,
            parity,
        })
        .collect()
}

/// Run `id`: full, on demand, done, with the figures of [`parity_latest`].
pub fn parity_run(id: u64) -> ParityRun {
    let kind = |kind: &str| KindCount {
        kind: kind.into(),
        count: 1,
    };
    ParityRun {
        id,
        scope: RunScope::Full,
        trigger: RunTrigger::OnDemand,
        dry_run: false,
        started_at: before(302),
        finished_at: Some(before(300)),
        state: RunState::Done,
        error: None,
        dimensions: vec![
            DimensionParity {
                repairs_queued: 1,
                ..DimensionParity::new(
                    ParityDimension::Inventory,
                    200,
                    vec![kind("shopify_below")],
                    1,
                )
            },
            DimensionParity::new(ParityDimension::Catalog, 40, vec![kind("erp_only")], 0),
        ],
    }
}

/// The two mismatches of run 3.
pub fn mismatch_page() -> MismatchPage {
    MismatchPage {
        run: Some(3),
        items: vec![
            Mismatch {
                id: 1,
                dimension: ParityDimension::Inventory,
                kind: "shopify_below".into(),
                subject: "SKU-0007".into(),
                location: Some(71),
                erp: Some("12".into()),
                shopify: Some("3".into()),
                detail: "SKU-0007 at location 71: Shopify shows 3, the ERP's figures make 12"
                    .into(),
                repair: Some("set available of SKU-0007 at 71 from 3 to 12".into()),
                repaired: false,
            },
            Mismatch {
                id: 2,
                dimension: ParityDimension::Catalog,
                kind: "erp_only".into(),
                subject: "SKU-0040".into(),
                location: None,
                erp: Some("Plumb Product SKU-0040".into()),
                shopify: None,
                detail: "SKU-0040 is in the ERP but on no Shopify variant: create the \
                         product in Shopify, or retire it in the ERP"
                    .into(),
                repair: None,
                repaired: false,
            },
        ],
        next: None,
    }
}
