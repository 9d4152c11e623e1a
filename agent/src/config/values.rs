//! Value parsers shared by the sections: each turns one TOML value into a typed value, or
//! into a message saying what was expected, what was found, and how to write it instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use toml::Value;

use super::reader::{Parse, mismatch};

const DURATION_EXAMPLE: &str = r#"a duration like "30s" or "5m" (units: ms, s, m, h, d)"#;
const SIZE_EXAMPLE: &str = r#"a size like "10MB" or "512KiB", or a number of bytes"#;

/// A non-empty string.
pub(super) fn string(value: Value) -> Parse<String> {
    match value {
        Value::String(text) if text.trim().is_empty() => {
            Err("empty: give it a value, or remove the key".to_owned())
        }
        Value::String(text) => Ok(text),
        other => Err(mismatch("a string", &other)),
    }
}

/// `true` or `false`.
pub(super) fn boolean(value: Value) -> Parse<bool> {
    match value {
        Value::Boolean(flag) => Ok(flag),
        Value::String(text) if matches!(text.as_str(), "true" | "false") => Err(format!(
            "expected a boolean, found a string: write {text} without quotes"
        )),
        other => Err(mismatch("a boolean (true or false)", &other)),
    }
}

/// A whole number from `min` to `max` (`i64::MAX` for no upper bound), as `T`.
pub(super) fn integer<T: TryFrom<i64>>(min: i64, max: i64) -> impl FnOnce(Value) -> Parse<T> {
    move |value| {
        let number = match value {
            Value::Integer(number) => number,
            Value::String(text) if text.trim().parse::<i64>().is_ok() => {
                return Err(format!(
                    "expected an integer, found a string: write {} without quotes",
                    text.trim()
                ));
            }
            other => return Err(mismatch("an integer", &other)),
        };
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("from {min} to {max}")
        };
        (min..=max)
            .contains(&number)
            .then(|| T::try_from(number).ok())
            .flatten()
            .ok_or_else(|| format!("out of range: must be {range}, got {number}"))
    }
}

/// A filesystem path.
pub(super) fn path(value: Value) -> Parse<PathBuf> {
    string(value).map(PathBuf::from)
}

/// A duration string such as "250ms", "30s" or "1h30m".
pub(super) fn duration(value: Value) -> Parse<Duration> {
    let text = match value {
        Value::String(text) => text,
        Value::Integer(number) => return Err(needs_unit(number)),
        other => return Err(mismatch(DURATION_EXAMPLE, &other)),
    };
    match text.trim().parse::<u64>() {
        Ok(number) => Err(needs_unit(number)),
        Err(_) => parse_duration(&text)
            .ok_or_else(|| format!("expected {DURATION_EXAMPLE}, got {text:?}")),
    }
}

fn needs_unit(number: impl std::fmt::Display) -> String {
    format!(r#"durations need a unit, e.g. "30s" (write "{number}s" for {number} seconds)"#)
}

/// A duration of at least `min`; `why` explains the floor.
pub(super) fn duration_at_least(
    min: Duration,
    why: &'static str,
) -> impl FnOnce(Value) -> Parse<Duration> {
    move |value| {
        let found = duration(value)?;
        if found < min {
            return Err(format!(
                "too short: must be at least \"{}\", got \"{}\": {why}",
                format_duration(min),
                format_duration(found)
            ));
        }
        Ok(found)
    }
}

/// How often an ERP poller asks for changes: at least 100 ms.
pub(super) fn erp_poll_interval(value: Value) -> Parse<Duration> {
    duration_at_least(
        Duration::from_millis(100),
        "a shorter poll only loads the ERP",
    )(value)
}

/// A size in bytes: "10MB", "512KiB", "1GiB", or a plain integer.
pub(super) fn size(value: Value) -> Parse<u64> {
    match value {
        Value::Integer(bytes) => {
            u64::try_from(bytes).map_err(|_| format!("expected {SIZE_EXAMPLE}, got {bytes}"))
        }
        Value::String(text) => {
            parse_size(&text).ok_or_else(|| format!("expected {SIZE_EXAMPLE}, got {text:?}"))
        }
        other => Err(mismatch(SIZE_EXAMPLE, &other)),
    }
}

/// An `http://` or `https://` URL, without its trailing slash (paths are appended to it).
pub(super) fn http_url(value: Value) -> Parse<String> {
    let text = string(value)?;
    let host = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match host {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !text.contains(char::is_whitespace) =>
        {
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            r#"expected an http:// or https:// URL like "https://example.com", got {text:?}"#
        )),
    }
}

