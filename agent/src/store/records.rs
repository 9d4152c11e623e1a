//! The records the store keeps as bytes: a version byte, then postcard.
//!
//! postcard is compact and fast but not self-describing, so the leading version byte is
//! what lets a later build tell an old record from a corrupt one.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use plumb_common::protocol::{DeadLetterSummary, JobSummary};
use plumb_common::{ErrorClass, FlowKind, JobId, JobState, Timestamp};

use super::StoreError;

const RECORD_VERSION: u8 = 1;

/// A job that is pending, in flight or dead. Completed jobs keep only a line in `done`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub flow: FlowKind,
    pub state: StoredState,
    /// Attempts started; also the lease token of the current attempt.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// Pending: when it may run. In flight: when its lease ends.
    pub due_at: Timestamp,
    /// What the payload is, for people ("shopify webhook orders/create").
    pub payload_kind: String,
    pub dedup_key: Option<String>,
    pub coalesce_key: Option<String>,
    pub failure: Option<FailureRecord>,
}

/// The store's own view of a job's state (done jobs have no record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredState {
    Pending,
    InFlight,
    Dead,
}

impl StoredState {
    pub fn public(self) -> JobState {
        match self {
            StoredState::Pending => JobState::Pending,
            StoredState::InFlight => JobState::InFlight,
            StoredState::Dead => JobState::Dead,
        }
    }
}

/// The failures a job has had, kept until it completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub class: ErrorClass,
    pub cause: String,
    pub message: String,
    pub first_failed_at: Timestamp,
    pub last_failed_at: Timestamp,
}

impl JobRecord {
    pub fn summary(&self, id: JobId) -> JobSummary {
        JobSummary {
            id,
            flow: self.flow,
            state: self.state.public(),
            attempts: self.attempts,
            created_at: self.created_at,
            due_at: (self.state != StoredState::Dead).then_some(self.due_at),
            last_error: self.failure.as_ref().map(|f| f.message.clone()),
        }
    }

    /// The dead-letter view; `None` unless the job is dead.
    pub fn dead_letter(&self, id: JobId) -> Option<DeadLetterSummary> {
        let failure = self
            .failure
            .as_ref()
            .filter(|_| self.state == StoredState::Dead)?;
        Some(DeadLetterSummary {
            id,
            flow: self.flow,
            class: failure.class,
            cause: failure.cause.clone(),
            message: failure.message.clone(),
            attempts: self.attempts,
            created_at: self.created_at,
            first_failed_at: failure.first_failed_at,
            last_failed_at: failure.last_failed_at,
        })
    }
}

/// A dead letter that left the queue: discarded by someone, or evicted by the bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub job: JobId,
    pub record: JobRecord,
    pub payload: Vec<u8>,
    pub removed_at: Timestamp,
    pub reason: String,
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![RECORD_VERSION];
    let body = postcard::to_stdvec(value).map_err(|e| StoreError::Encode(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(
    table: &'static str,
    key: u64,
    bytes: &[u8],
) -> Result<T, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        table,
        key,
        message,
    };
    match bytes.split_first() {
        Some((&RECORD_VERSION, body)) => {
            postcard::from_bytes(body).map_err(|e| corrupt(e.to_string()))
        }
        Some((version, _)) => Err(corrupt(format!(
            "record version {version}, this build reads {RECORD_VERSION}"
        ))),
        None => Err(corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> JobRecord {
        JobRecord {
            flow: FlowKind::Orders,
            state: StoredState::Pending,
            attempts: 2,
            created_at: Timestamp(10),
            due_at: Timestamp(20),
            payload_kind: "test".into(),
            dedup_key: Some("k".into()),
            coalesce_key: None,
            failure: None,
        }
    }

    #[test]
    fn round_trips_and_rejects_other_versions() {
        let bytes = encode(&record()).expect("encode");
        assert_eq!(
            decode::<JobRecord>("jobs", 1, &bytes).expect("decode"),
            record()
        );
        let mut newer = bytes.clone();
        newer[0] = 9;
        let err = decode::<JobRecord>("jobs", 1, &newer).unwrap_err();
        assert!(err.to_string().contains("record version 9"), "{err}");
        assert!(decode::<JobRecord>("jobs", 1, &[]).is_err());
        assert!(decode::<JobRecord>("jobs", 1, &[RECORD_VERSION, 0xff]).is_err());
    }
}
