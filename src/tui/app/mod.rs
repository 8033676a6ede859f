//! The cockpit's state and how it changes: [`App::update`] for the user's actions,
//! [`App::on_worker`] for the trainer's events, [`App::tick`] for the clock. Building an
//! `App` reads the experiment's files and spawns nothing, so tests create one directly.
//!
//! Pane states live in one file each: `goal.rs`, `dataset.rs`, `preset.rs`, `run.rs`
//! (with `resume.rs`, and `runs.rs` for the experiment's other runs), `plan.rs`, `eval.rs`,
//! `chat.rs`; `input.rs` holds the text inputs and prompts; `next_run.rs` the next-run menu;
//! `jobs.rs` routes the events of the tests and chat answers ([`App::on_job`]).

mod blind;
mod chat;
mod dataset;
mod eval;
mod export;
mod goal;
mod input;
mod jobs;
mod next_run;
mod plan;
mod preset;
mod resume;
mod run;
mod runs;

use std::path::{Path, PathBuf};

use anyhow::Result;
use crossterm::event::KeyEvent;

pub use blind::revealed_sentence;
pub use chat::{ActiveChat, ChatReply, ChatState, Exchange, ReplyState, CHAT_MAX_NEW_TOKENS};
pub use dataset::{DataJob, DataWork, DatasetState, Row};
pub use eval::{part_name, verdict_line, ActiveEval, EvalState};
pub use export::{ActiveExport, EXPORT_DIR};
pub use goal::{answer_of, GoalRow, GoalState, GOAL_ROWS};
pub use input::{Input, PromptKind};
pub use jobs::JobQueue;
pub use next_run::{MenuEntry, NextRunMenu};
pub use plan::PlanView;
pub use preset::PresetState;
pub use resume::ResumePoint;
pub use run::{Phase, RunState};
pub use runs::RunsState;

use super::action::{Action, Pane};
use super::keymap::{self, KeyContext};
use super::loss::Mood;
use crate::experiment::{Date, Experiment, ExperimentFacts, Language};
use crate::worker::WorkerCommand;

/// Which overlay covers the panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// None.
    None,
    /// The key help.
    Help,
    /// "A run or the three-part test is running: stop / keep waiting / cancel".
    Quit,
    /// The next-run menu ([`App::next_run`]).
    NextRun,
}

/// A one-line message on the status line, until the next key.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The message.
    pub text: String,
    /// Its colour.
    pub mood: Mood,
}

/// Everything the cockpit shows.
#[derive(Debug)]
pub struct App {
    /// The experiment folder.
    pub dir: PathBuf,
    /// Its name, for the header.
    pub name: String,
    /// The experiment as on disk (plus edits not yet saved).
    pub exp: Experiment,
    /// Today, injected so the screen is deterministic.
    pub today: Date,
    /// The focused pane.
    pub focus: Pane,
    /// What covers the panes.
    pub overlay: Overlay,
    /// Text being typed, if any.
    pub input: Input,
    /// Goal pane.
    pub goal: GoalState,
    /// Dataset pane.
    pub data: DatasetState,
    /// Preset pane.
    pub preset: PresetState,
    /// The trainer and its loss curve.
    pub run: RunState,
    /// Plan pane.
    pub plan: PlanView,
    /// Every run of the experiment, for the Loss pane's overlay and the Eval pane's table.
    pub runs: RunsState,
    /// Eval pane (and the run selection the Chat pane shares).
    pub eval: EvalState,
    /// Chat pane.
    pub chat: ChatState,
    /// The next-run menu, while open.
    pub next_run: Option<NextRunMenu>,
    /// What the files show, for the plan's ticks.
    pub facts: ExperimentFacts,
    /// The status line's message.
    pub notice: Option<Notice>,
    /// The loop should end.
    pub should_quit: bool,
    /// Quit once the running training run and test end ("keep waiting").
    pub quit_when_done: bool,
    /// `tunedeck watch`: only the Loss pane, following a folder; no experiment.
    pub watching: bool,
    outbox: Vec<WorkerCommand>,
    jobs: JobQueue,
    unsaved: bool,
}

impl App {
    /// Opens the experiment in `dir`: reads `experiment.toml`, the records and their split,
    /// and the preset. Only a missing or unreadable `experiment.toml` is an error; anything
    /// else wrong is shown in its pane.
    pub fn open(dir: &Path, today: Date) -> Result<App> {
        let exp = Experiment::load(dir)?;
        let preset = PresetState::load(&exp, dir);
        let data = DatasetState::load(&exp, dir, &preset.current);
        let run = RunState::last_on_disk(dir);
        let mut app = App::assemble(dir, exp, preset, data, run, today);
        app.refresh_facts();
        Ok(app)
    }

