//! Change cursors on Tryton's own clock.
//!
//! Tryton stamps `write_date` (also set at creation in 8.2) with the time its *transaction
//! started*, in naive UTC, and every record of one transaction carries the same value. A
//! transaction that started before our last poll but committed after it therefore shows up
//! with a timestamp older than what we have already seen. So a poll re-reads an overlap
//! window before the watermark (`write_date >= since`) and drops what it has already
//! reported.
//!
//! What was reported is remembered per stamp, not per record: how many records carried
//! it, and the sum and the exclusive or of their ids (a [`Digest`]). The records of one
//! transaction become visible together, so a stamp read again with the same digest holds
//! nothing new, and a bulk import of half a million records stamped at one instant costs
//! the cursor one entry. A stamp whose digest changed (a later transaction that started
//! in the same microsecond) has all its records reported again: a repeat, never a miss.
//!
//! The window shrinks as time passes. Say the newest stamp seen, `at`, was first in an
//! answer received at local time `observed`: the ERP's clock had passed `at` by then. A
//! later read sent at local time `read` sees every transaction that started before
//! `at + (read - observed) - overlap` (they all committed, none lasting longer than the
//! overlap), so the next poll starts there: `since = at - overlap + min(read - observed,
//! overlap)`. Only elapsed local time is used, never a comparison of the two clocks. Once
//! the ERP has been quiet for the overlap, a poll reads only what is newer than `at` and
//! the cursor remembers nothing: a bulk import is re-read for one overlap, not by every
//! poll until something newer is written. `read` moves in steps of an eighth of the
//! overlap (an older read time is always safe), so a quiet ERP does not make a new cursor
//! to store at every poll.
//!
//! The cursor is JSON: `{"at": "2026-11-23T15:26:19.145239", "stamps": [["...", count,
//! sum, xor], ...], "observed": "2026-11-23T15:26:20.01Z", "read": "..."}`. An empty
//! cursor means "from the beginning"; one of an older version (`seen`: the (id, stamp)
//! pairs, no `observed`) is read as digests and re-reads the whole overlap once. A record
//! rewritten later gets a new `write_date`, so it is reported again: a poll may repeat,
//! never miss (as long as no transaction runs longer than the overlap, and the agent's
//! clock does not jump forward).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::erp::{Cursor, ErpError};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// A decoded cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermark {
    /// The newest `write_date` reported.
    pub at: Option<NaiveDateTime>,
    /// What was reported of each stamp inside the overlap window.
    pub seen: BTreeMap<NaiveDateTime, Digest>,
    /// When (local clock) the answer that first held `at` was received.
    pub observed: Option<DateTime<Utc>>,
    /// When (local clock) the read that made this watermark was sent.
    pub read: Option<DateTime<Utc>>,
}

/// What was reported of one stamp: how many records, and two checksums of their ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    /// Records.
    pub count: u64,
    /// The sum of their ids (wrapping).
    pub sum: i64,
    /// The exclusive or of their ids.
    pub xor: i64,
}

impl Digest {
    fn add(&mut self, id: i64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(id);
        self.xor ^= id;
    }
}

/// One read of the rows written since a watermark, row by row: [`Reading::row`] says
/// which rows are new as they come, without holding them; [`Reading::finish`] names the
/// stamps that must be read again whole and makes the next watermark.
#[derive(Debug)]
pub struct Reading<'a> {
    mark: &'a Watermark,
    digests: BTreeMap<NaiveDateTime, Digest>,
    newest: Option<NaiveDateTime>,
}

