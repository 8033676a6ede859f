//! The experiment's runs as the Loss pane overlays them and the Eval pane tabulates them,
//! read from their folders by [`crate::eval::runs`] whenever the plan's facts are refreshed.

use std::path::Path;

use super::App;
use crate::eval::runs::{self, Run};
use crate::tui::action::Action;

/// All runs of the experiment, and how the Loss pane draws them.
#[derive(Debug, Clone)]
pub struct RunsState {
    /// The runs in run order.
    pub list: Vec<Run>,
    /// Why the runs could not be read (a broken `eval.json`, `preset.toml`, `origin.json`).
    pub error: Option<String>,
    /// Training curves drawn as an EMA over the raw values (else raw).
    pub smooth: bool,
}

impl Default for RunsState {
    fn default() -> Self {
        RunsState {
            list: Vec::new(),
            error: None,
            smooth: true,
        }
    }
}

impl RunsState {
    /// Re-reads the runs under `<dir>/runs/`; an error keeps the last good list.
    pub fn refresh(&mut self, dir: &Path) {
        match runs::read(dir) {
            Ok(list) => (self.list, self.error) = (list, None),
            Err(e) => self.error = Some(format!("{e:#}")),
        }
    }

    /// The run named `id`.
    pub fn get(&self, id: &str) -> Option<&Run> {
        self.list.iter().find(|r| r.row.id == id)
    }
}

impl App {
    /// The Loss pane's keys that are not about the trainer: smoothing and the run selection.
    pub(super) fn runs_action(&mut self, action: Action) {
        match action {
            Action::ToggleSmoothing => self.runs.smooth = !self.runs.smooth,
            Action::Increase | Action::Decrease => self.select_run(action),
            _ => {}
        }
    }
}