/// An IP address and port.
pub(super) fn socket_address(value: Value) -> Parse<SocketAddr> {
    let text = string(value)?;
    text.parse().map_err(|_| {
        format!(
            "expected an IP address and port like \"127.0.0.1:8080\" or \"[::1]:8080\" \
             (not a host name), got {text:?}"
        )
    })
}

/// The duration units, largest first, in milliseconds.
const DURATION_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses "1h30m"-style durations: one or more `<integer><unit>` with units ms, s, m, h, d.
pub(super) fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (_, unit_millis) = DURATION_UNITS
            .iter()
            .find(|(unit, _)| *unit == &rest[..unit_len])?;
        millis = millis.checked_add(number.checked_mul(*unit_millis)?)?;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_millis(millis))
}

/// Writes a duration the way the config does ("1h30m", "250ms", "0s").
pub(super) fn format_duration(duration: Duration) -> String {
    let mut left = duration.as_millis();
    let mut text = String::new();
    for (unit, millis) in DURATION_UNITS {
        let millis = u128::from(millis);
        if left >= millis {
            text = format!("{text}{}{unit}", left / millis);
            left %= millis;
        }
    }
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text
    }
}

/// Parses "10MB" (10^6), "512KiB" (2^10) or "1048576" (bytes).
pub(super) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let multiplier: u64 = match text[digits..].trim_start() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_combine_units() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        for bad in [
            "",
            "30",
            "s",
            "30 seconds",
            "1.5h",
            "-1s",
            "1w",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_print_as_written() {
        assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn bare_numbers_are_not_durations() {
        let message = duration(Value::Integer(30)).expect_err("no unit");
        assert!(
            message.contains(r#"durations need a unit, e.g. "30s""#),
            "{message}"
        );
        let message = duration(Value::String("30".into())).expect_err("no unit");
        assert!(message.contains("durations need a unit"), "{message}");
    }

    #[test]
    fn sizes_use_decimal_and_binary_units() {
        assert_eq!(parse_size("10MB"), Some(10_000_000));
        assert_eq!(parse_size("512KiB"), Some(524_288));
        assert_eq!(parse_size("1GiB"), Some(1_073_741_824));
        assert_eq!(parse_size("1 MiB"), Some(1_048_576));
        assert_eq!(parse_size("42"), Some(42));
        for bad in ["", "MB", "10 megabytes", "1.5MB", "10mb"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn integers_are_range_checked() {
        let parse = integer::<u32>(1, 100);
        assert_eq!(parse(Value::Integer(100)), Ok(100));
        let message = integer::<u32>(1, 100)(Value::Integer(0)).expect_err("below");
        assert_eq!(message, "out of range: must be from 1 to 100, got 0");
        let message = integer::<u64>(1, i64::MAX)(Value::String("5".into())).expect_err("quoted");
        assert!(message.contains("without quotes"), "{message}");
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert_eq!(
            http_url(Value::String("https://erp.example.com/".into())),
            Ok("https://erp.example.com".into())
        );
        for bad in ["erp.example.com", "ftp://erp", "https://", "http:///path"] {
            assert!(http_url(Value::String(bad.into())).is_err(), "{bad:?}");
        }
    }
}
