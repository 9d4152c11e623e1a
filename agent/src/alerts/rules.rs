//! The rules: what each check finds, from inputs already in memory. Pure but for the little
//! memory some rules need (dead-letter counts over the window, since when a side has been
//! failing), so every rule is unit-tested with hand-made inputs and times.
//!
//! Each check yields one [`Finding`] per (rule, subject) the rule looks at: firing (with a
//! summary), clear, or unknown (not enough seen yet: the incident, open or not, stays as
//! it is). The engine opens an incident for a firing finding without one, resolves the open
//! incident of a clear finding, and resolves open incidents no rule reports any more (a
//! rule turned off, a parity dimension no longer compared).

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, TimeZone};

use plumb_common::Timestamp;
use plumb_common::protocol::{AlertRule, StatusSnapshot};

use super::parity::ParityReadings;
use crate::config::{AlertsConfig, TradingHours};
use crate::shopify::TokenStatus;

/// What a rule found for one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The condition holds: open an incident (if none is open) with this summary.
    Firing(String),
    /// The condition does not hold: resolve the open incident, if any.
    Clear,
    /// Not known yet: leave things as they are.
    Unknown,
}

/// One rule's verdict on one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: AlertRule,
    /// A flow, a parity dimension; `None` for rules about the whole agent.
    pub subject: Option<String>,
    /// The verdict.
    pub condition: Condition,
}

/// The ERP probe's outcome at this check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErpProbe {
    /// No ERP configured, or the rule is off.
    NotProbed,
    /// The ERP answered.
    Reachable,
    /// It did not (connection refused, 5xx, timeout): why.
    Unreachable(String),
}

/// The last webhook-subscription check at Shopify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionCheck {
    /// Not checked yet, or the check failed (the Shopify rules report why).
    Unknown,
    /// Checked: these needed topics have no subscription to our receiver (empty: all do).
    Missing(Vec<String>),
}

/// Everything one check looks at.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// Now.
    pub now: Timestamp,
    /// The store's counters (flows, dead letters).
    pub status: &'a StatusSnapshot,
    /// When the engine started: "no orders" counts from here at the earliest.
    pub started_at: Timestamp,
    /// When a new order last came in.
    pub last_order: Option<Timestamp>,
    /// The reconciler's latest parity per dimension.
    pub parity: &'a ParityReadings,
    /// What Shopify last said of the token; `None` without a Shopify client.
    pub shopify_token: Option<TokenStatus>,
    /// The ERP probe.
    pub erp: ErpProbe,
    /// The webhook subscriptions.
    pub subscriptions: SubscriptionCheck,
}

/// The rules with their configuration and memory.
#[derive(Debug)]
pub struct Rules {
    config: AlertsConfig,
    /// (time, total dead letters) at each check within the window, oldest first.
    dead_letter_samples: VecDeque<(Timestamp, u64)>,
    /// When dead letters were first sampled.
    dead_letters_since: Option<Timestamp>,
    /// Since when Shopify refuses the token.
    token_refused_since: Option<Timestamp>,
    /// Since when the ERP is unreachable.
    erp_unreachable_since: Option<Timestamp>,
}

