//! `tunedeck runs`: an experiment's runs side by side — what each changed, how far it trained,
//! its best step, the forgetting probe's drift and the three-part test's verdict.

use crate::eval::runs::{self, Column, RunRow};
use crate::experiment::Language;
use crate::tui::text::{pad, width};
use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use std::io::Write;
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
    let text = if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            runs: &'a [RunRow],
        }
        let json = serde_json::to_string_pretty(&Out { runs: &rows })
            .context("cannot write the runs as JSON")?;
        format!("{json}\n")
    } else if rows.is_empty() {
        format!(
            "{}: no runs yet: train one with `tunedeck train --out {}/runs/run-1 ...` or the cockpit\n",
            args.experiment.display(),
            args.experiment.display()
        )
    } else {
        table(&rows, Language::En)
    };
    // A closed pipe (`| head`) is an error line, not a panic.
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write to standard output")
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
