//! The leaky bucket Shopify throttles GraphQL with, per app and store: it refills at the
//! plan's restore rate up to 20 times that rate; a query needs its requested cost in the
//! bucket before it runs, and gets the unused part back after.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A Shopify plan, which sets the restore rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// 100 points/s.
    Standard,
    /// 200 points/s.
    Advanced,
    /// 1,000 points/s.
    Plus,
    /// 2,000 points/s.
    Enterprise,
}

impl Plan {
    /// Points restored per second.
    pub fn restore_rate(self) -> f64 {
        match self {
            Plan::Standard => 100.0,
            Plan::Advanced => 200.0,
            Plan::Plus => 1000.0,
            Plan::Enterprise => 2000.0,
        }
    }
}

/// `throttleStatus` of a response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleStatus {
    /// Bucket size.
    pub maximum_available: f64,
    /// Points in the bucket now.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

impl ThrottleStatus {
    /// As Shopify prints it: floats for the size and rate, an integer for what is left.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": self.currently_available.floor() as i64,
            "restoreRate": self.restore_rate,
        })
    }
}

/// The bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    maximum: f64,
    restore_rate: f64,
    available: f64,
    refilled_at: Instant,
}

impl Bucket {
    /// A full bucket of `maximum` points refilling at `restore_rate` points/s.
    pub fn new(maximum: f64, restore_rate: f64) -> Bucket {
        Bucket {
            maximum,
            restore_rate,
            available: maximum,
            refilled_at: Instant::now(),
        }
    }

    /// A full bucket for `plan` (size 20 x restore rate).
    pub fn for_plan(plan: Plan) -> Bucket {
        Bucket::new(plan.restore_rate() * 20.0, plan.restore_rate())
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
        self.available = (self.available + elapsed * self.restore_rate).min(self.maximum);
        self.refilled_at = now;
    }

    /// Takes `cost` points if they are there; `Err` with the status otherwise.
    pub fn take(&mut self, cost: u64) -> Result<ThrottleStatus, ThrottleStatus> {
        self.refill();
        if cost as f64 > self.available {
            return Err(self.status());
        }
        self.available -= cost as f64;
        Ok(self.status())
    }

    /// Gives `points` back (the requested cost not used).
    pub fn refund(&mut self, points: u64) -> ThrottleStatus {
        self.refill();
        self.available = (self.available + points as f64).min(self.maximum);
        self.status()
    }

    /// Sets the points in the bucket (tests drain or fill it).
    pub fn set_available(&mut self, points: f64) {
        self.refill();
        self.available = points.clamp(0.0, self.maximum);
    }

    /// The status now.
    pub fn status(&mut self) -> ThrottleStatus {
        self.refill();
        ThrottleStatus {
            maximum_available: self.maximum,
            currently_available: self.available,
            restore_rate: self.restore_rate,
        }
    }
}
