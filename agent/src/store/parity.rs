//! The reconciler's reports: runs, the mismatches each found, and the latest finished run
//! per dimension.
//!
//! # Invariants
//! - A run is stored when it starts (`running`), so a crash mid-run leaves a visible,
//!   unfinished run rather than nothing; its mismatches are stored in batches as the
//!   comparison finds them, and the run's figures in the write that finishes it.
//! - `PARITY_LATEST` points only at finished (`done`) runs: a failed or running run is
//!   never anyone's latest report.
//! - At most `keep` runs are kept; an older run goes with all its mismatches in the write
//!   that finishes a newer one, except a run that is still some dimension's latest.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata};

use plumb_common::protocol::{
    Event, LatestParity, Mismatch, MismatchPage, MismatchQuery, ParityDimension, ParityRun,
    ParityRunPage, ParityRunQuery, RunState,
};

use super::records;
use super::schema::{META_NEXT_PARITY_RUN, PARITY_LATEST, PARITY_MISMATCHES, PARITY_RUNS};
use super::writer::{Change, WriteCtx};
use super::{Store, StoreError};

fn decode_run(id: u64, bytes: &[u8]) -> Result<ParityRun, StoreError> {
    records::decode("parity_runs", id, bytes)
}

fn decode_mismatch(id: u64, bytes: &[u8]) -> Result<Mismatch, StoreError> {
    records::decode("parity_mismatches", id, bytes)
}

impl WriteCtx<'_> {
    /// Stores a new run (its `id` is assigned here) and tells subscribers. Returns the id.
    pub fn parity_run_started(&mut self, run: &mut ParityRun) -> Result<u64, StoreError> {
        run.id = self.next_id(META_NEXT_PARITY_RUN)?;
        self.save_run(run)?;
        Ok(run.id)
    }

    /// Adds mismatches found by run `run`.
    pub fn parity_mismatches_found(
        &mut self,
        run: u64,
        mismatches: &[Mismatch],
    ) -> Result<(), StoreError> {
        for mismatch in mismatches {
            self.t
                .parity_mismatches
                .insert((run, mismatch.id), records::encode(mismatch)?.as_slice())?;
        }
        Ok(())
    }

    /// Stores a run's final state; a finished run becomes the latest of every dimension it
    /// compared. Runs beyond the newest `keep` are removed with their mismatches.
    pub fn parity_run_finished(&mut self, run: &ParityRun, keep: usize) -> Result<(), StoreError> {
        self.save_run(run)?;
        if run.state == RunState::Done {
            for figures in &run.dimensions {
                self.t
                    .parity_latest
                    .insert(figures.dimension.code(), run.id)?;
            }
        }
        self.prune_runs(keep.max(1))
    }

    /// Marks mismatches of `run` as repaired and adds the repairs queued to the run's
    /// figures (per dimension). Returns the run as it is now.
    pub fn parity_repairs_queued(
        &mut self,
        run: u64,
        repaired: &[(ParityDimension, u64)],
    ) -> Result<Option<ParityRun>, StoreError> {
        let Some(mut record) = self.load_run(run)? else {
            return Ok(None);
        };
        for (dimension, id) in repaired {
            let Some(mut mismatch) = self
                .t
                .parity_mismatches
                .get((run, *id))?
                .map(|v| decode_mismatch(*id, v.value()))
                .transpose()?
            else {
                continue;
            };
            if mismatch.repaired {
                continue;
            }
            mismatch.repaired = true;
            self.t
                .parity_mismatches
                .insert((run, *id), records::encode(&mismatch)?.as_slice())?;
            if let Some(figures) = record
                .dimensions
                .iter_mut()
                .find(|d| d.dimension == *dimension)
            {
                figures.repairs_queued += 1;
            }
        }
        self.save_run(&record)?;
        Ok(Some(record))
    }

    fn load_run(&self, id: u64) -> Result<Option<ParityRun>, StoreError> {
        self.t
            .parity_runs
            .get(id)?
            .map(|v| decode_run(id, v.value()))
            .transpose()
    }

    fn save_run(&mut self, run: &ParityRun) -> Result<(), StoreError> {
        self.t
            .parity_runs
            .insert(run.id, records::encode(run)?.as_slice())?;
        self.changes
            .push(Change::Publish(Event::ParityRun(run.clone())));
        Ok(())
    }

    fn prune_runs(&mut self, keep: usize) -> Result<(), StoreError> {
        let count = usize::try_from(self.t.parity_runs.len()?).unwrap_or(usize::MAX);
        if count <= keep {
            return Ok(());
        }
        let latest: Vec<u64> = self
            .t
            .parity_latest
            .iter()?
            .map(|entry| entry.map(|(_, run)| run.value()))
            .collect::<Result<_, _>>()?;
        let oldest: Vec<u64> = self
            .t
            .parity_runs
            .iter()?
            .map(|entry| entry.map(|(id, _)| id.value()))
            .take(count - keep)
            .collect::<Result<_, _>>()?;
        for run in oldest.into_iter().filter(|id| !latest.contains(id)) {
            self.t.parity_runs.remove(run)?;
            let ids: Vec<u64> = self
                .t
                .parity_mismatches
                .range((run, 0)..=(run, u64::MAX))?
                .map(|entry| entry.map(|(key, _)| key.value().1))
                .collect::<Result<_, _>>()?;
            for id in ids {
                self.t.parity_mismatches.remove((run, id))?;
            }
        }
        Ok(())
    }
}

