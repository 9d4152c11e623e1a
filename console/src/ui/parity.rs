//! Parity: reconciliation runs. The agent does not report parity results over the
//! control protocol yet, so this view says so and shows only what the protocol gives:
//! the reconcile flow's queue and the answer to the last request.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use plumb_common::FlowKind;

use super::Theme;
use super::format::{ago, count};
use crate::app::{App, clock};

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let mut lines = vec![
        Line::styled(" No reconciliation run yet.", theme.heading()),
        Line::styled(
            " This plumbd reports no parity results: the last run per dimension (stock, \
             orders, totals, tax, refunds), their trend and mismatches will show here when \
             it does.",
            theme.dim(),
        ),
        Line::raw(""),
        Line::styled(" Reconcile flow", theme.heading()),
    ];
    match app
        .status
        .as_ref()
        .and_then(|status| status.flow(FlowKind::Reconcile))
    {
        Some(flow) => {
            lines.push(Line::raw(format!(
                " {} · pending {} · in flight {} · dead {} · last success {}",
                if flow.paused_since.is_some() {
                    "paused"
                } else {
                    "running"
                },
                count(flow.pending),
                count(flow.in_flight),
                count(flow.dead),
                ago(app.now, flow.last_success)
            )));
            if let Some(error) = &flow.last_error {
                lines.push(Line::styled(
                    format!(" last error at {}: {}", clock(error.at), error.message),
                    theme.error(),
                ));
            }
        }
        None => lines.push(Line::styled(" no status from the agent yet", theme.dim())),
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(" Last request", theme.heading()));
    match &app.reconcile {
        Some(notice) => lines.push(Line::styled(
            format!(" {}", notice.text),
            if notice.error {
                theme.error()
            } else {
                theme.ok()
            },
        )),
        None => lines.push(Line::styled(
            " none from this console (R: reconcile, d: dry run)",
            theme.dim(),
        )),
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
