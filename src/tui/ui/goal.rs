//! Goal pane: the statement and structured fields, the live lint, the decision helper.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{draw_lines, editor_lines, pane_block, wrapped};
use crate::experiment::decide::QUESTIONS;
use crate::experiment::{lint, recommend, Language, Purpose, Severity};
use crate::tui::action::Pane;
use crate::tui::app::{answer_of, App, GoalRow, Input};
use crate::tui::editor::layout;
use crate::tui::loss::Mood;
use crate::tui::text::{one_line, pad, truncate, width as width_of, wrap};
use crate::tui::theme;

/// Cells for the field labels.
const LABEL: usize = 15;
/// Inner width from which the lint and the decision helper move beside the fields.
const SIDE_BY_SIDE: u16 = 110;
/// Blank columns between the fields and the column beside them: without them a line
/// wrapped to the full width ran straight into the "Lint" title.
const GUTTER: u16 = 2;

/// Draws the goal pane.
pub fn render(f: &mut Frame, area: Rect, app: &App, focused: bool) {
    let lang = app.lang();
    let inner = pane_block(f, area, Pane::Goal, lang, focused, "");
    let findings = lint(&app.exp.goal);
    if inner.width >= SIDE_BY_SIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .spacing(GUTTER)
                .areas(inner);
        draw_lines(
            f,
            left,
            fields(app, left.width, left.height as usize, focused),
        );
        // The column is tall: the questions wrap instead of being cut, leaving the lint at
        // least its title and two lines.
        let room = (right.height as usize).saturating_sub(4);
        let helper = helper_lines(app, right.width, room, true, focused);
        let [lint_area, helper_area] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(helper.len() as u16)])
                .areas(right);
        draw_lines(f, lint_area, lint_lines(&findings, lang, lint_area));
        draw_lines(f, helper_area, helper);
    } else {
        let helper_rows = 7;
        let budget = (inner.height as usize).saturating_sub(helper_rows + 3);
        let lines = fields(app, inner.width, budget, focused);
        let [top, mid, bottom] = Layout::vertical([
            Constraint::Length(lines.len() as u16),
            Constraint::Min(2),
            Constraint::Length(helper_rows as u16),
        ])
        .areas(inner);
        draw_lines(f, top, lines);
        draw_lines(f, mid, lint_lines(&findings, lang, mid));
        let helper = helper_lines(app, bottom.width, helper_rows, false, focused);
        draw_lines(f, bottom, helper);
    }
}

/// The field rows in at most `height` lines: one each for purpose, format and marks; the
/// statement and the behaviour share the rest, the statement first.
fn fields(app: &App, width: u16, height: usize, focused: bool) -> Vec<Line<'static>> {
    let lang = app.lang();
    let g = &app.exp.goal;
    let value_w = width.saturating_sub(LABEL as u16).max(10);
    let selected = focused.then(|| app.goal.row());
    let editing = match &app.input {
        Input::Edit { row, editor } => Some((*row, editor)),
        _ => None,
    };
    let wanted = |row: GoalRow, text: &str, most: usize| -> usize {
        let lines = match editing {
            Some((r, editor)) if r == row => {
                layout(editor.text(), editor.cursor(), value_w as usize)
                    .0
                    .len()
            }
            _ => wrap(text, value_w as usize).len(),
        };
        lines.clamp(1, most)
    };
    // The statement first, the behaviour in what is left; each at least one line.
    let free = height.saturating_sub(3).max(2);
    let statement_rows = wanted(GoalRow::Statement, &g.statement, free - 1);
    let target_rows = wanted(GoalRow::Target, &g.target_behaviour, free - statement_rows);
    let mut out = Vec::new();
    let text_row =
        |out: &mut Vec<Line<'static>>, row: GoalRow, label: &str, text: &str, rows: usize| {
            let body = match editing {
                Some((r, editor)) if r == row => editor_lines(editor, value_w, rows),
                _ if text.trim().is_empty() => {
                    vec![Line::styled(
                        lang.pick("(empty: Enter to write)", "（空：按 Enter 填写）")
                            .to_string(),
                        theme::DIM,
                    )]
                }
                // One row: as much as fits on it (wrapping first would end the line at
                // the first long word, e.g. a regex).
                _ if rows == 1 => vec![Line::styled(
                    truncate(&one_line(text), value_w as usize),
                    theme::TEXT,
                )],
                _ => wrapped(text, value_w, theme::TEXT, rows),
            };
            for (i, line) in body.into_iter().enumerate() {
                let head = if i == 0 { label } else { "" };
                out.push(labelled(head, selected == Some(row) && i == 0, line));
            }
        };
    text_row(
        &mut out,
        GoalRow::Statement,
        lang.pick("Statement", "目标声明"),
        &g.statement,
        statement_rows,
    );
    let purpose = match g.purpose {
        None => lang.pick("(not chosen)", "（未选择）"),
        Some(Purpose::PrivateKnowledge) => lang.pick("private knowledge", "知识私有化"),
        Some(Purpose::SpecialisedTask) => lang.pick("specialised task", "任务专业化"),
        Some(Purpose::CostSovereignty) => lang.pick("cost & data sovereignty", "成本与主权可控"),
    };
    let purpose = Line::raw(format!("‹ {purpose} ›"));
    out.push(labelled(
        lang.pick("Purpose", "目的"),
        selected == Some(GoalRow::Purpose),
        purpose,
    ));
    text_row(
        &mut out,
        GoalRow::Target,
        lang.pick("Behaviour", "目标行为"),
        &g.target_behaviour,
        target_rows,
    );
    text_row(
        &mut out,
        GoalRow::Format,
        lang.pick("Output format", "输出格式"),
        &g.output_format,
        1,
    );
    let m = &g.pass_marks;
    let mut marks = Vec::new();
    for (row, name, value) in [
        (GoalRow::Exam, lang.pick("exam", "考试"), m.exam),
        (
            GoalRow::Interview,
            lang.pick("interview", "面试"),
            m.interview,
        ),
        (GoalRow::Guard, lang.pick("guard", "常识"), m.guard),
    ] {
        let style = if selected == Some(row) {
            theme::SELECTED
        } else {
            theme::TEXT
        };
        marks.push(Span::styled(format!("{name} {:.0}%", value * 100.0), style));
        marks.push(Span::raw("  "));
    }
    let on_marks = matches!(
        selected,
        Some(GoalRow::Exam | GoalRow::Interview | GoalRow::Guard)
    );
    out.push(labelled(
        lang.pick("Pass marks", "及格线"),
        on_marks,
        Line::from(marks),
    ));
    out
}

