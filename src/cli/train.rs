//! `tunedeck train`: the trainer on the worker thread, with a progress bar and a summary.

use super::say;
use crate::preset::Preset;
use crate::worker::{self, RunSpec, WorkerCommand, WorkerEvent};
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::mpsc::channel;

#[derive(Args)]
pub struct TrainArgs {
    /// A preset TOML file, or a built-in name (starter, smollm2-cpu).
    #[arg(long)]
    pub preset: String,
    /// A split directory made by `tunedeck data split`.
    #[arg(long)]
    pub data: PathBuf,
    /// The run directory (trainer_log.jsonl, checkpoints/, adapter/).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from the latest checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Start from the weights of this PEFT adapter instead of a fresh one.
    #[arg(long, value_name = "DIR")]
    pub init_adapter: Option<PathBuf>,
    /// Override a preset key, e.g. --set learning_rate=1e-4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("no current directory")?;
    let (mut preset, origin) = Preset::resolve(&args.preset, &cwd)?;
    for kv in &args.set {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--set {kv}: expected KEY=VALUE, e.g. --set learning_rate=1e-4");
        };
        preset
            .set(k.trim(), v.trim())
            .with_context(|| format!("--set {kv}"))?;
    }
    let preset = preset.checked(&origin)?;
    let spec = RunSpec {
        preset,
        base_dir: cwd,
        data_dir: args.data,
        out_dir: args.out.clone(),
        resume: args.resume,
        init_adapter: args.init_adapter,
    };

    let (tx, rx) = channel();
    let handle = worker::spawn(Box::new(move |e| tx.send(e).is_ok()));
    handle.send(WorkerCommand::Start {
        run_id: 1,
        spec: Box::new(spec),
    });
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:30}] {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut result = Ok(());
    let mut eval = String::new();
    for e in rx {
        match e {
            WorkerEvent::Status { message, .. } => say(&bar, format!("  {message}")),
            WorkerEvent::Loaded { info, .. } => {
                say(&bar, format!(
                    "  {} on {}: {} trainable of {} parameters ({:.2}%), {} train / {} validation sequences, {} steps",
                    info.model,
                    info.device,
                    info.trainable_params,
                    info.total_params,
                    100.0 * info.trainable_params as f64 / info.total_params.max(1) as f64,
                    info.train_sequences,
                    info.val_sequences,
                    info.total_steps
                ));
                bar.set_length(info.total_steps);
                bar.set_position(info.start_step);
                bar.reset_eta();
            }
            WorkerEvent::Step { stats, .. } => {
                bar.set_position(stats.step);
                bar.set_message(format!(
                    "loss {:.4} lr {:.2e} {:.0} tok/s{eval}",
                    stats.loss, stats.lr, stats.tokens_per_s
                ));
            }
            WorkerEvent::Eval {
                step, eval_loss, ..
            } => {
                eval = format!(" eval {eval_loss:.4}");
                say(
                    &bar,
                    format!("  step {step}: validation loss {eval_loss:.4}"),
                );
            }
            WorkerEvent::Checkpoint { path, .. } => {
                say(&bar, format!("  saved {}", path.display()))
            }
            WorkerEvent::Finished { summary, .. } => {
                bar.finish_and_clear();
                let fmt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
                println!(
                    "{} after {} steps in {:.0} s: train loss {}, validation loss {} -> {}",
                    if summary.stopped {
                        "stopped"
                    } else {
                        "finished"
                    },
                    summary.steps,
                    summary.elapsed_s,
                    fmt(summary.final_loss),
                    fmt(summary.initial_eval_loss),
                    fmt(summary.final_eval_loss)
                );
                println!("adapter: {}", summary.adapter_dir.display());
                break;
            }
            WorkerEvent::Failed { error, .. } => {
                bar.abandon();
                result = Err(anyhow::anyhow!(error));
                break;
            }
            WorkerEvent::Paused { .. } | WorkerEvent::Resumed { .. } => {}
        }
    }
    handle.shutdown();
    result
}
