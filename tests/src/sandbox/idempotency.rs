//! Idempotency keys: a key first seen is in flight until its request finishes, then its
//! payload is kept. The same key with the same field and arguments replays the payload
//! without applying anything; with other arguments it is a parameter mismatch; while the
//! first request still runs it is a concurrent request. A key whose first request ended
//! in user errors is spent: retrying it answers `IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`, so
//! a caller that re-reads after a stale compare-and-swap must use a new key.

use std::collections::HashMap;

use super::objects::{KeyDecision, Out, Ref};

/// Whether a mutation payload carries user errors (the attempt failed).
fn has_user_errors(payload: &Out) -> bool {
    match payload {
        Out::Obj(Ref::Record(record)) => record
            .fields
            .get("userErrors")
            .is_some_and(|errors| matches!(errors, Out::List(list) if !list.is_empty())),
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum Entry {
    InFlight { fingerprint: String },
    Done { fingerprint: String, payload: Out },
}

/// The keys seen by this shop.
#[derive(Debug, Default)]
pub struct KeyStore {
    entries: HashMap<String, Entry>,
}

impl KeyStore {
    /// Decides how the field keyed `key` with `fingerprint` is answered, marking a fresh
    /// key in flight.
    pub fn begin(&mut self, key: &str, fingerprint: &str) -> KeyDecision {
        match self.entries.get(key) {
            None => {
                self.entries.insert(
                    key.to_owned(),
                    Entry::InFlight {
                        fingerprint: fingerprint.to_owned(),
                    },
                );
                KeyDecision::Fresh(key.to_owned())
            }
            Some(Entry::InFlight { .. }) => KeyDecision::Concurrent,
            Some(Entry::Done {
                fingerprint: stored,
                payload,
            }) => {
                if stored != fingerprint {
                    KeyDecision::Mismatch
                } else if has_user_errors(payload) {
                    KeyDecision::PreviousAttemptFailed
                } else {
                    KeyDecision::Replay(payload.clone())
                }
            }
        }
    }

    /// Records the payload of a fresh key, or forgets the key when its request failed
    /// before producing one (so a retry can apply).
    pub fn finish(&mut self, key: &str, payload: Option<Out>) {
        match (payload, self.entries.remove(key)) {
            (Some(payload), Some(Entry::InFlight { fingerprint })) => {
                self.entries.insert(
                    key.to_owned(),
                    Entry::Done {
                        fingerprint,
                        payload,
                    },
                );
            }
            (
                _,
                Some(Entry::Done {
                    fingerprint,
                    payload,
                }),
            ) => {
                self.entries.insert(
                    key.to_owned(),
                    Entry::Done {
                        fingerprint,
                        payload,
                    },
                );
            }
            _ => {}
        }
    }
}
