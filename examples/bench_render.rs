//! Full-frame render time of the cockpit at 160×48: a demo experiment with a 500-step loss
//! curve, each pane focused in turn, rendered 1000 times into ratatui's `TestBackend`.
//!
//! `cargo run --release --example bench_render` prints the median and 95th percentile.

use std::path::Path;
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tunedeck::experiment::{Date, Experiment};
use tunedeck::tui::{ui, Action, App, Pane};
use tunedeck::worker::{LoadedInfo, StepStats, WorkerCommand, WorkerEvent};

const FRAMES: usize = 1000;
const STEPS: u64 = 500;

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let app = populated(tmp.path())?;
    let mut terminal = Terminal::new(TestBackend::new(160, 48))?;
    let mut times = Vec::with_capacity(FRAMES);
    let mut app = app;
    for i in 0..FRAMES {
        app.update(Action::Focus(Pane::ALL[i % Pane::ALL.len()]));
        let start = Instant::now();
        terminal.draw(|f| ui::render(f, &app))?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "render 160x48, {STEPS} loss points, {FRAMES} frames: median {:.3} ms, p95 {:.3} ms",
        times[FRAMES / 2],
        times[FRAMES * 95 / 100]
    );
    Ok(())
}

/// The demo experiment, split, with a 500-step run and an evaluation every 25 steps.
fn populated(parent: &Path) -> anyhow::Result<App> {
    let dir = parent.join("demo");
    let records =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/security-review/records.jsonl");
    Experiment::init(&dir, true, Some(&records))?;
    let mut app = App::open(&dir, Date::today_utc())?;
    for a in [
        Action::Focus(Pane::Dataset),
        Action::Split,
        Action::Focus(Pane::Loss),
        Action::StartRun,
    ] {
        app.update(a);
    }
    let Some(WorkerCommand::Start { run_id, .. }) = app.take_commands().pop() else {
        anyhow::bail!("the cockpit did not start a run");
    };
    app.on_worker(WorkerEvent::Loaded {
        run_id,
        info: LoadedInfo {
            model: "smollm2-135m-instruct".into(),
            device: "cpu".into(),
            trainable_params: 4_884_480,
            total_params: 134_515_008,
            train_sequences: 99,
            val_sequences: 12,
            total_steps: STEPS,
            start_step: 0,
        },
    });
    for step in 1..=STEPS {
        let s = step as f64;
        let loss = 0.6 + 1.4 * (-s / 80.0).exp() + 0.05 * (s * 1.7).sin();
        app.on_worker(WorkerEvent::Step {
            run_id,
            stats: StepStats {
                step,
                total_steps: STEPS,
                epoch: s / 100.0,
                loss,
                lr: 3e-4,
                grad_norm: 1.0,
                tokens_per_s: 800.0,
                total_tokens: step * 800,
                elapsed_s: s,
            },
        });
        if step % 25 == 0 {
            let eval_loss = 0.7 + 1.3 * (-s / 90.0).exp();
            app.on_worker(WorkerEvent::Eval {
                run_id,
                step,
                eval_loss,
                probe_ppl: None,
                best_step: step,
            });
        }
    }
    Ok(app)
}
