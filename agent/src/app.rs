//! The agent assembled: open the store, start the flows' workers, the maintenance loop, the
//! control server and the webhook receiver, and stop them all in order on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinSet;

use crate::alerts::{self, ParityFeed};
use crate::clock::Clock;
use crate::config::Config;
use crate::control::{self, ControlContext, PeerPolicy};
use crate::erp;
use crate::flows;
use crate::shopify::{ShopifyClient, ShopifyClientConfig};
use crate::shutdown::{Shutdown, ShutdownTrigger};
use crate::store::{RetryPolicy, Store, StoreError, StoreSettings};
use crate::webhook;
use crate::worker::{FlowRunner, random_jitter};

/// The sockets the agent serves, bound by the caller (systemd, `main`, or a test).
#[derive(Debug)]
pub struct Listeners {
    /// The control socket.
    pub control: UnixListener,
    /// The webhook receiver, when `[webhooks]` is configured.
    pub webhooks: Option<TcpListener>,
}

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A `[webhooks]` section without a listener, or the reverse.
    #[error("the webhook receiver is configured but no listener was given")]
    NoWebhookListener,
}

/// The store settings a configuration asks for.
pub fn store_settings(config: &Config) -> StoreSettings {
    StoreSettings {
        dead_letter_bound: config.queue.max_dead_letters,
        done_retention: config.queue.done_retention,
        cache_bytes: config.agent.store_cache,
    }
}

/// Runs the agent until `shutdown` resolves. `ready` is called once the store is open and
/// every listener is served (systemd's READY=1).
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
    ready: impl FnOnce(),
) -> Result<(), RunError> {
    let clock = Clock::System;
    let path = config.agent.store_path();
    let settings = store_settings(&config);
    let now = clock.now();
    let store = tokio::task::spawn_blocking(move || Store::open(&path, settings, now))
        .await
        .map_err(|_| StoreError::Closed)??;
    tracing::info!(path = %store.path().display(), "store open");

    let (trigger, stop) = ShutdownTrigger::new();
    let mut tasks = JoinSet::new();
    let context = flow_context(&config, &store, clock);
    let handlers = flows::handlers(&context);
    for flow in flows::missing(&handlers) {
        tracing::warn!(%flow, "this build has no handler for the flow yet: its jobs are kept and wait");
    }
    for (flow, handler) in handlers {
        let flow_config = config.flows.get(flow);
        if !flow_config.enabled {
            tracing::info!(%flow, "flow disabled in the configuration");
            continue;
        }
        let runner = FlowRunner {
            flow,
            handler,
            concurrency: flow_config.concurrency,
            policy: RetryPolicy {
                max_attempts: flow_config.max_attempts,
                base: config.queue.backoff_base,
                cap: config.queue.backoff_cap,
            },
            lease: config.queue.lease,
            grace: config.agent.shutdown_grace,
            store: store.clone(),
            clock,
            jitter: random_jitter(),
        };
        tasks.spawn(runner.run(stop.clone()));
    }
    flows::spawn_sources(&context, &mut tasks, &stop);
    // The reconciler's stored reports feed the parity rule (see `alerts::parity`).
    let parity = ParityFeed::new();
    match config.alerts.clone() {
        Some(alerts_config) => {
            tasks.spawn(alerts::parity::feed_from_store(
                store.clone(),
                parity.clone(),
                stop.clone(),
            ));
            alerts::spawn(
                alerts_config,
                alerts::Sources {
                    store: store.clone(),
                    clock,
                    shopify: context.shopify.clone(),
                    erp: context.erp.clone(),
                    parity: parity.subscribe(),
                },
                random_jitter(),
                &mut tasks,
                &stop,
            );
        }
        None => tracing::info!("no [alerts] section: alerts are off"),
    }
    tasks.spawn(maintain(
        store.clone(),
        clock,
        config.queue.lease,
        stop.clone(),
    ));
    tasks.spawn(control::serve(
        listeners.control,
        ControlContext {
            store: store.clone(),
            clock,
            peers: PeerPolicy {
                group: config.control.group,
            },
            max_clients: config.control.max_clients,
        },
        stop.clone(),
    ));
    match (config.webhooks.as_ref(), listeners.webhooks) {
        (Some(webhooks), Some(listener)) => {
            tracing::info!(address = ?listener.local_addr().ok(), "webhook receiver listening");
            let receiver = webhook::Receiver {
                store: store.clone(),
                clock,
                secrets: Arc::new(
                    webhooks
                        .secrets
                        .iter()
                        .map(|s| s.expose().as_bytes().to_vec())
                        .collect(),
                ),
                max_body: webhooks.max_body,
                dedup_ttl: webhooks.dedup_ttl,
            };
            tasks.spawn(webhook::serve(listener, receiver, stop.clone()));
        }
        (Some(_), None) => return Err(RunError::NoWebhookListener),
        (None, _) => {}
    }
    if let Some(connector) = context.erp.clone() {
        tasks.spawn(check_erp(connector, config.locations.clone(), stop.clone()));
    }
    ready();
    tracing::info!("plumbd ready");
    shutdown.await;
    tracing::info!("shutting down: no new jobs; running jobs get the grace period");
    trigger.trigger();
    while tasks.join_next().await.is_some() {}
    store.close().await;
    tracing::info!("plumbd stopped");
    Ok(())
}

