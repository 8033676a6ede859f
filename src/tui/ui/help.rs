//! The help overlay, generated from the keymap so it never disagrees with the keys.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{centered, draw_lines, overlay};
use crate::experiment::Language;
use crate::tui::app::App;
use crate::tui::keymap;
use crate::tui::text::{pad, truncate};
use crate::tui::theme;

/// Draws the keys of the focused pane, then the global ones, in two columns.
pub fn render(f: &mut Frame, screen: Rect, app: &App) {
    let lang = app.lang();
    let entries: Vec<(String, &str)> = keymap::help(app.pane_keys())
        .into_iter()
        .map(|b| (keymap::label(b.keys), lang.pick(b.help.0, b.help.1)))
        .collect();
    let rows = entries.len().div_ceil(2) as u16;
    let area = centered(screen, screen.width.saturating_sub(4).min(110), rows + 2);
    let title = match lang {
        Language::En => format!(" Keys · {} pane · Esc closes ", app.focus.title(lang)),
        Language::Zh => format!(" 按键 · {}窗格 · Esc 关闭 ", app.focus.title(lang)),
    };
    let inner = overlay(f, area, title, theme::BORDER_FOCUS);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    let (a, b) = entries.split_at(rows as usize);
    draw_lines(f, left, column(a, left.width));
    draw_lines(f, right, column(b, right.width));
}

/// `keys  what` rows cut to `w` cells.
fn column(entries: &[(String, &str)], w: u16) -> Vec<Line<'static>> {
    const KEYS: usize = 10;
    entries
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(pad(keys, KEYS), theme::KEY),
                Span::raw(" "),
                Span::raw(truncate(what, (w as usize).saturating_sub(KEYS + 2))),
            ])
        })
        .collect()
}