/// The latest finished report of every dimension that has one.
fn latest(txn: &ReadTransaction) -> Result<Vec<LatestParity>, StoreError> {
    let pointers = txn.open_table(PARITY_LATEST)?;
    let runs = txn.open_table(PARITY_RUNS)?;
    let mut found = Vec::new();
    for dimension in ParityDimension::ALL {
        let Some(run) = pointers.get(dimension.code())?.map(|v| v.value()) else {
            continue;
        };
        let Some(record) = runs
            .get(run)?
            .map(|v| decode_run(run, v.value()))
            .transpose()?
        else {
            continue;
        };
        if let Some(figures) = record.dimension(dimension) {
            found.push(LatestParity {
                run,
                at: record.finished_at.unwrap_or(record.started_at),
                scope: record.scope,
                dry_run: record.dry_run,
                parity: figures.clone(),
            });
        }
    }
    Ok(found)
}

impl Store {
    /// The latest finished report of every dimension that has one: one small read, cheap
    /// enough for an alert rule to call every evaluation ("parity below Y").
    pub async fn parity_latest(&self) -> Result<Vec<LatestParity>, StoreError> {
        self.read(latest).await
    }

    /// One run.
    pub async fn parity_run(&self, id: u64) -> Result<Option<ParityRun>, StoreError> {
        self.read(move |txn| {
            let runs = txn.open_table(PARITY_RUNS)?;
            runs.get(id)?.map(|v| decode_run(id, v.value())).transpose()
        })
        .await
    }

    /// Runs, newest first.
    pub async fn parity_runs(&self, query: ParityRunQuery) -> Result<ParityRunPage, StoreError> {
        self.read(move |txn| {
            let limit = query.limit.clamp(1, super::read::MAX_PAGE) as usize;
            let runs = txn.open_table(PARITY_RUNS)?;
            let upper = query.before.unwrap_or(u64::MAX);
            let mut items = Vec::new();
            let mut next = None;
            for entry in runs.range(..upper)?.rev() {
                let (id, bytes) = entry?;
                if items.len() == limit {
                    next = items.last().map(|r: &ParityRun| r.id);
                    break;
                }
                items.push(decode_run(id.value(), bytes.value())?);
            }
            Ok(ParityRunPage { items, next })
        })
        .await
    }

    /// A page of a run's mismatches (by default the latest finished run comparing the
    /// query's dimension), filtered by dimension and kind.
    pub async fn mismatches(&self, query: MismatchQuery) -> Result<MismatchPage, StoreError> {
        self.read(move |txn| {
            let limit = query.limit.clamp(1, super::read::MAX_PAGE) as usize;
            let run = match query.run {
                Some(run) => Some(run),
                None => {
                    let found = latest(txn)?;
                    match query.dimension {
                        Some(dimension) => found
                            .iter()
                            .find(|l| l.parity.dimension == dimension)
                            .map(|l| l.run),
                        None => found.iter().map(|l| l.run).max(),
                    }
                }
            };
            let mut page = MismatchPage {
                run,
                items: Vec::new(),
                next: None,
            };
            let Some(run) = run else {
                return Ok(page);
            };
            let table = txn.open_table(PARITY_MISMATCHES)?;
            let start = query.after.map_or(0, |id| id.saturating_add(1));
            for entry in table.range((run, start)..=(run, u64::MAX))? {
                let (key, bytes) = entry?;
                let mismatch = decode_mismatch(key.value().1, bytes.value())?;
                if query.dimension.is_some_and(|d| d != mismatch.dimension)
                    || query.kind.as_deref().is_some_and(|k| k != mismatch.kind)
                {
                    continue;
                }
                if page.items.len() == limit {
                    page.next = page.items.last().map(|m| m.id);
                    break;
                }
                page.items.push(mismatch);
            }
            Ok(page)
        })
        .await
    }
}
