//! `tunedeck train`: the trainer on the worker thread, with a progress bar and a summary;
//! `--from RUN --change key=value` trains an experiment's next run.

use super::say;
use crate::data::RunDir;
use crate::data::SplitDir;
use crate::eval::next_run::{apply, assignment, describe, Origin};
use crate::experiment::data_dir;
use crate::preset::{Engine, Preset};
use crate::worker::{self, RunSpec, WorkerCommand, WorkerEvent};
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;

#[derive(Args)]
pub struct TrainArgs {
    /// A preset TOML file, or a built-in name (starter, smollm2-cpu).
    #[arg(long, required_unless_present = "from", conflicts_with = "from")]
    pub preset: Option<String>,
    /// A split directory made by `tunedeck data split` (with --from: the experiment's data/).
    #[arg(long, required_unless_present = "from")]
    pub data: Option<PathBuf>,
    /// The run directory (trainer_log.jsonl, checkpoints/, adapter/).
    #[arg(long, required_unless_present = "from", conflicts_with = "from")]
    pub out: Option<PathBuf>,
    /// Continue from the latest checkpoint in --out.
    #[arg(long, conflicts_with = "from")]
    pub resume: bool,
    /// Start from the weights of this PEFT adapter instead of a fresh one.
    #[arg(long, value_name = "DIR")]
    pub init_adapter: Option<PathBuf>,
    /// Override a preset key, e.g. --set learning_rate=1e-4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "from")]
    pub set: Vec<String>,
    /// Train the next run of an experiment: RUN_DIR's preset.toml plus --change, into the
    /// next free runs/run-N, on the experiment's split; origin.json records where it came from.
    #[arg(long, value_name = "RUN_DIR", requires = "change")]
    pub from: Option<PathBuf>,
    /// With --from: change a preset key, e.g. --change learning_rate=1e-3 (repeatable).
    #[arg(long = "change", value_name = "KEY=VALUE", requires = "from")]
    pub change: Vec<String>,
    /// With --from: why, kept in the new run's origin.json.
    #[arg(long, value_name = "TEXT", requires = "from")]
    pub why: Option<String>,
    /// Which trainer runs it: tunedeck's own, or `llamafactory-cli train` as a child process
    /// (its adapter lands in the run's adapter/ all the same). Without it, the preset's
    /// `engine` key decides (the cockpit's preset pane sets it).
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
}

/// The `--engine` choice.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// tunedeck's trainer (one CPU or GPU).
    Tunedeck,
    /// LLaMA-Factory (needs `llamafactory-cli` on PATH).
    Llamafactory,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let engine = args.engine;
    let mut spec = match &args.from {
        Some(from) => next_run(from, &args)?,
        None => plain_run(args)?,
    };
    spec.preset.engine = match engine {
        Some(EngineArg::Tunedeck) => Engine::Tunedeck,
        Some(EngineArg::Llamafactory) => Engine::Llamafactory,
        None => spec.preset.engine,
    };
    if spec.preset.engine == Engine::Llamafactory {
        return super::llamafactory::train(spec);
    }
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
                step,
                eval_loss,
                probe_ppl,
                best_step,
                ..
            } => {
                eval = format!(" eval {eval_loss:.4}");
                let probe =
                    probe_ppl.map_or(String::new(), |p| format!(", forgetting probe {p:.3}"));
                say(
                    &bar,
                    format!(
                        "  step {step}: validation loss {eval_loss:.4} (best: step {best_step}){probe}"
                    ),
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
                    } else if summary.early_stopped {
                        "early stopping"
                    } else {
                        "finished"
                    },
                    summary.steps,
                    summary.elapsed_s,
                    fmt(summary.final_loss),
                    fmt(summary.initial_eval_loss),
                    fmt(summary.final_eval_loss)
                );
                match summary.best_step {
                    Some(step) => println!(
                        "adapter: {} (step {step}: the best validation loss)",
                        summary.adapter_dir.display()
                    ),
                    None => println!("adapter: {}", summary.adapter_dir.display()),
                }
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

/// `--preset --data --out [--set]...`: the run as given.
fn plain_run(args: TrainArgs) -> Result<RunSpec> {
    let cwd = std::env::current_dir().context("no current directory")?;
    // clap requires these without --from.
    let (Some(name), Some(data), Some(out)) = (args.preset, args.data, args.out) else {
        bail!("--preset, --data and --out are needed (or --from RUN_DIR)");
    };
    let (mut preset, origin) = Preset::resolve(&name, &cwd)?;
    for kv in &args.set {
        let (k, v) = assignment(kv, "--set")?;
        preset.set(&k, &v).with_context(|| format!("--set {kv}"))?;
    }
    Ok(RunSpec {
        preset: preset.checked(&origin)?,
        base_dir: cwd,
        data_dir: data,
        out_dir: out,
        resume: args.resume,
        init_adapter: args.init_adapter,
    })
}

/// `--from RUN_DIR --change key=value...`: a new run in RUN_DIR's experiment. Its folder is
/// claimed and its `origin.json` written before anything trains; it prints the folder.
fn next_run(from: &Path, args: &TrainArgs) -> Result<RunSpec> {
    let shown = from.display();
    let saved = RunDir::new(from).preset();
    if !from.is_dir() {
        bail!("--from {shown}: no such run folder");
    }
    if !saved.is_file() {
        bail!("--from {shown}: no preset.toml: not a run folder that tunedeck trained");
    }
    let run = from
        .canonicalize()
        .with_context(|| format!("--from {shown}"))?;
    let name = run
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let runs = run.parent().unwrap_or(&run);
    let experiment = runs.parent().unwrap_or(runs);
    if runs.file_name() != Some("runs".as_ref())
        || !experiment.join(crate::experiment::FILE_NAME).is_file()
    {
        bail!(
            "--from {shown}: not inside an experiment's runs/ folder (EXPERIMENT/runs/RUN, next to experiment.toml)"
        );
    }
    let base = Preset::load(&saved)?;
    let sets = args
        .change
        .iter()
        .map(|kv| assignment(kv, "--change"))
        .collect::<Result<Vec<_>>>()?;
    let (preset, changes) = apply(&base, &sets).context("--change")?;
    if changes.is_empty() {
        bail!(
            "--change {}: nothing differs from {name}'s preset: change at least one key",
            args.change.join(" --change ")
        );
    }
    let data = args.data.clone().unwrap_or_else(|| data_dir(experiment));
    // No folder for a run that cannot start.
    SplitDir::open(&data)?;
    let out = RunDir::numbered(runs, crate::data::run_dir::next_number(runs))
        .path()
        .to_path_buf();
    std::fs::create_dir(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let origin = Origin {
        from: name.clone(),
        changes,
        why: args.why.clone().unwrap_or_default(),
    };
    origin.save(&out)?;
    println!("run: {}", out.display());
    eprintln!("  from {name}: {}", describe(&origin.changes));
    Ok(RunSpec {
        preset,
        base_dir: experiment.to_path_buf(),
        data_dir: data,
        out_dir: out,
        resume: false,
        init_adapter: args.init_adapter.clone(),
    })
}
