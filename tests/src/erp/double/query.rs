//! What a search asks, compiled once per search: the slice of Tryton's domain language the
//! connector uses (`=`, `!=`, `in`, `>=`, `<=`, `child_of`, `not child_of`, `OR`) and the
//! order. An `in` list becomes sets, so a clause costs the same whatever the list's length;
//! values are parsed once for comparing, not once per comparison; and the clauses an
//! index can answer are offered to the store ([`Domain::lookups`]).

use std::cmp::Ordering;
use std::collections::HashSet;

use chrono::NaiveDateTime;
use plumb_common::Decimal;
use serde_json::Value;

use plumb_agent::erp::tryton::values::{to_datetime, to_decimal};

use super::records::{Rec, Records};

static NULL: Value = Value::Null;

/// A compiled domain.
pub struct Domain<'d> {
    node: Node<'d>,
}

enum Node<'d> {
    All(Vec<Node<'d>>),
    Any(Vec<Node<'d>>),
    Clause(Box<Clause<'d>>),
    True,
}

struct Clause<'d> {
    field: &'d str,
    op: &'d str,
    value: Ready<'d>,
    /// `[field, "child_of", ids, parent]`: the field up which locations are walked.
    parent: Option<&'d str>,
    /// The value as a list (`in`; empty when it is not one).
    list: Wanted<'d>,
    /// The ids of a `child_of` list.
    roots: Vec<i64>,
}

impl<'d> Domain<'d> {
    /// Compiles `domain` (anything but a list matches every record).
    pub fn new(domain: &'d Value) -> Domain<'d> {
        Domain { node: node(domain) }
    }

    /// Whether `record`, of `model`, matches; `records` answers `child_of` walks.
    pub fn matches(&self, records: &Records, model: &str, record: &Rec) -> bool {
        self.node.matches(records, model, record)
    }

    /// The `=` and `in` clauses every match satisfies (those of the top level): (field,
    /// values one of which the field equals).
    pub fn lookups(&self) -> impl Iterator<Item = (&'d str, &'d [Value])> + '_ {
        let clauses = match &self.node {
            Node::All(nodes) => nodes.as_slice(),
            _ => &[],
        };
        clauses.iter().filter_map(|node| match node {
            Node::Clause(clause) if clause.op == "=" => {
                Some((clause.field, std::slice::from_ref(clause.value.value)))
            }
            Node::Clause(clause) if clause.op == "in" => Some((clause.field, clause.list.values)),
            _ => None,
        })
    }
}

fn node(domain: &Value) -> Node<'_> {
    let Some(clauses) = domain.as_array() else {
        return Node::True;
    };
    if clauses.first().and_then(Value::as_str) == Some("OR") {
        // Each alternative is a domain of its own clause; a bare "OR" among them is an
        // empty alternative, which nothing matches.
        return Node::Any(
            clauses[1..]
                .iter()
                .map(|clause| match clause.as_str() {
                    Some("OR") => Node::Any(Vec::new()),
                    _ => clause_node(clause),
                })
                .collect(),
        );
    }
    Node::All(clauses.iter().map(clause_node).collect())
}

fn clause_node(clause: &Value) -> Node<'_> {
    match clause.as_array().map(Vec::as_slice) {
        Some([Value::String(field), Value::String(op), value]) => {
            Node::Clause(Box::new(Clause::new(field, op, value, None)))
        }
        Some(
            [
                Value::String(field),
                Value::String(op),
                value,
                Value::String(parent),
            ],
        ) => Node::Clause(Box::new(Clause::new(field, op, value, Some(parent)))),
        Some(_) if clause.get(0).and_then(Value::as_str) == Some("OR") => node(clause),
        _ => Node::True,
    }
}

impl Node<'_> {
    fn matches(&self, records: &Records, model: &str, record: &Rec) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.matches(records, model, record)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(records, model, record)),
            Node::Clause(clause) => clause.matches(records, model, record),
            Node::True => true,
        }
    }
}

impl<'d> Clause<'d> {
    fn new(field: &'d str, op: &'d str, value: &'d Value, parent: Option<&'d str>) -> Clause<'d> {
        let list = match (op, value) {
            ("in", Value::Array(items)) => Wanted::new(items),
            _ => Wanted::new(&[]),
        };
        let roots = match (op, value) {
            ("child_of" | "not child_of", Value::Array(items)) => {
                items.iter().filter_map(Value::as_i64).collect()
            }
            _ => Vec::new(),
        };
        Clause {
            field,
            op,
            value: Ready::new(Some(value)),
            parent,
            list,
            roots,
        }
    }

    fn matches(&self, records: &Records, model: &str, record: &Rec) -> bool {
        let have = record.get(self.field).unwrap_or(&NULL);
        let value = self.value.value;
        let ready = || Ready::new(Some(have));
        let equal = || {
            compare_ready(&ready(), &self.value) == Ordering::Equal
                && !(have.is_null() ^ value.is_null())
        };
        match self.op {
            "=" => match have {
                Value::Array(items) => items.contains(value),
                _ => equal(),
            },
            "!=" => !equal(),
            "in" => match have {
                Value::Array(items) => items.iter().any(|i| self.list.contains_exact(i)),
                // Strings compare as they are (SKU lists of thousands).
                Value::String(_) => self.list.contains_exact(have),
                _ => !have.is_null() && self.list.contains_equal(have),
            },
            ">=" => !have.is_null() && compare_ready(&ready(), &self.value) != Ordering::Less,
            "<=" => !have.is_null() && compare_ready(&ready(), &self.value) != Ordering::Greater,
            "child_of" | "not child_of" => {
                // ["parent", "child_of", ids]: this record under ids, up its own parents;
                // [field, "child_of", ids, "parent"]: the location `field` points to, up
                // the locations' parents
                let (start, tree, up) = match self.parent {
                    Some(up) => (have.as_i64(), "stock.location", up),
                    None => (record.get("id").and_then(Value::as_i64), model, self.field),
                };
                let mut found = false;
                let mut id = start;
                for _ in 0..32 {
                    let Some(current) = id else { break };
                    if self.roots.contains(&current) {
                        found = true;
                        break;
                    }
                    id = records
                        .get(tree, current)
                        .and_then(|r| r.get(up))
                        .and_then(Value::as_i64);
                }
                found == (self.op == "child_of")
            }
            _ => false,
        }
    }
}

