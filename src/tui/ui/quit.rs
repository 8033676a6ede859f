//! The quit dialog shown while a run is active: stop and save / keep waiting / cancel.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};
use ratatui::Frame;

use super::{centered, draw_lines, wrapped};
use crate::experiment::Language;
use crate::tui::app::App;
use crate::tui::keymap::{self, KeyContext};
use crate::tui::loss::Mood;
use crate::tui::text::pad;
use crate::tui::theme;

/// Draws the dialog over the middle of the screen.
pub fn render(f: &mut Frame, screen: Rect, app: &App) {
    let lang = app.lang();
    let area = centered(screen, 64, 9);
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::mood(Mood::Warn))
        .title(Span::styled(lang.pick(" Quit? ", " 退出？ "), theme::TITLE));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let step = app
        .run
        .last
        .as_ref()
        .map(|s| format!(" ({}/{})", s.step, s.total_steps))
        .unwrap_or_default();
    let text = match lang {
        Language::En => format!("{} is training{step}. What now?", app.run.name),
        Language::Zh => format!("{} 正在训练{step}。要怎么做？", app.run.name),
    };
    let mut lines = wrapped(&text, inner.width, theme::TEXT, 2);
    lines.push(Line::raw(""));
    for b in keymap::help(KeyContext::QuitDialog)
        .into_iter()
        .filter(|b| b.hint)
    {
        lines.push(Line::from(vec![
            Span::styled(pad(&keymap::label(b.keys), 7), theme::KEY),
            Span::raw(lang.pick(b.help.0, b.help.1).to_string()),
        ]));
    }
    draw_lines(f, inner, lines);
}