impl Rules {
    /// The rules `config` turns on, with nothing seen yet.
    pub fn new(config: AlertsConfig) -> Rules {
        Rules {
            config,
            dead_letter_samples: VecDeque::new(),
            dead_letters_since: None,
            token_refused_since: None,
            erp_unreachable_since: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// Every finding of one check.
    pub fn evaluate(&mut self, inputs: &Inputs<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        if let Some(max_age) = self.config.queue_age {
            queue_age(inputs, max_age, &mut findings);
        }
        if let Some(rule) = self.config.dead_letters {
            let condition = self.dead_letters(inputs, rule.growth, rule.window);
            findings.push(whole(AlertRule::DeadLetters, condition));
        }
        if let Some(below) = self.config.parity {
            parity(inputs, below, &mut findings);
        }
        if let Some(rule) = &self.config.no_orders {
            let condition = no_orders(inputs, rule.after, &rule.hours);
            findings.push(whole(AlertRule::NoOrders, condition));
        }
        if let Some(after) = self.config.flow_paused {
            flow_paused(inputs, after, &mut findings);
        }
        if let Some(after) = self.config.shopify_auth {
            let condition = self.shopify_auth(inputs, after);
            findings.push(whole(AlertRule::ShopifyAuth, condition));
        }
        if let Some(after) = self.config.erp_unreachable {
            let condition = self.erp_unreachable(inputs, after);
            findings.push(whole(AlertRule::ErpUnreachable, condition));
        }
        if self.config.webhook_subscriptions.is_some() {
            let condition = match &inputs.subscriptions {
                SubscriptionCheck::Unknown => Condition::Unknown,
                SubscriptionCheck::Missing(topics) if topics.is_empty() => Condition::Clear,
                SubscriptionCheck::Missing(topics) => Condition::Firing(format!(
                    "Shopify has no subscription to our receiver for {}: those events are \
                     not delivered (repair the subscriptions; the backfill still catches orders)",
                    topics.join(", ")
                )),
            };
            findings.push(whole(AlertRule::WebhookSubscriptions, condition));
        }
        findings
    }

    fn dead_letters(&mut self, inputs: &Inputs<'_>, growth: u64, window: Duration) -> Condition {
        let now = inputs.now;
        let total = inputs.status.dead_letters;
        let since = *self.dead_letters_since.get_or_insert(now);
        self.dead_letter_samples.push_back((now, total));
        let start = now.minus(window);
        while self
            .dead_letter_samples
            .front()
            .is_some_and(|(at, _)| *at < start)
        {
            self.dead_letter_samples.pop_front();
        }
        let lowest = self
            .dead_letter_samples
            .iter()
            .map(|(_, count)| *count)
            .min()
            .unwrap_or(total);
        let grown = total.saturating_sub(lowest);
        if grown >= growth {
            Condition::Firing(format!(
                "{grown} new dead letters within {} ({total} in all; threshold {growth})",
                human(window)
            ))
        } else if since.until(now) >= window {
            Condition::Clear
        } else {
            // Less than a window seen since start: growth before it is unknown.
            Condition::Unknown
        }
    }

    fn shopify_auth(&mut self, inputs: &Inputs<'_>, after: Duration) -> Condition {
        match inputs.shopify_token {
            // No client, or no call has told yet.
            None | Some(TokenStatus::Unknown) => Condition::Unknown,
            Some(TokenStatus::Accepted) => {
                self.token_refused_since = None;
                Condition::Clear
            }
            Some(TokenStatus::Refused) => {
                let since = *self.token_refused_since.get_or_insert(inputs.now);
                failing_for(
                    since,
                    inputs.now,
                    after,
                    "Shopify refuses the access token (revoked, or a scope missing): \
                     nothing reaches Shopify until the app is re-authorised",
                )
            }
        }
    }

    fn erp_unreachable(&mut self, inputs: &Inputs<'_>, after: Duration) -> Condition {
        match &inputs.erp {
            ErpProbe::NotProbed => Condition::Unknown,
            ErpProbe::Reachable => {
                self.erp_unreachable_since = None;
                Condition::Clear
            }
            ErpProbe::Unreachable(why) => {
                let since = *self.erp_unreachable_since.get_or_insert(inputs.now);
                failing_for(
                    since,
                    inputs.now,
                    after,
                    &format!("the ERP cannot be reached ({why}): ERP work waits on the queue"),
                )
            }
        }
    }
}

fn whole(rule: AlertRule, condition: Condition) -> Finding {
    Finding {
        rule,
        subject: None,
        condition,
    }
}

/// Firing once failing since `since` for at least `after` (and not before: unknown, so a
/// short blip neither opens nor resolves anything).
fn failing_for(since: Timestamp, now: Timestamp, after: Duration, what: &str) -> Condition {
    let lasted = since.until(now);
    if lasted >= after {
        Condition::Firing(format!("{what}; for {} (since {since})", human(lasted)))
    } else {
        Condition::Unknown
    }
}

fn queue_age(inputs: &Inputs<'_>, max_age: Duration, findings: &mut Vec<Finding>) {
    for flow in &inputs.status.flows {
        let age = flow.oldest_pending.map(|at| at.until(inputs.now));
        let condition = match age {
            Some(age) if age > max_age => Condition::Firing(format!(
                "the oldest pending {} job is {} old (threshold {}; {} pending)",
                flow.flow,
                human(age),
                human(max_age),
                flow.pending
            )),
            _ => Condition::Clear,
        };
        findings.push(Finding {
            rule: AlertRule::QueueAge,
            subject: Some(flow.flow.to_string()),
            condition,
        });
    }
}

fn flow_paused(inputs: &Inputs<'_>, after: Duration, findings: &mut Vec<Finding>) {
    for flow in &inputs.status.flows {
        let paused_for = flow.paused_since.map(|at| at.until(inputs.now));
        let condition = match (paused_for, flow.paused_since) {
            (Some(paused_for), Some(since)) if paused_for > after => Condition::Firing(format!(
                "the {} flow has been paused for {} (since {since}; threshold {}): its jobs wait",
                flow.flow,
                human(paused_for),
                human(after)
            )),
            _ => Condition::Clear,
        };
        findings.push(Finding {
            rule: AlertRule::FlowPaused,
            subject: Some(flow.flow.to_string()),
            condition,
        });
    }
}

fn parity(inputs: &Inputs<'_>, below: rust_decimal::Decimal, findings: &mut Vec<Finding>) {
    for (dimension, reading) in inputs.parity {
        let percent = reading.percent();
        let condition = if percent < below {
            Condition::Firing(format!(
                "{dimension} parity is {}% ({} of {} mismatched, measured {}), below {below}%",
                percent.round_dp(2).normalize(),
                reading.mismatched,
                reading.checked,
                reading.measured_at
            ))
        } else {
            Condition::Clear
        };
        findings.push(Finding {
            rule: AlertRule::Parity,
            subject: Some(dimension.clone()),
            condition,
        });
    }
}

fn no_orders(inputs: &Inputs<'_>, after: Duration, hours: &TradingHours) -> Condition {
    let Some(opened) = session_start(hours, inputs.now) else {
        return Condition::Clear;
    };
    let since = [Some(opened), Some(inputs.started_at), inputs.last_order]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(inputs.now);
    let quiet = since.until(inputs.now);
    if quiet >= after {
        let last = inputs.last_order.map_or_else(
            || "none since the agent started".to_owned(),
            |at| at.to_string(),
        );
        Condition::Firing(format!(
            "no order received for {} during trading hours (threshold {}; last order: {last})",
            human(quiet),
            human(after)
        ))
    } else {
        Condition::Clear
    }
}

/// When the trading session `now` falls in opened; `None` outside trading hours.
pub fn session_start(hours: &TradingHours, now: Timestamp) -> Option<Timestamp> {
    let utc = now.to_utc()?;
    let local = utc.with_timezone(&hours.offset).naive_local();
    let today = local.date();
    // A session crossing midnight may have opened yesterday.
    for day in [today, today.checked_sub_days(Days::new(1))?] {
        if !hours.days.contains(&day.weekday()) {
            continue;
        }
        let (open, close) = session(hours, day)?;
        if open <= local && local < close {
            let opened = hours.offset.from_local_datetime(&open).single()?;
            return u64::try_from(opened.timestamp_millis()).ok().map(Timestamp);
        }
    }
    None
}

/// The local opening and closing of the session that opens on `day`.
fn session(hours: &TradingHours, day: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let open = day.and_time(hours.open);
    let close = match hours.close {
        Some(close) if close > hours.open => day.and_time(close),
        Some(close) => day.checked_add_days(Days::new(1))?.and_time(close),
        None => day.checked_add_days(Days::new(1))?.and_hms_opt(0, 0, 0)?,
    };
    Some((open, close))
}

/// "1h 5m", "42s", "250ms".
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, NaiveTime, Weekday};
    use rust_decimal::Decimal;

