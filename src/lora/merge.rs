//! Merging an adapter into its base model, and the per-layer report of what it changes.

use crate::model::Model;
use tch::Kind;

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

/// Folds the branches in for answering only, where that loses nothing: over float32 weights
/// `(W + B·A·scale)·x` is `W·x + (B·A·x)·scale` up to float32 rounding, and one GEMM per
/// projection replaces three GEMMs, a scale and an add (at 8 rows a decoding step of
/// SmolLM2 spends ~16 % of its time in the unmerged branches, `LORA=16 just bench-decode`).
/// Over bfloat16 weights a merge would round the small update away, so the branches stay.
/// The model can no longer be trained or unplugged afterwards.
pub fn merge_for_answering(model: &mut Model) {
    let float32 = model
        .decoder
        .linears_mut()
        .iter()
        .all(|(_, l)| l.lora.is_none() || l.weight.kind() == Kind::Float);
    if float32 {
        merge_into(model);
    }
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
            Some(DeltaNorm {
                module: name,
                delta,
                relative: delta / w.max(1e-12),
            })
        })
        .collect()
}
