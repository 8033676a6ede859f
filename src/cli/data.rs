//! `tunedeck data check|split`.

use crate::data::load::plural;
use crate::data::{
    check_path, describe_leaks, load, split_to_dir, ApproxCounter, Ratio, TokenCounter,
};
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// `tunedeck data ...`: the dataset steps of the method (check, then split).
#[derive(Subcommand)]
pub enum DataCommand {
    /// Check a dataset: unreadable records, empty fields, duplicates, lengths, diversity.
    /// Fails when there are errors; warnings alone pass.
    Check {
        /// A .json or .jsonl file of Alpaca or ShareGPT records, or dataset_info.json#NAME.
        file: PathBuf,
        /// A model folder whose tokenizer.json counts tokens (default: an approximation).
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
        /// Training sequence length in tokens; longer records are reported.
        #[arg(long, value_name = "N", default_value_t = 2048)]
        cutoff: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Split a dataset into train.jsonl, val.jsonl and a sealed test.jsonl, with split.toml.
    Split {
        /// A .json or .jsonl file of Alpaca or ShareGPT records, or dataset_info.json#NAME.
        file: PathBuf,
        /// Folder for the split (created if needed).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Relative sizes train:val:test, whole numbers.
        #[arg(long, default_value = "8:1:1")]
        ratio: Ratio,
        /// Seed of the shuffle; the same seed gives the same split.
        #[arg(long, value_name = "N", default_value_t = 42)]
        seed: u64,
        /// Replace a different split already in DIR (this deals a new sealed test set).
        #[arg(long)]
        force: bool,
    },
}

/// Runs one `data` subcommand; an `Err` becomes the one-line `error: ...` of the contract.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Check {
            file,
            model,
            cutoff,
            json,
        } => check(&file, model.as_deref(), cutoff, json),
        DataCommand::Split {
            file,
            out,
            ratio,
            seed,
            force,
        } => split(&file, &out, ratio, seed, force),
    }
}

fn check(file: &Path, model: Option<&Path>, cutoff: usize, json: bool) -> Result<()> {
    if cutoff == 0 {
        bail!("--cutoff 0: the cutoff is a length in tokens and must be above 0 (the starter uses 2048)");
    }
    let counter: Box<dyn TokenCounter> = match model {
        Some(dir) => Box::new(ModelTokens::load(dir)?),
        None => Box::new(ApproxCounter),
    };
    let report = check_path(file, counter.as_ref(), cutoff)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
        if !report.tokens.exact {
            println!("  (pass --model DIR for exact token counts)");
        }
    }
    match report.first_error() {
        None => Ok(()),
        Some(first) => {
            let at = first
                .at
                .map(|a| a.prefix(&report.file))
                .unwrap_or_else(|| report.file.clone());
            bail!(
                "{} error{} in {}; the first: {at}: {}",
                report.errors,
                plural(report.errors),
                report.source,
                first.message
            )
        }
    }
}

fn split(file: &Path, out: &Path, ratio: Ratio, seed: u64, force: bool) -> Result<()> {
    let dataset = load(file)?;
    let outcome = split_to_dir(&dataset, ratio, seed, out, force)?;
    let m = &outcome.manifest;
    if outcome.unchanged {
        println!(
            "{} already holds this split of {} (seed {seed}, ratio {ratio}); nothing changed",
            out.display(),
            dataset.source
        );
    } else {
        println!(
            "split {} ({} records) with seed {seed} and ratio {ratio} into {}",
            dataset.source,
            dataset.records.len(),
            out.display()
        );
    }
    let rows = [
        ("train.jsonl", m.counts.train, &m.sha256.train, ""),
        ("val.jsonl", m.counts.val, &m.sha256.val, ""),
        ("test.jsonl", m.counts.test, &m.sha256.test, "  (sealed)"),
    ];
    for (name, count, sha, note) in rows {
        let records = format!("{count} record{}", plural(count));
        println!("  {name:<12}{records:>12}  sha256 {sha}{note}");
    }
    println!("  split.toml  records the seed, ratio, source and these sha256s");
    for (count, part, why) in [
        (
            m.counts.val,
            "validation",
            "the loss curve has no held-out check",
        ),
        (
            m.counts.test,
            "test",
            "the graduation exam has no questions",
        ),
    ] {
        if count == 0 {
            eprintln!("warning: the {part} part is empty, so {why}: add records or change --ratio");
        }
    }
    for line in describe_leaks(&outcome, &dataset) {
        eprintln!("warning: {line}");
    }
    Ok(())
}

/// Exact token counts from a model's `tokenizer.json`.
struct ModelTokens {
    tokenizer: tokenizers::Tokenizer,
    path: PathBuf,
}

impl ModelTokens {
    fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            bail!(
                "--model {}: no tokenizer.json there: pass a model folder in Hugging Face layout",
                dir.display()
            );
        }
        let mut tokenizer = tokenizers::Tokenizer::from_file(&path)
            .map_err(|e| anyhow!("{}: cannot load the tokenizer: {e}", path.display()))?;
        // Some tokenizer.json files switch on truncation or padding (sentence embedders);
        // either would falsify lengths.
        tokenizer
            .with_truncation(None)
            .map_err(|e| anyhow!("{}: cannot turn off truncation: {e}", path.display()))?;
        tokenizer.with_padding(None);
        Ok(ModelTokens { tokenizer, path })
    }
}

impl TokenCounter for ModelTokens {
    fn count(&self, text: &str) -> Result<usize> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| anyhow!("{}: cannot tokenize: {e}", self.path.display()))?;
        Ok(encoding.len())
    }

    fn describe(&self) -> String {
        format!("the tokenizer {}", self.path.display())
    }

    fn exact(&self) -> bool {
        true
    }
}
