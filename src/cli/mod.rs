//! The headless command line: one subcommand per step of the method.

mod chat;
mod data;
mod model;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tunedeck",
    version,
    about = "A terminal cockpit for LoRA fine-tuning of LLMs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check and split datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Import, tokenize with and score with a model.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Talk to a model, with or without a LoRA adapter.
    Chat(chat::ChatArgs),
}

/// Parse arguments, run, and turn any error into one `error: ...` line and a non-zero exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Model(cmd) => model::run(cmd),
        Command::Chat(args) => chat::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
