//! The cockpit's main loop: open the experiment, start the worker, the jobs threads (tests,
//! chat, reports and exports; the dataset's check and split) and the event sources, take over the terminal, handle events in bounded batches
//! and redraw on change at most every [`FRAME`]; then restore the terminal and only after
//! that stop and join the threads.

use std::panic::PanicHookInfo;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{Event as Term, KeyEventKind};
use ratatui::DefaultTerminal;

use super::app::App;
use super::event::{spawn_input, spawn_ticker, Event};
use super::keymap;
use super::ui;
use crate::experiment::Date;
use crate::worker::jobs::{self, JobCommand, JobsHandle};
use crate::worker::{Sink, WorkerCommand};

/// Shortest time between two redraws (about 30 frames per second).
pub const FRAME: Duration = Duration::from_millis(33);
/// Events handled before the loop considers drawing again, so a flood of training steps
/// cannot starve the keyboard.
pub const BATCH: usize = 256;
/// Clock tick: pending edits are saved at this pace.
pub const TICK: Duration = Duration::from_millis(250);

/// `TUNEDECK_PANIC_ON_KEY=F12` makes that key (named as help names keys) panic on the UI
/// thread. It exists only so the end-to-end test (tests/tui_tmux.rs) can prove, in a real
/// terminal, that a panic leaves the terminal usable; users have no reason to set it. Read
/// once at start-up.
pub const PANIC_ON_KEY: &str = "TUNEDECK_PANIC_ON_KEY";

/// What the loop needs from the training worker.
pub trait Worker {
    /// Sends a command; false when the worker has ended.
    fn send(&self, cmd: WorkerCommand) -> bool;
    /// Stops any run (saving it), ends the worker and waits for it.
    fn shutdown(self: Box<Self>);
}

impl Worker for crate::worker::WorkerHandle {
    fn send(&self, cmd: WorkerCommand) -> bool {
        crate::worker::WorkerHandle::send(self, cmd)
    }

    fn shutdown(self: Box<Self>) {
        crate::worker::WorkerHandle::shutdown(*self)
    }
}

/// Runs the cockpit on the experiment in `dir` until the user quits. `spawn` starts the
/// worker with the sink its events go to.
pub fn run(dir: &Path, spawn: impl FnOnce(Sink) -> Box<dyn Worker>) -> Result<()> {
    // Open before touching the terminal, so a bad experiment.toml prints as a plain error.
    let mut app = App::open(dir, local_today())?;
    let panic_key = std::env::var(PANIC_ON_KEY).ok();
    let (tx, rx) = mpsc::channel();
    let jobs = JobThreads::spawn(&tx).context("cannot start the jobs threads")?;
    let worker_tx = tx.clone();
    let worker = spawn(Box::new(move |e| worker_tx.send(Event::Worker(e)).is_ok()));
    let stop = Arc::new(AtomicBool::new(false));
    // try_init installs ratatui's panic hook, which restores the terminal before the
    // panic message prints; route_panics keeps it for the UI thread only.
    let mut terminal = ratatui::try_init().context("cannot take over the terminal")?;
    route_panics(std::thread::current().id(), tx.clone());
    let threads = [
        spawn_input(tx.clone(), stop.clone()),
        spawn_ticker(tx, TICK, stop.clone()),
    ];
    let mut panics = Vec::new();
    let result = match threads.iter().find_map(|t| t.as_ref().err()) {
        Some(e) => Err(anyhow::anyhow!("cannot start the event threads: {e}")),
        None => event_loop(
            &mut terminal,
            &mut app,
            &rx,
            worker.as_ref(),
            &jobs,
            panic_key.as_deref(),
            &mut panics,
        ),
    };
    app.save();
    app.cancel_jobs();
    ratatui::restore();
    stop.store(true, Ordering::Relaxed);
    // Other threads' panics, the ones the loop showed and any it did not get to, now on the
    // restored screen.
    panics.extend(rx.try_iter().filter_map(|e| match e {
        Event::Panicked(message) => Some(message),
        _ => None,
    }));
    for message in &panics {
        eprintln!("tunedeck: {message}");
    }
    // Dropping the queue makes the worker's sends fail: it saves and ends its run.
    drop(rx);
    if app.run.is_active() {
        eprintln!(
            "tunedeck: stopping {} and saving a checkpoint…",
            app.run.name
        );
    }
    worker.shutdown();
    jobs.shutdown();
    for t in threads.into_iter().flatten() {
        let _ = t.join();
    }
    // Panics from here on print as usual.
    drop(std::panic::take_hook());
    if app.has_unsaved() {
        eprintln!("tunedeck: warning: some changes could not be saved to experiment.toml");
    }
    result
}

/// The jobs threads: one for tests, chat, reports and exports, one for the dataset's check
/// and split, so that those never wait behind a test that runs for minutes.
struct JobThreads {
    jobs: JobsHandle,
    data: JobsHandle,
}

