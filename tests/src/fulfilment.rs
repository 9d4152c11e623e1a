//! What the fulfilment tests share: a sandbox that signs its webhooks with the agent's
//! secret, an order's fulfilments as the sandbox holds them, and the wait until they
//! settle.

use std::time::Duration;

use crate::agent::{Agent, WEBHOOK_SECRET, eventually};
use crate::sandbox::{Sandbox, SandboxConfig};

/// One fulfilment as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The location it shipped from.
    pub location: u64,
    /// (carrier, tracking number) per tracking entry.
    pub tracking: Vec<(Option<String>, Option<String>)>,
    /// Units, all lines together.
    pub units: i64,
    /// Whether Shopify was asked to email the buyer.
    pub notify_customer: bool,
}

impl Seen {
    /// The tracking numbers.
    pub fn numbers(&self) -> Vec<&str> {
        self.tracking
            .iter()
            .filter_map(|(_, number)| number.as_deref())
            .collect()
    }
}

/// A sandbox whose webhooks the generated agent configurations accept.
pub async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        app_secret: WEBHOOK_SECRET.to_owned(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox")
}

/// The order's fulfilments in the sandbox, oldest first.
pub fn fulfilments(sandbox: &Sandbox, order: u64) -> Vec<Seen> {
    sandbox.admin().with_state(|state| {
        let mut found: Vec<(u64, Seen)> = state
            .fulfillments
            .values()
            .filter(|f| f.order_id == order)
            .map(|f| {
                let seen = Seen {
                    location: f.location_id,
                    tracking: f
                        .tracking
                        .iter()
                        .map(|t| (t.company.clone(), t.number.clone()))
                        .collect(),
                    units: f.lines.iter().map(|(_, _, q)| q).sum(),
                    notify_customer: f.notify_customer,
                };
                (f.id, seen)
            })
            .collect();
        found.sort_by_key(|(id, _)| *id);
        found.into_iter().map(|(_, seen)| seen).collect()
    })
}

/// Waits until the order has `count` fulfilments and the agent's queue is empty, lets
/// `quiet` pass (more polls: the ERP reports shipments again), and checks there are still
/// exactly `count` and no fulfilment job was dead-lettered.
pub async fn settle(
    agent: &Agent,
    sandbox: &Sandbox,
    order: u64,
    count: usize,
    quiet: Duration,
) -> Vec<Seen> {
    eventually(agent, &format!("{count} fulfilment(s)"), || {
        fulfilments(sandbox, order).len() >= count
    })
    .await;
    agent.wait_drained().await;
    tokio::time::sleep(quiet).await;
    agent.wait_drained().await;
    let found = fulfilments(sandbox, order);
    let log = agent.stderr();
    assert_eq!(found.len(), count, "{found:?}\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("dead-lettered") && l.contains("flow=fulfilment")),
        "{log}"
    );
    found
}
