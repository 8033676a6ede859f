//! The quit dialog shown while a training run or the three-part test is running: it names
//! what runs, then stop / keep waiting / cancel.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{centered, draw_lines, overlay, wrapped};
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
    let title = lang.pick(" Quit? ", " 退出？ ").to_string();
    let inner = overlay(f, area, title, theme::mood(Mood::Warn));
    // Chinese sentences follow each other without a space.
    let text = [
        running(app, lang),
        lang.pick("What now?", "要怎么做？").into(),
    ]
    .join(gap(lang));
    let mut lines = wrapped(&text, inner.width, theme::TEXT, 3);
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

/// "run-2 is training (40/75). The three-part test of run-1 is at 37/120."
fn running(app: &App, lang: Language) -> String {
    let mut parts = Vec::new();
    if app.run.is_active() {
        let step = app
            .run
            .last
            .as_ref()
            .map(|s| format!(" ({}/{})", s.step, s.total_steps))
            .unwrap_or_default();
        parts.push(match lang {
            Language::En => format!("{} is training{step}.", app.run.name),
            Language::Zh => format!("{} 正在训练{step}。", app.run.name),
        });
    }
    if let Some(test) = &app.eval.active {
        let run = &test.run;
        parts.push(match (&test.progress, lang) {
            (Some(p), Language::En) => {
                format!("The three-part test of {run} is at {}/{}.", p.done, p.total)
            }
            (Some(p), Language::Zh) => format!("{run} 的三维盲测进行到 {}/{}。", p.done, p.total),
            (None, Language::En) => format!("The three-part test of {run} is loading the models."),
            (None, Language::Zh) => format!("{run} 的三维盲测正在加载模型。"),
        });
    }
    if parts.is_empty() {
        // It ended while the dialog was open.
        parts.push(
            lang.pick("Nothing is running now.", "现在没有正在运行的任务。")
                .into(),
        );
    }
    parts.join(gap(lang))
}

/// What separates two sentences.
fn gap(lang: Language) -> &'static str {
    lang.pick(" ", "")
}
