//! `tunedeck model import-gguf`: a GGUF file to a Hugging Face model directory, streamed
//! tensor by tensor.

use super::layout::{gguf_name, hf_name, permuted_heads, unpermute};
use super::{tokenizer, GgufFile, TensorInfo, Value};
use crate::model::config::ModelConfig;
use crate::model::layout::{layout, EMBED, LM_HEAD};
use crate::{atomic, safetensors_out};
use anyhow::{bail, Context, Result};
use half::{bf16, f16};
use serde_json::json;
use std::path::Path;

/// The dtype the weights are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutDtype {
    Float32,
    Bfloat16,
    Float16,
}

pub struct ImportOptions {
    pub dtype: OutDtype,
}

struct Arch {
    name: &'static str,
    hf_class: &'static str,
    /// llama.cpp permutes Llama's q/k rows for its interleaved RoPE; Qwen2 uses NeoX RoPE and is
    /// stored as in Hugging Face.
    permuted_qk: bool,
}

fn arch(name: &str) -> Result<Arch> {
    Ok(match name {
        "llama" => Arch {
            name: "llama",
            hf_class: "LlamaForCausalLM",
            permuted_qk: true,
        },
        "qwen2" => Arch {
            name: "qwen2",
            hf_class: "Qwen2ForCausalLM",
            permuted_qk: false,
        },
        other => bail!("architecture {other:?} is not supported (supported: llama, qwen2)"),
    })
}

fn encode(values: &[f32], dtype: OutDtype) -> Vec<u8> {
    match dtype {
        OutDtype::Float32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        OutDtype::Bfloat16 => values
            .iter()
            .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
            .collect(),
        OutDtype::Float16 => values
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
    }
}