    /// `tunedeck watch DIR`: no experiment, only the run folder `dir` followed in the Loss
    /// pane (the worker is told by the caller, with [`App::run`]'s id). Nothing is written:
    /// the watch keys change nothing on disk.
    pub fn watching(dir: &Path, today: Date) -> App {
        let exp = Experiment::default();
        let preset = PresetState::load(&exp, dir);
        let run = RunState::following(dir, run::FOLLOW_IDS, dir);
        let mut app = App::assemble(dir, exp, preset, DatasetState::default(), run, today);
        app.focus = Pane::Loss;
        app.watching = true;
        app
    }

    fn assemble(
        dir: &Path,
        exp: Experiment,
        preset: PresetState,
        data: DatasetState,
        run: RunState,
        today: Date,
    ) -> App {
        let name = dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
        App {
            dir: dir.to_path_buf(),
            name,
            exp,
            today,
            focus: Pane::Goal,
            overlay: Overlay::None,
            input: Input::None,
            goal: GoalState::default(),
            data,
            preset,
            run,
            plan: PlanView::default(),
            runs: RunsState::default(),
            eval: EvalState::default(),
            chat: ChatState::default(),
            next_run: None,
            facts: ExperimentFacts::default(),
            notice: None,
            should_quit: false,
            quit_when_done: false,
            watching: false,
            outbox: Vec::new(),
            jobs: JobQueue::default(),
            unsaved: false,
        }
    }

    /// The interface language.
    pub fn lang(&self) -> Language {
        self.exp.language
    }

    /// Who gets the keyboard now.
    pub fn key_context(&self) -> KeyContext {
        match (self.overlay, &self.input) {
            _ if self.watching => KeyContext::Watch,
            (Overlay::Quit, _) => KeyContext::QuitDialog,
            (Overlay::Help, _) => KeyContext::Help,
            (Overlay::NextRun, _) => KeyContext::NextRun,
            (_, Input::Edit { .. }) => KeyContext::Editor,
            (_, Input::Prompt { .. }) => KeyContext::Prompt,
            _ => self.pane_keys(),
        }
    }

    /// The keys of the focused pane (blind judging has its own), as help lists them.
    pub fn pane_keys(&self) -> KeyContext {
        if self.focus == Pane::Eval && self.eval.judging {
            KeyContext::Judge
        } else {
            KeyContext::Pane(self.focus)
        }
    }

    /// Looks `key` up in the keymap for the current context and carries it out.
    pub fn on_key(&mut self, key: KeyEvent) {
        if let Some(action) = keymap::lookup(self.key_context(), key) {
            self.update(action);
        }
    }

    /// Carries out one action.
    pub fn update(&mut self, action: Action) {
        self.notice = None;
        if action == Action::ForceQuit {
            self.should_quit = true;
            return;
        }
        match self.key_context() {
            KeyContext::QuitDialog => self.quit_dialog(action),
            KeyContext::Help => self.overlay = Overlay::None,
            KeyContext::NextRun => self.next_run_action(action),
            KeyContext::Watch if action == Action::Quit => self.should_quit = true,
            KeyContext::Watch => self.runs_action(action),
            KeyContext::Editor | KeyContext::Prompt => self.on_input(action),
            KeyContext::Judge => {
                if !self.global(action) {
                    self.judge_action(action);
                }
            }
            KeyContext::Pane(pane) => {
                if !self.global(action) {
                    match pane {
                        Pane::Goal => self.goal_action(action),
                        Pane::Dataset => self.dataset_action(action),
                        Pane::Preset => self.preset_action(action),
                        Pane::Loss => self.run_action(action),
                        Pane::Plan => self.plan_action(action),
                        Pane::Eval => self.eval_action(action),
                        Pane::Chat => self.chat_action(action),
                    }
                }
            }
        }
    }

