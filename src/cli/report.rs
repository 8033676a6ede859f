//! `tunedeck report`: the retrospective of a run — `report.md` and `loss.png` in its folder.

use crate::eval::locate::RunContext;
use crate::eval::write_run_report;
use crate::experiment::Language;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ReportArgs {
    /// The experiment folder.
    experiment: PathBuf,
    /// The run under EXPERIMENT/runs/ (default: the most recently trained).
    #[arg(long)]
    run: Option<String>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let ctx = RunContext::open(&args.experiment, args.run.as_deref())?;
    let written = write_run_report(&ctx)?;
    println!(
        "wrote {} and {}",
        written.report.display(),
        written.plot.display()
    );
    let next = written.next;
    println!(
        "next step: {} — {}",
        next.title(Language::En),
        next.advice()
    );
    Ok(())
}
