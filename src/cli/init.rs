//! `tunedeck init DIR [--demo]`.

use anyhow::{bail, Result};
use clap::Args;
use std::path::{Path, PathBuf};

use crate::experiment::{Experiment, FILE_NAME};

#[derive(Args)]
pub struct InitArgs {
    pub dir: PathBuf,
    /// Fill in the bundled demo: goal, security-review dataset and the CPU preset.
    #[arg(long)]
    pub demo: bool,
}

/// Creates the experiment and says what is in it and what to do next.
pub fn run(args: InitArgs) -> Result<()> {
    create(&args.dir, args.demo)?;
    let dir = args.dir.display();
    println!("created an experiment in {dir}:");
    println!(
        "  {FILE_NAME}        goal, dataset, preset and plan (the cockpit keeps it up to date)"
    );
    if args.demo {
        println!("  data/records.jsonl     the security-review demo records");
    } else {
        println!("  data/                  put your records in data/records.jsonl");
    }
    println!("  runs/                  one folder per training run");
    println!("open it with `tunedeck open {dir}`");
    Ok(())
}

/// Creates an experiment in `dir`; `demo` copies the bundled goal and records
/// (`<home>/datasets/security-review/records.jsonl`).
pub(crate) fn create(dir: &Path, demo: bool) -> Result<Experiment> {
    let records = if demo {
        let path = crate::paths::home().join("datasets/security-review/records.jsonl");
        if !path.is_file() {
            bail!(
                "{}: the bundled demo records are missing: set TUNEDECK_HOME to the tunedeck checkout",
                path.display()
            );
        }
        Some(path)
    } else {
        None
    };
    Experiment::init(dir, demo, records.as_deref())
}
