//! `tunedeck model init-random`: a randomly initialised model of a well-known shape, written
//! as a Hugging Face directory, so benchmarks can measure a 7B-class model without
//! downloading 15 GB of weights. Weights are drawn as transformers initialises them (normal
//! with std 0.02, norms at one, biases at zero); the tokenizer is copied from a real model.

use super::config::ModelConfig;
use super::layout::{self, TensorSpec};
use crate::{atomic, safetensors_out};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::Path;
use tch::{Kind, Tensor};

/// A decoder shape: the fields of config.json that size the weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub name: &'static str,
    pub model_type: &'static str,
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    /// `None`: the tokenizer's own vocabulary size.
    pub vocab: Option<usize>,
    pub tied: bool,
    pub rope_theta: f64,
    pub rms_norm_eps: f64,
}

/// The shapes benchmarks use.
pub const SHAPES: [Shape; 3] = [
    Shape {
        name: "qwen2.5-7b",
        model_type: "qwen2",
        hidden: 3584,
        intermediate: 18944,
        layers: 28,
        heads: 28,
        kv_heads: 4,
        vocab: Some(152064),
        tied: false,
        rope_theta: 1e6,
        rms_norm_eps: 1e-6,
    },
    Shape {
        name: "qwen2.5-0.5b",
        model_type: "qwen2",
        hidden: 896,
        intermediate: 4864,
        layers: 24,
        heads: 14,
        kv_heads: 2,
        vocab: Some(151936),
        tied: true,
        rope_theta: 1e6,
        rms_norm_eps: 1e-6,
    },
    // For tests: the Qwen2 layout (q/k/v biases, grouped-query attention) in miniature.
    Shape {
        name: "tiny-qwen2",
        model_type: "qwen2",
        hidden: 64,
        intermediate: 128,
        layers: 2,
        heads: 4,
        kv_heads: 2,
        vocab: None,
        tied: true,
        rope_theta: 1e6,
        rms_norm_eps: 1e-6,
    },
];

/// The shape called `name`, or an error listing the known ones.
pub fn shape(name: &str) -> Result<Shape> {
    SHAPES
        .iter()
        .find(|s| s.name == name)
        .copied()
        .with_context(|| {
            let known: Vec<&str> = SHAPES.iter().map(|s| s.name).collect();
            format!("unknown shape {name:?}: choose one of {}", known.join(", "))
        })
}

impl Shape {
    /// Its `config.json` with a vocabulary of `vocab` (the tokenizer's special tokens and the
    /// dtype are added by [`write`]).
    fn config_json(&self, vocab: usize) -> serde_json::Value {
        json!({
            "architectures": [if self.model_type == "qwen2" { "Qwen2ForCausalLM" } else { "LlamaForCausalLM" }],
            "model_type": self.model_type,
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.hidden / self.heads,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "vocab_size": vocab,
            "max_position_embeddings": 32768,
            "tie_word_embeddings": self.tied,
            "hidden_act": "silu",
            "use_sliding_window": false,
        })
    }

    /// The model config the shape's `config.json` reads back as.
    fn config(&self, vocab: usize) -> Result<ModelConfig> {
        serde_json::from_value(self.config_json(vocab))
            .with_context(|| format!("shape {}: not a valid model config", self.name))
    }

    /// Parameter count with a vocabulary of `vocab`.
    pub fn parameters(&self, vocab: usize) -> Result<usize> {
        Ok(layout::parameters(&self.config(vocab)?))
    }
}

/// Writes a random model of `shape` to `out` with the tokenizer of `tokenizer_dir`;
/// `dtype` is "float32" or "bfloat16". Returns the parameter count.
pub fn write(
    shape: &Shape,
    tokenizer_dir: &Path,
    out: &Path,
    dtype: &str,
    seed: i64,
) -> Result<usize> {
    let (kind, st_dtype) = match dtype {
        "float32" => (Kind::Float, "F32"),
        "bfloat16" => (Kind::BFloat16, "BF16"),
        other => bail!("--dtype {other:?}: choose float32 or bfloat16"),
    };
    let read_json = |name: &str| -> Result<serde_json::Value> {
        let path = tokenizer_dir.join(name);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: cannot read (the tokenizer comes from a real model directory)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
    };
    let tokenizer = read_json("tokenizer.json")?;
    let tokenizer_config = read_json("tokenizer_config.json")?;
    let base_config = read_json("config.json")?;
    let tokens = crate::model::TextTokenizer::load(tokenizer_dir, "auto")?;
    let vocab_needed = tokens.vocab_size();
    let vocab = shape.vocab.unwrap_or(vocab_needed);
    if vocab < vocab_needed {
        bail!(
            "{}: the tokenizer has {vocab_needed} tokens, more than the {vocab} of shape {}",
            tokenizer_dir.display(),
            shape.name
        );
    }

    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let tensors = layout::layout(&shape.config(vocab)?);
    let entries: Vec<_> = tensors
        .iter()
        .map(|t| safetensors_out::Entry {
            name: t.name.clone(),
            dtype: st_dtype,
            shape: t.shape.clone(),
        })
        .collect();
    tch::manual_seed(seed);
    let mut w = safetensors_out::Writer::create(&out.join("model.safetensors"), &entries)?;
    for TensorSpec { name, shape: s } in &tensors {
        let dims: Vec<i64> = s.iter().map(|&d| d as i64).collect();
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(&dims, (Kind::Float, tch::Device::Cpu))
        } else if name.ends_with(".bias") {
            Tensor::zeros(&dims, (Kind::Float, tch::Device::Cpu))
        } else {
            Tensor::randn(&dims, (Kind::Float, tch::Device::Cpu)) * 0.02
        }
        .to_kind(kind)
        .contiguous();
        let numel = s.iter().product::<usize>();
        let mut bytes = vec![0u8; numel * safetensors_out::dtype_size(st_dtype)];
        t.f_copy_data_u8(&mut bytes, numel)
            .with_context(|| format!("{name}: cannot copy the weights out"))?;
        w.write_tensor(&bytes)?;
    }
    w.finish()?;

    let mut config = shape.config_json(vocab);
    config["torch_dtype"] = json!(dtype);
    // The special tokens belong to the tokenizer, so they come from its model.
    for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
        if let Some(v) = base_config.get(key) {
            config[key] = v.clone();
        }
    }
    atomic::write_json(&out.join("config.json"), &config)?;
    atomic::write_json(&out.join("tokenizer.json"), &tokenizer)?;
    atomic::write_json(&out.join("tokenizer_config.json"), &tokenizer_config)?;
    let generation = tokenizer_dir.join("generation_config.json");
    if generation.exists() {
        atomic::write_json(
            &out.join("generation_config.json"),
            &read_json("generation_config.json")?,
        )?;
    }
    shape.parameters(vocab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_shapes_have_their_published_sizes() {
        // Qwen2.5-7B: 7.62 B parameters; Qwen2.5-0.5B: 0.49 B (from the model cards).
        let b = |name: &str| {
            shape(name)
                .unwrap()
                .parameters(shape(name).unwrap().vocab.unwrap())
                .unwrap() as f64
                / 1e9
        };
        assert!((b("qwen2.5-7b") - 7.62).abs() < 0.01, "{}", b("qwen2.5-7b"));
        assert!(
            (b("qwen2.5-0.5b") - 0.49).abs() < 0.01,
            "{}",
            b("qwen2.5-0.5b")
        );
        assert!(shape("gpt-5").is_err());
    }
}
