//! A LLaMA-Factory run driven like tunedeck's own trainer, through the same [`Hooks`]: the
//! worker thread (the cockpit) and `tunedeck train --engine llamafactory` (the CLI) both call
//! [`train`], so both get the same events from the child's `trainer_log.jsonl`, the same stop
//! (SIGTERM to the child's process group, checkpoints kept) and pause (SIGSTOP / SIGCONT).
//! [`follow`] reports a run folder some other process writes, with the same events.

use super::child::{self, Running};
use super::follow::LogFollower;
use super::{Job, Topology};
use crate::data::{LogLine, RunDir};
use crate::train::events::{LoadedInfo, RunId, RunSpec, RunSummary, StepStats, WorkerEvent};
use crate::train::{Hooks, Signal};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the log and the child are looked at.
const POLL: Duration = Duration::from_millis(300);
/// The files LLaMA-Factory writes when a training run has ended.
pub const END_MARKERS: [&str; 2] = ["train_results.json", "all_results.json"];
/// What the Loss pane shows as the device of a LLaMA-Factory run.
const DEVICE: &str = "LLaMA-Factory";

/// Turns a followed log's new lines into the events tunedeck's trainer sends, so a front end
/// shows either kind of run the same way.
pub struct LogEvents {
    run_id: RunId,
    /// What `Loaded` names as the model.
    model: String,
    loaded: bool,
    /// The lowest validation loss so far and its step.
    best: Option<(u64, f64)>,
    /// The highest `checkpoint-N` reported.
    checkpoint: Option<u64>,
}

impl LogEvents {
    /// Events of run `run_id`, training `model`.
    pub fn new(run_id: RunId, model: &str) -> LogEvents {
        LogEvents {
            run_id,
            model: model.to_string(),
            loaded: false,
            best: None,
            checkpoint: None,
        }
    }

    /// The events that `lines` (newly read, in order) stand for.
    pub fn of(&mut self, lines: &[LogLine]) -> Vec<WorkerEvent> {
        let run_id = self.run_id;
        let mut out = Vec::new();
        for line in lines {
            let step = line.current_steps;
            if !self.loaded {
                self.loaded = true;
                out.push(WorkerEvent::Loaded {
                    run_id,
                    info: LoadedInfo {
                        model: self.model.clone(),
                        device: DEVICE.into(),
                        trainable_params: 0,
                        total_params: 0,
                        train_sequences: 0,
                        val_sequences: 0,
                        total_steps: line.total_or_step(),
                        start_step: 0,
                    },
                });
            }
            if let Some(stats) = StepStats::of_line(line) {
                out.push(WorkerEvent::Step { run_id, stats });
            }
            if let Some(eval_loss) = line.eval_loss {
                if self.best.is_none_or(|(_, b)| eval_loss < b) {
                    self.best = Some((step, eval_loss));
                }
                out.push(WorkerEvent::Eval {
                    run_id,
                    step,
                    eval_loss,
                    probe_ppl: line.probe_ppl,
                    best_step: line.best_step.or(self.best.map(|b| b.0)).unwrap_or(step),
                });
            }
        }
        out
    }

    /// A `Checkpoint` event when `dir` holds a newer `checkpoint-N` than reported so far.
    pub fn checkpoint(&mut self, dir: &Path) -> Option<WorkerEvent> {
        let (step, path) = child::latest_checkpoint(dir)?;
        if self.checkpoint.is_some_and(|c| c >= step) {
            return None;
        }
        self.checkpoint = Some(step);
        Some(WorkerEvent::Checkpoint {
            run_id: self.run_id,
            step,
            path,
        })
    }
}

/// Sends `events`; false when nobody listens any more.
fn send(hooks: &mut dyn Hooks, events: Vec<WorkerEvent>) -> bool {
    events.into_iter().all(|e| hooks.event(e))
}

