//! Blind A/B judging in the Eval pane: where it stands, and one question with answers A and
//! B side by side.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{draw_lines, wrapped};
use crate::eval::blind::Pair;
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
    // The default pair goes unnamed, as before retrieval could join it.
    let pair = match s.pair == Pair::default() {
        true => String::new(),
        false => format!(" ({})", s.pair.name(lang)),
    };
    match (s.win_rates, lang) {
        (None, Language::En) => format!(
            "Blind A/B{pair}: {} of {} judged, labels hidden. Enter goes on judging.",
            s.judged(),
            s.len()
        ),
        (None, Language::Zh) => format!(
            "A/B 盲评{pair}：已评 {}/{} 题，标签未揭晓。按 Enter 继续评判。",
            s.judged(),
            s.len()
        ),
        (Some(rates), lang) => revealed_sentence(&rates.all, s.pair, lang),
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
    let second_is = session.items[i].second_is;
    let [first, second] = session.pair.0;
    for (rect, label, text) in [(left, Label::A, view.a), (right, Label::B, view.b)] {
        let chosen = matches!(
            (view.choice, label),
            (Some(Choice::A), Label::A) | (Some(Choice::B), Label::B)
        );
        let mut title = format!(" {label:?} ");
        if session.revealed() {
            let who = if label == second_is {
                second.name(lang)
            } else {
                first.name(lang)
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
    let won = |who: crate::eval::blind::Contender| match lang {
        Language::En => format!("Revealed · the {} won", who.name(lang)),
        Language::Zh => format!("已揭晓 · {}胜", who.name(lang)),
    };
    let [first, second] = session.pair.0;
    let (text, mood) = match (session.winner(i), session.items[i].choice) {
        (_, None) => (
            lang.pick("Revealed · not judged", "已揭晓 · 未评判")
                .to_string(),
            Mood::Neutral,
        ),
        (Some(Winner::Second), _) => (won(second), Mood::Good),
        (Some(Winner::First), _) => (won(first), Mood::Warn),
        (None, _) => (
            lang.pick("Revealed · a tie", "已揭晓 · 平局").to_string(),
            Mood::Neutral,
        ),
    };
    Some(Line::styled(text, theme::mood(mood)))
}
