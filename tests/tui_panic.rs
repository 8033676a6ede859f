//! Where panics go while the cockpit runs: the UI thread's restore the terminal (the hook
//! installed before, ratatui's), any other thread's become an event for the loop, so a crash
//! in the trainer cannot restore the terminal under a cockpit that is still drawing.
//!
//! The panic hook is global to the process, so this file holds a single test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use tunedeck::tui::event::Event;
use tunedeck::tui::runner::route_panics;

/// Times the hook installed before `route_panics` (ratatui's restore-and-print) ran.
static RESTORES: AtomicUsize = AtomicUsize::new(0);

fn panic_on_thread(name: &str, message: &'static str) {
    let t = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || panic!("{message}"))
        .unwrap();
    assert!(t.join().is_err());
}

#[test]
fn only_the_ui_threads_panics_restore_the_terminal() {
    std::panic::set_hook(Box::new(|_| {
        RESTORES.fetch_add(1, Ordering::SeqCst);
    }));
    let (tx, rx) = mpsc::channel();
    route_panics(std::thread::current().id(), tx);

    // The trainer's thread: the loop hears about it, the terminal is left alone.
    panic_on_thread("tunedeck-worker", "shape mismatch");
    let message = match rx.try_recv() {
        Ok(Event::Panicked(m)) => m,
        other => panic!("expected a Panicked event, got {other:?}"),
    };
    assert!(
        message.starts_with("thread 'tunedeck-worker' panicked at tests/tui_panic.rs:"),
        "{message}"
    );
    assert!(message.ends_with(": shape mismatch"), "{message}");
    assert_eq!(RESTORES.load(Ordering::SeqCst), 0);

    // The UI thread: restore (and print).
    let caught = std::panic::catch_unwind(|| panic!("in the UI"));
    assert!(caught.is_err());
    assert_eq!(RESTORES.load(Ordering::SeqCst), 1);
    assert!(rx.try_recv().is_err());

    // Once the loop is gone, a worker's panic prints as usual.
    drop(rx);
    panic_on_thread("tunedeck-worker", "while saving");
    assert_eq!(RESTORES.load(Ordering::SeqCst), 2);
    drop(std::panic::take_hook());
}
