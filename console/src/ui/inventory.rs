//! Inventory: one row per SKU x location, most wrong first. Only the rows on screen are
//! built, so 100,000 rows cost what 20 do.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;

use plumb_common::protocol::InventoryStatus;

use super::format::{ago, count};
use super::{Theme, columns, list, marker, nothing_to_list};
use crate::app::{App, View, status_label};

pub(super) fn render(app: &App, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let [summary, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let visible = app.visible(View::Inventory);
    let total = app.inventory().len();
    let mut text = format!(
        " {} of {} rows · sorted by {}",
        count(visible.len() as u64),
        count(total as u64),
        app.inventory_sort.label()
    );
    if !app.inventory_loaded {
        text.push_str(" · loading…");
    }
    frame.render_widget(Line::styled(text, theme.dim()), summary);
    let none = " No inventory yet: the agent has not read any SKU x location.";
    if nothing_to_list(app, theme, frame, table_area, View::Inventory, total, none) {
        return;
    }
    // Shopify's location ids are long: shown only when the terminal is wide enough; the
    // ERP warehouse names the location one to one (`[[locations]]`).
    let wide = table_area.width >= 100;
    let mut header = vec![Line::raw(""), Line::raw("SKU"), Line::raw("Warehouse")];
    let mut widths: Vec<Constraint> = [2, 16, 9].map(Constraint::Length).to_vec();
    if wide {
        header.push(Line::raw("Location"));
        widths.push(Constraint::Length(20));
    }
    header.extend([
        Line::raw("ERP").right_aligned(),
        Line::raw("Target").right_aligned(),
        Line::raw("Shopify").right_aligned(),
        Line::raw("Delta").right_aligned(),
        Line::raw("Age").right_aligned(),
        Line::raw("Status"),
        Line::raw("Cause"),
    ]);
    widths.extend(columns(&[5, 6, 7, 5, 4, 7], 5));
    let view = View::Inventory;
    list(
        app,
        theme,
        frame,
        table_area,
        view,
        (header, widths),
        |i, selected| {
            let item = app.inventory().get(i)?;
            let status_style = match item.status {
                InventoryStatus::InSync => theme.ok(),
                InventoryStatus::Pending => theme.dim(),
                InventoryStatus::Failing => theme.error(),
                InventoryStatus::Drift => theme.warn(),
            };
            let mut cells = vec![
                Line::raw(marker(selected, false)),
                Line::raw(item.sku.clone()),
                Line::raw(item.warehouse.clone()),
            ];
            if wide {
                cells.push(Line::raw(item.location.to_string()));
            }
            cells.extend([
                Line::raw(item.erp.to_string()).right_aligned(),
                Line::raw(item.target.to_string()).right_aligned(),
                Line::raw(item.shopify.map_or("?".into(), |s| s.to_string())).right_aligned(),
                Line::raw(item.delta.map_or("?".into(), |d| format!("{d:+}"))).right_aligned(),
                Line::raw(ago(app.now, item.last_sync)).right_aligned(),
                Line::styled(status_label(item.status), status_style),
                Line::raw(item.cause.clone().unwrap_or_default()),
            ]);
            Some(cells)
        },
    );
}
