//! The trainer as the cockpit sees it: the run's phase, its latest figures and its loss
//! history, fed by [`App::on_worker`] and driven by the loss pane's keys.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::input::PromptKind;
use super::resume::{conflict, Conflict, ResumePoint};
use super::App;
use crate::data::run_dir::{self, RunDir};
use crate::eval::next_run::{describe, Origin};
use crate::experiment::{data_dir, runs_dir, Language};
use crate::lora::estimate::eta_s;
use crate::preset::{Engine, Preset};
use crate::tui::action::{Action, Pane};
use crate::tui::loss::{LossHistory, Mood};
use crate::worker::{
    LoadedInfo, RunId, RunSpec, RunSummary, StepStats, WorkerCommand, WorkerEvent,
};

/// Where the run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No run in this session.
    Idle,
    /// Asked to start; loading the model and data.
    Starting,
    /// Training.
    Running,
    /// Paused between steps.
    Paused,
    /// Asked to stop; saving.
    Stopping,
    /// Ended: completed, or stopped before its last step (see [`RunState::resume_from`]).
    Finished,
    /// Ended with an error.
    Failed,
    /// Following a run folder another process writes ([`RunState::followed`]); nothing of
    /// it is tunedeck's to pause or stop.
    Following,
}

/// Run ids of followed folders start here, apart from the `run-N` numbers of runs.
pub(super) const FOLLOW_IDS: RunId = 1 << 48;

/// The current (or last) run.
#[derive(Debug, Clone)]
pub struct RunState {
    /// The run whose events are shown; others are stale and dropped.
    pub id: Option<RunId>,
    /// Its folder name under `runs/`.
    pub name: String,
    /// Where it stands.
    pub phase: Phase,
    /// Model and data as the worker loaded them.
    pub loaded: Option<LoadedInfo>,
    /// The latest step's figures.
    pub last: Option<StepStats>,
    /// The loss curve.
    pub history: LossHistory,
    /// The worker's latest progress message.
    pub status: Option<String>,
    /// Step of the latest checkpoint.
    pub checkpoint: Option<u64>,
    /// How it ended.
    pub summary: Option<RunSummary>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where a start would continue this run; `None` while it is active, when it completed,
    /// or when it saved no checkpoint.
    pub resume_from: Option<ResumePoint>,
    /// The folder followed when the run is another process's (then `name` is its path).
    pub followed: Option<PathBuf>,
    runs_dir: PathBuf,
    started: bool,
    finished: bool,
}

impl RunState {
    /// No run yet; new runs go under `<dir>/runs/`.
    pub fn new(dir: &Path) -> RunState {
        RunState {
            id: None,
            name: String::new(),
            phase: Phase::Idle,
            loaded: None,
            last: None,
            history: LossHistory::default(),
            status: None,
            checkpoint: None,
            summary: None,
            error: None,
            resume_from: None,
            followed: None,
            runs_dir: runs_dir(dir),
            started: false,
            finished: false,
        }
    }

    /// A run is loading, training, paused or stopping.
    pub fn is_active(&self) -> bool {
        matches!(
            self.phase,
            Phase::Starting | Phase::Running | Phase::Paused | Phase::Stopping
        )
    }

    /// The run ended before its last step (stopped, or cut short by a crash), so it could
    /// be continued.
    pub fn stopped_early(&self) -> bool {
        self.resume_from.is_some() || self.summary.as_ref().is_some_and(|s| s.stopped)
    }

    /// This run's folder.
    fn dir(&self) -> RunDir {
        RunDir::new(self.runs_dir.join(&self.name))
    }

    /// A run reported progress in this session.
    pub fn started_here(&self) -> bool {
        self.started
    }

    /// A run completed in this session.
    pub fn finished_here(&self) -> bool {
        self.finished
    }

