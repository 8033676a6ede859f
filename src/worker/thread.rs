//! The worker thread: takes [`WorkerCommand`]s, runs the trainer the preset names (tunedeck's
//! own, or LLaMA-Factory as a child process) or follows a run folder, and reports
//! [`WorkerEvent`]s through a sink. Pause, stop and save-now are picked up between steps.

use super::handle::{Command, Handle};
use super::protocol::*;
use super::Sink;
use crate::engine::llamafactory;
use crate::preset::Engine;
use crate::train::{self, Hooks, Signal};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// The trainer thread; shutting it down stops any run, which saves a checkpoint.
pub type WorkerHandle = Handle<WorkerCommand>;

impl Command for WorkerCommand {
    fn shutdown() -> Self {
        WorkerCommand::Shutdown
    }
}

/// Starts the trainer thread, reporting to `sink`.
pub fn spawn(sink: Sink) -> WorkerHandle {
    Handle::spawn("tunedeck-worker", move |rx| worker_loop(rx, sink))
        .expect("the OS can start a thread")
}

struct RunHooks<'a> {
    run_id: RunId,
    rx: &'a Receiver<WorkerCommand>,
    sink: &'a Sink,
    shutdown: bool,
}

impl RunHooks<'_> {
    /// Handle one command that arrived during a run.
    fn handle(
        &mut self,
        cmd: WorkerCommand,
        paused: &mut bool,
        pause: &mut dyn FnMut(bool),
    ) -> Option<Signal> {
        match cmd {
            WorkerCommand::Stop => Some(Signal::Stop),
            WorkerCommand::Shutdown => {
                self.shutdown = true;
                Some(Signal::Stop)
            }
            WorkerCommand::SaveNow => Some(Signal::SaveNow),
            WorkerCommand::Pause if !*paused => {
                *paused = true;
                pause(true);
                (self.sink)(WorkerEvent::Paused {
                    run_id: self.run_id,
                });
                None
            }
            WorkerCommand::Resume if *paused => {
                *paused = false;
                pause(false);
                (self.sink)(WorkerEvent::Resumed {
                    run_id: self.run_id,
                });
                None
            }
            WorkerCommand::Start { run_id, .. } | WorkerCommand::Follow { run_id, .. } => {
                (self.sink)(WorkerEvent::Failed {
                    run_id,
                    error: "a run is already active".into(),
                });
                None
            }
            _ => None,
        }
    }
}

impl Hooks for RunHooks<'_> {
    fn event(&mut self, e: WorkerEvent) -> bool {
        (self.sink)(e)
    }

    fn poll_pausing(&mut self, pause: &mut dyn FnMut(bool)) -> Signal {
        let mut paused = false;
        let mut signal = Signal::Continue;
        loop {
            let next = if paused {
                match self.rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => {
                        pause(false);
                        return Signal::Stop;
                    }
                }
            } else {
                self.rx.try_recv().ok()
            };
            let Some(cmd) = next else { return signal };
            match self.handle(cmd, &mut paused, pause) {
                Some(Signal::Stop) => {
                    if paused {
                        // A stopped process must run again to act on its stop.
                        pause(false);
                    }
                    return Signal::Stop;
                }
                Some(s) => signal = s,
                None => {}
            }
        }
    }
}

fn worker_loop(rx: Receiver<WorkerCommand>, sink: Sink) {
    while let Ok(cmd) = rx.recv() {
        let shutdown = match cmd {
            WorkerCommand::Start { run_id, spec } => {
                drive(&rx, &sink, run_id, |hooks| match spec.preset.engine {
                    Engine::Tunedeck => train::run(run_id, &spec, hooks),
                    Engine::Llamafactory => llamafactory::run::train(run_id, &spec, hooks),
                })
            }
            WorkerCommand::Follow { run_id, dir } => drive(&rx, &sink, run_id, |hooks| {
                llamafactory::run::follow(run_id, &dir, hooks)
            }),
            WorkerCommand::Shutdown => true,
            // Nothing is running: pause/resume/stop/save-now have nothing to act on.
            _ => false,
        };
        if shutdown {
            return;
        }
    }
}

/// Runs `work` (a run, or a followed folder) as run `run_id` with the commands that arrive
/// meanwhile; an error is reported as `Failed`. Returns whether a shutdown was asked.
fn drive(
    rx: &Receiver<WorkerCommand>,
    sink: &Sink,
    run_id: RunId,
    work: impl FnOnce(&mut dyn Hooks) -> anyhow::Result<RunSummary>,
) -> bool {
    let mut hooks = RunHooks {
        run_id,
        rx,
        sink,
        shutdown: false,
    };
    if let Err(e) = work(&mut hooks) {
        sink(WorkerEvent::Failed {
            run_id,
            error: format!("{e:#}"),
        });
    }
    hooks.shutdown
}
