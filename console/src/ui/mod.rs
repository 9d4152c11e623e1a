//! Rendering: a pure function of [`App`] (and the time it carries). One module per view;
//! this one draws what every view shares (status bar, tabs, input line, key hints,
//! confirmation dialog). List views build only the rows on screen.
//!
//! Without colour (`NO_COLOR`) nothing depends on colour: states are words, the selection
//! is reversed and marked `>`, marked rows carry `*`.

mod dead_letters;
pub mod format;
mod help;
mod inventory;
mod overview;
mod parity;
mod queue;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table, Wrap};

use crate::app::{App, Mode, View, clock};
use crate::client::ConnectionState;
use crate::keys;

/// Styles, with or without colour.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// Whether colours may be used.
    pub color: bool,
}

impl Theme {
    fn fg(self, color: Color, fallback: Modifier) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new().add_modifier(fallback)
        }
    }

    /// Failures.
    pub fn error(self) -> Style {
        self.fg(Color::Red, Modifier::BOLD)
    }

    /// Things that need a look.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow, Modifier::BOLD)
    }

    /// Things that are fine.
    pub fn ok(self) -> Style {
        self.fg(Color::Green, Modifier::empty())
    }

    /// Secondary text.
    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray, Modifier::empty())
    }

    /// Column headers and titles.
    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// Draws the whole screen.
pub fn render(app: &App, theme: Theme, frame: &mut Frame<'_>) {
    let [status, tabs, body, input, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(status_line(app, theme), status);
    frame.render_widget(tab_line(app, theme), tabs);
    match app.view {
        View::Overview => overview::render(app, theme, frame, body),
        View::Inventory => inventory::render(app, theme, frame, body),
        View::Queue => queue::render(app, theme, frame, body),
        View::DeadLetters => dead_letters::render(app, theme, frame, body),
        View::Parity => parity::render(app, theme, frame, body),
        View::Help => help::render(app, theme, frame, body),
    }
    frame.render_widget(input_line(app, theme), input);
    frame.render_widget(footer_line(app, theme), footer);
    if let Mode::Confirm(confirmation) = &app.mode {
        let width = body.width.min(72);
        // Wrapped lines count as many rows as they take, so the answer keys stay visible.
        let inner = usize::from(width.saturating_sub(2)).max(1);
        let rows: usize = confirmation
            .lines
            .iter()
            .map(|line| line.chars().count().div_ceil(inner).max(1))
            .sum();
        let height = u16::try_from(rows + 4).unwrap_or(u16::MAX).min(body.height);
        let area = Rect {
            x: body.x + (body.width - width) / 2,
            y: body.y + (body.height - height) / 2,
            width,
            height,
        };
        let mut lines: Vec<Line<'_>> = confirmation
            .lines
            .iter()
            .map(|line| Line::raw(line.as_str()))
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("y", theme.heading()),
            Span::raw(" confirm   "),
            Span::styled("n", theme.heading()),
            Span::raw(" / Esc cancel"),
        ]));
        let dialog = Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(Span::styled(
                    format!(" {} ", confirmation.title),
                    theme.warn(),
                ))
                .border_style(theme.warn()),
        );
        frame.render_widget(Clear, area);
        frame.render_widget(dialog, area);
    }
}

fn status_line(app: &App, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(" plumb ", theme.heading())];
    // Open alerts first: the socket path at the end is what a narrow terminal cuts.
    let open = app.status.as_ref().map_or(0, |status| {
        status
            .incidents
            .iter()
            .filter(|i| i.resolved_at.is_none())
            .count()
    });
    if open > 0 {
        spans.push(Span::styled(
            format!("{open} alert{} open · ", if open == 1 { "" } else { "s" }),
            theme.error(),
        ));
    }
    match &app.connection {
        ConnectionState::Connecting { attempt } => spans.push(Span::styled(
            format!("connecting to {} (attempt {attempt})", app.socket),
            theme.warn(),
        )),
        ConnectionState::Connected {
            since,
            agent_version,
        } => {
            spans.push(Span::styled(
                format!("connected since {}", clock(*since)),
                theme.ok(),
            ));
            spans.push(Span::raw(format!(
                " · plumbd {agent_version} · {}",
                app.socket
            )));
        }
        ConnectionState::Disconnected { reason, retry_at } => {
            let wait = app.now.until(*retry_at).as_secs_f64().ceil() as u64;
            spans.push(Span::styled(
                format!("disconnected - retrying in {wait} s"),
                theme.error(),
            ));
            spans.push(Span::styled(format!(" ({reason})"), theme.dim()));
        }
    }
    if app.read_only {
        spans.push(Span::styled(" [read-only]", theme.warn()));
    }
    Line::from(spans)
}