impl JobThreads {
    fn spawn(tx: &Sender<Event>) -> std::io::Result<JobThreads> {
        let start = || {
            let tx = tx.clone();
            jobs::spawn(Box::new(move |e| tx.send(Event::Job(e)).is_ok()))
        };
        Ok(JobThreads {
            jobs: start()?,
            data: start()?,
        })
    }

    /// Queues a command on its thread; false when that thread has ended.
    fn send(&self, cmd: JobCommand) -> bool {
        if cmd.is_dataset() {
            self.data.send(cmd)
        } else {
            self.jobs.send(cmd)
        }
    }

    /// Ends both threads after their current jobs and waits for them.
    fn shutdown(self) {
        self.jobs.shutdown();
        self.data.shutdown();
    }
}

/// Sends panics of every thread but `ui` to the loop as [`Event::Panicked`], so a crash in
/// the trainer fails the run instead of restoring the terminal under a cockpit that is still
/// drawing. The UI thread keeps the hook installed before (ratatui's: restore the terminal,
/// then print the message), and so does any thread once the loop is gone.
pub fn route_panics(ui: ThreadId, tx: Sender<Event>) {
    let ui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let elsewhere = std::thread::current().id() != ui;
        if !(elsewhere && tx.send(Event::Panicked(describe(info))).is_ok()) {
            ui_hook(info);
        }
    }));
}

/// "thread 'tunedeck-worker' panicked at src/x.rs:1:2: message", as Rust's own hook says it.
fn describe(info: &PanicHookInfo) -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    match info.location() {
        Some(at) => format!("thread '{name}' panicked at {at}: {message}"),
        None => format!("thread '{name}' panicked: {message}"),
    }
}

/// Handles events and redraws until the app wants to quit or every source is gone. Panics
/// of other threads are kept in `panics` to print after the terminal is restored.
fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Event>,
    worker: &dyn Worker,
    jobs: &JobThreads,
    panic_key: Option<&str>,
    panics: &mut Vec<String>,
) -> Result<()> {
    let mut pacer = Pacer::default();
    loop {
        let wait = pacer.draw(terminal, |f| ui::render(f, app))?;
        match rx.recv_timeout(wait) {
            Ok(first) => {
                for event in std::iter::once(first).chain(rx.try_iter().take(BATCH)) {
                    match &event {
                        Event::Input(Term::Key(key))
                            if panic_key.is_some_and(|k| k == keymap::name(*key)) =>
                        {
                            panic!("{PANIC_ON_KEY}: {} pressed", keymap::name(*key))
                        }
                        Event::Panicked(message) => panics.push(message.clone()),
                        _ => {}
                    }
                    pacer.dirty |= handle(app, event);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        for cmd in app.take_commands() {
            if !worker.send(cmd) {
                app.worker_gone();
                pacer.dirty = true;
            }
        }
        for cmd in app.take_jobs() {
            if !jobs.send(cmd) {
                app.jobs_gone();
                pacer.dirty = true;
            }
        }
        if app.should_quit {
            return Ok(());
        }
    }
}

/// Redraws on a dirty flag, at most every [`FRAME`].
pub(super) struct Pacer {
    /// The screen may have changed since it was drawn.
    pub dirty: bool,
    last_draw: Option<Instant>,
}

impl Default for Pacer {
    fn default() -> Pacer {
        Pacer {
            dirty: true,
            last_draw: None,
        }
    }
}

impl Pacer {
    /// Draws with `draw` when the screen is dirty and a frame is due; returns how long the
    /// loop may wait for events: until the pending redraw, else a [`TICK`].
    pub fn draw(
        &mut self,
        terminal: &mut DefaultTerminal,
        draw: impl FnOnce(&mut ratatui::Frame),
    ) -> Result<Duration> {
        if self.dirty && self.last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            terminal.draw(draw).context("cannot draw the screen")?;
            self.last_draw = Some(Instant::now());
            self.dirty = false;
        }
        Ok(match (self.dirty, self.last_draw) {
            (true, Some(t)) => FRAME.saturating_sub(t.elapsed()),
            _ => TICK,
        })
    }
}

/// Applies one event; true when the screen may have changed.
pub(super) fn handle(app: &mut App, event: Event) -> bool {
    match event {
        Event::Input(Term::Key(key)) if key.kind != KeyEventKind::Release => {
            app.on_key(key);
            true
        }
        Event::Input(Term::Resize(..)) => true,
        Event::Input(_) => false,
        Event::Tick => app.tick(local_today()),
        Event::Worker(e) => app.on_worker(e),
        Event::Panicked(message) => {
            app.worker_panicked(&message);
            true
        }
        Event::Job(e) => app.on_job(e),
    }
}

/// Today in the local time zone (the plan's days are the user's days, not UTC's).
pub fn local_today() -> Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Date::from_unix_seconds(now, utc_offset(now))
}

/// Seconds east of UTC at `unix_seconds`, from the C library's time zone rules.
fn utc_offset(unix_seconds: i64) -> i64 {
    let t = unix_seconds as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which is a plain C struct for which all
    // zero bytes is a valid value; `t` outlives the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff
        }
    }
}
