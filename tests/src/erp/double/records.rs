//! The double's record store: models as tables of JSON records, the slice of Tryton's
//! domain language the connector uses (`=`, `!=`, `in`, `>=`, `<=`, `child_of`, `OR`),
//! ordering, and dotted reads (`product.suffix_code` answers `"product.": {...}` as Tryton
//! does).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use plumb_agent::erp::tryton::values::{datetime, to_datetime, to_decimal};

/// One record.
pub type Rec = Map<String, Value>;

/// Every model's records.
#[derive(Debug, Default)]
pub struct Records {
    tables: BTreeMap<String, BTreeMap<i64, Rec>>,
    next: HashMap<String, i64>,
    /// The current request's transaction time (`write_date` of what it writes).
    pub now: Option<NaiveDateTime>,
    /// Bumped by every change: what is computed from the records is valid for one value.
    pub generation: u64,
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
            if let Some(record) = self.get_mut(model, id) {
                record.insert(children_field(model, child_model).into(), Value::Array(ids));
            }
        }
        id
    }

    /// Writes fields and stamps `write_date`.
    pub fn write(&mut self, model: &str, id: i64, values: &Rec) {
        self.generation += 1;
        let stamp = self.stamp();
        if let Some(record) = self.get_mut(model, id) {
            for (field, value) in values {
                record.insert(field.clone(), value.clone());
            }
            record.insert("write_date".into(), stamp);
        }
    }

    /// A record.
    pub fn get(&self, model: &str, id: i64) -> Option<&Rec> {
        self.tables.get(model).and_then(|t| t.get(&id))
    }

    /// A record, to change.
    pub fn get_mut(&mut self, model: &str, id: i64) -> Option<&mut Rec> {
        self.generation += 1;
        self.tables.get_mut(model).and_then(|t| t.get_mut(&id))
    }

    /// Every record of a model.
    pub fn all(&self, model: &str) -> impl Iterator<Item = &Rec> {
        self.tables.get(model).into_iter().flat_map(|t| t.values())
    }

    /// Ids matching a domain, ordered.
    pub fn search(&self, model: &str, domain: &Value, order: &Value) -> Vec<i64> {
        let mut found: Vec<&Rec> = self
            .all(model)
            .filter(|r| self.matches(model, r, domain))
            .collect();
        let keys: Vec<(String, bool)> = order
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|k| {
                        let field = k.get(0)?.as_str()?.to_owned();
                        let desc = k.get(1)?.as_str()?.starts_with("DESC");
                        Some((field, desc))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by(|a, b| {
            for (field, desc) in &keys {
                let ordering = compare(a.get(field), b.get(field));
                let ordering = if *desc { ordering.reverse() } else { ordering };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            compare(a.get("id"), b.get("id"))
        });
        found.iter().filter_map(|r| r.get("id")?.as_i64()).collect()
    }

    fn matches(&self, model: &str, record: &Rec, domain: &Value) -> bool {
        let Some(clauses) = domain.as_array() else {
            return true;
        };
        if clauses.first().and_then(Value::as_str) == Some("OR") {
            return clauses[1..]
                .iter()
                .any(|c| self.matches(model, record, &json!([c])));
        }
        clauses
            .iter()
            .all(|clause| match clause.as_array().map(Vec::as_slice) {
                Some([Value::String(field), Value::String(op), value]) => {
                    self.clause(model, record, field, op, value, None)
                }
                Some(
                    [
                        Value::String(field),
                        Value::String(op),
                        value,
                        Value::String(parent),
                    ],
                ) => self.clause(model, record, field, op, value, Some(parent)),
                Some(_) if clause.get(0).and_then(Value::as_str) == Some("OR") => {
                    self.matches(model, record, clause)
                }
                _ => true,
            })
    }

    fn clause(
        &self,
        model: &str,
        record: &Rec,
        field: &str,
        op: &str,
        value: &Value,
        parent: Option<&str>,
    ) -> bool {
        let have = record.get(field).unwrap_or(&Value::Null);
        let list = value.as_array().cloned().unwrap_or_default();
        let equal = |have: &Value| {
            compare(Some(have), Some(value)) == Ordering::Equal
                && !(have.is_null() ^ value.is_null())
        };
        match op {
            "=" => match have {
                Value::Array(items) => items.contains(value),
                _ => equal(have),
            },
            "!=" => !equal(have),
            "in" => match have {
                Value::Array(items) => items.iter().any(|i| list.contains(i)),
                // Strings compare as they are (a fast path for SKU lists of thousands).
                Value::String(_) => list.contains(have),
                _ => list
                    .iter()
                    .any(|v| compare(Some(have), Some(v)) == Ordering::Equal && !have.is_null()),
            },
            ">=" => !have.is_null() && compare(Some(have), Some(value)) != Ordering::Less,
            "<=" => !have.is_null() && compare(Some(have), Some(value)) != Ordering::Greater,
            "child_of" | "not child_of" => {
                let roots: Vec<i64> = list.iter().filter_map(Value::as_i64).collect();
                // ["parent", "child_of", ids]: this record under ids, up its own parents;
                // [field, "child_of", ids, "parent"]: the location `field` points to, up
                // the locations' parents
                let (start, tree, up) = match parent {
                    Some(up) => (have.as_i64(), "stock.location", up),
                    None => (record.get("id").and_then(Value::as_i64), model, field),
                };
                let mut found = false;
                let mut id = start;
                for _ in 0..32 {
                    let Some(current) = id else { break };
                    if roots.contains(&current) {
                        found = true;
                        break;
                    }
                    id = self
                        .get(tree, current)
                        .and_then(|r| r.get(up))
                        .and_then(Value::as_i64);
                }
                found == (op == "child_of")
            }
            _ => false,
        }
    }
}

fn children_field(model: &str, child: &str) -> &'static str {
    match (model, child) {
        ("sale.sale", "sale.line") => "lines",
        ("party.party", "party.contact_mechanism") => "contact_mechanisms",
        _ => "addresses",
    }
}

/// Orders two field values: numbers, decimals, datetimes, text; null first.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let a = a.unwrap_or(&Value::Null);
    let b = b.unwrap_or(&Value::Null);
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => {
            if let (Ok(x), Ok(y)) = (to_datetime(a), to_datetime(b)) {
                return x.cmp(&y);
            }
            if let (Ok(x), Ok(y)) = (to_decimal(a), to_decimal(b))
                && !a.is_string()
            {
                return x.cmp(&y);
            }
            match (a.as_str(), b.as_str()) {
                (Some(x), Some(y)) => x.cmp(y),
                _ => a.to_string().cmp(&b.to_string()),
            }
        }
    }
}