    use plumb_common::FlowKind;
    use plumb_common::protocol::FlowStatus;

    use super::super::parity::{ParityFeed, ParityReading};
    use super::*;
    use crate::config::{DeadLetterRule, NoOrdersRule, Secret};

    /// 2026-12-07T10:00:00Z, a Monday.
    const MONDAY_10_UTC: u64 = 1_796_637_600_000;

    fn config() -> AlertsConfig {
        AlertsConfig {
            endpoint: Secret::new("http://127.0.0.1:9/hook"),
            check_interval: Duration::from_secs(1),
            delivery_timeout: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(10),
            queue_age: None,
            dead_letters: None,
            parity: None,
            no_orders: None,
            flow_paused: None,
            shopify_auth: None,
            erp_unreachable: None,
            webhook_subscriptions: None,
        }
    }

    fn status(dead: u64) -> StatusSnapshot {
        StatusSnapshot {
            agent_version: "test".into(),
            started_at: Timestamp(0),
            taken_at: Timestamp(0),
            flows: FlowKind::ALL
                .into_iter()
                .map(|flow| FlowStatus {
                    flow,
                    paused_since: None,
                    pending: 0,
                    in_flight: 0,
                    oldest_pending: None,
                    dead: 0,
                    completed_last_minute: 0,
                    failed_last_minute: 0,
                    last_success: None,
                    last_error: None,
                })
                .collect(),
            dead_letters: dead,
            dead_letter_bound: 100,
            dead_letter_causes: Vec::new(),
            incidents: Vec::new(),
        }
    }

