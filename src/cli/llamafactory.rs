//! The LLaMA-Factory front end: `tunedeck export llamafactory`, `tunedeck watch` and
//! `tunedeck train --engine llamafactory`. The engine pieces live in
//! [`crate::engine::llamafactory`]; this file only wires them to the command line.

use crate::engine::llamafactory::child::{self, Running};
use crate::engine::llamafactory::follow::LogFollower;
use crate::engine::llamafactory::{self as lf, Job, Sharding, Topology, Unmapped};
use crate::eval::curve::Health;
use crate::eval::loss_log::LossLog;
use crate::experiment::{data_dir, Experiment, Language};
use crate::worker::RunSpec;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ExportArgs {
    /// The experiment folder (experiment.toml, data/ split by `tunedeck data split`).
    experiment: PathBuf,
    /// The folder to write train.yaml, data/, the sharding config and launch.sh into.
    #[arg(long)]
    out: PathBuf,
    /// GPUs (processes) per node.
    #[arg(long, default_value_t = 1)]
    gpus: u32,
    /// Machines.
    #[arg(long, default_value_t = 1)]
    nodes: u32,
    /// How weights and optimiser state are split across GPUs.
    #[arg(long, value_enum, default_value = "none")]
    sharding: Sharding,
    /// Print what would be written, write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `tunedeck export llamafactory EXPERIMENT --out DIR ...`.
pub fn export(args: ExportArgs) -> Result<()> {
    let exp = Experiment::load(&args.experiment)?;
    let (preset, from) = exp.resolve_preset(&args.experiment)?;
    let split = data_dir(&args.experiment);
    let job = Job {
        preset: &preset,
        base_dir: &args.experiment,
        split: &split,
        output_dir: "output",
        topology: Topology {
            gpus: args.gpus,
            nodes: args.nodes,
            sharding: args.sharding,
        },
    };
    let export = lf::export(&job)?;
    report_unmapped(&export.unmapped);
    let out = args.out.display();
    if args.dry_run {
        println!(
            "dry run: would write {} files for {from}:",
            export.files.len()
        );
        for f in &export.files {
            println!("  {out}/{} ({} bytes)", f.name, f.bytes.len());
        }
        return Ok(());
    }
    lf::write(&args.out, &export)?;
    println!("exported {from} for LLaMA-Factory -> {out}");
    for f in &export.files {
        println!("  {out}/{}", f.name);
    }
    println!(
        "start it with {out}/{} (on every node; see its header), then follow it with `tunedeck watch {out}/output`",
        lf::LAUNCH_SH
    );
    Ok(())
}

fn report_unmapped(unmapped: &[Unmapped]) {
    for u in unmapped {
        eprintln!(
            "warning: {} = {} has no LLaMA-Factory counterpart and is not applied: {}",
            u.key, u.value, u.why
        );
    }
}

#[derive(Args)]
pub struct WatchArgs {
    /// A LLaMA-Factory output_dir (or any folder with a trainer_log.jsonl), local or on a
    /// shared filesystem.
    dir: PathBuf,
    /// Print the curve so far and its verdict once, then exit.
    #[arg(long)]
    once: bool,
    /// Seconds between looks at the log.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
}

/// The files LLaMA-Factory writes when a training run has ended.
const END_MARKERS: [&str; 2] = ["train_results.json", "all_results.json"];

/// `tunedeck watch DIR`: the loss as it arrives, with the health verdict, until the run ends.
pub fn watch(args: WatchArgs) -> Result<()> {
    if !args.dir.is_dir() {
        bail!(
            "{}: no such folder: give the output_dir of a LLaMA-Factory run (the folder that \
             will hold trainer_log.jsonl)",
            args.dir.display()
        );
    }
    let mut f = LogFollower::in_dir(&args.dir);
    let mut shown = Shown::default();
    loop {
        let ended = END_MARKERS.iter().any(|m| args.dir.join(m).is_file());
        f.poll()?;
        print_new(f.log(), &mut shown);
        if args.once || ended {
            println!("{}", verdict_line(f.log()));
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval.max(0.05)));
    }
}

