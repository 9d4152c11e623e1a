//! The `query:` search filter of connections, for the fields the agent uses: terms such
//! as `sku:ABC`, `id:>=123`, `updated_at:>=2026-01-01T00:00:00Z`, `status:open`, joined by
//! whitespace (AND) and `OR`, with `-` for negation and a trailing `*` for prefixes.
//!
//! A filter field the sandbox does not know is an error naming it: silently ignoring it,
//! as Shopify does with a warning, would let a wrong filter pass the tests.

use apollo_compiler::resolvers::FieldError;
use chrono::{DateTime, NaiveDate, Utc};

use super::objects::field_error;

/// A value an object offers to the filter.
#[derive(Debug, Clone)]
pub enum SearchValue {
    /// Compared case-insensitively.
    Text(String),
    /// Compared numerically.
    Number(u64),
    /// Compared in time.
    Time(DateTime<Utc>),
    /// Several values: the term matches if any does.
    Many(Vec<SearchValue>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
struct Term {
    negated: bool,
    field: String,
    op: Op,
    value: String,
}

/// A parsed search query: clauses joined by `OR`, each a list of terms joined by AND.
#[derive(Debug, Clone)]
pub struct Filter {
    clauses: Vec<Vec<Term>>,
}

impl Filter {
    /// Parses `query`; every field must be one of `known`.
    pub fn parse(query: &str, known: &[&str]) -> Result<Filter, FieldError> {
        let mut clauses = vec![Vec::new()];
        for word in split_words(query) {
            if word == "OR" {
                clauses.push(Vec::new());
                continue;
            }
            if word == "AND" {
                continue;
            }
            let (negated, word) = match word.strip_prefix('-') {
                Some(rest) => (true, rest.to_owned()),
                None => (false, word),
            };
            let Some((field, rest)) = word.split_once(':') else {
                return Err(field_error(format!(
                    "the Shopify sandbox only supports `field:value` search terms, got `{word}`"
                )));
            };
            if !known.contains(&field) {
                return Err(field_error(format!(
                    "the Shopify sandbox does not implement the search filter `{field}` here (supported: {})",
                    known.join(", ")
                )));
            }
            let (op, value) = if let Some(value) = rest.strip_prefix(">=") {
                (Op::Ge, value)
            } else if let Some(value) = rest.strip_prefix("<=") {
                (Op::Le, value)
            } else if let Some(value) = rest.strip_prefix('>') {
                (Op::Gt, value)
            } else if let Some(value) = rest.strip_prefix('<') {
                (Op::Lt, value)
            } else {
                (Op::Eq, rest)
            };
            let value = value.trim_matches(|c| c == '"' || c == '\'').to_owned();
            if let Some(clause) = clauses.last_mut() {
                clause.push(Term {
                    negated,
                    field: field.to_owned(),
                    op,
                    value,
                });
            }
        }
        clauses.retain(|clause| !clause.is_empty());
        Ok(Filter { clauses })
    }

    /// The text values of `field` among which every match's is, when each alternative
    /// asks for one (a plain `field:value` term): (value case-folded, whether it is a
    /// prefix: `value*`). An index of `field` then finds the candidates.
    pub fn required(&self, field: &str) -> Option<Vec<(String, bool)>> {
        if self.clauses.is_empty() {
            return None;
        }
        self.clauses
            .iter()
            .map(|clause| {
                let term = clause
                    .iter()
                    .find(|t| !t.negated && t.op == Op::Eq && t.field == field)?;
                let wanted = term.value.to_lowercase();
                Some(match wanted.strip_suffix('*') {
                    Some(prefix) => (prefix.to_owned(), true),
                    None => (wanted, false),
                })
            })
            .collect()
    }

    /// Whether an object whose fields `get` returns matches.
    pub fn matches(&self, get: impl Fn(&str) -> Option<SearchValue>) -> bool {
        if self.clauses.is_empty() {
            return true;
        }
        self.clauses.iter().any(|clause| {
            clause.iter().all(|term| {
                let hit = get(&term.field).is_some_and(|value| term_matches(term, &value));
                hit != term.negated
            })
        })
    }
}

fn split_words(query: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' | '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            '(' | ')' if !quoted => {}
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn term_matches(term: &Term, value: &SearchValue) -> bool {
    match value {
        SearchValue::Many(values) => values.iter().any(|value| term_matches(term, value)),
        SearchValue::Text(text) => {
            let wanted = term.value.to_lowercase();
            let text = text.to_lowercase();
            match wanted.strip_suffix('*') {
                Some(prefix) => text.starts_with(prefix),
                None => compare(text.cmp(&wanted), term.op),
            }
        }
        SearchValue::Number(number) => {
            let wanted = term
                .value
                .rsplit('/')
                .next()
                .and_then(|digits| digits.parse::<u64>().ok());
            wanted.is_some_and(|wanted| compare(number.cmp(&wanted), term.op))
        }
        SearchValue::Time(time) => {
            parse_time(&term.value).is_some_and(|wanted| compare(time.cmp(&wanted), term.op))
        }
    }
}

fn compare(ordering: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Op::Eq => ordering == Equal,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
}
