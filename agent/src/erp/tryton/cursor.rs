//! Change cursors on Tryton's own clock.
//!
//! Tryton stamps `write_date` (also set at creation in 8.2) with the time its *transaction
//! started*, in naive UTC, and every record of one transaction carries the same value. A
//! transaction that started before our last poll but committed after it therefore shows up
//! with a timestamp older than what we have already seen. So a poll re-reads an overlap
//! window before the watermark (`write_date >= at - overlap`) and drops what it has already
//! reported, remembered as the (id, write_date) pairs inside that window.
//!
//! The cursor is JSON: `{"at": "2026-11-23T15:26:19.145239", "seen": [[id, "..."], ...]}`.
//! An empty cursor means "from the beginning". A record rewritten later gets a new
//! `write_date`, so it is reported again: a poll may repeat, never miss (as long as no
//! transaction runs longer than the overlap).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::erp::{Cursor, ErpError};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// A decoded cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermark {
    /// The newest `write_date` reported.
    pub at: Option<NaiveDateTime>,
    /// What was reported inside the overlap window before `at`.
    pub seen: BTreeSet<(i64, NaiveDateTime)>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    at: String,
    seen: Vec<(i64, String)>,
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
        let seen = wire
            .seen
            .iter()
            .map(|(id, at)| Ok((*id, parse(at)?)))
            .collect::<Result<_, ErpError>>()?;
        Ok(Watermark {
            at: Some(parse(&wire.at)?),
            seen,
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> Cursor {
        let Some(at) = self.at else {
            return Cursor::default();
        };
        let wire = Wire {
            at: at.format(FORMAT).to_string(),
            seen: self
                .seen
                .iter()
                .map(|(id, at)| (*id, at.format(FORMAT).to_string()))
                .collect(),
        };
        // A struct of strings and integers always serializes.
        Cursor(serde_json::to_string(&wire).unwrap_or_default())
    }

    /// Where the next query starts: the overlap window before the watermark.
    pub fn since(&self, overlap: Duration) -> Option<NaiveDateTime> {
        let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
        self.at.map(|at| at - overlap)
    }

    /// Splits the rows a query returned into those not reported yet (their indices), and
    /// the watermark after them.
    pub fn advance(
        &self,
        rows: &[(i64, NaiveDateTime)],
        overlap: Duration,
    ) -> (Vec<usize>, Watermark) {
        let fresh = rows
            .iter()
            .enumerate()
            .filter(|(_, key)| !self.seen.contains(key))
            .map(|(i, _)| i)
            .collect();
        let at = rows.iter().map(|(_, at)| *at).chain(self.at).max();
        let next = Watermark {
            at,
            seen: BTreeSet::new(),
        };
        let floor = next.since(overlap);
        let seen = self
            .seen
            .iter()
            .chain(rows.iter())
            .filter(|(_, at)| floor.is_none_or(|floor| *at >= floor))
            .copied()
            .collect();
        (fresh, Watermark { seen, ..next })
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

    #[test]
    fn a_poll_reports_each_write_once_and_a_late_commit_still() {
        let overlap = Duration::from_secs(10);
        let start = Watermark::default();
        let (fresh, next) = start.advance(&[(1, at(20)), (2, at(30))], overlap);
        assert_eq!(fresh, vec![0, 1]);
        assert_eq!(next.at, Some(at(30)));
        // the next query re-reads from 20 s: both again, plus a move whose transaction
        // started at 25 s but committed after the first poll
        let (fresh, next) = next.advance(&[(1, at(20)), (3, at(25)), (2, at(30))], overlap);
        assert_eq!(fresh, vec![1]);
        // move 1 rewritten later is new again
        let (fresh, next) = next.advance(&[(1, at(40))], overlap);
        assert_eq!(fresh, vec![0]);
        let round = Watermark::decode(&next.encode()).unwrap();
        assert_eq!(round, next);
        assert!(!round.seen.contains(&(1, at(20))), "outside the window");
    }
}
