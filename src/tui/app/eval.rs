//! Eval pane state: the finished runs to choose from, the selected run's `eval.json`, a
//! three-part test running on the jobs thread, blind A/B judging of its answers, and
//! writing the run's report (on the jobs thread too).
//!
//! The selected run is shared with the Chat pane: its adapter is the skill card there.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::App;
use crate::data::run_dir::{self, RunDir};
use crate::eval::locate::RunContext;
use crate::eval::{BlindSession, EvalReport, Part, Position};
use crate::experiment::{runs_dir, Language};
use crate::tui::action::Action;
use crate::tui::loss::Mood;
use crate::worker::jobs::{Cancel, JobCommand, JobEvent, JobId};

/// A test running on the jobs thread.
#[derive(Debug, Clone)]
pub struct ActiveEval {
    /// Its job.
    pub job: JobId,
    /// The run under test.
    pub run: String,
    /// Raised to cancel.
    pub cancel: Cancel,
    /// A model loading now.
    pub loading: Option<PathBuf>,
    /// The sealed test split has been opened (and the opening logged).
    pub unsealed: bool,
    /// The latest answer's position.
    pub progress: Option<Position>,
}

impl ActiveEval {
    /// Cancel was asked for; the job ends at its next token.
    pub fn cancelling(&self) -> bool {
        self.cancel.is_raised()
    }
}

/// Everything the Eval pane shows.
#[derive(Debug, Clone, Default)]
pub struct EvalState {
    /// Finished runs (with an adapter or a fine-tuned model), least recently trained first.
    pub runs: Vec<String>,
    /// Index into `runs`.
    pub selected: usize,
    /// The selected run's `eval.json`.
    pub report: Option<EvalReport>,
    /// Why the selected run's `eval.json` could not be read.
    pub report_error: Option<String>,
    /// The test running now.
    pub active: Option<ActiveEval>,
    /// The job writing a run's `report.md`, while it runs.
    pub report_job: Option<JobId>,
    /// The export running now.
    pub export_job: Option<super::ActiveExport>,
    /// The run whose export waits for a second e (it has not graduated).
    pub confirm_export: Option<String>,
    /// Why the last test failed.
    pub error: Option<String>,
    /// Blind judging is open.
    pub judging: bool,
    /// The question being judged (index into the blind session).
    pub item: usize,
    /// Scroll of the scores or of the answers, in lines.
    pub scroll: u16,
    /// When the shown `eval.json` was written, to notice a newer one.
    report_stamp: Option<SystemTime>,
}

impl EvalState {
    /// The selected run's name.
    pub fn selected_run(&self) -> Option<&str> {
        self.runs.get(self.selected).map(String::as_str)
    }

    /// The selected run's adapter folder, when it has one.
    pub fn selected_adapter(&self, dir: &Path) -> Option<PathBuf> {
        let run = RunDir::new(runs_dir(dir).join(self.selected_run()?));
        run.adapter_weights().is_file().then(|| run.adapter())
    }

    /// The blind session of the report shown.
    pub fn blind(&self) -> Option<&BlindSession> {
        self.report.as_ref()?.blind.as_ref()
    }

    /// Re-reads the finished runs. The selection stays on its run; when it was on the latest
    /// run (or nothing), it moves to the new latest one.
    pub fn refresh(&mut self, dir: &Path) {
        let was = self.selected_run().map(str::to_string);
        let followed_latest = self.selected + 1 >= self.runs.len();
        self.runs = run_dir::list(&runs_dir(dir))
            .iter()
            .filter(|run| finished(run))
            .map(RunDir::id)
            .collect();
        let kept = was
            .as_deref()
            .and_then(|w| self.runs.iter().position(|r| r == w));
        self.selected = match kept {
            Some(i) if !followed_latest => i,
            _ => self.runs.len().saturating_sub(1),
        };
        let moved = self.selected_run().map(str::to_string) != was;
        // A newer eval.json (from `tunedeck eval`) replaces the one shown, unless the pane
        // is busy with it.
        let newer = self.active.is_none() && !self.judging && self.stamp(dir) != self.report_stamp;
        if moved || newer {
            self.load_report(dir);
        }
    }

    /// The selected run's `eval.json`.
    fn report_path(&self, dir: &Path) -> Option<PathBuf> {
        Some(RunDir::new(runs_dir(dir).join(self.selected_run()?)).eval())
    }

    /// When the selected run's `eval.json` was written, if it exists.
    fn stamp(&self, dir: &Path) -> Option<SystemTime> {
        std::fs::metadata(self.report_path(dir)?)
            .and_then(|m| m.modified())
            .ok()
    }

    /// Shows `report`, just written to the selected run's `eval.json`.
    fn show(&mut self, report: EvalReport, dir: &Path) {
        self.report = Some(report);
        self.report_error = None;
        self.report_stamp = self.stamp(dir);
        (self.judging, self.item, self.scroll) = (false, 0, 0);
    }

