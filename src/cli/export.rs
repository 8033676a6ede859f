//! `tunedeck export`: a run or adapter as GGUF for llama.cpp and Ollama.

use crate::export::{self, ExportOptions, Quant};
use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ExportArgs {
    /// Another engine's input instead of GGUF: `export llamafactory EXPERIMENT --out DIR`.
    #[command(subcommand)]
    engine: Option<ExportEngine>,
    /// A run folder (EXPERIMENT/runs/<id>) or a PEFT adapter folder.
    #[arg(required = true)]
    source: Option<PathBuf>,
    /// The export folder (created; must be empty unless --force).
    #[arg(long, required = true)]
    to: Option<PathBuf>,
    /// The file format; GGUF is the one llama.cpp and Ollama read.
    #[arg(long, default_value = "gguf", value_parser = ["gguf"])]
    format: String,
    /// How the model's weights are encoded.
    #[arg(long, value_enum, default_value = "f16")]
    quant: Quant,
    /// Write the base model and the adapter as two files (llama.cpp `--lora`, Ollama ADAPTER)
    /// instead of one merged model.
    #[arg(long)]
    lora_only: bool,
    /// Write into a non-empty folder, replacing the files export writes (others are kept).
    #[arg(long)]
    force: bool,
    /// The base model folder, instead of the one the run's preset or the adapter names.
    #[arg(long)]
    model: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ExportEngine {
    /// An experiment as LLaMA-Factory's train.yaml, dataset_info.json, data, DeepSpeed or
    /// FSDP2 config and launch.sh (for multi-GPU and multi-node training).
    Llamafactory(super::llamafactory::ExportArgs),
}

pub fn run(args: ExportArgs) -> Result<()> {
    let (source, to) = match (args.engine, args.source, args.to) {
        (Some(ExportEngine::Llamafactory(a)), _, _) => return super::llamafactory::export(a),
        (None, Some(source), Some(to)) => (source, to),
        // clap requires both without a subcommand.
        _ => anyhow::bail!("give a run folder and --to DIR (or `export llamafactory ...`)"),
    };
    let opts = ExportOptions {
        source,
        to,
        model: args.model,
        quant: args.quant,
        lora_only: args.lora_only,
        force: args.force,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} tensors {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("exporting");
    let done = export::export(&opts, &mut |done, total, _name| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let dir = done.dir.display();
    println!("exported {} -> {dir}", done.source.name);
    println!("  {dir}/{}", done.model_file);
    if let Some(a) = &done.adapter_file {
        println!("  {dir}/{a}");
    }
    println!("  {dir}/Modelfile   (ollama create NAME -f {dir}/Modelfile)");
    println!("  {dir}/README.md");
    println!("three-part test: {}", done.source.verdict.line());
    Ok(())
}