/// Import `gguf_path` into `out` (created if missing). `progress(done, total, name)` is called
/// after each tensor.
pub fn import(
    gguf_path: &Path,
    out: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<()> {
    let g = GgufFile::open(gguf_path)?;
    convert(&g, out, opts, progress).with_context(|| format!("{}", gguf_path.display()))
}

fn convert(
    g: &GgufFile,
    out: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<()> {
    let arch = arch(g.require_str("general.architecture")?)?;
    let key = |k: &str| format!("{}.{k}", arch.name);
    let hidden = g.require_u64(&key("embedding_length"))? as usize;
    let heads = g.require_u64(&key("attention.head_count"))? as usize;
    let kv_heads = g
        .get(&key("attention.head_count_kv"))
        .and_then(Value::as_u64)
        .unwrap_or(heads as u64) as usize;
    let layers = g.require_u64(&key("block_count"))?;
    let ffn = g.require_u64(&key("feed_forward_length"))?;
    let eps = g
        .require(&key("attention.layer_norm_rms_epsilon"))?
        .as_f64()
        .context("rms epsilon is not a number")?;
    let theta = g
        .get(&key("rope.freq_base"))
        .and_then(Value::as_f64)
        .unwrap_or(10000.0);
    let ctx = g
        .get(&key("context_length"))
        .and_then(Value::as_u64)
        .unwrap_or(2048);
    if heads == 0
        || !hidden.is_multiple_of(heads)
        || kv_heads == 0
        || !heads.is_multiple_of(kv_heads)
    {
        bail!("inconsistent attention shape: hidden {hidden}, {heads} heads, {kv_heads} KV heads");
    }
    let head_dim = hidden / heads;
    let tok = tokenizer::build(g)?;
    let vocab = tok.tokenizer["model"]["vocab"]
        .as_object()
        .map_or(0, |v| v.len());

    let mut tensors: Vec<(String, &TensorInfo)> = Vec::new();
    for t in &g.tensors {
        if t.name == "rope_freqs.weight" {
            bail!("tensor rope_freqs.weight: Llama 3.1-style RoPE scaling is not supported");
        }
        tensors.push((hf_name(&t.name)?, t));
    }
    let embed = tensors
        .iter()
        .find(|(n, _)| n == EMBED)
        .context("tensor token_embd.weight is missing")?;
    if embed.1.shape != [vocab, hidden] {
        bail!(
            "the tokenizer does not match the vocabulary: token_embd has shape {:?}, tokenizer has {vocab} tokens, hidden size {hidden}",
            embed.1.shape
        );
    }
    let tied = !tensors.iter().any(|(n, _)| n == LM_HEAD);
    tensors.sort_by(|a, b| a.0.cmp(&b.0));

    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let dtype_name = match opts.dtype {
        OutDtype::Float32 => ("F32", "float32"),
        OutDtype::Bfloat16 => ("BF16", "bfloat16"),
        OutDtype::Float16 => ("F16", "float16"),
    };
    let mut config = json!({
        "architectures": [arch.hf_class],
        "model_type": arch.name,
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "rms_norm_eps": eps,
        "rope_theta": theta,
        "vocab_size": vocab,
        "max_position_embeddings": ctx,
        "tie_word_embeddings": tied,
        "hidden_act": "silu",
        "eos_token_id": tok.eos_token_id,
        "torch_dtype": dtype_name.1,
    });
    if let Some(b) = tok.bos_token_id {
        config["bos_token_id"] = json!(b);
    }
    if let Some(p) = tok.pad_token_id {
        config["pad_token_id"] = json!(p);
    }
    if arch.name == "llama" {
        config["attention_bias"] = json!(false);
        config["mlp_bias"] = json!(false);
    }

    check_layout(&config, &tensors)?;

    let entries: Vec<_> = tensors
        .iter()
        .map(|(n, t)| safetensors_out::Entry {
            name: n.clone(),
            dtype: dtype_name.0,
            shape: t.shape.clone(),
        })
        .collect();
    let weights = out.join("model.safetensors");
    let mut w = safetensors_out::Writer::create(&weights, &entries)?;
    for (i, (name, t)) in tensors.iter().enumerate() {
        let mut values = g.dequantize(t)?;
        if arch.permuted_qk && t.shape.len() == 2 {
            if let Some(heads) = permuted_heads(name, heads, kv_heads) {
                values = unpermute(&values, heads, t.shape[1]);
            }
        }
        w.write_tensor(&encode(&values, opts.dtype))?;
        progress(i + 1, tensors.len(), name);
    }
    w.finish()?;

    let mut generation = json!({"eos_token_id": tok.eos_token_id, "do_sample": false});
    if let Some(b) = tok.bos_token_id {
        generation["bos_token_id"] = json!(b);
    }
    atomic::write_json(&out.join("config.json"), &config)?;
    atomic::write_json(&out.join("generation_config.json"), &generation)?;
    atomic::write_json(&out.join("tokenizer.json"), &tok.tokenizer)?;
    atomic::write_json(&out.join("tokenizer_config.json"), &tok.config)?;
    Ok(())
}

/// Fails unless the GGUF holds exactly the tensors, with their shapes, that the `config.json`
/// written for it implies: a file that would import but not load is refused here.
fn check_layout(config: &serde_json::Value, tensors: &[(String, &TensorInfo)]) -> Result<()> {
    let cfg: ModelConfig = serde_json::from_value(config.clone())
        .context("the metadata do not make a valid config.json")?;
    let specs = layout(&cfg);
    for spec in &specs {
        let t = tensors
            .iter()
            .find(|(n, _)| *n == spec.name)
            .map(|(_, t)| t)
            .with_context(|| {
                format!(
                    "tensor {} ({}) is missing, though the metadata imply it",
                    gguf_name(&spec.name).unwrap_or_default(),
                    spec.name
                )
            })?;
        if t.shape != spec.shape {
            bail!(
                "tensor {} has shape {:?}, the metadata imply {:?}",
                t.name,
                t.shape,
                spec.shape
            );
        }
    }
    if let Some((_, extra)) = tensors
        .iter()
        .find(|(n, _)| !specs.iter().any(|s| s.name == *n))
    {
        bail!(
            "tensor {} does not belong to a model of {} layers",
            extra.name,
            cfg.num_hidden_layers
        );
    }
    Ok(())
}