/// Trains `spec` with `llamafactory-cli train`: the preset and split exported into
/// `<run>/llamafactory/`, the child writing into the run folder, its log reported as events,
/// and its adapter (the final one, or the latest checkpoint's when stopped) copied into
/// `<run>/adapter/`. No `llamafactory-cli` on PATH: an error saying how to install it, and no
/// run folder.
pub fn train(run_id: RunId, spec: &RunSpec, hooks: &mut dyn Hooks) -> Result<RunSummary> {
    let cli = child::find_cli(std::env::var_os("PATH").as_deref())?;
    let run = &spec.out_dir;
    std::fs::create_dir_all(run).with_context(|| format!("{}: cannot create", run.display()))?;
    let run = run
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", run.display()))?;
    let export_dir = run.join("llamafactory");
    let output_dir = run.display().to_string();
    let job = Job {
        preset: &spec.preset,
        base_dir: &spec.base_dir,
        split: &spec.data_dir,
        output_dir: &output_dir,
        topology: Topology::default(),
    };
    let export = super::export(&job)?;
    for u in &export.unmapped {
        let message = format!(
            "warning: {} = {} has no LLaMA-Factory counterpart and is not applied: {}",
            u.key, u.value, u.why
        );
        hooks.event(WorkerEvent::Status { run_id, message });
    }
    super::write(&export_dir, &export)?;
    spec.preset.save(&RunDir::new(&run).preset())?;
    let message = format!(
        "run: {} (LLaMA-Factory, config in {})",
        run.display(),
        export_dir.display()
    );
    hooks.event(WorkerEvent::Status { run_id, message });
    let mut child = child::spawn(&cli, &export_dir, &run)?;
    let mut events = LogEvents::new(run_id, &spec.preset.model);
    let (status, stopped) = drive(&mut child, &mut events, &run, hooks)?;
    let log = child.follower.log().clone();
    if !status.success() && !stopped {
        let lines = child.last_lines();
        child::mark_failed(&run, &status.to_string(), &lines)?;
        bail!(
            "llamafactory-cli train failed ({status}); its last lines:\n  {}\nthe whole output is in {}; the run is marked failed ({})",
            lines.join("\n  "),
            run.join(child::CHILD_LOG).display(),
            run.join(child::FAILED).display()
        );
    }
    let home = child::bring_home(&run, &run)?;
    let message = format!("adapter from {}", home.from.display());
    hooks.event(WorkerEvent::Status { run_id, message });
    let summary = summary(&log, home.adapter_dir, stopped);
    hooks.event(WorkerEvent::Finished {
        run_id,
        summary: summary.clone(),
    });
    Ok(summary)
}

/// Reports the child's log until it ends; a stop (or a front end gone) becomes SIGTERM to its
/// group, a pause SIGSTOP and a resume SIGCONT. Returns its exit status and whether it was
/// stopped.
fn drive(
    child: &mut Running,
    events: &mut LogEvents,
    run: &Path,
    hooks: &mut dyn Hooks,
) -> Result<(std::process::ExitStatus, bool)> {
    let mut stopped = false;
    loop {
        let signal = hooks.poll_pausing(&mut |paused| child.pause(paused));
        let done = child.try_wait()?.is_some();
        let (lines, _) = child.follower.poll_lines()?;
        let mut new = events.of(&lines);
        new.extend(events.checkpoint(run));
        let listened = send(hooks, new);
        if (signal == Signal::Stop || !listened) && !stopped {
            child.stop();
            stopped = true;
        }
        if done {
            let status = child.wait()?;
            let (lines, _) = child.follower.poll_lines()?;
            send(hooks, events.of(&lines));
            return Ok((status, stopped));
        }
        std::thread::sleep(POLL);
    }
}

/// How a run whose log reads `log` ended.
fn summary(
    log: &crate::eval::loss_log::LossLog,
    adapter_dir: PathBuf,
    stopped: bool,
) -> RunSummary {
    RunSummary {
        steps: log.steps.map_or(0, |s| s.0),
        final_loss: log.train.last().map(|p| p.1),
        initial_eval_loss: log.val.first().map(|p| p.1),
        final_eval_loss: log.val.last().map(|p| p.1),
        elapsed_s: log.elapsed_s.unwrap_or(0.0),
        adapter_dir,
        stopped,
        // LLaMA-Factory's adapter is the last step's, not the best validation loss's.
        best_step: None,
        early_stopped: false,
    }
}

/// Follows the run folder `dir` that some other process writes (LLaMA-Factory's
/// `output_dir`, here or on a shared filesystem), reporting its log as a run's events until
/// LLaMA-Factory marks it ended, or a stop. Nothing is written and no process is signalled.
pub fn follow(run_id: RunId, dir: &Path, hooks: &mut dyn Hooks) -> Result<RunSummary> {
    if !dir.is_dir() {
        bail!(
            "{}: no such folder: give the output_dir of a LLaMA-Factory run (the folder that \
             holds or will hold trainer_log.jsonl)",
            dir.display()
        );
    }
    let mut follower = LogFollower::in_dir(dir);
    let name = dir.display().to_string();
    let mut events = LogEvents::new(run_id, &name);
    let stopped = loop {
        let signal = hooks.poll();
        let ended = END_MARKERS.iter().any(|m| dir.join(m).is_file());
        let (lines, _) = follower.poll_lines()?;
        let mut new = events.of(&lines);
        new.extend(events.checkpoint(dir));
        if !send(hooks, new) || signal == Signal::Stop {
            break true;
        }
        if ended {
            break false;
        }
        std::thread::sleep(POLL);
    };
    let summary = summary(follower.log(), dir.to_path_buf(), stopped);
    hooks.event(WorkerEvent::Finished {
        run_id,
        summary: summary.clone(),
    });
    Ok(summary)
}
