//! Job identity and state as both binaries see them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job's id: allocated from one counter in the store, so ids sort in creation order
/// (a string id would sort "10" before "9").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its due time (first run or retry).
    Pending,
    /// Taken by a worker under a lease.
    InFlight,
    /// Finished successfully.
    Done,
    /// Given up on: in the dead-letter queue.
    Dead,
}

impl JobState {
    /// The name shown to people and scripts.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::InFlight => "in_flight",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a failure is treated: the three-valued delivery outcome's two failing values, plus
/// the transient failure that ran out of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// May succeed later (timeout, 5xx, throttled): retried with backoff.
    Transient,
    /// Can never succeed as it is (bad data, unknown SKU): dead-lettered at once.
    Permanent,
    /// Transient every time until the flow's attempts ran out: dead-lettered.
    Exhausted,
}

impl ErrorClass {
    /// The name shown to people and scripts.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Exhausted => "exhausted",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
