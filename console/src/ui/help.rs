//! Help: every key of the registry (mutating ones left out on a read-only console).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Row, Table};

use super::Theme;
use crate::app::{App, View};
use crate::keys::{self, Scope};

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let bindings: Vec<_> = keys::help(app.read_only).collect();
    let height = usize::from(area.height.saturating_sub(1));
    let offset = app.scroll(View::Help, height, bindings.len());
    let selected = app.selected(View::Help);
    let rows = bindings
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(n, binding)| {
            let scope = match binding.scope {
                Scope::Everywhere => String::new(),
                Scope::Only(views) => views
                    .iter()
                    .map(|view| view.tab_key())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            let row = Row::new(vec![
                Line::styled(binding.label, theme.heading()),
                Line::raw(binding.help),
                Line::styled(scope, theme.dim()),
            ]);
            if n == selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let header = Row::new(vec!["Key", "What it does", "Views"]).style(theme.heading());
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(6),
                Constraint::Min(30),
                Constraint::Length(9),
            ],
        )
        .header(header)
        .column_spacing(1),
        area,
    );
}
