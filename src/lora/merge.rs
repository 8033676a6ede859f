//! Merging an adapter into its base model, and the per-layer report of what it changes.

use crate::model::Model;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

/// Fold every LoRA branch into its weight (`W += B·A·scale`) and drop the branches.
pub fn merge_into(model: &mut Model) {
    tch::no_grad(|| {
        for (_, linear) in model.decoder.linears_mut() {
            if let Some(delta) = linear.lora_delta() {
                let _ = linear.weight.g_add_(&delta.to_kind(linear.weight.kind()));
                linear.lora = None;
            }
        }
    });
}

/// Write the model's weights and its config/tokenizer files as a Hugging Face directory.
pub fn save_model(model: &Model, out: &Path) -> Result<()> {
    if out.join("config.json").exists() && out.canonicalize().ok() == model.dir.canonicalize().ok() {
        bail!("{}: refusing to overwrite the base model; choose another --out", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut named: Vec<(String, Tensor)> = model.vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let tmp = out.join(".model.safetensors.tmp");
    Tensor::write_safetensors(&named, &tmp).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", tmp.display()))?;
    std::fs::rename(&tmp, out.join("model.safetensors")).with_context(|| format!("{}: cannot move into place", out.display()))?;
    for f in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"] {
        let src = model.dir.join(f);
        if src.exists() {
            std::fs::copy(&src, out.join(f)).with_context(|| format!("{}: cannot copy", src.display()))?;
        }
    }
    Ok(())
}

/// One row of the adapter report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeltaNorm {
    pub module: String,
    /// ‖B·A·scale‖ (Frobenius).
    pub delta: f64,
    /// ‖B·A·scale‖ / ‖W‖: how far the adapter moves this projection.
    pub relative: f64,
}

/// The norm of each projection's update, in layer order.
pub fn delta_norms(model: &mut Model) -> Vec<DeltaNorm> {
    let _guard = tch::no_grad_guard();
    model
        .decoder
        .linears_mut()
        .into_iter()
        .filter_map(|(name, l)| {
            let d = l.lora_delta()?.to_kind(Kind::Float);
            let delta = d.norm().double_value(&[]);
            let w = l.weight.to_kind(Kind::Float).norm().double_value(&[]);
            Some(DeltaNorm { module: name, delta, relative: delta / w.max(1e-12) })
        })
        .collect()
}
