//! The body POSTed to the endpoint: Slack-compatible JSON.
//!
//! ```json
//! {
//!   "text": ":rotating_light: Plumb alert OPEN: queue_age (orders): the oldest pending ...",
//!   "plumb": {
//!     "event": "open",                       // or "resolved"
//!     "incident": 12,                        // unique per agent store
//!     "rule": "queue_age",                   // see AlertRule
//!     "subject": "orders",                   // or null
//!     "summary": "the oldest pending ...",   // what was found when it opened
//!     "opened_at": "2026-12-06T05:10:00.000Z",
//!     "resolved_at": null,                   // set on "resolved"
//!     "agent_version": "0.1.0"
//!   }
//! }
//! ```
//!
//! Slack's incoming webhooks read `text` and ignore the rest; other receivers (a pager
//! bridge, a script) read `plumb`.

use serde_json::json;

use plumb_common::protocol::Incident;

use super::rules::human;
use crate::store::AlertMessageKind;

/// The message for `incident`, as bytes.
pub fn body(incident: &Incident, kind: AlertMessageKind) -> Vec<u8> {
    let what = match &incident.subject {
        Some(subject) => format!("{} ({subject})", incident.rule),
        None => incident.rule.to_string(),
    };
    let (event, text) = match (kind, incident.resolved_at) {
        (AlertMessageKind::Resolve, Some(resolved_at)) => (
            "resolved",
            format!(
                ":white_check_mark: Plumb alert RESOLVED after {}: {what}: {}",
                human(incident.opened_at.until(resolved_at)),
                incident.summary
            ),
        ),
        _ => (
            "open",
            format!(
                ":rotating_light: Plumb alert OPEN: {what}: {}",
                incident.summary
            ),
        ),
    };
    let value = json!({
        "text": text,
        "plumb": {
            "event": event,
            "incident": incident.id,
            "rule": incident.rule,
            "subject": incident.subject,
            "summary": incident.summary,
            "opened_at": incident.opened_at.to_string(),
            "resolved_at": incident.resolved_at.map(|at| at.to_string()),
            "agent_version": env!("CARGO_PKG_VERSION"),
        }
    });
    // A json! value of strings and numbers always serializes.
    serde_json::to_vec(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use plumb_common::Timestamp;
    use plumb_common::protocol::AlertRule;

    use super::*;

    #[test]
    fn open_and_resolve_bodies_carry_text_and_fields() {
        let mut incident = Incident {
            id: 7,
            rule: AlertRule::FlowPaused,
            subject: Some("orders".into()),
            summary: "paused".into(),
            opened_at: Timestamp(0),
            resolved_at: None,
            open_delivered: false,
            resolve_delivered: false,
        };
        let open: serde_json::Value =
            serde_json::from_slice(&body(&incident, AlertMessageKind::Open)).expect("json");
        assert_eq!(open["plumb"]["event"], "open");
        assert_eq!(open["plumb"]["rule"], "flow_paused");
        assert!(
            open["text"]
                .as_str()
                .is_some_and(|t| t.contains("OPEN: flow_paused (orders)"))
        );
        incident.resolved_at = Some(Timestamp(90_000));
        let resolved: serde_json::Value =
            serde_json::from_slice(&body(&incident, AlertMessageKind::Resolve)).expect("json");
        assert_eq!(resolved["plumb"]["event"], "resolved");
        assert_eq!(resolved["plumb"]["resolved_at"], "1970-01-01T00:01:30.000Z");
        assert!(
            resolved["text"]
                .as_str()
                .is_some_and(|t| t.contains("RESOLVED after 1m 30s"))
        );
    }
}