    /// Training tokens per second of the latest step.
    pub fn measured_tokens_per_s(&self) -> Option<f64> {
        self.last
            .as_ref()
            .map(|s| s.tokens_per_s)
            .filter(|t| *t > 0.0)
    }

    /// Seconds left in the run, from its measured speed.
    pub fn eta_s(&self) -> Option<f64> {
        let s = self.last.as_ref()?;
        let start = self.loaded.as_ref().map_or(0, |l| l.start_step);
        let done = s.step.saturating_sub(start).max(1);
        eta_s(
            s.total_steps.saturating_sub(s.step),
            s.total_tokens as f64 / done as f64,
            s.tokens_per_s,
        )
    }

    /// The newest run under `<dir>/runs/` as its `trainer_log.jsonl` recorded it, so the loss
    /// pane shows the last curve when the cockpit is reopened. No run: a fresh state.
    pub fn last_on_disk(dir: &Path) -> RunState {
        let mut state = RunState::new(dir);
        let Some((n, run)) = run_dir::newest(&state.runs_dir) else {
            return state;
        };
        if !run.log().is_file() {
            return state;
        }
        for line in run.log_lines().0 {
            let step = line.current_steps;
            if let Some(stats) = StepStats::of_line(&line) {
                state.history.push_train(step, stats.loss);
                state.last = Some(stats);
            }
            if let Some(eval_loss) = line.eval_loss {
                state.history.push_val(step, eval_loss);
            }
            if let Some(ppl) = line.probe_ppl {
                state.history.push_probe(step, ppl);
            }
            if let Some(best) = line.best_step {
                state.history.set_best_step(best);
            }
        }
        state.id = Some(n);
        state.name = run.id();
        state.resume_from = ResumePoint::find(run.path());
        // A run with a resumable checkpoint ended early even without an adapter (killed).
        if state.resume_from.is_some() || run.adapter_weights().is_file() {
            state.phase = Phase::Finished;
        }
        state
    }

    /// The next free `run-N` number under `runs/`.
    pub(super) fn next_id(&self) -> RunId {
        let shown = self.id.filter(|_| self.followed.is_none()).unwrap_or(0);
        run_dir::next_number(&self.runs_dir).max(shown + 1)
    }

    /// Following the folder `dir` as run `id`, nothing read yet.
    pub fn following(dir: &Path, id: RunId, experiment: &Path) -> RunState {
        RunState {
            id: Some(id),
            name: dir.display().to_string(),
            phase: Phase::Following,
            followed: Some(dir.to_path_buf()),
            ..RunState::new(experiment)
        }
    }
}

impl App {
    pub(super) fn run_action(&mut self, action: Action) {
        let phase = self.run.phase;
        let lang = self.lang();
        match action {
            Action::StartRun | Action::StartNewRun if self.run.is_active() => {
                self.tell(
                    lang.pick("A run is already active.", "已有训练在进行。"),
                    Mood::Neutral,
                );
            }
            Action::StartRun | Action::StartNewRun | Action::NextRun
                if phase == Phase::Following =>
            {
                // The worker is busy following: it stops, then takes the run.
                self.send(WorkerCommand::Stop);
                self.run = RunState::new(&self.dir);
                self.run_action(action);
            }
            Action::StartRun => self.start_run(self.run.resume_from),
            Action::StartNewRun => self.start_run(None),
            Action::NextRun => self.open_next_run(),
            Action::OpenRunFolder if self.run.is_active() => self.tell(
                lang.pick(
                    "A run is training: stop it (x) before following another folder.",
                    "正在训练：请先停止（x）再跟踪其他目录。",
                ),
                Mood::Neutral,
            ),
            Action::OpenRunFolder => {
                let now = self.run.followed.as_ref().map(|d| d.display().to_string());
                self.open_prompt(PromptKind::RunFolder, &now.unwrap_or_default());
            }
            Action::StopRun if phase == Phase::Following => self.send(WorkerCommand::Stop),
            Action::PauseResume | Action::SaveNow if phase == Phase::Following => self.tell(
                lang.pick(
                    "This run belongs to another process: pause it there. x stops following.",
                    "这次训练属于其他进程：请在那里暂停。按 x 停止跟踪。",
                ),
                Mood::Neutral,
            ),
            Action::PauseResume if phase == Phase::Running => self.send(WorkerCommand::Pause),
            Action::PauseResume if phase == Phase::Paused => self.send(WorkerCommand::Resume),
            Action::StopRun
                if matches!(phase, Phase::Starting | Phase::Running | Phase::Paused) =>
            {
                self.send(WorkerCommand::Stop);
                self.run.phase = Phase::Stopping;
            }
            Action::SaveNow if matches!(phase, Phase::Running | Phase::Paused) => {
                self.send(WorkerCommand::SaveNow);
            }
            Action::PauseResume | Action::StopRun | Action::SaveNow => {
                self.tell(
                    lang.pick(
                        "No run is training: s starts one.",
                        "没有正在进行的训练：按 s 开始。",
                    ),
                    Mood::Neutral,
                );
            }
            _ => self.runs_action(action),
        }
    }

