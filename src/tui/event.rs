//! The one event queue: terminal input, clock ticks, trainer events and job events (tests,
//! chat) arrive as [`Event`]s on a single channel, each source on its own thread, so the
//! loop waits in one place.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::worker::jobs::JobEvent;
use crate::worker::WorkerEvent;

/// Something for the loop to handle.
#[derive(Debug)]
pub enum Event {
    /// A key, a resize, ...
    Input(crossterm::event::Event),
    /// The clock: save pending edits, move "today".
    Tick,
    /// Progress from the training worker.
    Worker(WorkerEvent),
    /// A thread other than the UI's panicked (in practice the trainer: libtorch reports
    /// errors by panicking); the text says which thread, where and why.
    Panicked(String),
    /// Progress of a test or a chat answer.
    Job(JobEvent),
}

/// How long the input thread blocks before checking `stop`.
const POLL: Duration = Duration::from_millis(50);

/// Reads terminal events until `stop` is set or the loop is gone.
pub fn spawn_input(tx: Sender<Event>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tunedeck-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // Polling with a timeout (not a blocking read) lets the thread notice `stop`
                // and end before the terminal is restored.
                match crossterm::event::poll(POLL) {
                    Ok(true) => match crossterm::event::read() {
                        Ok(e) => {
                            if tx.send(Event::Input(e)).is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    },
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
        })
}

/// Sends a [`Event::Tick`] every `every` until `stop` is set or the loop is gone.
pub fn spawn_ticker(
    tx: Sender<Event>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tunedeck-tick".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                if tx.send(Event::Tick).is_err() {
                    return;
                }
            }
        })
}