    /// Shows the selected run's `eval.json`, if it has one.
    fn load_report(&mut self, dir: &Path) {
        (self.report, self.report_error) = (None, None);
        (self.judging, self.item, self.scroll) = (false, 0, 0);
        self.report_stamp = self.stamp(dir);
        let Some(path) = self.report_path(dir) else {
            return;
        };
        if path.is_file() {
            match EvalReport::load(&path) {
                Ok(r) => self.report = Some(r),
                Err(e) => self.report_error = Some(format!("{e:#}")),
            }
        }
    }
}

/// A run that produced something to test: `adapter/` or, after full fine-tuning, `model/`.
fn finished(run: &RunDir) -> bool {
    run.adapter_weights().is_file() || run.model().join("config.json").is_file()
}

impl App {
    pub(super) fn eval_action(&mut self, action: Action) {
        let lang = self.lang();
        match action {
            Action::StartEval => self.start_eval(),
            Action::CancelJob => match &self.eval.active {
                Some(a) if !a.cancelling() => {
                    a.cancel.raise();
                    let msg = lang.pick("Cancelling the test…", "正在取消测试…");
                    self.tell(msg, Mood::Neutral);
                }
                Some(_) => {}
                None => self.tell(
                    lang.pick("No test is running.", "没有正在运行的测试。"),
                    Mood::Neutral,
                ),
            },
            Action::Judge => self.open_judging(),
            Action::NextPair => self.next_pair(),
            Action::WriteReport => self.write_report(),
            Action::Export => self.start_export(),
            Action::NextRun => self.open_next_run(),
            Action::Increase | Action::Decrease => self.select_run(action),
            Action::DetailDown => self.eval.scroll = self.eval.scroll.saturating_add(3),
            Action::DetailUp => self.eval.scroll = self.eval.scroll.saturating_sub(3),
            _ => {}
        }
    }

    /// ←/→ in the Eval and Chat panes: the previous or next finished run.
    pub(super) fn select_run(&mut self, action: Action) {
        let e = &mut self.eval;
        if e.runs.is_empty() {
            let msg = self.lang().pick(
                "No finished run yet: train one in the Loss pane (4).",
                "还没有完成的训练：请在损失窗格（4）训练一次。",
            );
            return self.tell(msg, Mood::Neutral);
        }
        let next = match action {
            Action::Increase => (e.selected + 1).min(e.runs.len() - 1),
            _ => e.selected.saturating_sub(1),
        };
        if next != e.selected {
            e.selected = next;
            e.confirm_export = None;
            e.load_report(&self.dir);
        }
    }

    /// Starts the three-part test of the selected run on the jobs thread, with the settings
    /// and files `tunedeck eval EXPERIMENT --run RUN` uses.
    fn start_eval(&mut self) {
        let lang = self.lang();
        if let Some(busy) = self.busy() {
            return self.tell(busy, Mood::Neutral);
        }
        let Some(run) = self.eval.selected_run().map(str::to_string) else {
            let msg = lang.pick(
                "No finished run to test: train one in the Loss pane (4) first.",
                "没有可测试的训练结果：请先在损失窗格（4）完成一次训练。",
            );
            return self.tell(msg, Mood::Bad);
        };
        let ctx = match RunContext::open(&self.dir, Some(&run)) {
            Ok(ctx) => ctx,
            Err(e) => return self.tell(&format!("{e:#}"), Mood::Bad),
        };
        if let Err(e) = ctx.tuned().check() {
            return self.tell(&format!("{e:#}"), Mood::Bad);
        }
        let spec = Box::new(ctx.eval_spec());
        let out = ctx.run.eval();
        let (job, cancel) = self.jobs.next();
        self.jobs.send(JobCommand::Eval {
            job,
            spec,
            out,
            cancel: cancel.clone(),
        });
        self.eval.active = Some(ActiveEval {
            job,
            run: run.clone(),
            cancel,
            loading: None,
            unsealed: false,
            progress: None,
        });
        self.eval.error = None;
        self.eval.judging = false;
        let msg = match lang {
            Language::En => format!("Testing {run}: the jobs thread loads the models…"),
            Language::Zh => format!("正在测试 {run}：后台加载模型…"),
        };
        self.tell(&msg, Mood::Neutral);
    }

    /// w in the Eval pane: writes the selected run's `report.md` and `loss.png` on the jobs
    /// thread, as `tunedeck report EXPERIMENT --run RUN` does.
    fn write_report(&mut self) {
        let lang = self.lang();
        if let Some(busy) = self.busy() {
            return self.tell(busy, Mood::Neutral);
        }
        let Some(run) = self.eval.selected_run().map(str::to_string) else {
            let msg = lang.pick(
                "No finished run to report on: train one in the Loss pane (4) first.",
                "没有可写报告的训练结果：请先在损失窗格（4）完成一次训练。",
            );
            return self.tell(msg, Mood::Neutral);
        };
        // Nothing to cancel: the job reads a few files and draws one plot.
        let (job, _) = self.jobs.next();
        self.jobs.send(JobCommand::Report {
            job,
            dir: self.dir.clone(),
            run: run.clone(),
        });
        self.eval.report_job = Some(job);
        let msg = match lang {
            Language::En => format!("Writing the report of {run}…"),
            Language::Zh => format!("正在写出 {run} 的报告…"),
        };
        self.tell(&msg, Mood::Neutral);
    }

