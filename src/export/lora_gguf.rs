//! The adapter alone as a llama.cpp LoRA GGUF (`llama-cli --lora`, Ollama's `ADAPTER`):
//! `blk.N.attn_q.weight.lora_a` holds A (r, in) and `.lora_b` holds B (out, r), F32, with
//! `adapter.lora.alpha` such that llama.cpp's `alpha / r` is the adapter's own scale.

use super::lora::LoraWeights;
use crate::gguf::layout::{gguf_name, permute, permuted_heads};
use crate::gguf::metadata::arch_name;
use crate::gguf::quantize::quantize;
use crate::gguf::write::{GgufWriter, TensorDecl};
use crate::gguf::{GgmlType, Value};
use crate::model::config::ModelConfig;
use anyhow::{Context, Result};
use std::path::Path;
use tch::Tensor;

fn values(t: &Tensor) -> Result<Vec<f32>> {
    Vec::<f32>::try_from(t.flatten(0, -1)).context("cannot read a LoRA tensor as float32")
}

/// Writes `lora` (for the model whose config is `cfg`) to `out`.
pub fn write(lora: &LoraWeights, cfg: &ModelConfig, out: &Path, name: &str) -> Result<()> {
    let arch = arch_name(cfg)?;
    let r = lora.config.r;
    // llama.cpp scales by alpha / r; rsLoRA's alpha / sqrt(r) is folded into alpha.
    let alpha = lora.config.scale() * r as f64;
    let s = |v: &str| Value::String(v.to_string());
    let metadata = vec![
        ("general.architecture".to_string(), s(arch)),
        ("general.type".into(), s("adapter")),
        ("general.name".into(), s(name)),
        ("adapter.type".into(), s("lora")),
        ("adapter.lora.alpha".into(), Value::F32(alpha as f32)),
    ];
    let mut decls = Vec::new();
    let mut data = Vec::new();
    // Sorted by layer number, then module, so the file reads in model order.
    let mut modules: Vec<(&String, &super::lora::Pair)> = lora.modules.iter().collect();
    let layer = |m: &str| -> usize {
        m.split('.')
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    modules.sort_by_key(|(m, _)| (layer(m), (*m).clone()));
    for (module, pair) in modules {
        let base = format!("{}.weight", gguf_name(module)?);
        let a = values(&pair.a)?;
        let mut b = values(&pair.b)?;
        // llama.cpp's q/k rows are interleaved per head: the update's rows are B's rows.
        if arch == "llama" {
            if let Some(heads) = permuted_heads(module, cfg.num_attention_heads, cfg.kv_heads()) {
                b = permute(&b, heads, r);
            }
        }
        let (out_dim, in_dim) = (pair.b.size()[0] as usize, pair.a.size()[1] as usize);
        for (suffix, shape, v) in [
            ("lora_a", vec![r, in_dim], a),
            ("lora_b", vec![out_dim, r], b),
        ] {
            decls.push(TensorDecl {
                name: format!("{base}.{suffix}"),
                shape,
                ggml_type: GgmlType::F32,
            });
            data.push(v);
        }
    }
    let mut w = GgufWriter::create(out, &metadata, &decls)?;
    for v in data {
        w.write_tensor(&quantize(&v, GgmlType::F32)?)?;
    }
    w.finish()
}
