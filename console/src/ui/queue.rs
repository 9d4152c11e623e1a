//! Queue: pending and in-flight jobs, oldest first, with the totals per flow.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;

use plumb_common::JobState;

use super::format::{ago, count, span};
use super::{Theme, columns, list, marker, nothing_to_list};
use crate::app::{App, View};

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let [summary, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let busy: Vec<String> = app
        .flows()
        .iter()
        .filter(|f| f.pending + f.in_flight > 0)
        .map(|f| format!("{} {}+{}", f.flow, count(f.pending), count(f.in_flight)))
        .collect();
    let text = if busy.is_empty() {
        " Pending+in flight by flow: none".to_owned()
    } else {
        format!(" Pending+in flight by flow: {}", busy.join(" · "))
    };
    frame.render_widget(Line::styled(text, theme.dim()), summary);
    let none = " The queue is empty: no job pending or in flight.";
    if nothing_to_list(
        app,
        theme,
        frame,
        table_area,
        View::Queue,
        app.jobs().len(),
        none,
    ) {
        return;
    }
    let header = vec![
        Line::raw(""),
        Line::raw("Job"),
        Line::raw("Flow"),
        Line::raw("State"),
        Line::raw("Tries").right_aligned(),
        Line::raw("Age").right_aligned(),
        Line::raw("Due/lease"),
        Line::raw("Last error"),
    ];
    let widths = columns(&[2, 8, 10, 9, 5, 4, 9], 10);
    list(
        app,
        theme,
        frame,
        table_area,
        View::Queue,
        (header, widths),
        |i, selected| {
            let job = app.jobs().get(i)?;
            let (state, style) = match job.state {
                JobState::InFlight => ("in flight", theme.ok()),
                JobState::Pending => ("pending", theme.dim()),
                JobState::Dead => ("dead", theme.error()),
                JobState::Done => ("done", theme.dim()),
            };
            // Pending: when it is due; in flight: when its lease runs out.
            let due = match (job.state, job.due_at) {
                (_, None) => "-".to_owned(),
                (JobState::InFlight, Some(until)) => {
                    format!("lease {}", span(app.now.until(until)))
                }
                (_, Some(due)) if due > app.now => format!("in {}", span(app.now.until(due))),
                _ => "now".to_owned(),
            };
            Some(vec![
                Line::raw(marker(selected, false)),
                Line::raw(job.id.to_string()),
                Line::raw(job.flow.as_str()),
                Line::styled(state, style),
                Line::raw(job.attempts.to_string()).right_aligned(),
                Line::raw(ago(app.now, Some(job.created_at))).right_aligned(),
                Line::raw(due),
                Line::styled(job.last_error.clone().unwrap_or_default(), theme.error()),
            ])
        },
    );
}
