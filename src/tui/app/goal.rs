//! Goal pane state: which field is selected. Edits go to the experiment's goal, the decision
//! helper's answers included, and are saved like every other change.

use super::input::{Input, PromptKind};
use super::App;
use crate::experiment::{Answers, Purpose};
use crate::tui::action::Action;
use crate::tui::editor::TextEditor;
use crate::tui::loss::Mood;

/// One selectable row of the goal pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalRow {
    /// The goal statement (multi-line).
    Statement,
    /// Private knowledge / specialised task / cost and sovereignty.
    Purpose,
    /// The target behaviour (multi-line).
    Target,
    /// The output format (one line).
    Format,
    /// Exam pass mark.
    Exam,
    /// Interview pass mark.
    Interview,
    /// General-knowledge guard pass mark.
    Guard,
    /// A decision-helper question, by index into [`QUESTIONS`].
    Question(usize),
}

/// The rows in display order.
pub const GOAL_ROWS: [GoalRow; 11] = [
    GoalRow::Statement,
    GoalRow::Purpose,
    GoalRow::Target,
    GoalRow::Format,
    GoalRow::Exam,
    GoalRow::Interview,
    GoalRow::Guard,
    GoalRow::Question(0),
    GoalRow::Question(1),
    GoalRow::Question(2),
    GoalRow::Question(3),
];

impl GoalRow {
    /// Whether Enter inserts a new line rather than finishing.
    pub fn multi_line(self) -> bool {
        matches!(self, GoalRow::Statement | GoalRow::Target)
    }
}

/// The goal pane's own state; the goal itself, with the decision helper's answers, lives in
/// the experiment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoalState {
    /// Index into [`GOAL_ROWS`].
    pub selected: usize,
}

impl GoalState {
    /// The selected row.
    pub fn row(&self) -> GoalRow {
        GOAL_ROWS[self.selected.min(GOAL_ROWS.len() - 1)]
    }
}

/// The purposes in the order ←/→ cycles them, "none chosen" first.
const PURPOSES: [Option<Purpose>; 4] = [
    None,
    Some(Purpose::PrivateKnowledge),
    Some(Purpose::SpecialisedTask),
    Some(Purpose::CostSovereignty),
];

impl App {
    pub(super) fn goal_action(&mut self, action: Action) {
        let row = self.goal.row();
        match action {
            nav if nav.is_navigation() => {
                self.goal.selected = super::moved(self.goal.selected, GOAL_ROWS.len(), action, 4);
            }
            Action::Edit => match row {
                GoalRow::Statement | GoalRow::Target | GoalRow::Format => {
                    let text = self.goal_text(row).to_string();
                    self.input = Input::Edit {
                        row,
                        editor: TextEditor::new(&text),
                    };
                }
                GoalRow::Exam | GoalRow::Interview | GoalRow::Guard => {
                    let mark = self.pass_mark(row).unwrap_or(0.0);
                    self.open_prompt(PromptKind::PassMark(row), &format!("{:.0}", mark * 100.0));
                }
                GoalRow::Purpose => self.step_goal(row, true),
                GoalRow::Question(_) => self.answer(row, None),
            },
            Action::Increase => self.step_goal(row, true),
            Action::Decrease => self.step_goal(row, false),
            Action::Toggle => self.answer(row, None),
            Action::AnswerYes => self.answer(row, Some(true)),
            Action::AnswerNo => self.answer(row, Some(false)),
            _ => {}
        }
    }

    /// The text of a text row.
    pub(super) fn goal_text(&self, row: GoalRow) -> &str {
        let g = &self.exp.goal;
        match row {
            GoalRow::Statement => &g.statement,
            GoalRow::Target => &g.target_behaviour,
            GoalRow::Format => &g.output_format,
            _ => "",
        }
    }

    /// Replaces the text of a text row (live, while typing) and updates the lint-based tick.
    pub(super) fn set_goal_text(&mut self, row: GoalRow, text: &str) {
        let g = &mut self.exp.goal;
        let slot = match row {
            GoalRow::Statement => &mut g.statement,
            GoalRow::Target => &mut g.target_behaviour,
            GoalRow::Format => &mut g.output_format,
            _ => return,
        };
        if slot != text {
            *slot = text.to_string();
            self.facts.goal_passes_lint = crate::experiment::passes(&self.exp.goal);
            self.changed();
        }
    }

    fn pass_mark(&self, row: GoalRow) -> Option<f64> {
        let m = &self.exp.goal.pass_marks;
        match row {
            GoalRow::Exam => Some(m.exam),
            GoalRow::Interview => Some(m.interview),
            GoalRow::Guard => Some(m.guard),
            _ => None,
        }
    }

    /// Sets a pass mark given as a fraction; saved at once.
    pub(super) fn set_pass_mark(&mut self, row: GoalRow, value: f64) {
        let m = &mut self.exp.goal.pass_marks;
        let slot = match row {
            GoalRow::Exam => &mut m.exam,
            GoalRow::Interview => &mut m.interview,
            GoalRow::Guard => &mut m.guard,
            _ => return,
        };
        *slot = (value.clamp(0.0, 1.0) * 100.0).round() / 100.0;
        self.facts.goal_passes_lint = crate::experiment::passes(&self.exp.goal);
        self.changed();
        self.save();
    }

    fn step_goal(&mut self, row: GoalRow, up: bool) {
        match row {
            GoalRow::Purpose => {
                let i = PURPOSES
                    .iter()
                    .position(|p| *p == self.exp.goal.purpose)
                    .unwrap_or(0);
                let n = PURPOSES.len();
                self.exp.goal.purpose = PURPOSES[if up { (i + 1) % n } else { (i + n - 1) % n }];
                self.facts.goal_passes_lint = crate::experiment::passes(&self.exp.goal);
                self.changed();
                self.save();
            }
            GoalRow::Exam | GoalRow::Interview | GoalRow::Guard => {
                let now = self.pass_mark(row).unwrap_or(0.0);
                self.set_pass_mark(row, now + if up { 0.05 } else { -0.05 });
            }
            GoalRow::Question(_) => self.answer(row, Some(up)),
            _ => {}
        }
    }

    /// Sets (or with `None` flips) the answer of a question row; saved at once, like every
    /// other goal field.
    fn answer(&mut self, row: GoalRow, yes: Option<bool>) {
        let GoalRow::Question(i) = row else {
            let hint = self.lang().pick(
                "y and n answer the questions below the pass marks: select one first.",
                "y 和 n 用来回答及格线下方的问题：请先选中一个问题。",
            );
            self.tell(hint, Mood::Neutral);
            return;
        };
        let Some(slot) = self.exp.goal.decision.get_mut(i) else {
            return;
        };
        let new = yes.unwrap_or(!*slot);
        if *slot != new {
            *slot = new;
            self.changed();
            self.save();
        }
    }
}

/// The decision helper's answer `i` ("no" past the last question).
pub fn answer_of(a: &Answers, i: usize) -> bool {
    a.get(i).unwrap_or(false)
}
