//! Shared set-up for the cockpit's tests: a demo experiment with a fixed date, scripted
//! worker events, and text snapshots of rendered screens.
#![allow(dead_code)]

pub mod graduation;
#[allow(unused_imports)]
pub use graduation::*;

use std::path::{Path, PathBuf};

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tunedeck::experiment::{Date, Experiment};
use tunedeck::lora::estimate::{Dims, ModelShape};
use tunedeck::tui::{ui, Action, App, Pane};
use tunedeck::worker::{LoadedInfo, RunId, RunSummary, StepStats, WorkerCommand, WorkerEvent};

/// The plan starts on Monday 2025-03-24; "today" is the Wednesday of week 1.
pub const START: &str = "2025-03-24";
pub const TODAY: &str = "2025-03-26";

/// Steps of the scripted run.
pub const TOTAL_STEPS: u64 = 75;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// A fresh demo experiment in `<parent>/demo` with the plan starting on [`START`].
pub fn demo_experiment(parent: &Path) -> PathBuf {
    let dir = parent.join("demo");
    let records = root().join("datasets/security-review/records.jsonl");
    let mut exp = Experiment::init(&dir, true, Some(&records)).unwrap();
    exp.plan.start = Some(date(START));
    exp.save(&dir).unwrap();
    dir
}

/// SmolLM2-135M-Instruct's dimensions, so memory figures do not depend on whether
/// `just setup` has imported the model here.
pub fn smollm2() -> ModelShape {
    ModelShape::from_dims(Dims::SMOLLM2_135M)
}

/// The cockpit on a fresh demo experiment, on [`TODAY`].
pub fn open(dir: &Path) -> App {
    let mut app = App::open(dir, date(TODAY)).unwrap();
    app.preset.shape = Some(smollm2());
    app
}

/// Presses a sequence of actions.
pub fn press(app: &mut App, actions: &[Action]) {
    for a in actions {
        app.update(*a);
    }
}

/// Runs the Dataset pane's reload or split, which the app queued, on a real jobs thread and
/// hands its events back until it ends (the cockpit's event loop does this for real).
pub fn finish_data_job(app: &mut App) {
    let (tx, rx) = std::sync::mpsc::channel();
    let jobs = tunedeck::worker::jobs::spawn(Box::new(move |e| tx.send(e).is_ok())).unwrap();
    for cmd in app.take_jobs() {
        assert!(jobs.send(cmd));
    }
    while app.data.job.is_some() {
        let event = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the dataset job ends");
        app.on_job(event);
    }
    jobs.shutdown();
}

/// Splits the records (on the jobs thread, as the cockpit does).
pub fn split(app: &mut App) {
    press(app, &[Action::Focus(Pane::Dataset), Action::Split]);
    finish_data_job(app);
}

/// Splits the records and starts a run from the loss pane; returns its run id.
pub fn split_and_start(app: &mut App) -> RunId {
    split(app);
    press(app, &[Action::Focus(Pane::Loss), Action::StartRun]);
    let cmds = app.take_commands();
    match cmds.as_slice() {
        [WorkerCommand::Start { run_id, spec }] => {
            assert!(spec.out_dir.ends_with(format!("runs/run-{run_id}")));
            *run_id
        }
        other => panic!("expected one Start, got {other:?}"),
    }
}

/// A gently descending, slightly noisy training loss.
pub fn loss_at(step: u64) -> f64 {
    let s = step as f64;
    0.6 + 1.4 * (-s / 15.0).exp() + 0.03 * (s * 1.7).sin()
}

pub fn loaded(run_id: RunId) -> WorkerEvent {
    WorkerEvent::Loaded {
        run_id,
        info: LoadedInfo {
            model: "models/smollm2-135m-instruct".into(),
            device: "cpu".into(),
            trainable_params: 4_884_480,
            total_params: 134_515_008,
            train_sequences: 98,
            val_sequences: 12,
            total_steps: TOTAL_STEPS,
            start_step: 0,
        },
    }
}