impl Reading<'_> {
    /// Counts one row: `true` if it is new (its stamp was not reported before); for a stamp
    /// reported before, `false`, and [`Reading::finish`] tells whether it changed.
    pub fn row(&mut self, id: i64, stamp: NaiveDateTime) -> bool {
        self.digests.entry(stamp).or_default().add(id);
        self.newest = self.newest.max(Some(stamp));
        !self.mark.seen.contains_key(&stamp)
    }

    /// The stamps reported before whose records changed (every record of them is to be
    /// reported again), and the watermark after this read.
    pub fn finish(self, overlap: Duration, times: ReadTimes) -> (Vec<NaiveDateTime>, Watermark) {
        let mark = self.mark;
        let changed = mark
            .seen
            .iter()
            .filter(|(stamp, seen)| self.digests.get(stamp).copied().unwrap_or_default() != **seen)
            .map(|(stamp, _)| *stamp)
            .collect();
        let at = self.newest.max(mark.at);
        // A newer stamp starts its own clock; so does a cursor that had none.
        let (observed, read) = match (mark.observed, mark.read) {
            (Some(observed), Some(read)) if at == mark.at => {
                // The read time moves in steps of an eighth of the overlap, and no more
                // once the window is settled, so a quiet ERP does not make a new cursor
                // (a store write) at every poll. An older read time is always safe.
                let step =
                    chrono::Duration::from_std(overlap / 8).unwrap_or(chrono::Duration::zero());
                let whole = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
                let settled = mark.settled() >= whole;
                let moved = times.sent - read >= step;
                (observed, if moved && !settled { times.sent } else { read })
            }
            _ => (times.answered, times.sent),
        };
        let mut next = Watermark {
            at,
            seen: BTreeMap::new(),
            observed: Some(observed),
            read: Some(read),
        };
        let floor = next.since(overlap);
        next.seen = self
            .digests
            .into_iter()
            .filter(|(stamp, _)| floor.is_none_or(|floor| *stamp >= floor))
            .collect();
        (changed, next)
    }
}

/// When one read of the ERP was sent and when its answer was received (local clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTimes {
    /// Before the request left: everything committed by then is in the answer.
    pub sent: DateTime<Utc>,
    /// After the answer arrived: the ERP's clock had passed every stamp in it.
    pub answered: DateTime<Utc>,
}