    fn inputs<'a>(now: u64, status: &'a StatusSnapshot, parity: &'a ParityReadings) -> Inputs<'a> {
        Inputs {
            now: Timestamp(now),
            status,
            started_at: Timestamp(0),
            last_order: None,
            parity,
            shopify_token: None,
            erp: ErpProbe::NotProbed,
            subscriptions: SubscriptionCheck::Unknown,
        }
    }

    fn only(findings: &[Finding], rule: AlertRule, subject: Option<&str>) -> Condition {
        let matching: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.rule == rule && f.subject.as_deref() == subject)
            .collect();
        assert_eq!(matching.len(), 1, "{findings:?}");
        matching[0].condition.clone()
    }

    #[test]
    fn parity_below_the_threshold_fires_per_dimension_and_clears() {
        let mut rules = Rules::new(AlertsConfig {
            parity: Some(Decimal::new(995, 1)),
            ..config()
        });
        let feed = ParityFeed::new();
        let status = status(0);
        let at = Timestamp(5);
        feed.publish(
            "inventory",
            ParityReading {
                checked: 1000,
                mismatched: 6,
                measured_at: at,
            },
        );
        feed.publish(
            "orders",
            ParityReading {
                checked: 200,
                mismatched: 1,
                measured_at: at,
            },
        );
        let readings = feed.latest();
        let findings = rules.evaluate(&inputs(10, &status, &readings));
        match only(&findings, AlertRule::Parity, Some("inventory")) {
            Condition::Firing(summary) => {
                assert!(
                    summary.contains("99.4%") && summary.contains("6 of 1000"),
                    "{summary}"
                )
            }
            other => panic!("{other:?}"),
        }
        // Exactly at the threshold is not below it.
        assert_eq!(
            only(&findings, AlertRule::Parity, Some("orders")),
            Condition::Clear
        );
        feed.publish(
            "inventory",
            ParityReading {
                checked: 1000,
                mismatched: 0,
                measured_at: at,
            },
        );
        let readings = feed.latest();
        let findings = rules.evaluate(&inputs(20, &status, &readings));
        assert_eq!(
            only(&findings, AlertRule::Parity, Some("inventory")),
            Condition::Clear
        );
        // A dimension no longer published is no longer reported (its incident resolves).
        feed.forget("inventory");
        let readings = feed.latest();
        let findings = rules.evaluate(&inputs(30, &status, &readings));
        assert!(
            findings
                .iter()
                .all(|f| f.subject.as_deref() != Some("inventory"))
        );
    }

    #[test]
    fn dead_letters_fire_on_growth_and_clear_after_a_quiet_window() {
        let mut rules = Rules::new(AlertsConfig {
            dead_letters: Some(DeadLetterRule {
                growth: 2,
                window: Duration::from_secs(10),
            }),
            ..config()
        });
        let parity = ParityReadings::new();
        let check = |rules: &mut Rules, at: u64, dead: u64| {
            let status = status(dead);
            only(
                &rules.evaluate(&inputs(at, &status, &parity)),
                AlertRule::DeadLetters,
                None,
            )
        };
        // Before a whole window was seen, no growth is not yet "clear".
        assert_eq!(check(&mut rules, 0, 5), Condition::Unknown);
        assert_eq!(check(&mut rules, 2_000, 6), Condition::Unknown);
        assert!(
            matches!(check(&mut rules, 4_000, 7), Condition::Firing(s) if s.starts_with("2 new"))
        );
        assert!(matches!(check(&mut rules, 10_000, 7), Condition::Firing(_)));
        // 7 since 4 s: no growth over the window ending at 14.5 s.
        assert_eq!(check(&mut rules, 14_500, 7), Condition::Clear);
        // Retried dead letters (the count drops) are not growth.
        assert_eq!(check(&mut rules, 16_000, 3), Condition::Clear);
    }

    #[test]
    fn queue_age_and_paused_flows_fire_per_flow() {
        let mut rules = Rules::new(AlertsConfig {
            queue_age: Some(Duration::from_secs(60)),
            flow_paused: Some(Duration::from_secs(30)),
            ..config()
        });
        let mut status = status(0);
        status.flows[0].oldest_pending = Some(Timestamp(0));
        status.flows[0].pending = 3;
        status.flows[1].paused_since = Some(Timestamp(50_000));
        let parity = ParityReadings::new();
        let first = status.flows[0].flow.to_string();
        let second = status.flows[1].flow.to_string();
        let findings = rules.evaluate(&inputs(61_000, &status, &parity));
        assert!(matches!(
            only(&findings, AlertRule::QueueAge, Some(&first)),
            Condition::Firing(_)
        ));
        assert_eq!(
            only(&findings, AlertRule::QueueAge, Some(&second)),
            Condition::Clear
        );
        assert_eq!(
            only(&findings, AlertRule::FlowPaused, Some(&second)),
            Condition::Clear
        );
        let findings = rules.evaluate(&inputs(81_000, &status, &parity));
        assert!(matches!(
            only(&findings, AlertRule::FlowPaused, Some(&second)),
            Condition::Firing(_)
        ));
    }

    #[test]
    fn failing_sides_fire_only_after_their_threshold() {
        let mut rules = Rules::new(AlertsConfig {
            shopify_auth: Some(Duration::from_secs(5)),
            erp_unreachable: Some(Duration::from_secs(5)),
            ..config()
        });
        let status = status(0);
        let parity = ParityReadings::new();
        let mut at = |now: u64, token: TokenStatus, erp: ErpProbe| {
            let mut inputs = inputs(now, &status, &parity);
            inputs.shopify_token = Some(token);
            inputs.erp = erp;
            let findings = rules.evaluate(&inputs);
            (
                only(&findings, AlertRule::ShopifyAuth, None),
                only(&findings, AlertRule::ErpUnreachable, None),
            )
        };
        let down = || ErpProbe::Unreachable("HTTP 503".into());
        assert_eq!(
            at(0, TokenStatus::Unknown, ErpProbe::NotProbed),
            (Condition::Unknown, Condition::Unknown)
        );
        assert_eq!(
            at(1_000, TokenStatus::Refused, down()),
            (Condition::Unknown, Condition::Unknown)
        );
        let (auth, erp) = at(6_000, TokenStatus::Refused, down());
        assert!(
            matches!(auth, Condition::Firing(_))
                && matches!(erp, Condition::Firing(s) if s.contains("HTTP 503"))
        );
        assert_eq!(
            at(7_000, TokenStatus::Accepted, ErpProbe::Reachable),
            (Condition::Clear, Condition::Clear)
        );
    }

    #[test]
    fn no_orders_counts_only_trading_hours() {
        let hours = TradingHours {
            open: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
            close: NaiveTime::from_hms_opt(18, 0, 0),
            offset: FixedOffset::east_opt(3600).expect("offset"),
            days: vec![Weekday::Mon, Weekday::Tue],
        };
        let mut rules = Rules::new(AlertsConfig {
            no_orders: Some(NoOrdersRule {
                after: Duration::from_secs(1800),
                hours: hours.clone(),
            }),
            ..config()
        });
        // Monday 11:00 local: the session opened at 09:00 local = 08:00Z.
        let now = MONDAY_10_UTC;
        assert_eq!(
            session_start(&hours, Timestamp(now)),
            Some(Timestamp(now - 2 * 3_600_000))
        );
        let status = status(0);
        let parity = ParityReadings::new();
        let mut check = |now: u64, last_order: Option<u64>| {
            let mut inputs = inputs(now, &status, &parity);
            inputs.last_order = last_order.map(Timestamp);
            only(&rules.evaluate(&inputs), AlertRule::NoOrders, None)
        };
        assert!(matches!(check(now, None), Condition::Firing(s) if s.contains("2h")));
        assert_eq!(check(now, Some(now - 60_000)), Condition::Clear);
        // Monday 19:00 local: closed.
        assert_eq!(check(now + 8 * 3_600_000, None), Condition::Clear);
        // Wednesday 11:00 local: not a trading day.
        assert_eq!(check(now + 48 * 3_600_000, None), Condition::Clear);
        // A session across midnight opened the day before.
        let night = TradingHours {
            open: NaiveTime::from_hms_opt(22, 0, 0).expect("time"),
            close: NaiveTime::from_hms_opt(6, 0, 0),
            offset: FixedOffset::east_opt(0).expect("offset"),
            days: vec![Weekday::Sun],
        };
        // Monday 02:00Z is in Sunday's session, opened Sunday 22:00Z.
        let monday_2 = MONDAY_10_UTC - 8 * 3_600_000;
        assert_eq!(
            session_start(&night, Timestamp(monday_2)),
            Some(Timestamp(monday_2 - 4 * 3_600_000))
        );
    }

    #[test]
    fn webhook_subscriptions_fire_while_topics_are_missing() {
        let mut rules = Rules::new(AlertsConfig {
            webhook_subscriptions: Some(crate::config::WebhookSubscriptionsRule {
                uri: "https://plumb.example.com/webhooks".into(),
                topics: vec!["orders/create".into()],
                interval: Duration::from_secs(60),
            }),
            ..config()
        });
        let status = status(0);
        let parity = ParityReadings::new();
        let mut check = |subscriptions| {
            let mut inputs = inputs(0, &status, &parity);
            inputs.subscriptions = subscriptions;
            only(
                &rules.evaluate(&inputs),
                AlertRule::WebhookSubscriptions,
                None,
            )
        };
        assert_eq!(check(SubscriptionCheck::Unknown), Condition::Unknown);
        assert!(matches!(
            check(SubscriptionCheck::Missing(vec!["orders/create".into()])),
            Condition::Firing(s) if s.contains("orders/create")
        ));
        assert_eq!(
            check(SubscriptionCheck::Missing(Vec::new())),
            Condition::Clear
        );
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(Duration::from_secs(3_900)), "1h 5m");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }
}
