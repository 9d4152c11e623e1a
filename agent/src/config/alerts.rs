//! `[alerts]`: where alert messages go (a Slack-compatible incoming webhook, by secret
//! reference), how often the rules are checked, and each rule's threshold and on/off
//! (`[alerts.<rule>]`).
//!
//! Most rules are on by default once `[alerts]` exists (`enabled = false` turns one off).
//! Two need facts only the operator knows, so they are on only when their section is
//! present: `no_orders` (the shop's trading hours) and `webhook_subscriptions` (the public
//! URL Shopify delivers to).
//!
//! Trading hours use a fixed UTC offset (`utc_offset = "+01:00"`), not a time-zone name:
//! chrono alone has no time-zone database, and a fixed offset is exact and testable. Where
//! daylight saving time applies, the offset is changed twice a year (or the hours widened
//! to cover both).

use std::time::Duration;

use chrono::{FixedOffset, NaiveTime, Weekday};
use rust_decimal::Decimal;
use toml::Value;

use super::reader::{Need, Parse, Reader};
use super::secret::{Secret, SecretSource, secret};
use super::values::{boolean, duration, duration_at_least, http_url, integer, string};

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// Where messages are POSTed (a Slack incoming-webhook URL: a secret).
    pub endpoint: Secret,
    /// How often the rules are evaluated.
    pub check_interval: Duration,
    /// How long one delivery attempt may take.
    pub delivery_timeout: Duration,
    /// The first retry delay of a failed delivery, doubled per attempt.
    pub retry_base: Duration,
    /// The longest retry delay.
    pub retry_cap: Duration,
    /// `[alerts.queue_age]`: a flow's oldest pending job older than this.
    pub queue_age: Option<Duration>,
    /// `[alerts.dead_letters]`.
    pub dead_letters: Option<DeadLetterRule>,
    /// `[alerts.parity]`: a dimension's parity below this percentage.
    pub parity: Option<Decimal>,
    /// `[alerts.no_orders]`.
    pub no_orders: Option<NoOrdersRule>,
    /// `[alerts.flow_paused]`: a flow paused longer than this.
    pub flow_paused: Option<Duration>,
    /// `[alerts.shopify_auth]`: Shopify refusing the token for longer than this.
    pub shopify_auth: Option<Duration>,
    /// `[alerts.erp_unreachable]`: the ERP unreachable for longer than this.
    pub erp_unreachable: Option<Duration>,
    /// `[alerts.webhook_subscriptions]`.
    pub webhook_subscriptions: Option<WebhookSubscriptionsRule>,
}

/// `[alerts.dead_letters]`: dead letters growing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterRule {
    /// New dead letters within `window` that open an incident.
    pub growth: u64,
    /// The window; the incident resolves once a whole window passed with less growth.
    pub window: Duration,
}

/// `[alerts.no_orders]`: no order received for `after` during trading hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoOrdersRule {
    /// How long without an order opens an incident.
    pub after: Duration,
    /// The trading hours.
    pub hours: TradingHours,
}

/// When the shop expects orders: from `open` to `close` local time on `days`, local time
/// being UTC plus `offset`. `close` before `open` spans midnight (the day is the opening's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingHours {
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time; `None` for midnight at the end of the day ("24:00").
    pub close: Option<NaiveTime>,
    /// Local time = UTC + offset.
    pub offset: FixedOffset,
    /// The days the shop opens (all seven by default).
    pub days: Vec<Weekday>,
}

/// `[alerts.webhook_subscriptions]`: every needed topic subscribed to our receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscriptionsRule {
    /// The URL Shopify delivers to (the receiver behind its public proxy), exactly as
    /// subscribed.
    pub uri: String,
    /// The topics (`orders/create`) that must be subscribed to `uri`.
    pub topics: Vec<String>,
    /// How often Shopify is asked for the subscriptions.
    pub interval: Duration,
}

/// The topics the flows of this build act on, subscribed through the API.
pub const DEFAULT_TOPICS: [&str; 9] = [
    "orders/create",
    "orders/paid",
    "orders/updated",
    "orders/edited",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "refunds/create",
    "inventory_levels/update",
];

const CHECK_FLOOR: Duration = Duration::from_millis(100);

