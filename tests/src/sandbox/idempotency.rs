//! Idempotency keys: a key first seen is in flight until its request finishes, then its
//! payload is kept. The same key with the same field and arguments replays the payload
//! without applying anything; with other arguments it is a parameter mismatch; while the
//! first request still runs it is a concurrent request.

use std::collections::HashMap;

use super::objects::{KeyDecision, Out};

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
                if stored == fingerprint {
                    KeyDecision::Replay(payload.clone())
                } else {
                    KeyDecision::Mismatch
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
