//! Tryton's typed JSON values: `{"__class__": "Decimal", "decimal": "10.00"}`, `date`,
//! `datetime`. Amounts go on the wire as Decimal objects (a JSON number would be read as a
//! float and rounded); quantities come back as floats, which are turned into decimals
//! through their shortest text so 3.0 stays 3 and 0.1 stays 0.1.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde_json::{Value, json};

use plumb_common::{Decimal, Sku};

use crate::erp::ErpError;

/// A decimal as Tryton expects it.
pub fn decimal(value: Decimal) -> Value {
    json!({"__class__": "Decimal", "decimal": value.to_string()})
}

/// A date as Tryton expects it.
pub fn date(value: NaiveDate) -> Value {
    json!({"__class__": "date", "year": value.year(), "month": value.month(), "day": value.day()})
}

/// A naive (UTC) timestamp as Tryton expects it.
pub fn datetime(value: NaiveDateTime) -> Value {
    json!({
        "__class__": "datetime",
        "year": value.year(), "month": value.month(), "day": value.day(),
        "hour": value.hour(), "minute": value.minute(), "second": value.second(),
        "microsecond": value.nanosecond() / 1_000,
    })
}

fn bad(what: &str, value: &Value) -> ErpError {
    let mut text = value.to_string();
    text.truncate(200);
    ErpError::BadResponse(format!("expected {what}, got {text}"))
}

/// A decimal from a Decimal object, a number or a numeric string.
pub fn to_decimal(value: &Value) -> Result<Decimal, ErpError> {
    let parsed = match value {
        Value::Object(map) if map.get("__class__").and_then(Value::as_str) == Some("Decimal") => {
            map.get("decimal")
                .and_then(Value::as_str)
                .and_then(|text| Decimal::from_str(text).ok())
        }
        Value::Number(number) => Decimal::from_str(&number.to_string())
            .or_else(|_| Decimal::from_scientific(&number.to_string()))
            .ok(),
        Value::String(text) => Decimal::from_str(text).ok(),
        _ => None,
    };
    parsed.ok_or_else(|| bad("a decimal", value))
}

/// A decimal, with `null` as zero (Tryton's empty numeric fields).
pub fn to_decimal_or_zero(value: &Value) -> Result<Decimal, ErpError> {
    if value.is_null() {
        Ok(Decimal::ZERO)
    } else {
        to_decimal(value)
    }
}

fn part(map: &serde_json::Map<String, Value>, key: &str) -> Option<u32> {
    map.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// A timestamp from a datetime object.
pub fn to_datetime(value: &Value) -> Result<NaiveDateTime, ErpError> {
    let map = value
        .as_object()
        .filter(|m| m.get("__class__").and_then(Value::as_str) == Some("datetime"))
        .ok_or_else(|| bad("a datetime", value))?;
    let date = NaiveDate::from_ymd_opt(
        map.get("year")
            .and_then(Value::as_i64)
            .and_then(|y| i32::try_from(y).ok())
            .unwrap_or(0),
        part(map, "month").unwrap_or(0),
        part(map, "day").unwrap_or(0),
    );
    date.and_then(|d| {
        d.and_hms_micro_opt(
            part(map, "hour").unwrap_or(0),
            part(map, "minute").unwrap_or(0),
            part(map, "second").unwrap_or(0),
            part(map, "microsecond").unwrap_or(0),
        )
    })
    .ok_or_else(|| bad("a valid datetime", value))
}

/// A date from a date object (`null`: none).
pub fn to_date(value: &Value) -> Result<Option<NaiveDate>, ErpError> {
    if value.is_null() {
        return Ok(None);
    }
    let map = value
        .as_object()
        .filter(|m| m.get("__class__").and_then(Value::as_str) == Some("date"))
        .ok_or_else(|| bad("a date", value))?;
    let year = map
        .get("year")
        .and_then(Value::as_i64)
        .and_then(|y| i32::try_from(y).ok());
    year.and_then(|y| {
        NaiveDate::from_ymd_opt(y, part(map, "month").unwrap_or(0), part(map, "day")?)
    })
    .map(Some)
    .ok_or_else(|| bad("a valid date", value))
}

/// A record id.
pub fn to_id(value: &Value) -> Result<i64, ErpError> {
    value.as_i64().ok_or_else(|| bad("a record id", value))
}

/// A list of record ids.
pub fn to_ids(value: &Value) -> Result<Vec<i64>, ErpError> {
    value
        .as_array()
        .ok_or_else(|| bad("a list of ids", value))?
        .iter()
        .map(to_id)
        .collect()
}

/// A text field (`null` and `false` are none).
pub fn to_text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// The rows of a `search_read` / `read` answer.
pub fn to_rows(value: Value) -> Result<Vec<serde_json::Map<String, Value>>, ErpError> {
    match value {
        Value::Array(rows) => rows
            .into_iter()
            .map(|row| match row {
                Value::Object(map) => Ok(map),
                other => Err(bad("a record", &other)),
            })
            .collect(),
        other => Err(bad("a list of records", &other)),
    }
}

/// A field of a row, `null` when absent.
pub fn field<'r>(row: &'r serde_json::Map<String, Value>, name: &str) -> &'r Value {
    row.get(name).unwrap_or(&Value::Null)
}

/// A field read through relations: Tryton answers a dotted name such as
/// `carrier.party.name` as `{"carrier.": {"party.": {"name": ...}}}`. `null` when any step
/// is absent.
pub fn related<'r>(row: &'r serde_json::Map<String, Value>, name: &str) -> &'r Value {
    let Some((first, mut rest)) = name.split_once('.') else {
        return field(row, name);
    };
    let mut value = field(row, &format!("{first}."));
    while let Some((step, tail)) = rest.split_once('.') {
        value = value.get(format!("{step}.")).unwrap_or(&Value::Null);
        rest = tail;
    }
    value.get(rest).unwrap_or(&Value::Null)
}

/// A SKU field: `None` for products without one (services, templates).
pub fn to_sku(value: &Value) -> Option<Sku> {
    value.as_str().and_then(|text| Sku::new(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_exactly() {
        let amount = Decimal::from_str("11.05").unwrap();
        assert_eq!(to_decimal(&decimal(amount)).unwrap(), amount);
        assert_eq!(to_decimal(&json!(3.0)).unwrap(), Decimal::from(3));
        assert_eq!(
            to_decimal(&json!(0.1)).unwrap(),
            Decimal::from_str("0.1").unwrap()
        );
        assert!(to_decimal(&json!("x")).is_err());
    }

    #[test]
    fn related_fields_follow_each_step() {
        let row = json!({
            "id": 1,
            "product.": {"suffix_code": "A-1"},
            "carrier.": {"party.": {"name": "Post"}},
        });
        let row = row.as_object().unwrap();
        assert_eq!(related(row, "id"), &json!(1));
        assert_eq!(related(row, "product.suffix_code"), &json!("A-1"));
        assert_eq!(related(row, "carrier.party.name"), &json!("Post"));
        assert_eq!(related(row, "carrier.party.code"), &Value::Null);
        assert_eq!(related(row, "warehouse.code"), &Value::Null);
    }

    #[test]
    fn datetimes_keep_microseconds() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_micro_opt(15, 26, 19, 145_239)
            .unwrap();
        assert_eq!(to_datetime(&datetime(at)).unwrap(), at);
        assert!(to_datetime(&json!({"__class__": "date"})).is_err());
    }
}