    /// The report job's end.
    pub(super) fn on_report_event(&mut self, event: JobEvent) {
        let lang = self.lang();
        match event {
            JobEvent::Reported { written, .. } => {
                self.eval.report_job = None;
                let shown = written
                    .report
                    .strip_prefix(&self.dir)
                    .unwrap_or(&written.report);
                let next = written.next.title(lang);
                let msg = match lang {
                    Language::En => {
                        format!("Wrote {} and loss.png · next step: {next}", shown.display())
                    }
                    Language::Zh => {
                        format!("已写出 {} 和 loss.png · 下一步：{next}", shown.display())
                    }
                };
                self.tell(&msg, Mood::Good);
                // report.md now exists: the plan's retrospective ticks itself.
                self.refresh_facts();
            }
            JobEvent::Failed { error, .. } => {
                self.eval.report_job = None;
                self.tell(&error, Mood::Bad);
            }
            // A report job sends nothing else.
            _ => {}
        }
    }

    /// One event of the running test.
    pub(super) fn on_eval_event(&mut self, event: JobEvent) {
        let lang = self.lang();
        let Some(active) = self.eval.active.as_mut() else {
            return;
        };
        match event {
            JobEvent::Loading { path, .. } => active.loading = Some(path),
            JobEvent::Unsealed { .. } => {
                active.loading = None;
                active.unsealed = true;
            }
            JobEvent::Answered { at, .. } => {
                active.loading = None;
                active.progress = Some(at);
            }
            JobEvent::Evaluated { report, .. } => {
                let run = active.run.clone();
                self.eval.active = None;
                let msg = verdict_line(&run, &report, lang);
                let mood = if report.graduated {
                    Mood::Good
                } else {
                    Mood::Warn
                };
                if self.eval.selected_run() == Some(run.as_str()) {
                    self.eval.show(*report, &self.dir);
                }
                self.tell(&msg, mood);
                // eval.json now exists: the plan's "three-part test" item ticks itself.
                self.refresh_facts();
                self.quit_if_done();
            }
            JobEvent::Cancelled { .. } => {
                let unsealed = active.unsealed;
                self.eval.active = None;
                let msg = match (unsealed, lang) {
                    (false, _) => lang.pick(
                        "Test cancelled; nothing was written.",
                        "测试已取消，未写入任何结果。",
                    ),
                    (true, Language::En) => {
                        "Test cancelled; no results written (the test split's unsealing stays logged)."
                    }
                    (true, Language::Zh) => "测试已取消，未写入结果（测试集的启封记录保留）。",
                };
                self.tell(msg, Mood::Neutral);
                self.quit_if_done();
            }
            JobEvent::Failed { error, .. } => {
                self.eval.active = None;
                self.tell(&error, Mood::Bad);
                self.eval.error = Some(error);
                self.quit_if_done();
            }
            JobEvent::Sources { .. }
            | JobEvent::Token { .. }
            | JobEvent::Replied { .. }
            | JobEvent::Reported { .. }
            | JobEvent::Exporting { .. }
            | JobEvent::Exported { .. }
            | JobEvent::Inspecting { .. }
            | JobEvent::Inspected { .. }
            | JobEvent::Split { .. } => {}
        }
    }

    /// Writes the shown report (with its judging) back to the selected run's `eval.json`.
    pub(super) fn save_eval(&mut self) {
        let (Some(report), Some(path)) = (&self.eval.report, self.eval.report_path(&self.dir))
        else {
            return;
        };
        match report.save(&path) {
            Ok(()) => self.eval.report_stamp = self.eval.stamp(&self.dir),
            Err(e) => self.tell(&format!("{e:#}"), Mood::Bad),
        }
    }
}

/// "run-2: graduated — all three parts passed." / "run-2: not graduated (guard failed)."
pub fn verdict_line(run: &str, r: &EvalReport, lang: Language) -> String {
    let failed: Vec<&str> = r
        .failed_parts()
        .into_iter()
        .map(|p| part_name(p, lang))
        .collect();
    match (r.graduated, lang) {
        (true, Language::En) => format!("{run}: graduated — all three parts passed."),
        (true, Language::Zh) => format!("{run}：毕业——三部分全部通过。"),
        (false, Language::En) => format!("{run}: not graduated ({} failed).", failed.join(", ")),
        (false, Language::Zh) => format!("{run}：未毕业（{}未通过）。", failed.join("、")),
    }
}

/// A part's name in the interface language.
pub fn part_name(part: Part, lang: Language) -> &'static str {
    part.label(lang)
}