/// The clients and state every flow shares. A client that cannot be set up is logged and
/// left out: the flows that need it keep their jobs waiting (and say so) instead of the
/// agent refusing to start and taking the webhook receiver down with it.
fn flow_context(config: &Config, store: &Store, clock: Clock) -> flows::FlowContext {
    let shopify = config.shopify.as_ref().and_then(|shopify| {
        ShopifyClient::new(ShopifyClientConfig::from_config(shopify))
            .inspect_err(|error| tracing::error!(%error, "the Shopify client could not be set up"))
            .ok()
    });
    let erp = config.erp.as_ref().and_then(|erp_config| {
        erp::connect(erp_config)
            .inspect_err(|error| tracing::error!(%error, "the ERP connector could not be set up"))
            .ok()
    });
    flows::FlowContext {
        store: store.clone(),
        clock,
        config: Arc::new(config.clone()),
        shopify,
        erp,
        erp_kits: flows::inventory::kits::ErpKits::default(),
    }
}

/// Checks the configuration against the ERP once, in the background, and logs what
/// disagrees (duplicate SKUs, unmapped or missing warehouses) as errors. An unreachable ERP
/// is a warning, not a reason to refuse to start: the queue keeps the work until it is back.
async fn check_erp(
    connector: Arc<dyn erp::Erp>,
    locations: Vec<crate::config::LocationMapping>,
    mut shutdown: Shutdown,
) {
    let report = tokio::select! {
        report = erp::check(connector.as_ref(), &locations) => report,
        () = shutdown.wait() => return,
    };
    match report {
        Ok(report) if report.is_clean() => tracing::info!(
            products = report.products,
            warehouses = report.warehouses,
            "ERP check: SKUs and warehouse mapping agree with the configuration"
        ),
        Ok(report) => {
            for problem in &report.problems {
                tracing::error!(%problem, "ERP check");
            }
            tracing::error!(
                problems = report.problems.len(),
                products = report.products,
                warehouses = report.warehouses,
                "ERP check: the ERP disagrees with the configuration; the affected SKUs and \
                 warehouses will not sync correctly until it is fixed"
            );
        }
        Err(error) => tracing::warn!(
            %error,
            cause = error.cause(),
            "ERP check could not run (the ERP is unreachable?): starting anyway"
        ),
    }
}

/// Recovers expired leases and prunes expired ledger entries, on a timer.
async fn maintain(store: Store, clock: Clock, lease: Duration, mut shutdown: Shutdown) {
    let mut leases = tokio::time::interval(
        (lease / 2).clamp(Duration::from_millis(100), Duration::from_secs(10)),
    );
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = leases.tick() => {
                let now = clock.now();
                if let Err(error) = store.write(move |ctx| ctx.recover_expired_leases(now)).await {
                    tracing::error!(%error, "lease recovery failed");
                }
            }
            _ = prune.tick() => {
                let now = clock.now();
                match store.write(move |ctx| ctx.prune(now)).await {
                    Ok(removed) if removed > 0 => tracing::debug!(removed, "expired ledger entries pruned"),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "pruning failed"),
                }
            }
            () = shutdown.wait() => return,
        }
    }
}