pub fn step(run_id: RunId, step: u64, loss: f64) -> WorkerEvent {
    WorkerEvent::Step {
        run_id,
        stats: StepStats {
            step,
            total_steps: TOTAL_STEPS,
            epoch: step as f64 / 25.0,
            loss,
            lr: 3e-4 * (1.0 - step as f64 / TOTAL_STEPS as f64),
            grad_norm: 1.0,
            tokens_per_s: 800.0,
            total_tokens: step * 800,
            elapsed_s: step as f64,
        },
    }
}

pub fn finished(run_id: RunId, stopped: bool) -> WorkerEvent {
    WorkerEvent::Finished {
        run_id,
        summary: RunSummary {
            steps: TOTAL_STEPS,
            final_loss: Some(0.61),
            initial_eval_loss: Some(2.0),
            final_eval_loss: Some(0.7),
            elapsed_s: 75.0,
            adapter_dir: PathBuf::from("runs/run-1/adapter"),
            stopped,
            best_step: Some(TOTAL_STEPS),
            early_stopped: false,
        },
    }
}

/// Feeds `steps` training steps with an evaluation every 10 and a checkpoint at 20.
pub fn feed(app: &mut App, run_id: RunId, steps: u64) {
    assert!(app.on_worker(loaded(run_id)));
    for s in 1..=steps {
        assert!(app.on_worker(step(run_id, s, loss_at(s))));
        if s % 10 == 0 {
            let eval_loss = 0.75 + 1.2 * (-(s as f64) / 18.0).exp();
            assert!(app.on_worker(WorkerEvent::Eval {
                run_id,
                step: s,
                eval_loss,
                probe_ppl: None,
                best_step: s,
            }));
        }
        if s == 20 {
            let path = PathBuf::from("runs/run-1/checkpoints/step-20");
            assert!(app.on_worker(WorkerEvent::Checkpoint {
                run_id,
                step: s,
                path
            }));
        }
    }
}

/// Renders the whole screen at `w`×`h`.
pub fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::render(f, app)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text: one line per row, right-trimmed; a wide character's hidden second
/// cell is skipped, so Chinese reads naturally.
pub fn text(buffer: &Buffer) -> String {
    let w = buffer.area.width as usize;
    let mut out = String::new();
    for row in buffer.content.chunks(w) {
        let mut line = String::new();
        let mut skip = 0;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(cell.symbol());
            skip = tunedeck::tui::text::width(cell.symbol()).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Compares `actual` with `tests/snapshots/<name>.txt`; `UPDATE_SNAPSHOTS=1` writes it.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = root().join("tests/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with UPDATE_SNAPSHOTS=1 to write it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "screen {name} differs from {}\n--- expected\n{expected}\n--- actual\n{actual}\n(rerun with UPDATE_SNAPSHOTS=1 if the change is intended)",
            path.display()
        );
    }
}

/// Cell positions where `needle` starts, row by row (wide characters count one cell).
pub fn find(buffer: &Buffer, needle: &str) -> Vec<(u16, u16)> {
    let area = buffer.area;
    let mut found = Vec::new();
    for y in 0..area.height {
        // The row as text, with the byte offset where each visible cell starts; a wide
        // character's hidden second cell is skipped, as in `text`.
        let mut line = String::new();
        let mut starts: Vec<(usize, u16)> = Vec::new();
        let mut skip = 0;
        for x in 0..area.width {
            let symbol = buffer[(x, y)].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            skip = tunedeck::tui::text::width(symbol).saturating_sub(1);
            starts.push((line.len(), x));
            line.push_str(symbol);
        }
        for (at, _) in line.match_indices(needle) {
            if let Ok(i) = starts.binary_search_by_key(&at, |s| s.0) {
                found.push((starts[i].1, y));
            }
        }
    }
    found
}

/// Types `text` into the open prompt or editor.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Action::Insert(c));
    }
}
