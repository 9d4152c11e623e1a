//! The transport: one GraphQL call over HTTPS, paced by the cost bucket, retried within
//! bounds, with every answer classified by [`super::response::classify`].
//!
//! # Invariants
//! - Every call waits for its expected cost in the bucket model before it is sent, and
//!   settles its reservation with the answer's report.
//! - THROTTLED waits exactly `deficit / restoreRate`, then sends again; at most
//!   `max_throttled_waits` times in a row.
//! - Other transient failures are resent at most `max_attempts - 1` times, with exponential
//!   backoff and full jitter, and only when resending cannot apply a change twice (see
//!   [`Retry`]). Then the error is returned, transient, for the queue to retry later.
//! - Retries and failures log at warn (the job's fate is logged by the worker and the
//!   store); an authorisation failure logs at error with an `alert` field: a person must
//!   fix the token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{Secret, ShopifyConfig};
use crate::worker::{Jitter, random_jitter};

use super::bucket::CostBucket;
use super::documents::Operation;
use super::error::{Retry, ShopifyError};
use super::response::{Answer, Cost, classify};

/// How the client talks to Shopify.
#[derive(Clone)]
pub struct ShopifyClientConfig {
    /// `https://{shop}` in production, the sandbox's `http://127.0.0.1:PORT` in tests.
    pub base_url: String,
    /// The Admin API version, "YYYY-MM".
    pub api_version: String,
    /// The Admin API access token.
    pub access_token: Secret,
    /// Longest wait for a whole answer.
    pub request_timeout: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Sends of one call for transient failures other than THROTTLED (1 = no retry).
    pub max_attempts: u32,
    /// Ceiling of the first retry's delay; doubles per retry.
    pub backoff_base: Duration,
    /// The largest retry delay.
    pub backoff_cap: Duration,
    /// THROTTLED answers waited out in a row before giving up (transient).
    pub max_throttled_waits: u32,
    /// Batches of a large `set_inventory` in flight at once (the bucket paces them).
    pub batch_concurrency: usize,
    /// Backoff jitter in [0, 1).
    pub jitter: Jitter,
}

impl std::fmt::Debug for ShopifyClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyClientConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("request_timeout", &self.request_timeout)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl ShopifyClientConfig {
    /// Defaults for everything but where to go and who we are.
    pub fn new(
        base_url: impl Into<String>,
        api_version: impl Into<String>,
        access_token: Secret,
    ) -> ShopifyClientConfig {
        ShopifyClientConfig {
            base_url: base_url.into(),
            api_version: api_version.into(),
            access_token,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(10),
            max_throttled_waits: 20,
            batch_concurrency: 4,
            jitter: random_jitter(),
        }
    }

    /// From the agent's `[shopify]` section.
    pub fn from_config(config: &ShopifyConfig) -> ShopifyClientConfig {
        ShopifyClientConfig::new(
            config.base_url.clone(),
            config.api_version.clone(),
            config.access_token.clone(),
        )
    }

    /// The GraphQL endpoint.
    pub fn endpoint(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.base_url.trim_end_matches('/'),
            self.api_version
        )
    }

    /// The delay before retry `retry` (from 1): full jitter under `base * 2^(retry-1)`.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let ceiling = self
            .backoff_base
            .saturating_mul(factor)
            .min(self.backoff_cap);
        ceiling.mul_f64((self.jitter)().clamp(0.0, 1.0))
    }
}

/// What the client has done since it was made: for the benchmark and the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent.
    pub calls: u64,
    /// THROTTLED answers (and 429s).
    pub throttled: u64,
    /// Resends after transient failures other than throttling.
    pub retries: u64,
    /// Calls that ended in an error.
    pub failures: u64,
    /// Points Shopify reported as actually spent.
    pub points_spent: u64,
}

/// What Shopify last said of the access token: the "Shopify auth failing" alert's signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// No answer that tells yet.
    Unknown,
    /// The last answer that tells accepted it (data, or THROTTLED).
    Accepted,
    /// The last answer that tells refused it (401/403, ACCESS_DENIED).
    Refused,
}

impl TokenStatus {
    fn code(self) -> u8 {
        match self {
            TokenStatus::Unknown => 0,
            TokenStatus::Accepted => 1,
            TokenStatus::Refused => 2,
        }
    }

