//! Drawing: a pure function of `&App` into a frame. The screen is a header, the panes, and a
//! status line; below 80×24 only a "too small" message. One file per pane or overlay.
//!
//! Narrow terminals show the focused pane alone; from 140 columns the loss and plan panes
//! (or, when one of them has the focus, the goal) stay visible on the right.

mod blind;
mod chat;
mod dataset;
mod eval;
mod goal;
mod header;
mod help;
mod loss;
mod next_run;
mod plan;
mod preset;
mod quit;
mod runs;
mod status;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::action::Pane;
use super::app::{App, Overlay};
use super::text::{truncate, wrap};
use super::theme;
use crate::experiment::Language;

/// The smallest terminal the cockpit draws its panes in.
pub const MIN_SIZE: (u16, u16) = (80, 24);
/// From this width a side column keeps two more panes in view.
const WIDE: u16 = 140;

/// Draws the whole screen.
pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(f, area, app.lang());
        return;
    }
    let [top, tabs, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(f, top, tabs, app);
    if area.width >= WIDE {
        let [main, side] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(body);
        draw_pane(f, main, app, app.focus, true);
        let others = [Pane::Loss, Pane::Plan, Pane::Goal]
            .into_iter()
            .filter(|p| *p != app.focus)
            .take(2);
        let [a, b] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(side);
        for (pane, area) in others.zip([a, b]) {
            draw_pane(f, area, app, pane, false);
        }
    } else {
        draw_pane(f, body, app, app.focus, true);
    }
    status::render(f, bottom, app);
    match app.overlay {
        Overlay::Help => help::render(f, area, app),
        Overlay::Quit => quit::render(f, area, app),
        Overlay::NextRun => next_run::render(f, area, app),
        Overlay::None => {}
    }
}

/// `tunedeck watch`: the Loss pane over the whole screen, and the status line.
pub fn render_watch(f: &mut Frame, app: &App) {
    let [body, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(f.area());
    loss::render(f, body, app, true);
    status::render(f, bottom, app);
}

fn draw_pane(f: &mut Frame, area: Rect, app: &App, pane: Pane, focused: bool) {
    match pane {
        Pane::Goal => goal::render(f, area, app, focused),
        Pane::Dataset => dataset::render(f, area, app, focused),
        Pane::Preset => preset::render(f, area, app, focused),
        Pane::Loss => loss::render(f, area, app, focused),
        Pane::Plan => plan::render(f, area, app, focused),
        Pane::Eval => eval::render(f, area, app, focused),
        Pane::Chat => chat::render(f, area, app, focused),
    }
}

/// Draws a pane's frame titled "N Name · extra" and returns the inside.
fn pane_block(
    f: &mut Frame,
    area: Rect,
    pane: Pane,
    lang: Language,
    focused: bool,
    extra: &str,
) -> Rect {
    let mut title = format!(" {} {} ", pane.index() + 1, pane.title(lang));
    if !extra.is_empty() {
        title = format!("{title}· {extra} ");
    }
    let title = truncate(&title, area.width.saturating_sub(2) as usize);
    let (border, heading) = if focused {
        (theme::BORDER_FOCUS, theme::TITLE.patch(theme::BORDER_FOCUS))
    } else {
        (theme::BORDER, theme::DIM)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, heading));
    let inner = block.inner(area);
    f.render_widget(block, area);
    inner
}

/// `text` wrapped to `width` cells in `style`, at most `max` lines; a cut ends in `…`.
fn wrapped(text: &str, width: u16, style: ratatui::style::Style, max: usize) -> Vec<Line<'static>> {
    let mut lines = wrap(text, width as usize);
    if lines.len() > max {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            *last = truncate(&format!("{last} …"), width as usize);
        }
    }
    lines.into_iter().map(|l| Line::styled(l, style)).collect()
}

/// Draws `lines` into `area`, cutting what does not fit.
fn draw_lines(f: &mut Frame, area: Rect, lines: Vec<Line<'_>>) {
    f.render_widget(Paragraph::new(lines), area);
}

/// The first row to show so that `selected` is visible in `height` rows.
fn scroll_start(selected: usize, height: usize) -> usize {
    (selected + 1).saturating_sub(height.max(1))
}

/// A rectangle of `w`×`h` cells centred in `area` (clamped to it).
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws an overlay's frame: clears `area`, draws a bordered block titled `title` with
/// `border`, and returns the area inside it.
fn overlay(f: &mut Frame, area: Rect, title: String, border: ratatui::style::Style) -> Rect {
    clear(f, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme::TITLE));
    let inner = block.inner(area);
    f.render_widget(block, area);
    inner
}

/// Clears `area` for an overlay. A wide character whose second half lies on the area's left
/// edge goes too: left there, it would hide the overlay's border.
fn clear(f: &mut Frame, area: Rect) {
    f.render_widget(ratatui::widgets::Clear, area);
    if area.x == 0 {
        return;
    }
    let buf = f.buffer_mut();
    for y in area.top()..area.bottom() {
        let left = &mut buf[(area.x - 1, y)];
        if super::text::width(left.symbol()) > 1 {
            left.set_symbol(" ");
        }
    }
}

fn too_small(f: &mut Frame, area: Rect, lang: Language) {
    let (w, h) = MIN_SIZE;
    let text = match lang {
        Language::En => format!(
            "Terminal too small: {}×{}, need {w}×{h}. Enlarge the window (q quits).",
            area.width, area.height
        ),
        Language::Zh => format!(
            "终端太小：{}×{}，至少需要 {w}×{h}。请放大窗口（q 退出）。",
            area.width, area.height
        ),
    };
    let lines = wrapped(
        &text,
        area.width.max(1),
        theme::mood(super::loss::Mood::Warn),
        area.height as usize,
    );
    let height = (lines.len() as u16).min(area.height);
    let at = Rect::new(
        area.x,
        area.y + (area.height - height) / 2,
        area.width,
        height,
    );
    f.render_widget(Paragraph::new(lines).centered(), at);
}

/// An editor's text hard-wrapped to `width`, the `max` lines around the cursor, with the
/// cursor drawn as a reversed cell (no terminal cursor: the screen stays a pure function).
fn editor_lines(editor: &super::editor::TextEditor, width: u16, max: usize) -> Vec<Line<'static>> {
    let (lines, (row, col)) = super::editor::layout(editor.text(), editor.cursor(), width as usize);
    let first = scroll_start(row, max);
    lines
        .into_iter()
        .enumerate()
        .skip(first)
        .take(max.max(1))
        .map(|(i, text)| {
            if i != row {
                return Line::raw(text);
            }
            let (mut before, mut at, mut after) = (String::new(), String::new(), String::new());
            let mut used = 0;
            for c in text.chars() {
                let slot = match used.cmp(&col) {
                    std::cmp::Ordering::Less => &mut before,
                    std::cmp::Ordering::Equal => &mut at,
                    std::cmp::Ordering::Greater => &mut after,
                };
                slot.push(c);
                used += super::text::char_width(c);
            }
            if at.is_empty() {
                at.push(' ');
            }
            Line::from(vec![
                Span::raw(before),
                Span::styled(at, theme::CURSOR),
                Span::raw(after),
            ])
        })
        .collect()
}
