//! The double's record store: models as tables of JSON records, searched with the domains
//! of [`super::query`], and the relations dotted reads follow (`product.suffix_code`
//! answers `"product.": {...}` as Tryton does).
//!
//! The fields searched by value on tables that grow with the catalogue or the orders
//! ([`INDEXED`]) are indexed, so a search by SKU, product or reference reads the records it
//! finds instead of the whole table; every write keeps the indexes in step.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use plumb_common::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use plumb_agent::erp::tryton::values::datetime;

use super::query::{Domain, decimal, sorted};

/// One record.
pub type Rec = Map<String, Value>;

/// Every model's records.
#[derive(Debug, Default)]
pub struct Records {
    tables: BTreeMap<String, BTreeMap<i64, Rec>>,
    next: HashMap<String, i64>,
    /// The indexes of [`INDEXED`], by model and field.
    indexes: HashMap<String, HashMap<&'static str, Index>>,
    /// The current request's transaction time (`write_date` of what it writes).
    pub now: Option<NaiveDateTime>,
    /// Bumped by every change: what is computed from the records is valid for one value.
    pub generation: u64,
}

/// (model, field) searched with `=` or `in` on tables that grow with the catalogue or the
/// orders.
const INDEXED: [(&str, &str); 10] = [
    ("product.product", "suffix_code"),
    ("product.product", "template"),
    ("product.identifier", "product"),
    ("stock.move", "product"),
    ("stock.move", "shipment"),
    ("stock.move", "state"),
    ("sale.sale", "reference"),
    ("sale.sale", "shipments"),
    ("party.contact_mechanism", "value"),
    ("party.address", "party"),
];

/// Files (`add`) or withdraws a record's indexed values.
fn index(
    indexes: &mut HashMap<String, HashMap<&'static str, Index>>,
    model: &str,
    id: i64,
    record: &Rec,
    add: bool,
) {
    for (_, field) in INDEXED.iter().filter(|(m, _)| *m == model) {
        let value = record.get(*field).unwrap_or(&Value::Null);
        let index = indexes
            .entry(model.to_owned())
            .or_default()
            .entry(field)
            .or_default();
        if add {
            index.insert(id, value);
        } else {
            index.remove(id, value);
        }
    }
}

/// The model a many-to-one field points to, for dotted reads.
pub fn relation(model: &str, field: &str) -> Option<&'static str> {
    Some(match (model, field) {
        ("product.product", "template") => "product.template",
        (_, "product") => "product.product",
        (_, "currency") => "currency.currency",
        (_, "warehouse") => "stock.location",
        (_, "carrier") => "carrier",
        ("carrier", "party") => "party.party",
        _ => return None,
    })
}

/// The model and back-reference of a one-to-many field.
pub fn children(model: &str, field: &str) -> Option<(&'static str, &'static str)> {
    Some(match (model, field) {
        ("sale.sale", "lines") => ("sale.line", "sale"),
        ("party.party", "contact_mechanisms") => ("party.contact_mechanism", "party"),
        ("party.party", "addresses") => ("party.address", "party"),
        _ => return None,
    })
}

impl Records {
    /// The transaction time.
    pub fn stamp(&self) -> Value {
        datetime(self.now.unwrap_or_default())
    }

    /// Inserts a record (one-to-many `create` and many-to-many `add` lists resolved).
    pub fn create(&mut self, model: &str, values: &Rec) -> i64 {
        self.generation += 1;
        let id = {
            let next = self.next.entry(model.to_owned()).or_insert(1);
            let id = *next;
            *next += 1;
            id
        };
        let mut record = Rec::new();
        record.insert("id".into(), json!(id));
        record.insert("create_date".into(), self.stamp());
        record.insert("write_date".into(), self.stamp());
        let mut later = Vec::new();
        for (field, value) in values {
            match (children(model, field), value) {
                (Some(child), Value::Array(ops)) => later.push((child, ops.clone())),
                (None, Value::Array(ops))
                    if ops.first().and_then(|op| op.get(0)).and_then(Value::as_str)
                        == Some("add") =>
                {
                    let ids: Vec<Value> = ops
                        .iter()
                        .flat_map(|op| {
                            op.get(1)
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default()
                        })
                        .collect();
                    record.insert(field.clone(), Value::Array(ids));
                }
                _ => {
                    record.insert(field.clone(), value.clone());
                }
            }
        }
        index(&mut self.indexes, model, id, &record, true);
        self.tables
            .entry(model.to_owned())
            .or_default()
            .insert(id, record);
        for ((child_model, back), ops) in later {
            let mut ids = Vec::new();
            for op in ops {
                if op.get(0).and_then(Value::as_str) != Some("create") {
                    continue;
                }
                for values in op
                    .get(1)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                {
                    let mut values = values.as_object().cloned().unwrap_or_default();
                    values.insert(back.into(), json!(id));
                    ids.push(json!(self.create(child_model, &values)));
                }
            }
            self.change(model, id, |record| {
                record.insert(children_field(model, child_model).into(), Value::Array(ids));
            });
        }
        id
    }

    /// Writes fields and stamps `write_date`.
    pub fn write(&mut self, model: &str, id: i64, values: &Rec) {
        let stamp = self.stamp();
        self.change(model, id, |record| {
            for (field, value) in values {
                record.insert(field.clone(), value.clone());
            }
            record.insert("write_date".into(), stamp);
        });
    }

    /// Changes a record, its indexed values refiled.
    fn change(&mut self, model: &str, id: i64, change: impl FnOnce(&mut Rec)) {
        self.generation += 1;
        let Some(record) = self.tables.get_mut(model).and_then(|t| t.get_mut(&id)) else {
            return;
        };
        index(&mut self.indexes, model, id, record, false);
        change(record);
        index(&mut self.indexes, model, id, record, true);
    }

