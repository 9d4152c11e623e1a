//! Dead letters: the groups by cause with their counts, the letters (newest first), and
//! the selected one's detail: error, attempts, times, payload.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::format::{ago, count, cut};
use super::{Theme, columns, list, marker, nothing_to_list};
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
    let none = " No dead letters: nothing failed for good.";
    let total = app.dead_letters().len();
    if nothing_to_list(app, theme, frame, list_area, View::DeadLetters, total, none) {
        return;
    }
    let header = vec![
        Line::raw(""),
        Line::raw("Job"),
        Line::raw("Flow"),
        Line::raw("Cause"),
        Line::raw("Tries").right_aligned(),
        Line::raw("Age").right_aligned(),
        Line::raw("Error"),
    ];
    let widths = columns(&[2, 7, 10, 18, 5, 4], 10);
    let view = View::DeadLetters;
    list(
        app,
        theme,
        frame,
        list_area,
        view,
        (header, widths),
        |i, selected| {
            let letter = app.dead_letters().get(i)?;
            Some(vec![
                Line::raw(marker(selected, app.marks.contains(&letter.id))),
                Line::raw(letter.id.to_string()),
                Line::raw(letter.flow.as_str()),
                Line::raw(letter.cause.clone()),
                Line::raw(letter.attempts.to_string()).right_aligned(),
                Line::raw(ago(app.now, Some(letter.last_failed_at))).right_aligned(),
                Line::raw(letter.message.clone()),
            ])
        },
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
