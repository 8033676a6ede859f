//! `tunedeck export`: a run (or an adapter) as files llama.cpp and Ollama load — the merged
//! model as GGUF, or the base model's GGUF beside a LoRA GGUF, plus a Modelfile and a README.
//!
//! Everything is written under a temporary name and moved into place at the end
//! ([`staging`]); weights stream one tensor at a time ([`model_gguf`]).

mod lora;
mod lora_gguf;
mod model_gguf;
mod modelfile;
pub mod source;
mod staging;

pub use source::{Source, Verdict};

use crate::gguf::metadata::ChatMetadata;
use crate::gguf::GgmlType;
use crate::model::config::ModelConfig;
use crate::model::TextTokenizer;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// How the weights are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quant {
    /// float32: exact.
    F32,
    /// float16: half the size, rounding only.
    F16,
    /// 8-bit blocks of 32 with an f16 scale: a quarter of float32.
    #[value(name = "q8_0")]
    Q8_0,
}

impl Quant {
    pub fn ggml_type(self) -> GgmlType {
        match self {
            Quant::F32 => GgmlType::F32,
            Quant::F16 => GgmlType::F16,
            Quant::Q8_0 => GgmlType::Q8_0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Quant::F32 => "f32",
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
        }
    }
}

/// What to export and where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// A run folder or a PEFT adapter folder.
    pub source: PathBuf,
    /// The export folder.
    pub to: PathBuf,
    /// The base model, instead of the one the run or adapter names.
    pub model: Option<PathBuf>,
    pub quant: Quant,
    /// The base model and the adapter as two files instead of one merged model.
    pub lora_only: bool,
    /// Write into a non-empty `to`.
    pub force: bool,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The export folder.
    pub dir: PathBuf,
    /// The model GGUF's file name (merged, or the base with `--lora-only`).
    pub model_file: String,
    /// The LoRA GGUF's file name, with `--lora-only`.
    pub adapter_file: Option<String>,
    /// Where it came from.
    pub source: Source,
}

/// One written tensor: (done, total, GGUF tensor name).
pub type ProgressFn<'a> = &'a mut dyn FnMut(usize, usize, &str);

fn dir_name(p: &Path) -> String {
    p.canonicalize()
        .ok()
        .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "base".into())
}

/// Runs the export; on error nothing is left in `to` or beside it.
pub fn export(opts: &ExportOptions, progress: ProgressFn) -> Result<Exported> {
    let src = source::resolve(&opts.source, opts.model.as_deref())?;
    let cfg = ModelConfig::load(&src.base)?;
    let tok = TextTokenizer::load(&src.base, &src.template)?;
    let lora = match &src.adapter {
        Some(dir) => Some(lora::LoraWeights::load(dir, &src.base, &cfg)?),
        None => None,
    };
    if opts.lora_only && lora.is_none() {
        bail!(
            "{}: this run fine-tuned the whole model, there is no adapter to export alone: drop --lora-only",
            opts.source.display()
        );
    }
    let staging = staging::Staging::begin(&opts.to, opts.force)?;
    let turn_end = tok.template.turn_end().to_string();
    let chat = ChatMetadata {
        jinja: tok.template.to_jinja(),
        eos_token: turn_end.clone(),
    };
    let q = opts.quant.name();
    let (model_file, adapter_file, merged) = if opts.lora_only {
        let base = dir_name(&src.base);
        (
            format!("{base}.{q}.gguf"),
            Some(format!("{}.lora.gguf", src.name)),
            None,
        )
    } else {
        (format!("{}.{q}.gguf", src.name), None, lora.as_ref())
    };
    let gguf_name = if opts.lora_only {
        dir_name(&src.base)
    } else {
        src.name.clone()
    };
    model_gguf::write(
        &src.base,
        merged,
        &staging.path().join(&model_file),
        opts.quant,
        &gguf_name,
        &chat,
        progress,
    )?;
    if let (Some(file), Some(l)) = (&adapter_file, &lora) {
        lora_gguf::write(l, &cfg, &staging.path().join(file), &src.name)?;
    }
    let mut stops = vec![turn_end.clone()];
    if tok.eos_token != turn_end {
        stops.push(tok.eos_token.clone());
    }
    let text = modelfile::modelfile(&modelfile::ModelfileSpec {
        from: &model_file,
        adapter: adapter_file.as_deref(),
        template: &tok.template,
        stops: &stops,
    })?;
    crate::atomic::write(&staging.path().join("Modelfile"), text.as_bytes())?;
    let (_, system) = tok.template.ollama_template();
    let readme = modelfile::readme(&modelfile::ReadmeSpec {
        name: &src.name,
        model_file: &model_file,
        adapter_file: adapter_file.as_deref(),
        quant: q,
        verdict: &src.verdict,
        system: system.as_deref(),
        turn_end: &turn_end,
    });
    crate::atomic::write(&staging.path().join("README.md"), readme.as_bytes())?;
    staging.commit()?;
    Ok(Exported {
        dir: opts.to.clone(),
        model_file,
        adapter_file,
        source: src,
    })
}
