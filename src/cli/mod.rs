//! The headless command line: one subcommand per step of the method.

mod adapter;
mod chat;
mod data;
mod eval;
mod export;
mod init;
mod llamafactory;
mod model;
mod open;
mod rag;
mod report;
mod runs;
mod train;

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
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the cockpit on an experiment (default: the bundled demo).
    Open(open::OpenArgs),
    /// Create an experiment directory.
    Init(init::InitArgs),
    /// Check and split datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Import, tokenize with and score with a model.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Talk to a model, with or without a LoRA adapter.
    Chat(chat::ChatArgs),
    /// Train a LoRA adapter (or fully fine-tune a small model).
    Train(train::TrainArgs),
    /// Inspect and merge LoRA adapters.
    #[command(subcommand)]
    Adapter(adapter::AdapterCommand),
    /// The three-part blind test: exam, interview and general-knowledge guard.
    Eval(eval::EvalArgs),
    /// Export a run or adapter for llama.cpp and Ollama (GGUF, Modelfile, README).
    Export(export::ExportArgs),
    /// The RAG card: index documents into an experiment's knowledge base and query it.
    #[command(subcommand)]
    Rag(rag::RagCommand),
    /// Write the retrospective report of a run.
    Report(report::ReportArgs),
    /// Compare an experiment's runs: changes, best step, forgetting, test results.
    Runs(runs::RunsArgs),
    /// Follow a LLaMA-Factory output_dir's loss live (any run, started here or not).
    Watch(llamafactory::WatchArgs),
}

/// A line beside a progress bar; indicatif drops `println` when stderr is not a terminal
/// (CI, pipes), so print it plainly there.
pub(crate) fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Parse arguments, run, and turn any error into one `error: ...` line and a non-zero exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli
        .command
        .unwrap_or(Command::Open(open::OpenArgs::default()))
    {
        Command::Open(args) => open::run(args),
        Command::Init(args) => init::run(args),
        Command::Data(cmd) => data::run(cmd),
        Command::Model(cmd) => model::run(cmd),
        Command::Chat(args) => chat::run(args),
        Command::Train(args) => train::run(args),
        Command::Adapter(cmd) => adapter::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Export(args) => export::run(args),
        Command::Rag(cmd) => rag::run(cmd),
        Command::Report(args) => report::run(args),
        Command::Runs(args) => runs::run(args),
        Command::Watch(args) => llamafactory::watch(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
