//! The LLaMA-Factory front end: `tunedeck export llamafactory`, `tunedeck watch` and
//! `tunedeck train --engine llamafactory`. The engine pieces live in
//! [`crate::engine::llamafactory`]; this file only wires them to the command line.

use crate::engine::llamafactory::follow::LogFollower;
use crate::engine::llamafactory::{self as lf, Job, Sharding, Topology, Unmapped};
use crate::eval::curve::Health;
use crate::eval::loss_log::LossLog;
use crate::experiment::{data_dir, Experiment, Language};
use crate::train::{Hooks, Signal};
use crate::worker::{RunSpec, WorkerEvent};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Print the curve so far and its verdict as plain text once, then exit (for scripts).
    #[arg(long)]
    once: bool,
}

/// `tunedeck watch DIR`: the cockpit's Loss pane, full-screen, following the folder until
/// q; with `--once`, the curve so far and its verdict as plain text.
pub fn watch(args: WatchArgs) -> Result<()> {
    if !args.dir.is_dir() {
        bail!(
            "{}: no such folder: give the output_dir of a LLaMA-Factory run (the folder that \
             will hold trainer_log.jsonl)",
            args.dir.display()
        );
    }
    if !args.once {
        return crate::tui::watch::run(&args.dir);
    }
    let mut f = LogFollower::in_dir(&args.dir);
    f.poll()?;
    print_new(f.log(), &mut Shown::default());
    println!("{}", verdict_line(f.log()));
    Ok(())
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
/// Set by SIGTSTP (Ctrl-Z): the child's group is paused, then tunedeck stops itself.
static SUSPEND: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" fn on_suspend(_: libc::c_int) {
    SUSPEND.store(true, Ordering::SeqCst);
}

/// `tunedeck train --engine llamafactory`: the run the cockpit's worker drives
/// ([`lf::run::train`]), with its events printed; Ctrl-C stops the child (checkpoints kept),
/// Ctrl-Z pauses it with tunedeck and `fg` resumes both.
pub fn train(spec: RunSpec) -> Result<()> {
    // SAFETY: the handlers only store to atomics, which is async-signal-safe.
    unsafe {
        let stop = on_stop as *const () as libc::sighandler_t;
        libc::signal(libc::SIGINT, stop);
        libc::signal(libc::SIGTERM, stop);
        // A closed terminal (or tmux session) must not leave the child training on.
        libc::signal(libc::SIGHUP, stop);
        libc::signal(libc::SIGTSTP, on_suspend as *const () as libc::sighandler_t);
    }
    let mut hooks = Printing::default();
    let summary = lf::run::train(1, &spec, &mut hooks)?;
    println!(
        "{} after {} steps: adapter {}",
        if summary.stopped {
            "stopped"
        } else {
            "finished"
        },
        summary.steps,
        summary.adapter_dir.display(),
    );
    println!("{}", verdict_line(&hooks.log));
    Ok(())
}

/// The CLI's side of a LLaMA-Factory run: events printed as `watch` prints a log, signals
/// turned into stop and pause.
#[derive(Default)]
struct Printing {
    log: LossLog,
    shown: Shown,
    stopping: bool,
}

impl Hooks for Printing {
    fn event(&mut self, e: WorkerEvent) -> bool {
        match e {
            WorkerEvent::Status { message, .. } if message.starts_with("warning:") => {
                eprintln!("{message}")
            }
            WorkerEvent::Status { message, .. } => println!("{message}"),
            WorkerEvent::Loaded { info, .. } => self.log.steps = Some((0, info.total_steps)),
            WorkerEvent::Step { stats, .. } => {
                self.log.steps = Some((stats.step, stats.total_steps));
                self.log.train.push((stats.step as f64, stats.loss));
            }
            WorkerEvent::Eval {
                step, eval_loss, ..
            } => self.log.val.push((step as f64, eval_loss)),
            WorkerEvent::Checkpoint { path, .. } => println!("  saved {}", path.display()),
            _ => {}
        }
        print_new(&self.log, &mut self.shown);
        true
    }

    fn poll_pausing(&mut self, pause: &mut dyn FnMut(bool)) -> Signal {
        if STOP.load(Ordering::SeqCst) {
            if !self.stopping {
                self.stopping = true;
                eprintln!("stopping LLaMA-Factory (saved checkpoints are kept)...");
            }
            return Signal::Stop;
        }
        if SUSPEND.swap(false, Ordering::SeqCst) {
            pause(true);
            eprintln!(
                "paused LLaMA-Factory (SIGSTOP to its process group) and tunedeck: `fg` resumes both"
            );
            // SIGSTOP, not SIGTSTP: it cannot be caught or ignored, and stops tunedeck even
            // in a process group without a controlling shell. The shell's `fg` (SIGCONT)
            // returns from it.
            // SAFETY: raise has no memory effects.
            unsafe {
                libc::raise(libc::SIGSTOP);
            }
            pause(false);
            eprintln!("resumed LLaMA-Factory (SIGCONT to its process group)");
        }
        Signal::Continue
    }
}
