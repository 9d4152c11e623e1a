//! Delivery: the outbox's messages POSTed to the endpoint, oldest first, each until the
//! endpoint accepts it (a 2xx answer).
//!
//! Anything else (another status, a timeout, a refused connection) is retried after a
//! delay doubling from `alerts.retry_base` up to `alerts.retry_cap`, with full jitter, for
//! as long as it takes: a message is never dropped, and the next one waits behind it so an
//! incident's resolve message never arrives before its open message. The message leaves
//! the outbox only in the write that records its delivery, so a restart resends what was
//! not accepted (the endpoint may see a message twice if the agent stops between its 2xx
//! and that write; never zero times). The endpoint URL is a secret: it is never logged.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::{AlertsConfig, Secret};
use crate::shopify::client::error_chain as chain;
use crate::shutdown::Shutdown;
use crate::store::{AlertMessage, AlertMessageKind, RetryPolicy, Store};
use crate::worker::Jitter;

/// How long to wait before looking at the outbox again when nothing wakes the loop.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// What the delivery loop needs.
#[derive(Clone)]
pub struct Deliverer {
    /// The store holding the outbox.
    pub store: Store,
    /// The endpoint.
    pub endpoint: Secret,
    /// Longest wait for one attempt.
    pub timeout: Duration,
    /// First retry delay.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// Backoff jitter in [0, 1).
    pub jitter: Jitter,
    /// Woken when a message is queued.
    pub queued: Arc<Notify>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("timeout", &self.timeout)
            .field("retry_base", &self.retry_base)
            .field("retry_cap", &self.retry_cap)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed (never naming the URL).
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("the endpoint answered HTTP {0}")]
    Status(u16),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
}

impl Deliverer {
    /// From the configuration.
    pub fn new(config: &AlertsConfig, store: Store, jitter: Jitter, queued: Arc<Notify>) -> Self {
        Deliverer {
            store,
            endpoint: config.endpoint.clone(),
            timeout: config.delivery_timeout,
            retry_base: config.retry_base,
            retry_cap: config.retry_cap,
            jitter,
            queued,
        }
    }

    /// Delivers until shutdown.
    pub async fn run(self, mut shutdown: Shutdown) {
        let http = match reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("plumb/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(http) => http,
            Err(error) => {
                tracing::error!(error = %error.without_url(), "alert delivery cannot start: no HTTP client; alerts stay in the outbox");
                return;
            }
        };
        let mut failures: u32 = 0;
        loop {
            let next = match self.store.next_alert_message().await {
                Ok(next) => next,
                Err(error) => {
                    tracing::error!(%error, "alert outbox unreadable; trying again");
                    if self.pause(Duration::from_secs(1), &mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            let Some((id, message)) = next else {
                tokio::select! {
                    () = self.queued.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    () = shutdown.wait() => return,
                }
                continue;
            };
            let attempt = tokio::select! {
                attempt = self.attempt(&http, &message) => attempt,
                () = shutdown.wait() => return,
            };
            match attempt {
                Ok(()) => {
                    failures = 0;
                    if let Err(error) = self.store.write(move |ctx| ctx.alert_delivered(id)).await {
                        // Sent but not recorded: it will be sent again, never lost.
                        tracing::error!(%error, incident = message.incident, "alert delivered but not recorded; it will be sent again");
                        if self.pause(Duration::from_secs(1), &mut shutdown).await {
                            return;
                        }
                        continue;
                    }
                    tracing::info!(
                        incident = message.incident,
                        kind = kind(message.kind),
                        "alert message delivered"
                    );
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = self.backoff(failures);
                    tracing::warn!(
                        incident = message.incident,
                        kind = kind(message.kind),
                        attempts = failures,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        %error,
                        "alert delivery failed; retrying"
                    );
                    if self.pause(delay, &mut shutdown).await {
                        return;
                    }
                }
            }
        }
    }

    /// Sleeps `delay`; true when shutdown came first.
    async fn pause(&self, delay: Duration, shutdown: &mut Shutdown) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => false,
            () = shutdown.wait() => true,
        }
    }

    async fn attempt(
        &self,
        http: &reqwest::Client,
        message: &AlertMessage,
    ) -> Result<(), AttemptError> {
        let sent = http
            .post(self.endpoint.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(message.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_timeout() => return Err(AttemptError::Timeout(self.timeout)),
            Err(error) => return Err(AttemptError::Transport(chain(&error.without_url()))),
        };
        let status = response.status();
        // Read the answer whole so the connection can be reused; its content is not used.
        let _ = response.bytes().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(AttemptError::Status(status.as_u16()))
        }
    }

    /// Full jitter under `base * 2^(failures-1)`, capped: the queue's own policy.
    fn backoff(&self, failures: u32) -> Duration {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            base: self.retry_base,
            cap: self.retry_cap,
        };
        policy.delay(failures, (self.jitter)())
    }
}

fn kind(kind: AlertMessageKind) -> &'static str {
    match kind {
        AlertMessageKind::Open => "open",
        AlertMessageKind::Resolve => "resolve",
    }
}