/// What has been printed of a log: points and the last verdict.
#[derive(Default)]
struct Shown {
    train: usize,
    val: usize,
    health: Option<Health>,
}

/// Prints the training and validation points not yet shown, and the curve's verdict each
/// time it changes (the cockpit's Loss pane judges the same way).
fn print_new(log: &LossLog, shown: &mut Shown) {
    let total = log.steps.map_or(0, |s| s.1);
    for &(step, loss) in log.train.iter().skip(shown.train) {
        println!("step {step:>5}/{total}  loss {loss:.4}");
    }
    for &(step, loss) in log.val.iter().skip(shown.val) {
        println!("step {step:>5}/{total}  eval_loss {loss:.4}");
    }
    (shown.train, shown.val) = (log.train.len(), log.val.len());
    let health = log.health();
    if shown.health.replace(health) != Some(health) && health != Health::Waiting {
        println!("  curve: {}", health.title(Language::En));
    }
}

fn verdict_line(log: &LossLog) -> String {
    let h = log.health();
    let lang = Language::En;
    format!("Health: {} — {}", h.title(lang), h.advice(lang))
}

/// Set by SIGINT/SIGTERM/SIGHUP while a child runs: the child is in its own process group, so the
/// terminal's Ctrl-C reaches only tunedeck, which passes it on as a stop.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// `tunedeck train --engine llamafactory`: the spec's preset and split exported into
/// `<run>/llamafactory/`, `llamafactory-cli train` run as a child writing into the run folder,
/// its log followed, and its adapter copied into `<run>/adapter/`.
pub fn train(spec: RunSpec) -> Result<()> {
    let cli = child::find_cli(std::env::var_os("PATH").as_deref())?;
    let run = &spec.out_dir;
    std::fs::create_dir_all(run).with_context(|| format!("{}: cannot create", run.display()))?;
    let run = run
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", run.display()))?;
    let export_dir = run.join("llamafactory");
    let output_dir = run.display().to_string();
    let job = Job {
        preset: &spec.preset,
        base_dir: &spec.base_dir,
        split: &spec.data_dir,
        output_dir: &output_dir,
        topology: Topology::default(),
    };
    let export = lf::export(&job)?;
    report_unmapped(&export.unmapped);
    lf::write(&export_dir, &export)?;
    spec.preset.save(&crate::data::RunDir::new(&run).preset())?;
    println!(
        "run: {} (LLaMA-Factory, config in {})",
        run.display(),
        export_dir.display()
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        // A closed terminal (or tmux session) must not leave the child training on.
        libc::signal(libc::SIGHUP, on_signal as *const () as libc::sighandler_t);
    }
    let mut child = child::spawn(&cli, &export_dir, &run)?;
    let status = follow_child(&mut child)?;
    let log = child.follower.log().clone();
    let stopped = STOP.load(Ordering::SeqCst);
    if !status.success() && !stopped {
        let lines = child.last_lines();
        child::mark_failed(&run, &status.to_string(), &lines)?;
        bail!(
            "llamafactory-cli train failed ({status}); its last lines:\n  {}\nthe whole output is in {}; the run is marked failed ({})",
            lines.join("\n  "),
            run.join(child::CHILD_LOG).display(),
            run.join(child::FAILED).display()
        );
    }
    let home = child::bring_home(&run, &run)?;
    println!(
        "{} after {} steps: adapter {} (from {})",
        if stopped { "stopped" } else { "finished" },
        log.steps.map_or(0, |s| s.0),
        home.adapter_dir.display(),
        home.from.display()
    );
    println!("{}", verdict_line(&log));
    Ok(())
}

/// Prints the log as it grows until the child ends; a stop request becomes SIGTERM.
fn follow_child(child: &mut Running) -> Result<std::process::ExitStatus> {
    let mut shown = Shown::default();
    let mut asked = None::<Instant>;
    loop {
        if STOP.load(Ordering::SeqCst) && asked.is_none() {
            eprintln!("stopping LLaMA-Factory (saved checkpoints are kept)...");
            child.stop();
            asked = Some(Instant::now());
        }
        let done = child.try_wait()?.is_some();
        child.follower.poll()?;
        print_new(child.follower.log(), &mut shown);
        if done {
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