    /// Asks the worker to train the experiment's preset on its split: continuing the shown
    /// run from `resume` (its checkpoint), or in a new `runs/run-N`.
    fn start_run(&mut self, resume: Option<ResumePoint>) {
        if !self.split_ready() {
            return;
        }
        let resume = resume.zip(self.run.id);
        // A run started from the next-run menu trained its own preset, not the experiment's:
        // continuing it keeps that one.
        let own = self.run.dir().origin().is_file() && resume.is_some();
        let preset = match own {
            true => Preset::load(&self.run.dir().preset()),
            false => self.exp.resolve_preset(&self.dir).map(|(p, _)| p),
        };
        let preset = match preset {
            Ok(p) => p,
            Err(e) => return self.tell(&format!("{e:#}"), Mood::Bad),
        };
        // LLaMA-Factory cannot continue from tunedeck's checkpoint: it starts a new run.
        let resume = resume.filter(|_| preset.engine == Engine::Tunedeck);
        if resume.is_some() {
            if let Some(c) = conflict(self.run.dir().path(), &preset) {
                let lang = self.lang();
                return self.tell(&cannot_continue(&self.run.name, &c, lang), Mood::Bad);
            }
        }
        self.launch(preset, resume, None);
    }

    /// The next-run menu's choice: a new run with `preset`, its `origin.json` written first.
    pub(super) fn start_next_run(&mut self, preset: Preset, origin: Origin) {
        if self.split_ready() {
            self.focus = Pane::Loss;
            self.launch(preset, None, Some(origin));
        }
    }

    /// The records are split (training reads the split); otherwise says how to split them.
    fn split_ready(&mut self) -> bool {
        if self.data.split.is_none() {
            let msg = self.lang().pick(
                "Split the records first: Dataset pane (2), then s.",
                "请先分割数据：数据窗格（2），按 s。",
            );
            self.tell(msg, Mood::Bad);
        }
        self.data.split.is_some()
    }

