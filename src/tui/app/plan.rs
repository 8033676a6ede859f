//! Plan pane state: the selected item and manual ticks.

use super::App;
use crate::experiment::{detect, Language, PLAN};
use crate::tui::action::Action;
use crate::tui::loss::Mood;

/// The plan pane's own state; ticks live in the experiment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanView {
    /// Index into [`PLAN`].
    pub selected: usize,
}

impl App {
    pub(super) fn plan_action(&mut self, action: Action) {
        match action {
            nav if nav.is_navigation() => {
                self.plan.selected = super::moved(self.plan.selected, PLAN.len(), action, 5);
            }
            Action::Toggle => {
                let step = PLAN[self.plan.selected.min(PLAN.len() - 1)].step;
                if detect(&self.facts).contains(&step) {
                    let msg = match self.lang() {
                        Language::En => {
                            "Ticked from the experiment's files: nothing to tick by hand."
                        }
                        Language::Zh => "已根据实验文件自动勾选，无需手动勾选。",
                    };
                    self.tell(msg, Mood::Neutral);
                    return;
                }
                let done = self.exp.plan.ticks.contains(&step);
                self.exp.plan.set_tick(step, !done);
                self.changed();
                self.save();
            }
            _ => {}
        }
    }
}
