//! Alerts: rules checked on a timer against what the agent already knows, incidents that
//! open once and resolve once, and one message for each delivered to an HTTP endpoint.
//!
//! # Invariants
//! - **One message per change, not per check.** A rule's finding opens an incident only
//!   when none is open for the same (rule, subject), and resolves only an open one. Open
//!   incidents live in the store (`INCIDENTS`), so a restart neither announces an open
//!   incident again nor forgets to resolve it.
//! - **A message is never lost.** Opening or resolving an incident and queueing its
//!   message is one write; a message leaves the outbox only once the endpoint accepted it
//!   (see [`deliver`]). Undelivered messages survive restarts and endpoint outages.
//! - **Checks are cheap.** Rules read in-memory state: the store's counters (oldest
//!   pending job, dead letters, pauses, the last order received), the Shopify client's
//!   last verdict on the token, the reconciler's parity feed. Two look outside, each in its
//!   own task whose latest result the engine reads, so a slow side never delays a check:
//!   the ERP probe (one `health` call per check interval, bounded by a timeout) and the
//!   webhook-subscription list at Shopify (every `alerts.webhook_subscriptions.interval`).
//! - **The endpoint URL is a secret**: resolved by reference, never logged.
//!
//! # Layout
//! - [`rules`]: what each check finds (pure but for the rules' small memory).
//! - [`parity`]: the reconciler's input to the parity rule.
//! - [`message`]: the Slack-compatible JSON body.
//! - [`deliver`]: the outbox's delivery loop with capped backoff.
//! - this file: the engine that gathers inputs, evaluates, and opens or resolves incidents.

pub mod deliver;
pub mod message;
pub mod parity;
pub mod rules;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use plumb_common::Timestamp;
use plumb_common::protocol::{AlertRule, Incident};

use crate::clock::Clock;
use crate::config::{AlertsConfig, WebhookSubscriptionsRule};
use crate::erp::{Erp, ErpError};
use crate::shopify::ShopifyClient;
use crate::shopify::webhooks::topic_enum;
use crate::shutdown::Shutdown;
use crate::store::{AlertMessageKind, NewIncident, Store};
use crate::worker::Jitter;

pub use deliver::Deliverer;
pub use parity::{ParityFeed, ParityReading, ParityReadings};
pub use rules::{Condition, ErpProbe, Finding, Inputs, Rules, SubscriptionCheck};

/// The longest an ERP probe may take; no answer by then counts as unreachable.
const ERP_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolved incidents whose messages were delivered stay in the store.
const RESOLVED_KEPT: Duration = Duration::from_secs(7 * 86_400);
/// How often resolved incidents are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What the engine reads.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The store: counters, incidents, outbox.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// The Shopify client, when `[shopify]` is configured.
    pub shopify: Option<ShopifyClient>,
    /// The ERP connector, when `[erp]` is configured.
    pub erp: Option<Arc<dyn Erp>>,
    /// The reconciler's parity readings.
    pub parity: watch::Receiver<ParityReadings>,
}

/// Starts the engine, the delivery loop and the outward checks on `tasks`; all stop on
/// `shutdown`.
pub fn spawn(
    config: AlertsConfig,
    sources: Sources,
    jitter: Jitter,
    tasks: &mut JoinSet<()>,
    shutdown: &Shutdown,
) {
    let queued = Arc::new(Notify::new());
    let deliverer = Deliverer::new(&config, sources.store.clone(), jitter, queued.clone());
    tasks.spawn(deliverer.run(shutdown.clone()));
    // The two checks that leave the process run on their own, so a slow Shopify or ERP
    // never holds the other rules back: the engine reads their latest result.
    let (subscriptions_sender, subscriptions) = watch::channel(SubscriptionCheck::Unknown);
    if let (Some(rule), Some(shopify)) = (
        config.webhook_subscriptions.clone(),
        sources.shopify.clone(),
    ) {
        let period = rule.interval;
        let check = move || {
            let (shopify, rule) = (shopify.clone(), rule.clone());
            async move { check_subscriptions(&shopify, &rule).await }
        };
        tasks.spawn(repeat(
            period,
            check,
            subscriptions_sender,
            shutdown.clone(),
        ));
    }
    let (erp_sender, erp) = watch::channel(ErpProbe::NotProbed);
    if let (Some(_), Some(connector)) = (config.erp_unreachable, sources.erp.clone()) {
        let probe = move || {
            let connector = connector.clone();
            async move { Some(probe_erp(connector.as_ref()).await) }
        };
        tasks.spawn(repeat(
            config.check_interval,
            probe,
            erp_sender,
            shutdown.clone(),
        ));
    }
    let engine = Engine {
        rules: Rules::new(config),
        sources,
        queued,
        subscriptions,
        erp,
    };
    tasks.spawn(engine.run(shutdown.clone()));
}