    /// Sends the worker the run: `resume` continues the shown run, else a new `runs/run-N`
    /// (with `origin` recorded in it before the worker hears of it).
    fn launch(
        &mut self,
        preset: Preset,
        resume: Option<(ResumePoint, RunId)>,
        origin: Option<Origin>,
    ) {
        let lang = self.lang();
        let (id, history) = match resume {
            // The steps after the checkpoint are trained again: their points go.
            Some((point, id)) => (id, self.run.history.until(point.step)),
            None => (self.run.next_id(), LossHistory::default()),
        };
        let run = RunDir::numbered(&self.run.runs_dir, id);
        let (name, out_dir) = (run.id(), run.path().to_path_buf());
        if let Some(origin) = &origin {
            let written = std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("{}: cannot create", out_dir.display()))
                .and_then(|()| origin.save(&out_dir));
            if let Err(e) = written {
                return self.tell(&format!("{e:#}"), Mood::Bad);
            }
        }
        let spec = RunSpec {
            preset,
            base_dir: self.dir.clone(),
            data_dir: data_dir(&self.dir),
            out_dir,
            resume: resume.is_some(),
            init_adapter: None,
        };
        self.send(WorkerCommand::Start {
            run_id: id,
            spec: Box::new(spec),
        });
        self.run = RunState {
            id: Some(id),
            name,
            phase: Phase::Starting,
            history,
            started: self.run.started,
            finished: self.run.finished,
            ..RunState::new(&self.dir)
        };
        let msg = match (resume, &origin, lang) {
            (Some((p, _)), _, Language::En) => format!(
                "Continuing run-{id} from its checkpoint at step {}/{}: loading the model on the worker…",
                p.step, p.total_steps
            ),
            (Some((p, _)), _, Language::Zh) => format!(
                "正在从第 {}/{} 步的检查点续训 run-{id}：后台加载模型…",
                p.step, p.total_steps
            ),
            (None, Some(o), Language::En) => format!(
                "Starting run-{id} from {} ({}): loading the model on the worker…",
                o.from,
                describe(&o.changes)
            ),
            (None, Some(o), Language::Zh) => format!(
                "正在启动 run-{id}（基于 {}：{}）：后台加载模型…",
                o.from,
                describe(&o.changes)
            ),
            (None, None, Language::En) => {
                format!("Starting run-{id}: loading the model on the worker…")
            }
            (None, None, Language::Zh) => format!("正在启动 run-{id}：后台加载模型…"),
        };
        self.tell(&msg, Mood::Neutral);
    }

    /// Follows the run folder `text` (relative to the current folder, else to the
    /// experiment's) on the worker: its log streams into the Loss pane as a run's would.
    pub(super) fn follow_folder(&mut self, text: &str) -> Result<(), String> {
        let lang = self.lang();
        let typed = Path::new(text.trim());
        let dir = [PathBuf::from(typed), self.dir.join(typed)]
            .into_iter()
            .find(|d| !typed.as_os_str().is_empty() && d.is_dir())
            .ok_or_else(|| match lang {
                Language::En => format!(
                    "{}: no such folder: give a LLaMA-Factory output_dir (the folder with trainer_log.jsonl)",
                    typed.display()
                ),
                Language::Zh => format!(
                    "{}：目录不存在：请给出 LLaMA-Factory 的 output_dir（含 trainer_log.jsonl 的目录）",
                    typed.display()
                ),
            })?;
        let id = match self.run.followed {
            Some(_) => {
                // The worker ends the current follow before it takes this one.
                self.send(WorkerCommand::Stop);
                self.run.id.map_or(FOLLOW_IDS, |id| id + 1)
            }
            None => FOLLOW_IDS,
        };
        self.send(WorkerCommand::Follow {
            run_id: id,
            dir: dir.clone(),
        });
        self.run = RunState {
            started: self.run.started,
            finished: self.run.finished,
            ..RunState::following(&dir, id, &self.dir)
        };
        self.focus = Pane::Loss;
        let msg = match lang {
            Language::En => format!(
                "Following {}: its trainer_log.jsonl streams in as it grows; x stops following.",
                dir.display()
            ),
            Language::Zh => format!(
                "正在跟踪 {}：trainer_log.jsonl 的新内容会实时显示；按 x 停止跟踪。",
                dir.display()
            ),
        };
        self.tell(&msg, Mood::Neutral);
        Ok(())
    }

    /// Takes one event from the worker. Events of any run but the current one are stale and
    /// dropped; returns whether the event was used.
    pub fn on_worker(&mut self, event: WorkerEvent) -> bool {
        if Some(event.run_id()) != self.run.id {
            return false;
        }
        let lang = self.lang();
        let r = &mut self.run;
        match event {
            WorkerEvent::Loaded { info, .. } => {
                r.loaded = Some(info);
                if r.followed.is_none() {
                    r.phase = Phase::Running;
                }
                r.status = None;
                // "Starting run-N…" has done its job.
                self.notice = None;
            }
            WorkerEvent::Status { message, .. } => r.status = Some(message),
            WorkerEvent::Step { stats, .. } => {
                r.history.push_train(stats.step, stats.loss);
                r.last = Some(stats);
                if r.phase == Phase::Starting {
                    r.phase = Phase::Running;
                }
                if !r.started && r.followed.is_none() {
                    r.started = true;
                    self.refresh_facts();
                }
            }
            WorkerEvent::Eval {
                step,
                eval_loss,
                probe_ppl,
                best_step,
                ..
            } => {
                r.history.push_val(step, eval_loss);
                if let Some(ppl) = probe_ppl {
                    r.history.push_probe(step, ppl);
                }
                r.history.set_best_step(best_step);
            }
            WorkerEvent::Checkpoint { step, .. } => {
                r.checkpoint = Some(step);
                let msg = match lang {
                    Language::En => format!("Checkpoint saved at step {step}."),
                    Language::Zh => format!("已在第 {step} 步保存检查点。"),
                };
                self.tell(&msg, Mood::Good);
            }
            WorkerEvent::Paused { .. } => r.phase = Phase::Paused,
            WorkerEvent::Resumed { .. } => r.phase = Phase::Running,
            WorkerEvent::Finished { summary, .. } => {
                r.phase = Phase::Finished;
                r.finished |= !summary.stopped && r.followed.is_none();
                r.summary = Some(summary);
                self.run_ended();
            }
            WorkerEvent::Failed { error, .. } => {
                r.phase = Phase::Failed;
                self.tell(&error, Mood::Bad);
                self.run.error = Some(error);
                self.run_ended();
            }
        }
        true
    }

    /// The worker thread has ended (a command could not be sent): the run cannot go on.
    pub fn worker_gone(&mut self) {
        if self.run.is_active() {
            self.run.phase = Phase::Failed;
            let msg = self.lang().pick(
                "The training worker has stopped; restart the cockpit to train again.",
                "训练后台已退出；请重启驾驶舱后再训练。",
            );
            self.run.error = Some(msg.to_string());
            self.tell(msg, Mood::Bad);
            self.run_ended();
        }
    }

    /// A thread other than the UI's panicked: in practice the training worker (libtorch
    /// reports errors by panicking), whose thread is now gone. The run fails with the message;
    /// a later start finds no worker and says so.
    pub fn worker_panicked(&mut self, message: &str) {
        let text = match self.lang() {
            Language::En => format!("The trainer crashed: {message}"),
            Language::Zh => format!("训练后台崩溃：{message}"),
        };
        if self.run.is_active() {
            self.run.phase = Phase::Failed;
            self.run.error = Some(text.clone());
            self.run_ended();
        }
        self.tell(&text, Mood::Bad);
    }

    fn run_ended(&mut self) {
        // A stopped or failed run that saved a checkpoint can be continued (not another
        // process's run: tunedeck cannot continue it).
        if self.run.followed.is_none() {
            self.run.resume_from = ResumePoint::find(self.run.dir().path());
        }
        self.refresh_facts();
        self.quit_if_done();
    }
}

/// Why `run` cannot continue, and the two ways out.
fn cannot_continue(run: &str, c: &Conflict, lang: Language) -> String {
    let Conflict { key, was, now } = c;
    match lang {
        Language::En => format!(
            "{run}'s checkpoint was trained with {key} = {was}, the preset now has {now}: set it back to continue {run}, or S starts a new run."
        ),
        Language::Zh => format!(
            "{run} 的检查点用 {key} = {was} 训练，参数现在是 {now}：改回原值才能续训 {run}，或按 S 开始新的训练。"
        ),
    }
}
