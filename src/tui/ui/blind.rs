//! Blind A/B judging in the Eval pane: where it stands, and one question with answers A and
//! B side by side.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{draw_lines, wrapped};
use crate::eval::{BlindSession, Choice, EvalReport, Label, Winner};
use crate::experiment::Language;
use crate::tui::app::{part_name, revealed_sentence, EvalState};
use crate::tui::loss::Mood;
use crate::tui::text::truncate;
use crate::tui::theme;

/// Where blind judging stands.
pub(super) fn blind_line(session: Option<&BlindSession>, lang: Language) -> String {
    let Some(s) = session else {
        return lang
            .pick(
                "Blind A/B: not started. Enter judges the interview and guard answers without \
                 knowing which model wrote which.",
                "A/B 盲评：未开始。按 Enter 评判面试和常识题的两个回答，不知道哪个来自哪个模型。",
            )
            .to_string();
    };
    match (s.win_rates, lang) {
        (None, Language::En) => format!(
            "Blind A/B: {} of {} judged, labels hidden. Enter goes on judging.",
            s.judged(),
            s.len()
        ),
        (None, Language::Zh) => format!(
            "A/B 盲评：已评 {}/{} 题，标签未揭晓。按 Enter 继续评判。",
            s.judged(),
            s.len()
        ),
        (Some(rates), lang) => revealed_sentence(&rates.all, lang),
    }
}

/// One question under blind judging: the prompt, then answers A and B side by side.
pub(super) fn judging(
    f: &mut Frame,
    area: Rect,
    report: &EvalReport,
    session: &BlindSession,
    e: &EvalState,
    lang: Language,
) {
    let i = e.item.min(session.len().saturating_sub(1));
    let Some(view) = session.view(report, i) else {
        return;
    };
    let w = area.width;
    let choice = match view.choice {
        None => "—",
        Some(Choice::A) => "A",
        Some(Choice::B) => "B",
        Some(Choice::Tie) => lang.pick("tie", "平局"),
    };
    let head = match lang {
        Language::En => format!(
            "Question {}/{} · {} · your choice: {choice} · judged {}/{}",
            i + 1,
            session.len(),
            part_name(view.part, lang),
            session.judged(),
            session.len()
        ),
        Language::Zh => format!(
            "第 {}/{} 题 · {} · 你的选择：{choice} · 已评 {}/{}",
            i + 1,
            session.len(),
            part_name(view.part, lang),
            session.judged(),
            session.len()
        ),
    };
    let mut top = vec![Line::styled(truncate(&head, w as usize), theme::TITLE)];
    if let Some(line) = reveal_line(session, i, lang) {
        top.push(line);
    }
    let q = lang.pick("Q: ", "问：");
    top.extend(wrapped(&format!("{q}{}", view.prompt), w, theme::TEXT, 3));
    let [head_area, answers] =
        Layout::vertical([Constraint::Length(top.len() as u16), Constraint::Min(0)]).areas(area);
    draw_lines(f, head_area, top);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(answers);
    let adapter_is = session.items[i].adapter_is;
    for (rect, label, text) in [(left, Label::A, view.a), (right, Label::B, view.b)] {
        let chosen = matches!(
            (view.choice, label),
            (Some(Choice::A), Label::A) | (Some(Choice::B), Label::B)
        );
        let mut title = format!(" {label:?} ");
        if session.revealed() {
            let who = if label == adapter_is {
                lang.pick("base + adapter", "基础模型+适配器")
            } else {
                lang.pick("base model", "基础模型")
            };
            title = format!(" {label:?} = {who} ");
        }
        let border = if chosen {
            theme::mood(Mood::Good)
        } else {
            theme::BORDER
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .title(Span::styled(title, theme::TITLE));
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let lines = wrapped(text, inner.width, theme::TEXT, usize::MAX);
        f.render_widget(Paragraph::new(lines).scroll((e.scroll, 0)), inner);
    }
}

/// After the reveal: who wrote A and who won this question.
fn reveal_line(session: &BlindSession, i: usize, lang: Language) -> Option<Line<'static>> {
    if !session.revealed() {
        return None;
    }
    let (text, mood) = match (session.winner(i), session.items[i].choice, lang) {
        (_, None, _) => (
            lang.pick("Revealed · not judged", "已揭晓 · 未评判"),
            Mood::Neutral,
        ),
        (Some(Winner::Adapter), _, _) => (
            lang.pick("Revealed · the adapter won", "已揭晓 · 适配器胜"),
            Mood::Good,
        ),
        (Some(Winner::Base), _, _) => (
            lang.pick("Revealed · the base model won", "已揭晓 · 基础模型胜"),
            Mood::Warn,
        ),
        (None, _, _) => (
            lang.pick("Revealed · a tie", "已揭晓 · 平局"),
            Mood::Neutral,
        ),
    };
    Some(Line::styled(text, theme::mood(mood)))
}