impl AlertsConfig {
    pub(super) fn read(mut reader: Reader<'_>, source: &dyn SecretSource) -> Option<Self> {
        let endpoint = reader.required(
            "endpoint",
            r#"reference the incoming-webhook URL alerts are POSTed to, e.g. { env = "PLUMB_ALERT_WEBHOOK_URL" }"#,
            |value| secret(value, source).and_then(endpoint_url),
        );
        let check_interval = reader.or(
            "check_interval",
            Duration::from_secs(30),
            duration_at_least(
                CHECK_FLOOR,
                "the rules read in-memory counters; checking more often only spends CPU",
            ),
        );
        let delivery_timeout = reader.or(
            "delivery_timeout",
            Duration::from_secs(10),
            duration_at_least(CHECK_FLOOR, "an endpoint needs time to answer"),
        );
        let retry_base = reader.or(
            "retry_base",
            Duration::from_secs(1),
            duration_at_least(
                Duration::from_millis(10),
                "retrying at once only hammers a failing endpoint",
            ),
        );
        let retry_cap = reader.or("retry_cap", Duration::from_secs(300), duration);
        if retry_cap < retry_base {
            let key = reader.key("retry_cap");
            reader.report(
                key,
                "shorter than alerts.retry_base: set it to at least retry_base (default \"5m\")",
            );
        }
        let queue_age = rule(&mut reader, "queue_age", true, |r| {
            r.or(
                "older_than",
                Duration::from_secs(15 * 60),
                positive_duration,
            )
        });
        let dead_letters = rule(&mut reader, "dead_letters", true, |r| DeadLetterRule {
            growth: r.or("growth", 1, integer(1, i64::MAX)),
            window: r.or("window", Duration::from_secs(15 * 60), positive_duration),
        });
        let parity = rule(&mut reader, "parity", true, |r| {
            r.or("below", Decimal::from(99), percent)
        });
        let no_orders = reader.table("no_orders").and_then(NoOrdersRule::read);
        let flow_paused = rule(&mut reader, "flow_paused", true, |r| {
            r.or("longer_than", Duration::from_secs(30 * 60), duration)
        });
        let shopify_auth = rule(&mut reader, "shopify_auth", true, |r| {
            r.or("longer_than", Duration::ZERO, duration)
        });
        let erp_unreachable = rule(&mut reader, "erp_unreachable", true, |r| {
            r.or("longer_than", Duration::from_secs(120), duration)
        });
        let webhook_subscriptions = reader
            .table("webhook_subscriptions")
            .and_then(WebhookSubscriptionsRule::read);
        reader.finish();
        Some(AlertsConfig {
            endpoint: endpoint?,
            check_interval,
            delivery_timeout,
            retry_base,
            retry_cap: retry_cap.max(retry_base),
            queue_age,
            dead_letters,
            parity,
            no_orders,
            flow_paused,
            shopify_auth,
            erp_unreachable,
            webhook_subscriptions,
        })
    }
}

