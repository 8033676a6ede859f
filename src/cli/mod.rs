//! The headless command line: one subcommand per step of the method.

mod data;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "tunedeck", version, about = "A terminal cockpit for LoRA fine-tuning of LLMs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check and split datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
}

/// Parse arguments, run, and turn any error into one `error: ...` line and a non-zero exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
