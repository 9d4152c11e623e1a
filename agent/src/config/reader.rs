//! The table walker. A [`Reader`] owns one TOML table and takes the keys it knows out of it,
//! one by one; whatever is left when it [finishes](Reader::finish) is an unknown key. Every
//! problem goes into one shared list instead of stopping the walk, so a single run of
//! `plumbd check-config` shows everything that needs fixing.

use toml::{Table, Value};

use super::ConfigProblem;

/// What a value parser returns: the value, or a message saying what is wrong and how to
/// fix it (the reader adds the key).
pub(super) type Parse<T> = Result<T, String>;

/// Whether an array may be absent or empty.
#[derive(Debug, Clone, Copy)]
pub(super) enum Need {
    /// Absent or empty is fine.
    Optional,
    /// At least one element; the text says how to add one.
    AtLeastOne(&'static str),
}

/// One table being read, with the dotted key it lives at.
#[derive(Debug)]
pub(super) struct Reader<'p> {
    /// The dotted key of this table (empty for the document, `flows.orders`, `locations[2]`).
    prefix: String,
    /// The keys not taken yet.
    table: Table,
    /// Every key asked for, in the order asked: the candidates for "did you mean".
    known: Vec<&'static str>,
    /// What a key of this table is called in messages ("section", "key", "flow").
    noun: &'static str,
    problems: &'p mut Vec<ConfigProblem>,
}

impl<'p> Reader<'p> {
    /// A reader for the whole document, whose keys are sections.
    pub(super) fn document(table: Table, problems: &'p mut Vec<ConfigProblem>) -> Self {
        Reader {
            prefix: String::new(),
            table,
            known: Vec::new(),
            noun: "section",
            problems,
        }
    }

    /// Calls the keys of this table `noun` in unknown-key messages.
    pub(super) fn naming(mut self, noun: &'static str) -> Self {
        self.noun = noun;
        self
    }

    /// The dotted key of `name` in this table.
    pub(super) fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Records a problem at a full dotted key.
    pub(super) fn report(&mut self, key: String, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key,
            message: message.into(),
        });
    }

    /// The value of `name`, if set and valid; an invalid value is reported.
    pub(super) fn optional<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(Value) -> Parse<T>,
    ) -> Option<T> {
        let value = self.take(name)?;
        self.check(name, value, parse)
    }

    /// The value of `name`, or `default` when it is absent (or invalid, which is reported).
    pub(super) fn or<T>(
        &mut self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(Value) -> Parse<T>,
    ) -> T {
        self.optional(name, parse).unwrap_or(default)
    }

    /// The value of `name`, which must be set; `fix` says what to set it to.
    pub(super) fn required<T>(
        &mut self,
        name: &'static str,
        fix: &str,
        parse: impl FnOnce(Value) -> Parse<T>,
    ) -> Option<T> {
        match self.take(name) {
            Some(value) => self.check(name, value, parse),
            None => {
                let key = self.key(name);
                self.report(key, format!("missing: {fix}"));
                None
            }
        }
    }

    /// The sub-table `name` (a `[section]` or an inline table), if present.
    pub(super) fn table(&mut self, name: &'static str) -> Option<Reader<'_>> {
        let value = self.take(name)?;
        let key = self.key(name);
        match value {
            Value::Table(table) => Some(self.nested(key, table)),
            other => {
                let message = mismatch(&format!("a table ([{key}])"), &other);
                self.report(key, message);
                None
            }
        }
    }

    /// The elements of the array `name` that parse, each with its key (`name[i]`); the
    /// others are reported.
    pub(super) fn array<T>(
        &mut self,
        name: &'static str,
        need: Need,
        mut parse: impl FnMut(Value) -> Parse<T>,
    ) -> Vec<(String, T)> {
        let key = self.key(name);
        let items = match (self.take(name), need) {
            (Some(Value::Array(items)), _) => items,
            (Some(other), _) => {
                let message = mismatch("an array ([...])", &other);
                self.report(key, message);
                return Vec::new();
            }
            (None, Need::Optional) => return Vec::new(),
            (None, Need::AtLeastOne(fix)) => {
                self.report(key, format!("missing: {fix}"));
                return Vec::new();
            }
        };
        if let (true, Need::AtLeastOne(fix)) = (items.is_empty(), need) {
            self.report(key.clone(), format!("empty: {fix}"));
        }
        let mut parsed = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            match parse(item) {
                Ok(value) => parsed.push((item_key, value)),
                Err(message) => self.report(item_key, message),
            }
        }
        parsed
    }

    /// Reads each table of the array of tables `name` (`[[name]]`) with `read`, keeping
    /// each result with the entry's key (`name[i]`).
    pub(super) fn tables<T>(
        &mut self,
        name: &'static str,
        mut read: impl FnMut(Reader<'_>) -> Option<T>,
    ) -> Vec<(String, T)> {
        let key = self.key(name);
        let expected = format!("an array of tables ([[{key}]])");
        let items = match self.take(name) {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                let message = mismatch(&expected, &other);
                self.report(key, message);
                return Vec::new();
            }
        };
        let mut read_items = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            match item {
                Value::Table(table) => {
                    if let Some(value) = read(self.nested(item_key.clone(), table)) {
                        read_items.push((item_key, value));
                    }
                }
                other => {
                    let message = mismatch(&expected, &other);
                    self.report(item_key, message);
                }
            }
        }
        read_items
    }

    /// Reports every key nobody asked for, suggesting the closest known one.
    pub(super) fn finish(mut self) {
        let listing = self.known.join(", ");
        for name in std::mem::take(&mut self.table).keys() {
            let noun = self.noun;
            let message = match closest(name, &self.known) {
                Some(suggestion) => format!(
                    "unknown {noun}: did you mean `{}`? (known: {listing})",
                    self.key(suggestion)
                ),
                None => format!("unknown {noun}: remove it, or use one of: {listing}"),
            };
            let key = self.key(name);
            self.report(key, message);
        }
    }

    fn take(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.table.remove(name)
    }

    fn check<T>(
        &mut self,
        name: &str,
        value: Value,
        parse: impl FnOnce(Value) -> Parse<T>,
    ) -> Option<T> {
        match parse(value) {
            Ok(value) => Some(value),
            Err(message) => {
                let key = self.key(name);
                self.report(key, message);
                None
            }
        }
    }

    fn nested(&mut self, prefix: String, table: Table) -> Reader<'_> {
        Reader {
            prefix,
            table,
            known: Vec::new(),
            noun: "key",
            problems: self.problems,
        }
    }
}

/// "expected {expected}, found {the TOML type of found}". The value itself is not shown:
/// it might be a secret written in the wrong place.
pub(super) fn mismatch(expected: &str, found: &Value) -> String {
    let found = match found {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    };
    format!("expected {expected}, found {found}")
}

/// The known name closest to `name`, if it is close enough to be a typo.
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (name.chars().count().max(3) / 3).max(1);
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("secret", "secrets"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn only_close_names_are_suggested() {
        let known = ["listen", "max_body", "secrets", "dedup_ttl"];
        assert_eq!(closest("secret", &known), Some("secrets"));
        assert_eq!(closest("maxbody", &known), Some("max_body"));
        assert_eq!(closest("port", &known), None);
    }
}
