//! The status line: an open prompt, else the latest message, else the keys that apply now.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::editor_lines;
use crate::experiment::Language;
use crate::tui::app::{App, Input, PromptKind};
use crate::tui::keymap;
use crate::tui::loss::Mood;
use crate::tui::text::{truncate, width};
use crate::tui::theme;

/// Draws the status line.
pub fn render(f: &mut Frame, area: Rect, app: &App) {
    let lang = app.lang();
    let w = area.width as usize;
    let line = match (&app.input, &app.notice) {
        (
            Input::Prompt {
                kind,
                editor,
                error,
            },
            _,
        ) => {
            let label = format!("{} ", prompt_label(*kind, lang));
            let after = match error {
                Some(e) => format!("  {e}"),
                None => format!(
                    "  {}",
                    lang.pick("Enter apply · Esc cancel", "Enter 确定 · Esc 取消")
                ),
            };
            let room = w.saturating_sub(width(&label)).max(8);
            let field = room.min(30.max(width(editor.text()) + 1));
            let mut spans = vec![Span::styled(label, theme::KEY)];
            if let Some(typed) = editor_lines(editor, field as u16, 1).pop() {
                spans.extend(typed.spans);
            }
            let used: usize = spans.iter().map(|s| width(&s.content)).sum();
            let style = if error.is_some() {
                theme::mood(Mood::Bad)
            } else {
                theme::DIM
            };
            spans.push(Span::styled(
                truncate(&after, w.saturating_sub(used)),
                style,
            ));
            Line::from(spans)
        }
        (_, Some(notice)) => Line::styled(truncate(&notice.text, w), theme::mood(notice.mood)),
        _ => hints(app, w),
    };
    f.render_widget(Paragraph::new(line), area);
}

fn prompt_label(kind: PromptKind, lang: Language) -> String {
    match kind {
        PromptKind::PresetValue(key) => format!("{key} ="),
        PromptKind::SaveAs => lang
            .pick("Save preset as presets/", "参数另存为 presets/")
            .to_string(),
        PromptKind::PassMark(_) => lang.pick("Pass mark %", "及格线 %").to_string(),
        PromptKind::Search => "/".to_string(),
        PromptKind::RunFolder => lang
            .pick("Follow run folder:", "跟踪运行目录：")
            .to_string(),
        PromptKind::Chat => lang.pick("You ›", "你 ›").to_string(),
    }
}

/// As many `key what` pairs as fit.
fn hints(app: &App, w: usize) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (key, what) in keymap::hints(app.key_context(), app.lang()) {
        let cost = width(&key) + width(what) + 3;
        if used + cost > w {
            break;
        }
        used += cost;
        spans.push(Span::styled(format!(" {key}"), theme::KEY));
        spans.push(Span::styled(format!(" {what} "), theme::DIM));
    }
    Line::from(spans)
}
