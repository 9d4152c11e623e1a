//! Fault injection: each fault has a probability drawn from one seeded RNG, so a failing
//! run can be replayed with the same seed. Counters record what was injected.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Probabilities (0.0 to 1.0) and parameters of the faults to inject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Answer 500, 502 or 503 without doing anything.
    pub server_error: f64,
    /// Answer 429 Too Many Requests without doing anything.
    pub too_many_requests: f64,
    /// Hold the request past the client's timeout, then drop it, without doing anything.
    pub timeout: f64,
    /// How long a timeout holds the request (default 30 s).
    pub timeout_hold_ms: Option<u64>,
    /// Answer THROTTLED whatever the bucket holds.
    pub throttled: f64,
    /// Add latency before executing.
    pub latency: f64,
    /// How much latency (default 200 ms).
    pub latency_ms: Option<u64>,
    /// Apply a mutation, then drop the connection so the response is lost.
    pub response_lost: f64,
    /// Apply a mutation, then answer 502, 503 or 504 as a proxy in front of a slow
    /// backend does: the error does not mean nothing happened.
    pub server_error_after_apply: f64,
    /// Deliver a webhook twice.
    pub webhook_duplicate: f64,
    /// Delay a webhook by a random time up to `webhook_reorder_ms`, so later ones overtake it.
    pub webhook_reorder: f64,
    /// The reorder window (default 200 ms).
    pub webhook_reorder_ms: Option<u64>,
    /// Never deliver a webhook (Shopify does not guarantee delivery; reconciliation must
    /// find what was missed).
    pub webhook_drop: f64,
    /// The access token is revoked: every request gets 401.
    pub token_revoked: bool,
}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounters {
    /// 5xx answers.
    pub server_error: u64,
    /// 429 answers.
    pub too_many_requests: u64,
    /// Held and dropped requests.
    pub timeout: u64,
    /// Forced THROTTLED answers.
    pub throttled: u64,
    /// Delayed requests.
    pub latency: u64,
    /// Mutations applied whose response was dropped.
    pub response_lost: u64,
    /// Mutations applied and answered with a 5xx.
    pub server_error_after_apply: u64,
    /// Duplicated webhook deliveries.
    pub webhook_duplicate: u64,
    /// Delayed webhook deliveries.
    pub webhook_reorder: u64,
    /// Webhooks never delivered.
    pub webhook_drop: u64,
    /// Requests refused with a revoked token.
    pub token_revoked: u64,
}

/// A fault picked for one request, before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Early {
    /// Answer this status.
    Status(u16),
    /// Hold for this long, then drop.
    Timeout(Duration),
    /// Answer THROTTLED.
    Throttled,
}

/// The fault state.
#[derive(Debug)]
pub struct Faults {
    /// What to inject.
    pub config: FaultConfig,
    /// What was injected.
    pub counters: FaultCounters,
    rng: fastrand::Rng,
}

impl Faults {
    /// No faults, RNG seeded with `seed`.
    pub fn new(seed: u64) -> Faults {
        Faults {
            config: FaultConfig::default(),
            counters: FaultCounters::default(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Reseeds the RNG.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = fastrand::Rng::with_seed(seed);
    }

    fn roll(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.rng.f64() < probability
    }

    /// The fault that replaces the request, if any.
    pub fn early(&mut self) -> Option<Early> {
        if self.roll(self.config.server_error) {
            self.counters.server_error += 1;
            let status = [500, 502, 503][self.rng.usize(0..3)];
            return Some(Early::Status(status));
        }
        if self.roll(self.config.too_many_requests) {
            self.counters.too_many_requests += 1;
            return Some(Early::Status(429));
        }
        if self.roll(self.config.timeout) {
            self.counters.timeout += 1;
            return Some(Early::Timeout(Duration::from_millis(
                self.config.timeout_hold_ms.unwrap_or(30_000),
            )));
        }
        if self.roll(self.config.throttled) {
            self.counters.throttled += 1;
            return Some(Early::Throttled);
        }
        None
    }

    /// Latency to add before executing, if any.
    pub fn latency(&mut self) -> Option<Duration> {
        if self.roll(self.config.latency) {
            self.counters.latency += 1;
            return Some(Duration::from_millis(self.config.latency_ms.unwrap_or(200)));
        }
        None
    }

    /// Whether to drop the response of an applied mutation.
    pub fn lose_response(&mut self) -> bool {
        let lose = self.roll(self.config.response_lost);
        if lose {
            self.counters.response_lost += 1;
        }
        lose
    }

    /// The 5xx to answer after applying a mutation, if any.
    pub fn error_after_apply(&mut self) -> Option<u16> {
        if self.roll(self.config.server_error_after_apply) {
            self.counters.server_error_after_apply += 1;
            return Some([502, 503, 504][self.rng.usize(0..3)]);
        }
        None
    }

    /// Whether to deliver a webhook twice.
    pub fn duplicate_webhook(&mut self) -> bool {
        let duplicate = self.roll(self.config.webhook_duplicate);
        if duplicate {
            self.counters.webhook_duplicate += 1;
        }
        duplicate
    }

    /// Whether to silently lose a webhook.
    pub fn drop_webhook(&mut self) -> bool {
        let lost = self.roll(self.config.webhook_drop);
        if lost {
            self.counters.webhook_drop += 1;
        }
        lost
    }

    /// Extra delay for a webhook, if it is to be reordered.
    pub fn reorder_webhook(&mut self) -> Option<Duration> {
        if self.roll(self.config.webhook_reorder) {
            self.counters.webhook_reorder += 1;
            let window = self.config.webhook_reorder_ms.unwrap_or(200).max(1);
            return Some(Duration::from_millis(self.rng.u64(0..window)));
        }
        None
    }
}
