//! The worker thread: takes [`WorkerCommand`]s, runs the trainer, reports [`WorkerEvent`]s
//! through a sink. Pause, stop and save-now are picked up between optimizer steps.

use super::protocol::*;
use super::Sink;
use crate::train::{self, Hooks, Signal};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct WorkerHandle {
    tx: Sender<WorkerCommand>,
    join: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Send a command; false when the worker has ended.
    pub fn send(&self, cmd: WorkerCommand) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Stop any run (it saves a checkpoint), end the thread and wait for it.
    pub fn shutdown(mut self) {
        let _ = self.tx.send(WorkerCommand::Shutdown);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

pub fn spawn(sink: Sink) -> WorkerHandle {
    let (tx, rx) = channel();
    let join = std::thread::Builder::new()
        .name("tunedeck-worker".into())
        .spawn(move || worker_loop(rx, sink))
        .expect("the OS can start a thread");
    WorkerHandle {
        tx,
        join: Some(join),
    }
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