fn tab_line(app: &App, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for view in View::ALL {
        let text = format!("{} {}", view.tab_key(), view.title());
        if view == app.view {
            spans.push(Span::styled(format!("[{text}]"), theme.selected()));
        } else {
            spans.push(Span::raw(format!(" {text} ")));
        }
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn input_line(app: &App, theme: Theme) -> Line<'static> {
    match &app.mode {
        Mode::Filter => Line::from(vec![
            Span::styled(" /", theme.heading()),
            Span::raw(app.filter(app.view).to_owned()),
            Span::styled("_", theme.dim()),
            Span::styled("  (Enter keep, Esc clear)", theme.dim()),
        ]),
        Mode::Command(text) => Line::from(vec![
            Span::styled(" :", theme.heading()),
            Span::raw(text.clone()),
            Span::styled("_", theme.dim()),
        ]),
        _ => {
            let filter = app.filter(app.view);
            let mut spans = Vec::new();
            if !filter.is_empty() {
                spans.push(Span::styled(format!(" filter: {filter} "), theme.warn()));
            }
            if let Some(notice) = &app.notice {
                let style = if notice.error {
                    theme.error()
                } else {
                    theme.ok()
                };
                spans.push(Span::styled(format!(" {}", notice.text), style));
            }
            Line::from(spans)
        }
    }
}

fn footer_line(app: &App, theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for binding in keys::footer(app.view, app.read_only) {
        spans.push(Span::styled(format!(" {}", binding.label), theme.heading()));
        spans.push(Span::styled(format!(" {}", binding.hint), theme.dim()));
    }
    Line::from(spans)
}

/// The marker column: `>` on the selected row, `*` on a marked one.
fn marker(selected: bool, marked: bool) -> &'static str {
    match (selected, marked) {
        (true, true) => ">*",
        (true, false) => "> ",
        (false, true) => " *",
        (false, false) => "  ",
    }
}

/// Draws `view`'s visible rows as a table under `header`, building only the rows on
/// screen: `cells(index, selected)` makes one row's cells from its index into the view's
/// data.
fn list<'a>(
    app: &App,
    theme: Theme,
    frame: &mut Frame<'_>,
    area: Rect,
    view: View,
    table: (Vec<Line<'a>>, Vec<Constraint>),
    cells: impl Fn(usize, bool) -> Option<Vec<Line<'a>>>,
) {
    let (header, widths) = table;
    let visible = app.visible(view);
    let height = usize::from(area.height.saturating_sub(1));
    let offset = app.scroll(view, height, visible.len());
    let selected = app.selected(view);
    let rows: Vec<Row<'a>> = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(n, &i)| {
            let row = Row::new(cells(i, n == selected)?);
            Some(if n == selected {
                row.style(theme.selected())
            } else {
                row
            })
        })
        .collect();
    let header = Row::new(header).style(theme.heading());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// Column widths: fixed `lengths`, then a last column of at least `rest`.
fn columns(lengths: &[u16], rest: u16) -> Vec<Constraint> {
    let mut widths: Vec<Constraint> = lengths.iter().map(|&n| Constraint::Length(n)).collect();
    widths.push(Constraint::Min(rest));
    widths
}

/// When `view` shows no row, says why (nothing at all: `none`; or the filter) in `area`
/// and returns true.
fn nothing_to_list(
    app: &App,
    theme: Theme,
    frame: &mut Frame<'_>,
    area: Rect,
    view: View,
    total: usize,
    none: &str,
) -> bool {
    if !app.visible(view).is_empty() {
        return false;
    }
    let message = if total == 0 {
        none
    } else {
        " Nothing matches the filter (Esc clears it)."
    };
    empty(frame, area, theme, message);
    true
}

/// An empty list's message in the middle of `area`.
fn empty(frame: &mut Frame<'_>, area: Rect, theme: Theme, text: &str) {
    frame.render_widget(
        Paragraph::new(Line::styled(text.to_owned(), theme.dim())).wrap(Wrap { trim: true }),
        area,
    );
}
