//! One background thread, whichever work it does: commands are submitted over a channel and
//! taken one at a time, progress and results go out through a [`Sink`](super::Sink), a job
//! is cancelled cooperatively, and shutting down lets the current job end before joining.
//! The trainer thread ([`super::spawn`]) and the jobs thread ([`super::jobs::spawn`]) are both
//! one of these.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The commands of a background thread.
pub trait Command: Send + 'static {
    /// The command that ends the thread once its current job is over.
    fn shutdown() -> Self;
}

/// A running background thread that takes commands of type `C`.
pub struct Handle<C: Command> {
    tx: Sender<C>,
    join: Option<JoinHandle<()>>,
}

impl<C: Command> Handle<C> {
    /// Starts the thread `name`, which runs `serve` on the commands submitted to the handle
    /// until `serve` returns.
    pub fn spawn(
        name: &str,
        serve: impl FnOnce(Receiver<C>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let join = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || serve(rx))?;
        Ok(Self {
            tx,
            join: Some(join),
        })
    }

    /// Submits a command; false when the thread has ended.
    pub fn send(&self, cmd: C) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Asks the thread to end after its current job (cancel that first to hurry it) and
    /// waits for it.
    pub fn shutdown(mut self) {
        let _ = self.tx.send(C::shutdown());
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// A job's cancel flag: the front end raises it, the job checks it between steps (tokens,
/// records, tensors) and ends early. Clones share the flag; it reads as the `AtomicBool` the
/// engine's functions take.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl std::ops::Deref for Cancel {
    type Target = AtomicBool;

    fn deref(&self) -> &AtomicBool {
        &self.0
    }
}

impl Cancel {
    /// Asks the job to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the job was asked to stop.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Progress that a job reports at most `steps` times over its whole length, however many
/// items it has: one event per item would flood the front end's queue.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    steps: usize,
    last: usize,
}

impl Throttle {
    /// At most `steps` reports (plus the last one).
    pub fn new(steps: usize) -> Self {
        Self {
            steps: steps.max(1),
            last: 0,
        }
    }

    /// Whether `done` of `total` is worth reporting: each `1/steps` of the way, and the end.
    pub fn due(&mut self, done: usize, total: usize) -> bool {
        let step = done * self.steps / total.max(1);
        if done >= total || self.last != step {
            self.last = step;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_reports_a_bounded_number_of_times_and_always_the_end() {
        let mut t = Throttle::new(50);
        let due: Vec<usize> = (1..=10_000).filter(|&d| t.due(d, 10_000)).collect();
        assert!(due.len() <= 51, "{}", due.len());
        assert_eq!(due.last(), Some(&10_000));
        let mut t = Throttle::new(50);
        let small: Vec<usize> = (1..=3).filter(|&d| t.due(d, 3)).collect();
        assert_eq!(small, [1, 2, 3], "few items: each one");
    }

    #[test]
    fn a_thread_takes_commands_until_shutdown_and_is_joined() {
        enum Cmd {
            Add(usize),
            Stop,
        }
        impl Command for Cmd {
            fn shutdown() -> Self {
                Cmd::Stop
            }
        }
        let (tx, rx) = channel();
        let h = Handle::spawn("test-handle", move |cmds: Receiver<Cmd>| {
            let mut sum = 0;
            while let Ok(Cmd::Add(n)) = cmds.recv() {
                sum += n;
            }
            tx.send(sum).unwrap();
        })
        .unwrap();
        assert!(h.send(Cmd::Add(2)) && h.send(Cmd::Add(3)));
        h.shutdown();
        assert_eq!(rx.recv().unwrap(), 5);
    }
}