/// Runs `check` every `period` until shutdown, publishing each result it gives (`None`:
/// nothing new to say, the previous result stands).
async fn repeat<T, F, Fut>(
    period: Duration,
    mut check: F,
    sender: watch::Sender<T>,
    mut shutdown: Shutdown,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.wait() => return,
        }
        let result = tokio::select! {
            result = check() => result,
            () = shutdown.wait() => return,
        };
        if let Some(result) = result {
            sender.send_replace(result);
        }
    }
}

/// The periodic check.
#[derive(Debug)]
struct Engine {
    rules: Rules,
    sources: Sources,
    /// Woken after a message is queued.
    queued: Arc<Notify>,
    /// The last webhook-subscription check that succeeded.
    subscriptions: watch::Receiver<SubscriptionCheck>,
    /// The last ERP probe.
    erp: watch::Receiver<ErpProbe>,
}

impl Engine {
    async fn run(mut self, mut shutdown: Shutdown) {
        let started_at = self.sources.clock.now();
        let config = self.rules.config().clone();
        tracing::info!(
            check_interval_ms = u64::try_from(config.check_interval.as_millis()).unwrap_or(u64::MAX),
            rules = %enabled_rules(&config).join(","),
            "alerts on"
        );
        let mut ticker = tokio::time::interval(config.check_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = shutdown.wait() => return,
            }
            let now = self.sources.clock.now();
            let status = self.sources.store.status(now);
            let parity = self.sources.parity.borrow().clone();
            let inputs = Inputs {
                now,
                status: &status,
                started_at,
                last_order: self.sources.store.last_order_received(),
                parity: &parity,
                shopify_token: self
                    .sources
                    .shopify
                    .as_ref()
                    .map(ShopifyClient::token_status),
                erp: self.erp.borrow().clone(),
                subscriptions: self.subscriptions.borrow().clone(),
            };
            let findings = self.rules.evaluate(&inputs);
            self.apply(findings, now).await;
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = tokio::time::Instant::now();
                let before = now.minus(RESOLVED_KEPT);
                match self
                    .sources
                    .store
                    .write(move |ctx| ctx.prune_incidents(before))
                    .await
                {
                    Ok(removed) if removed > 0 => {
                        tracing::debug!(removed, "resolved incidents pruned")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "pruning resolved incidents failed"),
                }
            }
        }
    }

    /// Opens an incident for each firing finding without one, resolves the open incident
    /// of each clear finding and of every (rule, subject) no finding mentions any more.
    async fn apply(&self, findings: Vec<Finding>, now: Timestamp) {
        let open: HashMap<(AlertRule, Option<String>), Incident> = self
            .sources
            .store
            .incidents()
            .into_iter()
            .filter(|incident| incident.resolved_at.is_none())
            .map(|incident| ((incident.rule, incident.subject.clone()), incident))
            .collect();
        let mut seen = HashSet::new();
        for finding in findings {
            let key = (finding.rule, finding.subject.clone());
            let current = open.get(&key);
            seen.insert(key);
            match (finding.condition, current) {
                (Condition::Firing(summary), None) => {
                    self.open(finding.rule, finding.subject, summary, now).await;
                }
                (Condition::Clear, Some(incident)) => self.resolve(incident, now, "cleared").await,
                _ => {}
            }
        }
        for (key, incident) in &open {
            if !seen.contains(key) {
                self.resolve(incident, now, "no longer checked").await;
            }
        }
    }

    async fn open(
        &self,
        rule: AlertRule,
        subject: Option<String>,
        summary: String,
        now: Timestamp,
    ) {
        let new = NewIncident {
            rule,
            subject,
            summary,
        };
        let opened = self
            .sources
            .store
            .write(move |ctx| {
                ctx.open_incident(new, now, |incident| {
                    message::body(incident, AlertMessageKind::Open)
                })
            })
            .await;
        match opened {
            Ok(incident) => {
                tracing::warn!(
                    alert = %incident.rule,
                    subject = incident.subject.as_deref(),
                    incident = incident.id,
                    summary = %incident.summary,
                    "alert incident opened"
                );
                self.queued.notify_one();
            }
            Err(error) => {
                tracing::error!(%error, alert = %rule, "alert incident could not be recorded; the next check tries again");
            }
        }
    }

    async fn resolve(&self, incident: &Incident, now: Timestamp, why: &'static str) {
        let id = incident.id;
        let resolved = self
            .sources
            .store
            .write(move |ctx| {
                ctx.resolve_incident(id, now, |incident| {
                    message::body(incident, AlertMessageKind::Resolve)
                })
            })
            .await;
        match resolved {
            Ok(Some(incident)) => {
                tracing::info!(
                    alert = %incident.rule,
                    subject = incident.subject.as_deref(),
                    incident = incident.id,
                    open_for_ms = incident.opened_at.until(now).as_millis() as u64,
                    reason = why,
                    "alert incident resolved"
                );
                self.queued.notify_one();
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, incident = id, "alert incident resolution could not be recorded; the next check tries again");
            }
        }
    }
}

