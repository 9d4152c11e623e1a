//! Dead letters: the groups by cause with their counts, the letters (newest first), and
//! the selected one's detail: error, attempts, times, payload.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};

use super::format::{ago, count, cut};
use super::{Theme, empty, marker};
use crate::app::{App, View, clock};

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let groups: Vec<Span<'_>> = app
        .causes()
        .iter()
        .flat_map(|c| {
            [
                Span::raw(format!(" {}/{} ", c.flow, c.cause)),
                Span::styled(count(c.count), theme.error()),
                Span::raw(" ·"),
            ]
        })
        .collect();
    let group_line = if groups.is_empty() {
        Line::styled(" Groups: none", theme.dim())
    } else {
        let mut spans = vec![Span::styled(" Groups:", theme.heading())];
        spans.extend(groups);
        spans.pop();
        Line::from(spans)
    };
    let detail_height = (area.height / 2).clamp(3, 10);
    let [groups_area, list_area, detail_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(detail_height),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(group_line), groups_area);
    let visible = app.visible(View::DeadLetters);
    if visible.is_empty() {
        let message = if app.dead_letters().is_empty() {
            " No dead letters: nothing failed for good."
        } else {
            " No dead letter matches the filter (Esc clears it)."
        };
        empty(frame, list_area, theme, message);
        return;
    }
    let height = usize::from(list_area.height.saturating_sub(1));
    let offset = app.scroll(View::DeadLetters, height, visible.len());
    let selected = app.selected(View::DeadLetters);
    let rows = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(n, &i)| {
            let letter = app.dead_letters().get(i)?;
            let row = Row::new(vec![
                Line::raw(marker(n == selected, app.marks.contains(&letter.id))),
                Line::raw(letter.id.to_string()),
                Line::raw(letter.flow.as_str()),
                Line::raw(letter.cause.clone()),
                Line::raw(letter.attempts.to_string()).right_aligned(),
                Line::raw(ago(app.now, Some(letter.last_failed_at))).right_aligned(),
                Line::raw(letter.message.clone()),
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
        Line::raw("Cause"),
        Line::raw("Tries").right_aligned(),
        Line::raw("Age").right_aligned(),
        Line::raw("Error"),
    ])
    .style(theme.heading());
    let widths = [
        Constraint::Length(2),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(18),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Min(10),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        list_area,
    );
    render_detail(app, theme, frame, detail_area);
}

fn render_detail(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" Detail ", theme.heading()));
    let Some(letter) = app.selected_dead_letter() else {
        frame.render_widget(block, area);
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" #{} ", letter.id), theme.heading()),
            Span::raw(format!(
                "{} · {} · {} · {} attempt{}",
                letter.flow,
                letter.cause,
                letter.class,
                letter.attempts,
                if letter.attempts == 1 { "" } else { "s" }
            )),
        ]),
        Line::raw(format!(
            " created {} · first failed {} · last failed {}",
            clock(letter.created_at),
            clock(letter.first_failed_at),
            clock(letter.last_failed_at)
        )),
        Line::styled(format!(" error: {}", letter.message), theme.error()),
    ];
    match &app.detail {
        Some(detail) if detail.summary.id == letter.id => {
            lines.push(Line::styled(
                format!(
                    " payload: {} ({} bytes)",
                    detail.payload_kind,
                    count(detail.payload_bytes)
                ),
                theme.dim(),
            ));
            for line in detail.payload.lines().take(usize::from(area.height)) {
                lines.push(Line::raw(format!(" {}", cut(line, 500))));
            }
        }
        _ => lines.push(Line::styled(" payload: loading…", theme.dim())),
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
