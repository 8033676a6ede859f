//! `tunedeck init DIR [--demo]`.

use anyhow::{bail, Context, Result};
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
        println!(
            "  knowledge/             one card per vulnerability class, for the RAG card: \
             `tunedeck rag index {dir} {dir}/knowledge`"
        );
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
    let experiment = Experiment::init(dir, demo, records.as_deref())?;
    if demo {
        copy_knowledge(dir)?;
    }
    Ok(experiment)
}

/// Copies the bundled demo knowledge base (`<home>/datasets/demo-kb/*.md`) to
/// `dir/knowledge/`, the documents the RAG card indexes.
fn copy_knowledge(dir: &Path) -> Result<()> {
    let from = crate::paths::home().join(DEMO_KB);
    let to = dir.join("knowledge");
    std::fs::create_dir_all(&to).with_context(|| format!("{}: cannot create", to.display()))?;
    let entries = std::fs::read_dir(&from).with_context(|| {
        format!(
            "{}: the bundled demo knowledge base is missing",
            from.display()
        )
    })?;
    for e in entries {
        let p = e
            .with_context(|| format!("{}: cannot list", from.display()))?
            .path();
        if p.extension().is_some_and(|x| x == "md") {
            let target = to.join(p.file_name().unwrap_or_default());
            std::fs::copy(&p, &target)
                .with_context(|| format!("{}: cannot copy to {}", p.display(), target.display()))?;
        }
    }
    Ok(())
}

/// The demo's knowledge base in the tunedeck home: one card per vulnerability class.
pub const DEMO_KB: &str = "datasets/demo-kb";