/// The names of the rules `config` turns on.
fn enabled_rules(config: &AlertsConfig) -> Vec<&'static str> {
    let on = [
        (AlertRule::QueueAge, config.queue_age.is_some()),
        (AlertRule::DeadLetters, config.dead_letters.is_some()),
        (AlertRule::Parity, config.parity.is_some()),
        (AlertRule::NoOrders, config.no_orders.is_some()),
        (AlertRule::FlowPaused, config.flow_paused.is_some()),
        (AlertRule::ShopifyAuth, config.shopify_auth.is_some()),
        (AlertRule::ErpUnreachable, config.erp_unreachable.is_some()),
        (
            AlertRule::WebhookSubscriptions,
            config.webhook_subscriptions.is_some(),
        ),
    ];
    on.into_iter()
        .filter(|(_, on)| *on)
        .map(|(rule, _)| rule.as_str())
        .collect()
}

/// Asks Shopify for the subscriptions; `None` when it could not (logged; the Shopify
/// auth rule covers a refused token).
async fn check_subscriptions(
    shopify: &ShopifyClient,
    rule: &WebhookSubscriptionsRule,
) -> Option<SubscriptionCheck> {
    match shopify.webhook_subscriptions().await {
        Ok(subscriptions) => {
            let missing = rule
                .topics
                .iter()
                .filter(|topic| {
                    let wanted = topic_enum(topic);
                    !subscriptions
                        .iter()
                        .any(|s| s.topic == wanted && s.uri == rule.uri)
                })
                .cloned()
                .collect();
            Some(SubscriptionCheck::Missing(missing))
        }
        Err(error) => {
            tracing::warn!(%error, cause = %error.cause(), "webhook subscriptions could not be checked at Shopify");
            None
        }
    }
}

/// One `health` call: an answer (even a refusal) means reachable; no connection, a 5xx or
/// no answer in time means unreachable.
async fn probe_erp(erp: &dyn Erp) -> ErpProbe {
    match tokio::time::timeout(ERP_PROBE_TIMEOUT, erp.health()).await {
        Ok(Ok(_)) => ErpProbe::Reachable,
        Ok(Err(error @ (ErpError::Unavailable(_) | ErpError::Timeout(_)))) => {
            ErpProbe::Unreachable(error.to_string())
        }
        Ok(Err(_)) => ErpProbe::Reachable,
        Err(_) => ErpProbe::Unreachable(format!(
            "no answer to a health check within {}",
            rules::human(ERP_PROBE_TIMEOUT)
        )),
    }
}
