//! The next-run menu: the report's recommended step, then one row per change with the exact
//! preset values it sets, and what Enter does.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{centered, draw_lines, overlay, wrapped};
use crate::eval::advice::NextStep;
use crate::eval::next_run::{describe, Outcome};
use crate::experiment::Language;
use crate::tui::app::{App, NextRunMenu};
use crate::tui::keymap::{self, KeyContext};
use crate::tui::text::{pad, truncate};
use crate::tui::theme;

/// Cells of the change names' column.
const LABEL: usize = 28;

/// Draws the menu over the middle of the screen.
pub fn render(f: &mut Frame, screen: Rect, app: &App) {
    let Some(menu) = &app.next_run else {
        return;
    };
    let lang = app.lang();
    let height = menu.entries.len() as u16 + 8;
    let area = centered(screen, screen.width.saturating_sub(4).min(78), height);
    let title = match lang {
        Language::En => format!(" Next run from {} ", menu.from),
        Language::Zh => format!(" 基于 {} 的下一次训练 ", menu.from),
    };
    let inner = overlay(f, area, title, theme::BORDER_FOCUS);
    let w = inner.width as usize;

    let mut lines = wrapped(&heading(menu, lang), inner.width, theme::TEXT, 2);
    lines.push(Line::raw(""));
    for (i, entry) in menu.entries.iter().enumerate() {
        let change = match &entry.outcome {
            Outcome::Train { changes, .. } => describe(changes),
            Outcome::ImproveData => lang
                .pick("Dataset pane; no new run", "转到数据窗格；不训练")
                .to_string(),
        };
        let selected = i == menu.selected;
        let marker = if selected { "▶ " } else { "  " };
        let text = format!("{marker}{}{change}", pad(&menu.label(entry, lang), LABEL));
        let style = match (selected, entry.recommended) {
            (true, _) => theme::SELECTED,
            (false, true) => theme::DIFFERS,
            (false, false) => theme::TEXT,
        };
        lines.push(Line::styled(pad(&text, w), style));
    }
    lines.push(Line::raw(""));
    let enter = match menu.entries.get(menu.selected).map(|e| &e.outcome) {
        Some(Outcome::Train { .. }) => match lang {
            Language::En => format!(
                "Enter starts {} with this change, recorded in its origin.json.",
                menu.new_run
            ),
            Language::Zh => format!(
                "Enter 以此改动开始 {}，改动记录在它的 origin.json。",
                menu.new_run
            ),
        },
        Some(Outcome::ImproveData) => lang
            .pick(
                "Enter goes to the Dataset pane; nothing is trained.",
                "Enter 转到数据窗格；不会开始训练。",
            )
            .to_string(),
        None => String::new(),
    };
    lines.extend(wrapped(&enter, inner.width, theme::DIM, 2));
    let mut keys = Vec::new();
    for b in keymap::help(KeyContext::NextRun)
        .into_iter()
        .filter(|b| b.hint)
    {
        keys.push(Span::styled(keymap::label(b.keys), theme::KEY));
        keys.push(Span::raw(format!(" {}  ", lang.pick(b.help.0, b.help.1))));
    }
    lines.push(Line::from(keys));
    draw_lines(f, inner, lines.into_iter().map(|l| cut(l, w)).collect());
}

/// What the run's report recommends, in a sentence.
fn heading(menu: &NextRunMenu, lang: Language) -> String {
    let run = &menu.from;
    let title = menu.step.title(lang);
    match (menu.step, lang) {
        (NextStep::Evaluate, Language::En) => format!(
            "{run} has no three-part test yet (s in the Eval pane runs it); the method's levers:"
        ),
        (NextStep::Evaluate, Language::Zh) => {
            format!("{run} 还没有三维盲测结果（在评估窗格按 s 运行）；方法中的常用调整：")
        }
        (NextStep::IntegrationTrial, Language::En) => {
            format!("{run} graduated: its report recommends an {title}, no new run.")
        }
        (NextStep::IntegrationTrial, Language::Zh) => {
            format!("{run} 已毕业：报告建议{title}，无需再训练。")
        }
        (_, Language::En) => format!("{run}'s report recommends: {title}."),
        (_, Language::Zh) => format!("{run} 的报告建议：{title}。"),
    }
}

/// A line cut to `w` cells (a plain line keeps its style).
fn cut(line: Line<'static>, w: usize) -> Line<'static> {
    if line.width() <= w {
        return line;
    }
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    Line::styled(truncate(&text, w), line.style)
}
