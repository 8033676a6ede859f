//! The worker thread: takes [`WorkerCommand`]s, runs the trainer, reports [`WorkerEvent`]s
//! through a sink. Pause, stop and save-now are picked up between optimizer steps.

use super::handle::{Command, Handle};
use super::protocol::*;
use super::Sink;
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
    fn handle(&mut self, cmd: WorkerCommand, paused: &mut bool) -> Option<Signal> {
        match cmd {
            WorkerCommand::Stop => Some(Signal::Stop),
            WorkerCommand::Shutdown => {
                self.shutdown = true;
                Some(Signal::Stop)
            }
            WorkerCommand::SaveNow => Some(Signal::SaveNow),
            WorkerCommand::Pause if !*paused => {
                *paused = true;
                (self.sink)(WorkerEvent::Paused {
                    run_id: self.run_id,
                });
                None
            }
            WorkerCommand::Resume if *paused => {
                *paused = false;
                (self.sink)(WorkerEvent::Resumed {
                    run_id: self.run_id,
                });
                None
            }
            WorkerCommand::Start { run_id, .. } => {
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

    fn poll(&mut self) -> Signal {
        let mut paused = false;
        let mut signal = Signal::Continue;
        loop {
            let next = if paused {
                match self.rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return Signal::Stop,
                }
            } else {
                self.rx.try_recv().ok()
            };
            let Some(cmd) = next else { return signal };
            match self.handle(cmd, &mut paused) {
                Some(Signal::Stop) => return Signal::Stop,
                Some(s) => signal = s,
                None => {}
            }
        }
    }
}

fn worker_loop(rx: Receiver<WorkerCommand>, sink: Sink) {
    while let Ok(cmd) = rx.recv() {
        match cmd {
            WorkerCommand::Start { run_id, spec } => {
                let mut hooks = RunHooks {
                    run_id,
                    rx: &rx,
                    sink: &sink,
                    shutdown: false,
                };
                if let Err(e) = train::run(run_id, &spec, &mut hooks) {
                    sink(WorkerEvent::Failed {
                        run_id,
                        error: format!("{e:#}"),
                    });
                }
                if hooks.shutdown {
                    return;
                }
            }
            WorkerCommand::Shutdown => return,
            // Nothing is running: pause/resume/stop/save-now have nothing to act on.
            _ => {}
        }
    }
}
