//! `tunedeck watch DIR`: the cockpit's Loss pane alone, full-screen, following a run folder
//! (a LLaMA-Factory `output_dir`, perhaps one a cluster job writes) on the worker thread,
//! until q. The terminal is restored on every way out, as the cockpit's is.

use std::iter::once;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use crossterm::event::{Event as Term, KeyEventKind};
use ratatui::DefaultTerminal;

use super::app::App;
use super::event::{spawn_input, Event};
use super::runner::{local_today, route_panics, BATCH, FRAME, TICK};
use super::ui;
use crate::worker::WorkerCommand;

/// Follows `dir` in the Loss pane until the user quits.
pub fn run(dir: &Path) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", dir.display()))?;
    let mut app = App::watching(&dir, local_today());
    let (tx, rx) = mpsc::channel();
    let worker_tx = tx.clone();
    let worker = crate::worker::spawn(Box::new(move |e| worker_tx.send(Event::Worker(e)).is_ok()));
    if let Some(run_id) = app.run.id {
        worker.send(WorkerCommand::Follow {
            run_id,
            dir: dir.clone(),
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut terminal = ratatui::try_init().context("cannot take over the terminal")?;
    route_panics(std::thread::current().id(), tx.clone());
    let input = spawn_input(tx, stop.clone());
    let result = match &input {
        Ok(_) => watch_loop(&mut terminal, &mut app, &rx),
        Err(e) => Err(anyhow::anyhow!("cannot start the input thread: {e}")),
    };
    ratatui::restore();
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    worker.shutdown();
    if let Ok(t) = input {
        let _ = t.join();
    }
    drop(std::panic::take_hook());
    result
}

/// Handles keys and the worker's events, redrawing on change at most every [`FRAME`].
fn watch_loop(terminal: &mut DefaultTerminal, app: &mut App, rx: &Receiver<Event>) -> Result<()> {
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            terminal
                .draw(|f| ui::render_watch(f, app))
                .context("cannot draw the screen")?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let wait = match (dirty, last_draw) {
            (true, Some(t)) => FRAME.saturating_sub(t.elapsed()),
            _ => TICK,
        };
        let first = match rx.recv_timeout(wait) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for event in once(first).chain(rx.try_iter().take(BATCH)) {
            dirty |= match event {
                Event::Input(Term::Key(key)) if key.kind != KeyEventKind::Release => {
                    app.on_key(key);
                    true
                }
                Event::Input(Term::Resize(..)) => true,
                Event::Worker(e) => app.on_worker(e),
                Event::Panicked(message) => {
                    app.worker_panicked(&message);
                    true
                }
                _ => false,
            };
        }
        if app.should_quit {
            return Ok(());
        }
    }
}
