//! Queue: pending and in-flight jobs, oldest first, with the totals per flow.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Row, Table};

use plumb_common::JobState;

use super::format::{ago, count, span};
use super::{Theme, empty, marker};
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
    let visible = app.visible(View::Queue);
    if visible.is_empty() {
        let message = if app.jobs().is_empty() {
            " The queue is empty: no job pending or in flight."
        } else {
            " No job matches the filter (Esc clears it)."
        };
        empty(frame, table_area, theme, message);
        return;
    }
    let height = usize::from(table_area.height.saturating_sub(1));
    let offset = app.scroll(View::Queue, height, visible.len());
    let selected = app.selected(View::Queue);
    let rows = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(n, &i)| {
            let job = app.jobs().get(i)?;
            let (state, style) = match job.state {
                JobState::InFlight => ("in flight", theme.ok()),
                JobState::Pending => ("pending", theme.dim()),
                JobState::Dead => ("dead", theme.error()),
                JobState::Done => ("done", theme.dim()),
            };
            let due = job.due_at.map_or_else(
                || "-".to_owned(),
                |due| {
                    if due > app.now {
                        format!("in {}", span(app.now.until(due)))
                    } else {
                        "now".to_owned()
                    }
                },
            );
            let row = Row::new(vec![
                Line::raw(marker(n == selected, false)),
                Line::raw(job.id.to_string()),
                Line::raw(job.flow.as_str()),
                Line::styled(state, style),
                Line::raw(job.attempts.to_string()).right_aligned(),
                Line::raw(ago(app.now, Some(job.created_at))).right_aligned(),
                Line::raw(due),
                Line::styled(job.last_error.clone().unwrap_or_default(), theme.error()),
            ]);
            Some(if n == selected {
                row.style(theme.selected())
            } else {
                row
            })
        })
        .collect::<Vec<_>>();
    let header = Row::new(vec![
        Line::raw(""),
        Line::raw("Job"),
        Line::raw("Flow"),
        Line::raw("State"),
        Line::raw("Tries").right_aligned(),
        Line::raw("Age").right_aligned(),
        Line::raw("Due"),
        Line::raw("Last error"),
    ])
    .style(theme.heading());
    let widths = [
        Constraint::Length(2),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Min(10),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        table_area,
    );
}