impl ReadTimes {
    /// A read sent at `sent` whose answer has just arrived.
    pub fn answered_now(sent: DateTime<Utc>) -> ReadTimes {
        ReadTimes {
            sent,
            answered: Utc::now(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    at: String,
    /// (stamp, count, sum, xor) per stamp.
    #[serde(default)]
    stamps: Vec<(String, u64, i64, i64)>,
    /// What an older version kept: every (id, stamp) pair.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<(i64, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read: Option<DateTime<Utc>>,
}

impl Watermark {
    /// Decodes a cursor; the empty cursor is the beginning of time.
    pub fn decode(cursor: &Cursor) -> Result<Watermark, ErpError> {
        if cursor.0.is_empty() {
            return Ok(Watermark::default());
        }
        let invalid = |why: String| ErpError::Invalid(format!("not a Tryton cursor: {why}"));
        let wire: Wire = serde_json::from_str(&cursor.0).map_err(|e| invalid(e.to_string()))?;
        let parse = |text: &str| {
            NaiveDateTime::parse_from_str(text, FORMAT).map_err(|e| invalid(e.to_string()))
        };
        let mut seen: BTreeMap<NaiveDateTime, Digest> = BTreeMap::new();
        for (stamp, count, sum, xor) in &wire.stamps {
            let digest = Digest {
                count: *count,
                sum: *sum,
                xor: *xor,
            };
            seen.insert(parse(stamp)?, digest);
        }
        for (id, stamp) in &wire.seen {
            seen.entry(parse(stamp)?).or_default().add(*id);
        }
        Ok(Watermark {
            at: Some(parse(&wire.at)?),
            seen,
            observed: wire.observed,
            read: wire.read,
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> Cursor {
        let Some(at) = self.at else {
            return Cursor::default();
        };
        let wire = Wire {
            at: at.format(FORMAT).to_string(),
            stamps: self
                .seen
                .iter()
                .map(|(stamp, d)| (stamp.format(FORMAT).to_string(), d.count, d.sum, d.xor))
                .collect(),
            seen: Vec::new(),
            observed: self.observed,
            read: self.read,
        };
        // A struct of strings and integers always serializes.
        Cursor(serde_json::to_string(&wire).unwrap_or_default())
    }

    /// Where the next query starts: the overlap window before the watermark, less the
    /// time the ERP has been known to be past it (see the module's documentation). Once
    /// that is the whole overlap, just after the watermark: every record stamped at it
    /// has been read, and the next query returns only newer ones.
    pub fn since(&self, overlap: Duration) -> Option<NaiveDateTime> {
        let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
        let settled = self.settled();
        self.at.map(|at| {
            if settled >= overlap {
                at + chrono::Duration::microseconds(1)
            } else {
                at - overlap + settled
            }
        })
    }

    /// How long the ERP has been known to be past the watermark.
    fn settled(&self) -> chrono::Duration {
        match (self.observed, self.read) {
            (Some(observed), Some(read)) => (read - observed).max(chrono::Duration::zero()),
            _ => chrono::Duration::zero(),
        }
    }

    /// A read of the rows written since this watermark, row by row.
    pub fn reading(&self) -> Reading<'_> {
        Reading {
            mark: self,
            digests: BTreeMap::new(),
            newest: None,
        }
    }

    /// Splits the rows a read returned (all in hand) into those not reported yet (their
    /// indices: every row of a stamp whose records changed), and the watermark after them.
    pub fn advance(
        &self,
        rows: &[(i64, NaiveDateTime)],
        overlap: Duration,
        times: ReadTimes,
    ) -> (Vec<usize>, Watermark) {
        let mut reading = self.reading();
        let new: Vec<bool> = rows
            .iter()
            .map(|(id, stamp)| reading.row(*id, *stamp))
            .collect();
        let (changed, next) = reading.finish(overlap, times);
        let changed: BTreeSet<NaiveDateTime> = changed.into_iter().collect();
        let fresh = rows
            .iter()
            .zip(new)
            .enumerate()
            .filter(|(_, ((_, stamp), new))| *new || changed.contains(stamp))
            .map(|(i, _)| i)
            .collect();
        (fresh, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(second: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(12, 0, second)
            .unwrap()
    }

    /// Local time, `second` seconds after the stamps' minute (the clocks need not agree).
    fn local(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap()
    }

    /// A read sent at local `second` and answered at once.
    fn read_at(second: i64) -> ReadTimes {
        ReadTimes {
            sent: local(second),
            answered: local(second),
        }
    }

    #[test]
    fn a_poll_reports_each_write_once_and_a_late_commit_still() {
        let overlap = Duration::from_secs(10);
        let start = Watermark::default();
        let (fresh, next) = start.advance(&[(1, at(20)), (2, at(30))], overlap, read_at(0));
        assert_eq!(fresh, vec![0, 1]);
        assert_eq!(next.at, Some(at(30)));
        assert_eq!(
            next.since(overlap),
            Some(at(20)),
            "a new stamp: the whole overlap"
        );
        // the next query re-reads from 20 s: both again, plus a move whose transaction
        // started at 25 s but committed after the first poll
        let (fresh, next) = next.advance(
            &[(1, at(20)), (3, at(25)), (2, at(30))],
            overlap,
            read_at(1),
        );
        assert_eq!(fresh, vec![1]);
        // move 1 rewritten later is new again
        let (fresh, next) = next.advance(&[(1, at(40))], overlap, read_at(2));
        assert_eq!(fresh, vec![0]);
        let round = Watermark::decode(&next.encode()).unwrap();
        assert_eq!(round, next);
        assert!(!round.seen.contains_key(&at(20)), "outside the window");
    }

    #[test]
    fn the_window_shrinks_while_the_erp_is_quiet_and_never_misses_a_late_commit() {
        let overlap = Duration::from_secs(10);
        // a bulk import: 1,000 records at one stamp, answered at local 0
        let import: Vec<_> = (1..=1000).map(|id| (id, at(30))).collect();
        let (fresh, mark) = Watermark::default().advance(&import, overlap, read_at(0));
        assert_eq!(fresh.len(), 1000);
        assert_eq!(mark.since(overlap), Some(at(20)));
        // 4 s later nothing new: a transaction that started before 30 - 10 + 4 = 24
        // has committed, so the next read starts at 24
        let (fresh, mark) = mark.advance(&import, overlap, read_at(4));
        assert!(fresh.is_empty());
        assert_eq!(mark.since(overlap), Some(at(24)));
        // a transaction that started at 26 commits now: still inside the window
        let mut rows = import.clone();
        rows.push((2000, at(26)));
        let (fresh, mark) = mark.advance(&rows, overlap, read_at(6));
        assert_eq!(fresh, vec![1000], "the late commit is reported once");
        assert_eq!(mark.since(overlap), Some(at(26)));
        // less than an eighth of the overlap later: the same cursor, nothing to store
        let (fresh, same) = mark.advance(&rows, overlap, read_at(7));
        assert!(fresh.is_empty());
        assert_eq!(same, mark);
        // after a whole overlap of quiet the window starts just after the watermark:
        // nothing is re-read and nothing needs remembering
        let (fresh, mark) = mark.advance(&rows, overlap, read_at(30));
        assert!(fresh.is_empty());
        let after = at(30) + chrono::Duration::microseconds(1);
        assert_eq!(mark.since(overlap), Some(after));
        assert!(mark.seen.is_empty());
        let (fresh, same) = mark.advance(&[], overlap, read_at(300));
        assert!(fresh.is_empty());
        assert_eq!(
            same, mark,
            "a settled cursor does not change while the ERP is quiet"
        );
        // a newer write restarts the clock: the whole overlap again
        let (fresh, mark) = mark.advance(&[(3000, at(45))], overlap, read_at(301));
        assert_eq!(fresh, vec![0]);
        assert_eq!(mark.since(overlap), Some(at(35)));
        assert!(mark.seen.keys().all(|stamp| *stamp >= at(35)));
    }

    #[test]
    fn an_import_at_one_stamp_is_one_entry_and_a_changed_stamp_is_read_again() {
        let overlap = Duration::from_secs(10);
        let import: Vec<_> = (1..=100_000).map(|id| (id, at(30))).collect();
        let (fresh, mark) = Watermark::default().advance(&import, overlap, read_at(0));
        assert_eq!(fresh.len(), 100_000);
        assert_eq!(mark.seen.len(), 1, "one digest for the whole import");
        assert!(mark.encode().0.len() < 200, "{}", mark.encode().0);
        // read again: nothing new, without holding the rows
        let mut reading = mark.reading();
        assert!(import.iter().all(|(id, stamp)| !reading.row(*id, *stamp)));
        let (changed, again) = reading.finish(overlap, read_at(1));
        assert!(changed.is_empty());
        assert_eq!(again.seen, mark.seen);
        // another transaction started in the same microsecond commits later: the stamp
        // changed, every record of it is reported again (a repeat, not a miss)
        let mut late = import.clone();
        late.push((200_000, at(30)));
        let (fresh, _) = mark.advance(&late, overlap, read_at(2));
        assert_eq!(fresh.len(), 100_001);
        // a newer stamp is new as it comes
        let mut reading = mark.reading();
        assert!(reading.row(300_000, at(31)));
    }

    #[test]
    fn a_read_sent_before_the_watermark_was_seen_does_not_shrink_the_window() {
        // answered after a slow read: the read that made it was sent before the stamp
        // was known, so nothing is known to have committed yet
        let overlap = Duration::from_secs(10);
        let times = ReadTimes {
            sent: local(0),
            answered: local(8),
        };
        let (_, mark) = Watermark::default().advance(&[(1, at(30))], overlap, times);
        assert_eq!(mark.since(overlap), Some(at(20)));
        // a clock that went back is no elapsed time either
        let (_, mark) = mark.advance(&[(1, at(30))], overlap, read_at(3));
        assert_eq!(mark.since(overlap), Some(at(20)));
    }

    #[test]
    fn a_cursor_of_an_older_version_reads_the_whole_overlap_once() {
        let overlap = Duration::from_secs(10);
        let old = Cursor(
            r#"{"at":"2026-11-23T12:00:30.000000","seen":[[1,"2026-11-23T12:00:30.000000"]]}"#
                .to_owned(),
        );
        let mark = Watermark::decode(&old).unwrap();
        assert_eq!(mark.observed, None);
        assert_eq!(mark.since(overlap), Some(at(20)));
        let (fresh, mark) = mark.advance(&[(1, at(30))], overlap, read_at(100));
        assert!(fresh.is_empty());
        assert_eq!(mark.observed, Some(local(100)), "its clock starts now");
        assert_eq!(mark.since(overlap), Some(at(20)));
    }
}
