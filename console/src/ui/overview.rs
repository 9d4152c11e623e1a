//! Overview: each flow's state and counters, then what needs attention.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use plumb_common::protocol::{Incident, StatusSnapshot};

use super::format::{ago, count, cut};
use super::{Theme, columns, empty, list, marker};
use crate::app::{App, View, clock};

/// The agent's alert incidents: the open ones (oldest first), then those resolved lately.
fn alerts(app: &App, status: &StatusSnapshot, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(" Alerts", theme.heading())];
    let name = |incident: &Incident| match &incident.subject {
        Some(subject) => format!("{} {subject}", incident.rule.as_str()),
        None => incident.rule.as_str().to_owned(),
    };
    let (open, resolved): (Vec<&Incident>, Vec<&Incident>) = status
        .incidents
        .iter()
        .partition(|i| i.resolved_at.is_none());
    if open.is_empty() {
        lines.push(Line::styled(" none open", theme.ok()));
    }
    for incident in open {
        let delivery = if incident.open_delivered {
            "sent"
        } else {
            "not delivered yet"
        };
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(
                format!(
                    "{} for {}: {}",
                    name(incident),
                    ago(app.now, Some(incident.opened_at)),
                    incident.summary
                ),
                theme.error(),
            ),
            Span::styled(format!(" ({delivery})"), theme.dim()),
        ]));
    }
    for incident in resolved {
        let at = incident.resolved_at.map_or_else(String::new, clock);
        lines.push(Line::styled(
            format!(
                " resolved at {at}: {}: {}",
                name(incident),
                incident.summary
            ),
            theme.dim(),
        ));
    }
    lines
}

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let Some(status) = &app.status else {
        empty(
            frame,
            area,
            theme,
            " Waiting for the agent's first status report.",
        );
        return;
    };
    let flows = app.visible(View::Overview);
    let table_height = (flows.len() as u16 + 1).min(area.height);
    let [table_area, rest] =
        Layout::vertical([Constraint::Length(table_height), Constraint::Min(0)]).areas(area);
    let header = [
        "",
        "Flow",
        "State",
        "Done/m",
        "Fail/m",
        "Pending",
        "Flight",
        "Oldest",
        "Dead",
        "Last ok",
        "Last error",
    ]
    .map(Line::raw)
    .to_vec();
    let widths = columns(&[2, 10, 7, 6, 6, 7, 6, 6, 5, 7], 8);
    let view = View::Overview;
    list(
        app,
        theme,
        frame,
        table_area,
        view,
        (header, widths),
        |i, selected| {
            let flow = status.flows.get(i)?;
            let (state, style) = match flow.paused_since {
                Some(_) => ("paused", theme.warn()),
                None => ("running", theme.ok()),
            };
            let error = flow.last_error.as_ref().map_or_else(
                || "-".to_owned(),
                |e| format!("{} ago", ago(app.now, Some(e.at))),
            );
            Some(vec![
                Line::raw(marker(selected, false)),
                Line::raw(flow.flow.as_str()),
                Line::styled(state, style),
                Line::raw(count(flow.completed_last_minute)),
                Line::raw(count(flow.failed_last_minute)),
                Line::raw(count(flow.pending)),
                Line::raw(count(flow.in_flight)),
                Line::raw(ago(app.now, flow.oldest_pending)),
                Line::raw(count(flow.dead)),
                Line::raw(ago(app.now, flow.last_success)),
                Line::raw(error),
            ])
        },
    );

    let mut lines = Vec::new();
    if let Some(flow) = app.selected_flow().and_then(|f| status.flow(f)) {
        let text = match &flow.last_error {
            Some(error) => format!(
                "{}: last error at {}: {}",
                flow.flow,
                clock(error.at),
                error.message
            ),
            None => format!("{}: no error since the agent started", flow.flow),
        };
        lines.push(Line::raw(format!(" {}", cut(&text, 400))));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(" Attention", theme.heading()));
    let mut attention = Vec::new();
    for flow in &status.flows {
        if let Some(since) = flow.paused_since {
            attention.push((
                format!("{} paused since {}", flow.flow, clock(since)),
                theme.warn(),
            ));
        }
    }
    for cause in &status.dead_letter_causes {
        attention.push((
            format!(
                "{} dead letter{} {} / {}",
                count(cause.count),
                if cause.count == 1 { "" } else { "s" },
                cause.flow,
                cause.cause
            ),
            theme.error(),
        ));
    }
    if status.dead_letters >= status.dead_letter_bound && status.dead_letter_bound > 0 {
        attention.push((
            format!(
                "dead letters at their bound ({}): the oldest move to the audit record",
                count(status.dead_letter_bound)
            ),
            theme.error(),
        ));
    }
    if attention.is_empty() {
        lines.push(Line::styled(
            " nothing: no paused flow, no dead letter",
            theme.ok(),
        ));
    }
    for (text, style) in attention {
        lines.push(Line::from(vec![Span::raw(" "), Span::styled(text, style)]));
    }
    lines.push(Line::raw(""));
    lines.extend(alerts(app, status, theme));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            " plumbd {} up since {} · dead letters {} of {}",
            status.agent_version,
            clock(status.started_at),
            count(status.dead_letters),
            count(status.dead_letter_bound)
        ),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
}