    fn from_code(code: u8) -> TokenStatus {
        match code {
            1 => TokenStatus::Accepted,
            2 => TokenStatus::Refused,
            _ => TokenStatus::Unknown,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
    points_spent: AtomicU64,
    /// A [`TokenStatus`] code.
    token: AtomicU8,
}

/// The Admin API client. Cheap to clone; clones share the bucket and the counters.
#[derive(Debug, Clone)]
pub struct ShopifyClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// For bulk results: no limit on the whole transfer (files can take minutes), only on
    /// silence between bytes.
    download: reqwest::Client,
    endpoint: String,
    config: ShopifyClientConfig,
    bucket: CostBucket,
    counters: Counters,
}

impl ShopifyClient {
    /// A client; fails only if the TLS backend cannot start.
    pub fn new(config: ShopifyClientConfig) -> Result<ShopifyClient, ShopifyError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .gzip(true)
            .user_agent(concat!("plumb/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ShopifyError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        let download = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.request_timeout)
            .gzip(true)
            .user_agent(concat!("plumb/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ShopifyError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(ShopifyClient {
            inner: Arc::new(Inner {
                http,
                download,
                endpoint: config.endpoint(),
                config,
                bucket: CostBucket::new(),
                counters: Counters::default(),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ShopifyClientConfig {
        &self.inner.config
    }

    /// The bucket model (for logs and tests).
    pub fn bucket(&self) -> &CostBucket {
        &self.inner.bucket
    }

    /// The client for bulk result downloads (which must not carry the access token).
    pub(crate) fn download_client(&self) -> &reqwest::Client {
        &self.inner.download
    }

    /// The counters so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            calls: c.calls.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            points_spent: c.points_spent.load(Ordering::Relaxed),
        }
    }

    /// What Shopify last said of the access token (any call, any flow). Cheap: an atomic.
    pub fn token_status(&self) -> TokenStatus {
        TokenStatus::from_code(self.inner.counters.token.load(Ordering::Relaxed))
    }

    /// Runs `operation` with `variables` and decodes its `data` into `T`.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        operation: &Operation,
        variables: Value,
    ) -> Result<T, ShopifyError> {
        let data = self.execute_raw(operation, variables).await?;
        serde_json::from_value(data).map_err(|e| {
            self.inner.counters.failures.fetch_add(1, Ordering::Relaxed);
            let error = ShopifyError::Shape(format!("{}: {e}", operation.name));
            // Drift at the boundary is an alarm (the design's rule 5), not a routine failure.
            tracing::error!(
                alert = "shopify_response_drift",
                operation = operation.name,
                %error,
                "answer does not have the expected shape"
            );
            error
        })
    }

    /// Runs `operation` and returns its `data` as JSON.
    pub async fn execute_raw(
        &self,
        operation: &Operation,
        variables: Value,
    ) -> Result<Value, ShopifyError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "query": operation.document,
            "operationName": operation.name,
            "variables": variables,
        }))
        .map_err(|e| ShopifyError::Invalid(format!("cannot encode the variables: {e}")))?;
        let config = &self.inner.config;
        let counters = &self.inner.counters;
        let bucket = &self.inner.bucket;
        let mut sends = 0u32;
        let mut throttled_waits = 0u32;
        loop {
            let reservation = bucket.reserve(operation).await;
            counters.calls.fetch_add(1, Ordering::Relaxed);
            let (answer, retry_after) = self.send(body.clone()).await;
            let cost = match &answer {
                Answer::Data { cost, .. }
                | Answer::Throttled { cost }
                | Answer::Failed { cost, .. } => *cost,
            };
            if let Some(requested) = cost.and_then(|c| c.requested_query_cost) {
                bucket.learn(operation, requested);
            }
            let actual = cost.and_then(|c| c.actual_query_cost);
            if let Some(actual) = actual {
                // Costs are whole points; the report may spell them as floats.
                counters
                    .points_spent
                    .fetch_add(actual.max(0.0).round() as u64, Ordering::Relaxed);
            }
            reservation.settle(cost.and_then(|c| c.throttle_status).as_ref());
            let token = match &answer {
                Answer::Data { .. } | Answer::Throttled { .. } => Some(TokenStatus::Accepted),
                Answer::Failed {
                    error: ShopifyError::Unauthorized { .. },
                    ..
                } => Some(TokenStatus::Refused),
                Answer::Failed { .. } => None,
            };
            if let Some(token) = token {
                counters.token.store(token.code(), Ordering::Relaxed);
            }
            let error = match answer {
                Answer::Data { data, .. } => return Ok(data),
                Answer::Throttled { cost } => {
                    counters.throttled.fetch_add(1, Ordering::Relaxed);
                    throttled_waits += 1;
                    if throttled_waits > config.max_throttled_waits {
                        ShopifyError::Throttled {
                            waits: throttled_waits - 1,
                        }
                    } else {
                        let wait = throttled_wait(operation, cost, bucket);
                        tracing::warn!(
                            operation = operation.name,
                            wait_ms = wait.as_millis() as u64,
                            "throttled by Shopify; waiting for the bucket"
                        );
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
                Answer::Failed { error, .. } => error,
            };
            if matches!(error, ShopifyError::RateLimited) {
                counters.throttled.fetch_add(1, Ordering::Relaxed);
            }
            sends += 1;
            let may_resend = match error.retry() {
                // Throttling has its own bound, spent by now: the queue takes over.
                _ if matches!(error, ShopifyError::Throttled { .. }) => false,
                Retry::Always => true,
                Retry::IfReplaySafe => operation.replay_safe,
                Retry::Never => false,
            };
            if may_resend && sends < config.max_attempts {
                let delay = config.backoff(sends).max(retry_after.unwrap_or_default());
                counters.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    operation = operation.name,
                    cause = %error.cause(),
                    %error,
                    retry_in_ms = delay.as_millis() as u64,
                    "Shopify call failed; retrying"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            counters.failures.fetch_add(1, Ordering::Relaxed);
            if error.is_alert() {
                tracing::error!(
                    alert = "shopify_unauthorized",
                    operation = operation.name,
                    %error,
                    "Shopify refused the access token: token revoked or scope missing; reinstall or re-grant the app"
                );
            } else {
                // The job's outcome is logged where it is decided: a retry at warn by the
                // worker, a dead letter at error by the store. Logging it here at error too
                // would page twice for one failure.
                tracing::warn!(
                    operation = operation.name,
                    cause = %error.cause(),
                    class = %error.class(),
                    %error,
                    "Shopify call failed"
                );
            }
            return Err(error);
        }
    }

    /// One HTTP exchange; never fails, every outcome is an [`Answer`]. Also returns a 429's
    /// `Retry-After`, capped at the backoff cap.
    async fn send(&self, body: Vec<u8>) -> (Answer, Option<Duration>) {
        let request = self
            .inner
            .http
            .post(&self.inner.endpoint)
            .header(
                "X-Shopify-Access-Token",
                self.inner.config.access_token.expose(),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return (transport_failure(&error), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .map(|d| d.min(self.inner.config.backoff_cap));
        match response.bytes().await {
            Ok(bytes) => (classify(status, &bytes), retry_after),
            Err(error) => (transport_failure(&error), retry_after),
        }
    }
}

/// How long to wait after THROTTLED: the answer's own report when it has one, else the
/// model's view of when the expected cost will be back.
fn throttled_wait(operation: &Operation, cost: Option<Cost>, bucket: &CostBucket) -> Duration {
    let requested = cost
        .and_then(|c| c.requested_query_cost)
        .unwrap_or_else(|| bucket.expected_cost(operation));
    match cost.and_then(|c| c.throttle_status) {
        Some(status) => CostBucket::throttle_wait(requested, &status),
        // No report: the reservation loop will wait on the model; a short pause keeps a
        // report-less proxy from turning this into a busy loop.
        None => Duration::from_secs(1),
    }
}

/// Classifies a transport error (no HTTP answer, or a body cut short).
pub(crate) fn transport_error(error: &reqwest::Error) -> ShopifyError {
    match transport_failure(error) {
        Answer::Failed { error, .. } => error,
        _ => ShopifyError::Connection {
            message: error_chain(error),
            before_send: false,
        },
    }
}

fn transport_failure(error: &reqwest::Error) -> Answer {
    let error = if error.is_timeout() {
        ShopifyError::Timeout
    } else if error.is_connect() {
        ShopifyError::Connection {
            message: error_chain(error),
            before_send: true,
        }
    } else if error.is_builder() {
        ShopifyError::Invalid(error_chain(error))
    } else {
        // Resets, closed connections, bodies cut short, gzip errors: the request may have
        // been processed.
        ShopifyError::Connection {
            message: error_chain(error),
            before_send: false,
        }
    };
    Answer::Failed { error, cost: None }
}

/// The error and its sources: reqwest's own message hides the cause ("error sending request").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