/// The values of an `in` list, as sets: exact membership (the list containing the value
/// itself) and numeric membership (a value [`compare`] finds equal to a number).
struct Wanted<'d> {
    values: &'d [Value],
    texts: HashSet<&'d str>,
    integers: HashSet<i64>,
    /// The values neither a string nor an integer, compared one by one.
    others: Vec<&'d Value>,
    /// Every value read as a decimal, where it reads as one.
    numbers: HashSet<Decimal>,
}

impl<'d> Wanted<'d> {
    fn new(values: &'d [Value]) -> Wanted<'d> {
        let mut wanted = Wanted {
            values,
            texts: HashSet::new(),
            integers: HashSet::new(),
            others: Vec::new(),
            numbers: values.iter().filter_map(decimal).collect(),
        };
        for value in values {
            match (value, value.as_i64()) {
                (Value::String(text), _) => {
                    wanted.texts.insert(text);
                }
                (Value::Number(_), Some(integer)) => {
                    wanted.integers.insert(integer);
                }
                _ => wanted.others.push(value),
            }
        }
        wanted
    }

    /// Whether the list holds `value` itself.
    fn contains_exact(&self, value: &Value) -> bool {
        match (value, value.as_i64()) {
            (Value::String(text), _) => self.texts.contains(text.as_str()),
            (Value::Number(_), Some(integer)) => self.integers.contains(&integer),
            _ => self.others.contains(&value),
        }
    }

    /// Whether the list holds a value [`compare`] finds equal to `have`.
    fn contains_equal(&self, have: &Value) -> bool {
        // A number equals exactly the values reading as the same decimal: text never
        // compares equal to a number's digits.
        if have.is_number()
            && let Some(number) = decimal(have)
        {
            return self.numbers.contains(&number);
        }
        self.values
            .iter()
            .any(|v| compare(Some(have), Some(v)) == Ordering::Equal)
    }
}

/// A value made ready for comparing: its datetime and decimal readings parsed once.
pub struct Ready<'v> {
    value: &'v Value,
    datetime: Option<NaiveDateTime>,
    decimal: Option<Decimal>,
}

impl<'v> Ready<'v> {
    /// `value` (absent: null), parsed.
    pub fn new(value: Option<&'v Value>) -> Ready<'v> {
        let value = value.unwrap_or(&NULL);
        let datetime = match class(value) {
            Some("datetime") => to_datetime(value).ok(),
            _ => None,
        };
        Ready {
            value,
            datetime,
            decimal: decimal(value),
        }
    }
}

/// The `__class__` of a Tryton value object (`datetime`, `Decimal`...).
fn class(value: &Value) -> Option<&str> {
    value.get("__class__")?.as_str()
}

/// `value` read as a decimal, as [`to_decimal`] reads it; values it refuses by their
/// shape are not handed to it (its refusal formats the value into a message).
pub fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(_) | Value::String(_) => to_decimal(value).ok(),
        Value::Object(_) if class(value) == Some("Decimal") => to_decimal(value).ok(),
        _ => None,
    }
}

/// Orders two field values: numbers, decimals, datetimes, text; null first.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    compare_ready(&Ready::new(a), &Ready::new(b))
}

fn compare_ready(a: &Ready<'_>, b: &Ready<'_>) -> Ordering {
    match (a.value, b.value) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => {
            if let (Some(x), Some(y)) = (a.datetime, b.datetime) {
                return x.cmp(&y);
            }
            if let (Some(x), Some(y)) = (a.decimal, b.decimal)
                && !a.value.is_string()
            {
                return x.cmp(&y);
            }
            match (a.value.as_str(), b.value.as_str()) {
                (Some(x), Some(y)) => x.cmp(y),
                _ => a.value.to_string().cmp(&b.value.to_string()),
            }
        }
    }
}

/// `records` in a search's `order` (`[[field, "ASC" | "DESC..."], ...]`), ties by id.
pub fn sorted<'r>(records: Vec<&'r Rec>, order: &Value) -> Vec<&'r Rec> {
    let keys: Vec<(&str, bool)> = order
        .as_array()
        .map(|o| {
            o.iter()
                .filter_map(|k| {
                    let field = k.get(0)?.as_str()?;
                    let desc = k.get(1)?.as_str()?.starts_with("DESC");
                    Some((field, desc))
                })
                .collect()
        })
        .unwrap_or_default();
    // Each record's sort values (its keys, then its id), parsed once.
    let mut keyed: Vec<(Vec<Ready<'r>>, &'r Rec)> = records
        .into_iter()
        .map(|record| {
            let values = keys
                .iter()
                .map(|(field, _)| *field)
                .chain(["id"])
                .map(|field| Ready::new(record.get(field)))
                .collect();
            (values, record)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, desc)) in a.iter().zip(b).zip(&keys) {
            let ordering = compare_ready(x, y);
            let ordering = if *desc { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        match (a.last(), b.last()) {
            (Some(x), Some(y)) => compare_ready(x, y),
            _ => Ordering::Equal,
        }
    });
    keyed.into_iter().map(|(_, record)| record).collect()
}