/// Reads `[alerts.<name>]` with `read` when the rule is on: absent section means
/// `default_on`, `enabled = false` turns it off.
fn rule<T>(
    reader: &mut Reader<'_>,
    name: &'static str,
    default_on: bool,
    read: impl FnOnce(&mut Reader<'_>) -> T,
) -> Option<T> {
    let Some(mut section) = reader.table(name) else {
        if default_on {
            let mut problems = Vec::new();
            let mut empty = Reader::document(toml::Table::new(), &mut problems);
            return Some(read(&mut empty));
        }
        return None;
    };
    let enabled = section.or("enabled", true, boolean);
    let value = read(&mut section);
    section.finish();
    enabled.then_some(value)
}

impl NoOrdersRule {
    fn read(mut reader: Reader<'_>) -> Option<Self> {
        let enabled = reader.or("enabled", true, boolean);
        let after = reader.or("after", Duration::from_secs(60 * 60), positive_duration);
        let window = reader.required(
            "trading_hours",
            r#"set the hours orders are expected, local time, e.g. "09:00-21:00" ("00:00-24:00" for all day)"#,
            trading_hours,
        );
        let offset = reader.required(
            "utc_offset",
            r#"set the shop's offset from UTC, e.g. "+01:00" (a fixed offset: change it when daylight saving time starts and ends)"#,
            utc_offset,
        );
        let days = reader.array("days", Need::Optional, weekday);
        reader.finish();
        let (open, close) = window?;
        let days = if days.is_empty() {
            vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
        } else {
            days.into_iter().map(|(_, day)| day).collect()
        };
        let rule = NoOrdersRule {
            after,
            hours: TradingHours {
                open,
                close,
                offset: offset?,
                days,
            },
        };
        enabled.then_some(rule)
    }
}

impl WebhookSubscriptionsRule {
    fn read(mut reader: Reader<'_>) -> Option<Self> {
        let enabled = reader.or("enabled", true, boolean);
        let uri = reader.required(
            "uri",
            r#"set it to the URL Shopify delivers webhooks to, exactly as subscribed, e.g. "https://plumb.example.com/webhooks""#,
            http_url,
        );
        let topics = reader.array("topics", Need::Optional, topic);
        let interval = reader.or(
            "interval",
            Duration::from_secs(15 * 60),
            duration_at_least(CHECK_FLOOR, "each check spends Shopify API points"),
        );
        reader.finish();
        let topics = if topics.is_empty() {
            DEFAULT_TOPICS.iter().map(|t| (*t).to_owned()).collect()
        } else {
            topics.into_iter().map(|(_, t)| t).collect()
        };
        let rule = WebhookSubscriptionsRule {
            uri: uri?,
            topics,
            interval,
        };
        enabled.then_some(rule)
    }
}

/// The endpoint secret must be an http(s) URL. The message never shows the value.
fn endpoint_url(secret: Secret) -> Parse<Secret> {
    match http_url(Value::String(secret.expose().to_owned())) {
        Ok(_) => Ok(secret),
        Err(_) => Err(
            "the referenced value is not an http:// or https:// URL: put the incoming-webhook \
             URL (e.g. https://hooks.slack.com/services/...) in the variable or file"
                .to_owned(),
        ),
    }
}

fn positive_duration(value: Value) -> Parse<Duration> {
    duration_at_least(
        Duration::from_millis(1),
        "a zero threshold would open an incident on every check",
    )(value)
}

/// A percentage from 0 to 100 (integer or float), kept exact as written.
fn percent(value: Value) -> Parse<Decimal> {
    let written = match value {
        // f64's Display is the shortest text that reads back the same: 99.9, not 99.900001.
        Value::Float(number) => number.to_string(),
        Value::Integer(number) => number.to_string(),
        other => return Err(super::reader::mismatch("a percentage like 99.5", &other)),
    };
    match written.parse::<Decimal>() {
        Ok(number) if number >= Decimal::ZERO && number <= Decimal::ONE_HUNDRED => Ok(number),
        _ => Err(format!(
            "out of range: a percentage from 0 to 100 (e.g. 99.5), got {written}"
        )),
    }
}

/// "HH:MM-HH:MM"; the close may be "24:00".
fn trading_hours(value: Value) -> Parse<(NaiveTime, Option<NaiveTime>)> {
    let text = string(value)?;
    let bad = || {
        format!(
            r#"expected "HH:MM-HH:MM" like "09:00-21:00" (a close before the open spans midnight; "00:00-24:00" is all day), got {text:?}"#
        )
    };
    let (open, close) = text.split_once('-').ok_or_else(bad)?;
    let open = NaiveTime::parse_from_str(open.trim(), "%H:%M").map_err(|_| bad())?;
    let close = match close.trim() {
        "24:00" => None,
        other => Some(NaiveTime::parse_from_str(other, "%H:%M").map_err(|_| bad())?),
    };
    if close == Some(open) {
        return Err(format!(
            r#"opens and closes at the same time ({text:?}): for all day write "00:00-24:00""#
        ));
    }
    Ok((open, close))
}

/// "+01:00", "-05:30", "Z" or "+00:00".
fn utc_offset(value: Value) -> Parse<FixedOffset> {
    let text = string(value)?;
    let bad = || format!(r#"expected an offset from UTC like "+01:00" or "-05:30", got {text:?}"#);
    let trimmed = text.trim();
    if trimmed == "Z" {
        return FixedOffset::east_opt(0).ok_or_else(bad);
    }
    let (sign, rest) = match trimmed.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(bad)
}

fn weekday(value: Value) -> Parse<Weekday> {
    let text = string(value)?;
    text.trim()
        .parse::<Weekday>()
        .map_err(|_| format!(r#"expected a day like "mon" or "saturday", got {text:?}"#))
}

/// `orders/create`-style topic.
fn topic(value: Value) -> Parse<String> {
    let text = string(value)?;
    let valid = text.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '/')
    });
    if valid {
        Ok(text)
    } else {
        Err(format!(
            r#"expected a webhook topic like "orders/create", got {text:?}"#
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::String(value.to_owned())
    }

    #[test]
    fn trading_hours_parse_and_refuse_empty_windows() {
        let (open, close) = trading_hours(text("09:00-21:30")).expect("valid");
        assert_eq!(open, NaiveTime::from_hms_opt(9, 0, 0).expect("time"));
        assert_eq!(close, NaiveTime::from_hms_opt(21, 30, 0));
        assert_eq!(trading_hours(text("00:00-24:00")).expect("all day").1, None);
        for bad in ["9-5", "09:00", "25:00-26:00", "10:00-10:00"] {
            assert!(trading_hours(text(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn offsets_are_fixed_and_bounded() {
        assert_eq!(
            utc_offset(text("+01:00")).expect("valid").local_minus_utc(),
            3600
        );
        assert_eq!(
            utc_offset(text("-05:30")).expect("valid").local_minus_utc(),
            -19_800
        );
        for bad in ["Europe/Paris", "+1", "+15:00", "01:00"] {
            assert!(utc_offset(text(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percentages_are_bounded() {
        assert_eq!(percent(Value::Float(99.9)), Ok(Decimal::new(999, 1)));
        assert_eq!(percent(Value::Integer(98)), Ok(Decimal::from(98)));
        assert!(percent(Value::Float(101.0)).is_err());
        assert!(percent(text("99")).is_err());
    }
}
