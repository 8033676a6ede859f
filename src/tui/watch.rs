//! `tunedeck watch DIR`: the cockpit's Loss pane alone, full-screen, following a run folder
//! (a LLaMA-Factory `output_dir`, perhaps one a cluster job writes) on the worker thread,
//! until q. The terminal is restored on every way out, as the cockpit's is.

use std::iter::once;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;

use anyhow::{Context, Result};
use ratatui::DefaultTerminal;

use super::app::App;
use super::event::{spawn_input, Event};
use super::runner::{handle, local_today, route_panics, Pacer, BATCH};
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

/// Handles keys and the worker's events as the cockpit does, redrawing on change at most
/// every frame.
fn watch_loop(terminal: &mut DefaultTerminal, app: &mut App, rx: &Receiver<Event>) -> Result<()> {
    let mut pacer = Pacer::default();
    loop {
        let wait = pacer.draw(terminal, |f| ui::render_watch(f, app))?;
        match rx.recv_timeout(wait) {
            Ok(first) => {
                for event in once(first).chain(rx.try_iter().take(BATCH)) {
                    pacer.dirty |= handle(app, event);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if app.should_quit {
            return Ok(());
        }
    }
}