    /// A record.
    pub fn get(&self, model: &str, id: i64) -> Option<&Rec> {
        self.tables.get(model).and_then(|t| t.get(&id))
    }

    /// Every record of a model.
    pub fn all(&self, model: &str) -> impl Iterator<Item = &Rec> {
        self.tables.get(model).into_iter().flat_map(|t| t.values())
    }

    /// Ids matching a domain, ordered.
    pub fn search(&self, model: &str, domain: &Value, order: &Value) -> Vec<i64> {
        let domain = Domain::new(domain);
        let matching = |record: &&Rec| domain.matches(self, model, record);
        let found: Vec<&Rec> = match self.candidates(model, &domain) {
            Some(ids) => ids
                .into_iter()
                .filter_map(|id| self.get(model, id))
                .filter(matching)
                .collect(),
            None => self.all(model).filter(matching).collect(),
        };
        sorted(found, order)
            .iter()
            .filter_map(|r| r.get("id")?.as_i64())
            .collect()
    }

    /// The ids (ascending) among which every match of `domain` is, when an index knows:
    /// those of the top-level `=` or `in` clause on `id` or an [`INDEXED`] field that
    /// leaves the fewest.
    fn candidates(&self, model: &str, domain: &Domain<'_>) -> Option<BTreeSet<i64>> {
        let table = self.tables.get(model)?;
        let indexes = self.indexes.get(model);
        domain
            .lookups()
            .filter_map(|(field, wanted)| {
                if field == "id" {
                    let ids: BTreeSet<i64> = wanted
                        .iter()
                        .filter_map(|value| decimal(value)?.to_i64())
                        .filter(|id| table.contains_key(id))
                        .collect();
                    return Some((ids.len(), Lookup::Ids(ids)));
                }
                let index = indexes?.get(field)?;
                Some((index.count(wanted), Lookup::Index(index, wanted)))
            })
            .min_by_key(|(count, _)| *count)
            .map(|(_, lookup)| match lookup {
                Lookup::Ids(ids) => ids,
                Lookup::Index(index, wanted) => index.find(wanted),
            })
    }
}

/// A way to the candidates of a search, chosen by how many it leaves.
enum Lookup<'a> {
    Ids(BTreeSet<i64>),
    Index(&'a Index, &'a [Value]),
}

/// One field's index: ids by the keys their value is filed under.
#[derive(Debug, Default)]
struct Index {
    by_key: HashMap<Key, BTreeSet<i64>>,
    /// Records whose value has no key (a boolean, a datetime): candidates of every lookup.
    unkeyed: BTreeSet<i64>,
}

/// What equality can find a value by: text as it is, anything numeric as its decimal
/// reading (`5`, `5.0` and `"5"` compare equal to a number), null.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Null,
    Text(String),
    Number(Decimal),
}

impl Key {
    /// The key of a stored value (of each element, for a list): `None` when some element
    /// has none.
    fn of_stored(value: &Value) -> Option<Vec<Key>> {
        let one = |value: &Value| match value {
            Value::Null => Some(Key::Null),
            Value::String(text) => Some(Key::Text(text.clone())),
            Value::Number(_) | Value::Object(_) => decimal(value).map(Key::Number),
            _ => None,
        };
        match value {
            Value::Array(items) => items.iter().map(one).collect(),
            _ => one(value).map(|key| vec![key]),
        }
    }

    /// The keys under which a stored value equal to `wanted` (by `=` or `in`) is filed.
    fn of_wanted(wanted: &Value) -> Vec<Key> {
        let mut keys = Vec::new();
        match wanted {
            Value::Null => keys.push(Key::Null),
            Value::String(text) => keys.push(Key::Text(text.clone())),
            _ => {}
        }
        keys.extend(decimal(wanted).map(Key::Number));
        keys
    }
}

impl Index {
    fn insert(&mut self, id: i64, value: &Value) {
        match Key::of_stored(value) {
            Some(keys) => {
                for key in keys {
                    self.by_key.entry(key).or_default().insert(id);
                }
            }
            None => {
                self.unkeyed.insert(id);
            }
        }
    }

    fn remove(&mut self, id: i64, value: &Value) {
        match Key::of_stored(value) {
            Some(keys) => {
                for key in keys {
                    if let Some(ids) = self.by_key.get_mut(&key) {
                        ids.remove(&id);
                        if ids.is_empty() {
                            self.by_key.remove(&key);
                        }
                    }
                }
            }
            None => {
                self.unkeyed.remove(&id);
            }
        }
    }

    fn sets<'a>(&'a self, wanted: &'a [Value]) -> impl Iterator<Item = &'a BTreeSet<i64>> {
        wanted
            .iter()
            .flat_map(Key::of_wanted)
            .filter_map(|key| self.by_key.get(&key))
            .chain([&self.unkeyed])
    }

    /// At least as many as [`Index::find`] returns (a record under several keys counts
    /// once for each).
    fn count(&self, wanted: &[Value]) -> usize {
        self.sets(wanted).map(BTreeSet::len).sum()
    }

    /// The records whose value may equal one of `wanted`.
    fn find(&self, wanted: &[Value]) -> BTreeSet<i64> {
        self.sets(wanted).flatten().copied().collect()
    }
}

fn children_field(model: &str, child: &str) -> &'static str {
    match (model, child) {
        ("sale.sale", "sale.line") => "lines",
        ("party.party", "party.contact_mechanism") => "contact_mechanisms",
        _ => "addresses",
    }
}
