//! A table of records that carry a SKU (variants, inventory items), indexed by SKU: a
//! search by SKU reads the records that have it instead of every record. Reads see the
//! map itself (`Deref`); changes go through the table, and [`SkuTable::get_mut`] hands out
//! an entry that refiles its record if the SKU changed, so the index cannot drift.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

use super::search::Filter;

/// A record with a SKU.
pub trait HasSku {
    /// Its SKU.
    fn sku(&self) -> &str;
}

/// Records by id, with their ids by folded SKU.
#[derive(Debug, Clone)]
pub struct SkuTable<T> {
    records: BTreeMap<u64, T>,
    /// Ids by SKU, case-folded as searches compare them (`sku:abc` finds `ABC`).
    by_sku: BTreeMap<String, BTreeSet<u64>>,
}

impl<T> Default for SkuTable<T> {
    fn default() -> SkuTable<T> {
        SkuTable {
            records: BTreeMap::new(),
            by_sku: BTreeMap::new(),
        }
    }
}

impl<T> Deref for SkuTable<T> {
    type Target = BTreeMap<u64, T>;

    fn deref(&self) -> &BTreeMap<u64, T> {
        &self.records
    }
}

fn file(by_sku: &mut BTreeMap<String, BTreeSet<u64>>, folded: String, id: u64) {
    by_sku.entry(folded).or_default().insert(id);
}

fn unfile(by_sku: &mut BTreeMap<String, BTreeSet<u64>>, folded: &str, id: u64) {
    if let Some(ids) = by_sku.get_mut(folded) {
        ids.remove(&id);
        if ids.is_empty() {
            by_sku.remove(folded);
        }
    }
}

impl<T: HasSku> SkuTable<T> {
    /// Inserts or replaces record `id`; the replaced one, if any.
    pub fn insert(&mut self, id: u64, record: T) -> Option<T> {
        let folded = record.sku().to_lowercase();
        let replaced = self.records.insert(id, record);
        if let Some(old) = &replaced {
            unfile(&mut self.by_sku, &old.sku().to_lowercase(), id);
        }
        file(&mut self.by_sku, folded, id);
        replaced
    }

    /// Removes record `id`.
    pub fn remove(&mut self, id: &u64) -> Option<T> {
        let removed = self.records.remove(id)?;
        unfile(&mut self.by_sku, &removed.sku().to_lowercase(), *id);
        Some(removed)
    }

    /// Record `id`, to change.
    pub fn get_mut(&mut self, id: &u64) -> Option<Entry<'_, T>> {
        let record = self.records.get_mut(id)?;
        Some(Entry {
            filed: record.sku().to_lowercase(),
            id: *id,
            record,
            by_sku: &mut self.by_sku,
        })
    }

    /// The records whose SKU is exactly `sku`, by id.
    pub fn with_sku(&self, sku: &str) -> impl Iterator<Item = &T> + use<'_, T> {
        let sku = sku.to_owned();
        self.by_sku
            .get(&sku.to_lowercase())
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(id))
            .filter(move |record| record.sku() == sku)
    }

    /// The ids among which every match of `filter` is, when it asks for SKUs: those of
    /// the records its `sku` terms find (by folded SKU or its prefix); `None` when some
    /// alternative of the filter names no SKU.
    pub(crate) fn candidates(&self, filter: &Filter) -> Option<BTreeSet<u64>> {
        let wanted = filter.required("sku")?;
        let mut ids = BTreeSet::new();
        for (folded, prefix) in wanted {
            if prefix {
                let found = self
                    .by_sku
                    .range(folded.clone()..)
                    .take_while(|(sku, _)| sku.starts_with(&folded));
                ids.extend(found.flat_map(|(_, ids)| ids));
            } else {
                ids.extend(self.by_sku.get(&folded).into_iter().flatten());
            }
        }
        Some(ids)
    }

    /// The records `filter` may match, by id: those of [`SkuTable::candidates`], or all.
    pub(crate) fn searched(&self, filter: &Filter) -> Vec<&T> {
        match self.candidates(filter) {
            Some(ids) => ids.iter().filter_map(|id| self.records.get(id)).collect(),
            None => self.records.values().collect(),
        }
    }
}

/// A record of a [`SkuTable`] being changed: refiled under its new SKU when dropped.
#[derive(Debug)]
pub struct Entry<'a, T: HasSku> {
    record: &'a mut T,
    id: u64,
    /// The folded SKU it is filed under.
    filed: String,
    by_sku: &'a mut BTreeMap<String, BTreeSet<u64>>,
}

impl<T: HasSku> Deref for Entry<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.record
    }
}

impl<T: HasSku> DerefMut for Entry<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.record
    }
}

impl<T: HasSku> Drop for Entry<'_, T> {
    fn drop(&mut self) {
        let folded = self.record.sku().to_lowercase();
        if folded != self.filed {
            unfile(self.by_sku, &self.filed, self.id);
            file(self.by_sku, folded, self.id);
        }
    }
}
