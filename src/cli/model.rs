//! `tunedeck model import-gguf|tokenize|logprobs`.

use crate::gguf::{self, ImportOptions, OutDtype};
use crate::model::{device, generate, Model, TextTokenizer};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Convert a GGUF file into a Hugging Face model directory.
    ImportGguf {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Dtype of the written weights.
        #[arg(long, value_enum, default_value = "float32")]
        dtype: OutDtype,
    },
    /// Write a randomly initialised model of a known shape (for benchmarks), with the
    /// tokenizer of a real model.
    InitRandom {
        /// qwen2.5-7b, qwen2.5-0.5b or tiny-qwen2.
        #[arg(long)]
        shape: String,
        /// A model directory whose tokenizer (and special tokens) to use.
        #[arg(long)]
        tokenizer: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// float32 or bfloat16.
        #[arg(long, default_value = "bfloat16")]
        dtype: String,
        #[arg(long, default_value_t = 0)]
        seed: i64,
    },
    /// Print the token ids of raw text (no special tokens added) as JSON.
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        text: String,
    },
    /// Print log P(token_i | tokens before i) for every token of TEXT as JSON.
    Logprobs {
        #[arg(long)]
        model: PathBuf,
        /// A PEFT LoRA adapter directory to plug in.
        #[arg(long)]
        adapter: Option<PathBuf>,
        #[arg(long)]
        text: String,
    },
}

pub fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::InitRandom {
            shape,
            tokenizer,
            out,
            dtype,
            seed,
        } => {
            let shape = crate::model::random::shape(&shape)?;
            let n = crate::model::random::write(&shape, &tokenizer, &out, &dtype, seed)?;
            println!(
                "wrote a random {} ({n} parameters, {:.2} B, {dtype}) to {}",
                shape.name,
                n as f64 / 1e9,
                out.display()
            );
            Ok(())
        }
        ModelCommand::ImportGguf { file, out, dtype } => {
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} tensors {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message("importing");
            gguf::import(
                &file,
                &out,
                &ImportOptions { dtype },
                &mut |done, total, _name| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )?;
            bar.finish_and_clear();
            println!("imported {} -> {}", file.display(), out.display());
            Ok(())
        }
        ModelCommand::Tokenize { model, text } => {
            let tok = TextTokenizer::load(&model, "auto")?;
            println!("{}", json!({ "ids": tok.encode(&text)? }));
            Ok(())
        }
        ModelCommand::Logprobs {
            model,
            adapter,
            text,
        } => {
            // Reference numerics are float32 on the CPU, whatever hardware is present.
            let mut m = Model::load(&model, tch::Device::Cpu, "auto", false)?;
            if let Some(dir) = adapter {
                crate::lora::attach_saved(&mut m, &dir)?;
            }
            let ids = m.tokenizer.encode(&text)?;
            if ids.is_empty() {
                bail!("--text is empty: nothing to score");
            }
            let lps = generate::token_logprobs(&m.decoder, &ids);
            println!("{}", json!({ "ids": ids, "logprobs": lps }));
            Ok(())
        }
    }
}

/// Load a model on the device a user asked for, with a readable error.
pub fn load_for_inference(dir: &std::path::Path, device_name: &str) -> Result<Model> {
    let device = device::pick(device_name)?;
    Model::load(dir, device, "auto", false)
        .with_context(|| format!("loading model {}", dir.display()))
}
