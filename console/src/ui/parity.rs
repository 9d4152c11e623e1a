//! Parity: the latest report of each dimension (parity, what was compared, mismatches by
//! kind), the latest runs, and the latest run's mismatches with the selected one's detail.
//! Everything comes from the agent's reports; nothing is computed here.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use plumb_common::protocol::{DimensionParity, ParityRun, RunScope, RunState, RunTrigger};

use super::format::{count, cut};
use super::{Theme, columns, list, marker, nothing_to_list};
use crate::app::{App, View, clock};

/// The style of a parity figure: full parity ok, below 99 % an error, in between a warning.
fn parity_style(theme: Theme, percent: f64) -> ratatui::style::Style {
    if percent >= 100.0 {
        theme.ok()
    } else if percent >= 99.0 {
        theme.warn()
    } else {
        theme.error()
    }
}

fn scope(scope: RunScope, dry_run: bool) -> String {
    let scope = scope.as_str();
    if dry_run {
        format!("{scope}, dry run")
    } else {
        scope.to_owned()
    }
}

fn dimension_line(theme: Theme, parity: &DimensionParity, tail: String) -> Line<'static> {
    let kinds: Vec<String> = parity
        .kinds
        .iter()
        .take(3)
        .map(|k| format!("{} {}", k.kind, count(k.count)))
        .collect();
    let kinds = if kinds.is_empty() {
        String::new()
    } else {
        format!(" ({})", kinds.join(", "))
    };
    Line::from(vec![
        Span::raw(format!(" {:<10}", parity.dimension.as_str())),
        Span::styled(
            format!("{:>7.2} %", parity.parity_percent),
            parity_style(theme, parity.parity_percent),
        ),
        Span::raw(format!(
            "  {} of {} differ{kinds}",
            count(parity.mismatched),
            count(parity.checked)
        )),
        Span::styled(tail, theme.dim()),
    ])
}

fn run_line(theme: Theme, run: &ParityRun) -> Line<'static> {
    let trigger = match run.trigger {
        RunTrigger::Schedule => "scheduled",
        RunTrigger::OnDemand => "on demand",
    };
    let (state, style) = match run.state {
        RunState::Running => ("running".to_owned(), theme.warn()),
        RunState::Done => ("done".to_owned(), theme.ok()),
        RunState::Failed => (
            format!("failed: {}", run.error.as_deref().unwrap_or("")),
            theme.error(),
        ),
    };
    let lowest = run
        .dimensions
        .iter()
        .min_by(|a, b| a.parity_percent.total_cmp(&b.parity_percent));
    let repairs: u64 = run.dimensions.iter().map(|d| d.repairs_queued).sum();
    Line::from(vec![
        Span::raw(format!(
            " #{} {} {} ({}) ",
            run.id,
            clock(run.started_at),
            trigger,
            scope(run.scope, run.dry_run)
        )),
        Span::styled(state, style),
        Span::raw(lowest.map_or_else(String::new, |d| {
            format!(" · lowest {} {:.2} %", d.dimension, d.parity_percent)
        })),
        Span::styled(
            match repairs {
                0 => String::new(),
                1 => " · 1 repair queued".to_owned(),
                n => format!(" · {} repairs queued", count(n)),
            },
            theme.dim(),
        ),
    ])
}

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let mut top = vec![Line::styled(" Latest parity", theme.heading())];
    if app.parity.is_empty() {
        top.push(Line::styled(
            " No reconciliation run has finished yet (R: reconcile and repair, d: dry run).",
            theme.dim(),
        ));
    }
    for latest in &app.parity {
        let tail = format!(
            "  run #{} {} ({})",
            latest.run,
            clock(latest.at),
            scope(latest.scope, latest.dry_run)
        );
        top.push(dimension_line(theme, &latest.parity, tail));
    }
    top.push(Line::styled(" Runs", theme.heading()));
    if app.runs.is_empty() {
        top.push(Line::styled(" none", theme.dim()));
    }
    top.extend(app.runs.iter().take(3).map(|run| run_line(theme, run)));
    if let Some(notice) = &app.reconcile {
        top.push(Line::styled(
            format!(" {}", notice.text),
            if notice.error {
                theme.error()
            } else {
                theme.ok()
            },
        ));
    }
    let top_height = u16::try_from(top.len()).unwrap_or(u16::MAX);
    let detail_height = (area.height / 4).clamp(2, 4);
    let [top_area, title_area, list_area, detail_area] = Layout::vertical([
        Constraint::Length(top_height.min(area.height / 2)),
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(detail_height),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(top), top_area);
    let title = match app.mismatch_run {
        Some(run) => format!(
            " Mismatches of run #{run} ({})",
            count(app.mismatches().len() as u64)
        ),
        None => " Mismatches".to_owned(),
    };
    frame.render_widget(
        Paragraph::new(Line::styled(title, theme.heading())),
        title_area,
    );
    let total = app.mismatches().len();
    let none = " None: both sides agree on everything the latest run compared.";
    if nothing_to_list(app, theme, frame, list_area, View::Parity, total, none) {
        return;
    }
    let header = [
        "", "Dim", "Kind", "Subject", "Loc", "ERP", "Shopify", "Repair",
    ]
    .map(Line::raw)
    .to_vec();
    let widths = columns(&[2, 9, 18, 14, 6, 7, 7], 10);
    list(
        app,
        theme,
        frame,
        list_area,
        View::Parity,
        (header, widths),
        |i, selected| {
            let m = app.mismatches().get(i)?;
            // The write itself is in the detail below.
            let repair = match (&m.repair, m.repaired) {
                (_, true) => "queued",
                (Some(_), false) => "f to fix",
                (None, false) => "a person",
            };
            Some(vec![
                Line::raw(marker(selected, false)),
                Line::raw(m.dimension.as_str()),
                Line::raw(m.kind.clone()),
                Line::raw(m.subject.clone()),
                Line::raw(m.location.map_or_else(|| "-".to_owned(), |l| l.to_string())),
                Line::raw(m.erp.clone().unwrap_or_else(|| "-".to_owned())),
                Line::raw(m.shopify.clone().unwrap_or_else(|| "-".to_owned())),
                Line::raw(repair),
            ])
        },
    );
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" Detail ", theme.heading()));
    let detail = app.selected_mismatch().map(|m| {
        let mut lines = vec![Line::raw(format!(" {}", cut(&m.detail, 400)))];
        if let Some(write) = &m.repair {
            lines.push(Line::styled(
                format!(" repair: {}", cut(write, 200)),
                theme.dim(),
            ));
        }
        lines
    });
    frame.render_widget(
        Paragraph::new(detail.unwrap_or_default())
            .block(block)
            .wrap(Wrap { trim: false }),
        detail_area,
    );
}