/// `label` padded to the label column, then `value`.
fn labelled(label: &str, selected: bool, value: Line<'static>) -> Line<'static> {
    let style = if selected {
        theme::SELECTED
    } else {
        theme::DIM
    };
    let mut spans = vec![Span::styled(pad(label, LABEL - 1), style), Span::raw(" ")];
    spans.extend(value.spans);
    Line::from(spans)
}

fn lint_lines(
    findings: &[crate::experiment::LintFinding],
    lang: Language,
    area: Rect,
) -> Vec<Line<'static>> {
    let title = lang.pick("Lint", "目标检查");
    let mut out = vec![Line::styled(title.to_string(), theme::TITLE)];
    if findings.is_empty() {
        let ok = lang.pick(
            "✓ Clear purpose, a measurable pass mark and an output format.",
            "✓ 目的明确，有可衡量的标准和输出格式。",
        );
        out.extend(wrapped(ok, area.width, theme::mood(Mood::Good), 2));
    }
    let room = (area.height as usize).saturating_sub(1);
    for (i, finding) in findings.iter().enumerate() {
        let (mark, mood) = match finding.severity {
            Severity::Error => ("✗ ", Mood::Bad),
            Severity::Warning => ("! ", Mood::Warn),
        };
        let text = format!(
            "{mark}{}",
            lang.pick(&finding.message_en, &finding.message_zh)
        );
        // Every finding gets at least one line; the last one may take what is left.
        let left = room.saturating_sub(out.len() - 1);
        let share = if i + 1 == findings.len() {
            left
        } else {
            (left / (findings.len() - i)).max(1)
        };
        out.extend(wrapped(&text, area.width, theme::mood(mood), share.max(1)));
    }
    out
}

/// The decision helper in at most `room` lines (at least the title, the questions and one
/// line of the recommendation): each question on one line, cut to fit, or wrapped under its
/// answer when `wrap` is set.
fn helper_lines(
    app: &App,
    width: u16,
    room: usize,
    wrap_questions: bool,
    focused: bool,
) -> Vec<Line<'static>> {
    let lang = app.lang();
    let selected = focused.then(|| app.goal.row());
    let mut out = vec![Line::styled(
        lang.pick("Which card? (y/n)", "选哪张牌？（y/n）")
            .to_string(),
        theme::TITLE,
    )];
    for (i, q) in QUESTIONS.iter().enumerate() {
        let yes = answer_of(&app.exp.goal.decision, i);
        let mark = if yes {
            lang.pick("[yes] ", "[是] ")
        } else {
            lang.pick("[no]  ", "[否] ")
        };
        let style = if selected == Some(GoalRow::Question(i)) {
            theme::SELECTED
        } else {
            theme::TEXT
        };
        let indent = width_of(mark);
        let room_for_text = (width as usize).saturating_sub(indent + 1);
        let question = lang.pick(q.en, q.zh);
        let lines = if wrap_questions {
            wrap(question, room_for_text)
        } else {
            vec![truncate(question, room_for_text)]
        };
        for (n, text) in lines.into_iter().enumerate() {
            let head = if n == 0 {
                Span::styled(mark.to_string(), theme::KEY)
            } else {
                Span::raw(" ".repeat(indent))
            };
            out.push(Line::from(vec![head, Span::styled(text, style)]));
        }
    }
    let rec = recommend(&app.exp.goal.decision);
    let reason = lang.pick(&rec.reason_en, &rec.reason_zh);
    let text = format!("→ {}: {reason}", rec.card.name());
    let left = room.saturating_sub(out.len()).max(1);
    out.extend(wrapped(&text, width, theme::mood(Mood::Good), left));
    out
}