    /// Keys that mean the same in every pane; true when handled.
    fn global(&mut self, action: Action) -> bool {
        match action {
            Action::Quit if self.work_running() => self.overlay = Overlay::Quit,
            Action::Quit => self.should_quit = true,
            Action::FocusNext | Action::FocusPrev | Action::Focus(_) => {
                self.focus = match action {
                    Action::FocusNext => self.focus.next(),
                    Action::FocusPrev => self.focus.prev(),
                    Action::Focus(pane) => pane,
                    _ => self.focus,
                };
                // What other commands wrote meanwhile (`tunedeck eval`, `tunedeck report`)
                // ticks the plan and shows in the Eval pane.
                self.refresh_facts();
            }
            Action::ToggleHelp => self.overlay = Overlay::Help,
            Action::ToggleLanguage => {
                self.exp.language = match self.exp.language {
                    Language::En => Language::Zh,
                    Language::Zh => Language::En,
                };
                self.changed();
                self.save();
            }
            _ => return false,
        }
        true
    }

    /// Work that quitting would cut short: a training run, or the three-part test (a chat
    /// answer is not: nothing of it is kept).
    pub fn work_running(&self) -> bool {
        self.run.is_active() || self.eval.active.is_some()
    }

    fn quit_dialog(&mut self, action: Action) {
        match action {
            Action::StopAndQuit => {
                if self.run.is_active() {
                    self.send(WorkerCommand::Stop);
                }
                self.cancel_jobs();
                self.should_quit = true;
            }
            Action::KeepWaiting => {
                self.quit_when_done = true;
                self.overlay = Overlay::None;
                let lang = self.lang();
                let msg = match (self.run.is_active(), self.eval.active.is_some()) {
                    (true, true) => lang.pick(
                        "The cockpit closes when the run and the test end; q asks again.",
                        "训练和测试结束后自动退出；再按 q 可重新选择。",
                    ),
                    (false, true) => lang.pick(
                        "The cockpit closes when the test ends; q asks again.",
                        "测试结束后自动退出；再按 q 可重新选择。",
                    ),
                    _ => lang.pick(
                        "The cockpit closes when the run ends; q asks again.",
                        "训练结束后自动退出；再按 q 可重新选择。",
                    ),
                };
                self.tell(msg, Mood::Neutral);
                // Whatever was running may have ended while the dialog was open.
                self.quit_if_done();
            }
            Action::CancelQuit => {
                self.quit_when_done = false;
                self.overlay = Overlay::None;
            }
            _ => {}
        }
    }

    /// After a run or a test ended: quits when the user chose to wait and nothing runs now.
    fn quit_if_done(&mut self) {
        if self.quit_when_done && !self.work_running() {
            self.should_quit = true;
        }
    }

    /// The clock: a new `today` moves the plan's highlight; unsaved edits are written (so a
    /// crash loses at most one tick of typing). Returns true when the screen changed.
    pub fn tick(&mut self, today: Date) -> bool {
        let moved = today != self.today;
        self.today = today;
        let saving = self.unsaved;
        self.save();
        moved || saving
    }

    /// Commands for the worker, taken by the event loop.
    pub fn take_commands(&mut self) -> Vec<WorkerCommand> {
        std::mem::take(&mut self.outbox)
    }

    fn send(&mut self, cmd: WorkerCommand) {
        self.outbox.push(cmd);
    }

    /// Marks the experiment as changed; [`App::save`] or the next tick writes it.
    fn changed(&mut self) {
        self.unsaved = true;
    }

    /// True when edits wait to be written.
    pub fn has_unsaved(&self) -> bool {
        self.unsaved
    }

    /// Writes `experiment.toml` atomically when something changed; an error stays on the
    /// status line and the edit stays in memory for the next try.
    pub fn save(&mut self) {
        if !self.unsaved {
            return;
        }
        match self.exp.save(&self.dir) {
            Ok(()) => self.unsaved = false,
            Err(e) => self.tell(&format!("{e:#}"), Mood::Bad),
        }
    }

    fn tell(&mut self, text: &str, mood: Mood) {
        self.notice = Some(Notice {
            text: text.to_string(),
            mood,
        });
    }

    /// Re-reads what the files show and adds what this session saw happen.
    fn refresh_facts(&mut self) {
        let mut facts = self.exp.facts(&self.dir, self.data.valid_records());
        facts.run_started |= self.run.started_here();
        facts.run_finished |= self.run.finished_here();
        self.facts = facts;
        // A run that finished is one more to test and to chat with, and to compare.
        self.eval.refresh(&self.dir);
        self.runs.refresh(&self.dir);
    }
}

/// A list selection after a navigation action; `page` items per page.
fn moved(selected: usize, len: usize, action: Action, page: usize) -> usize {
    let last = len.saturating_sub(1);
    match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => (selected + 1).min(last),
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => (selected + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => selected,
    }
}
