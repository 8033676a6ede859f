//! `tunedeck runs`: an experiment's runs side by side — what each changed, how far it trained,
//! its best step, the forgetting probe's drift and the three-part test's verdict.

use crate::eval::runs::{self, Column, RunRow};
use crate::experiment::Language;
use crate::tui::text::{pad, width};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct RunsArgs {
    /// The experiment folder.
    experiment: PathBuf,
    /// Print JSON (`{"runs": [...]}`) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunsArgs) -> Result<()> {
    let rows: Vec<RunRow> = runs::read(&args.experiment)?
        .into_iter()
        .map(|r| r.row)
        .collect();
    if args.json {
        let out = serde_json::json!({ "runs": rows });
        let text = serde_json::to_string_pretty(&out).context("cannot write the runs as JSON")?;
        println!("{text}");
    } else if rows.is_empty() {
        println!(
            "{}: no runs yet: train one with `tunedeck train --out {}/runs/run-1 ...` or the cockpit",
            args.experiment.display(),
            args.experiment.display()
        );
    } else {
        print!("{}", table(&rows, Language::En));
    }
    Ok(())
}

/// The rows under their headings, every column as wide as its widest cell.
pub fn table(rows: &[RunRow], lang: Language) -> String {
    let mut lines: Vec<Vec<String>> = vec![Column::ALL
        .iter()
        .map(|c| c.title(lang).to_string())
        .collect()];
    lines.extend(
        rows.iter()
            .map(|r| Column::ALL.iter().map(|&c| r.cell(c, lang)).collect()),
    );
    let widths: Vec<usize> = (0..Column::ALL.len())
        .map(|i| lines.iter().map(|l| width(&l[i])).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(c, &w)| pad(c, w)).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
