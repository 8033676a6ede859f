//! A PEFT adapter's A/B tensors, checked against the base model they are exported with: every
//! tensor must belong to a projection of that model, with its shapes.

use crate::lora::{AdapterConfig, TARGETS};
use crate::model::config::ModelConfig;
use crate::model::layout::Proj;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{Kind, Tensor};

/// One projection's update `B · A · scale`.
#[derive(Debug)]
pub struct Pair {
    /// (r, in), float32
    pub a: Tensor,
    /// (out, r), float32
    pub b: Tensor,
}

/// The adapter's updates by module (`model.layers.0.self_attn.q_proj`).
#[derive(Debug)]
pub struct LoraWeights {
    pub config: AdapterConfig,
    pub modules: BTreeMap<String, Pair>,
}

/// The structural keys two configs must share for an adapter of one to fit the other.
fn same_shape(a: &ModelConfig, b: &ModelConfig) -> bool {
    a.architecture().ok() == b.architecture().ok()
        && (a.hidden_size, a.intermediate_size, a.num_hidden_layers)
            == (b.hidden_size, b.intermediate_size, b.num_hidden_layers)
        && (a.num_attention_heads, a.kv_heads(), a.vocab_size)
            == (b.num_attention_heads, b.kv_heads(), b.vocab_size)
}

impl LoraWeights {
    /// Loads the adapter in `dir` for the base model `base` (whose config is `cfg`).
    pub fn load(dir: &Path, base: &Path, cfg: &ModelConfig) -> Result<Self> {
        let config = AdapterConfig::load(dir)?;
        let wrong_base = |why: String| {
            anyhow::anyhow!(
                "{}: this adapter does not fit the base model {} ({why}); it was trained for {:?}: pass that model with --model",
                dir.display(),
                base.display(),
                config.base_model_name_or_path.as_deref().unwrap_or("another model")
            )
        };
        // Shapes alone cannot tell apart two models of one size: when the base the adapter
        // names is here, its config must match too.
        if let Some(named) = super::source::named_base(dir) {
            let same_dir = named.canonicalize().ok() == base.canonicalize().ok();
            if !same_dir {
                let theirs = ModelConfig::load(&named)?;
                if !same_shape(&theirs, cfg) {
                    return Err(wrong_base(format!(
                        "{} has a different config.json",
                        named.display()
                    )));
                }
            }
        }
        let file = dir.join("adapter_model.safetensors");
        if !file.is_file() {
            bail!(
                "{}: no adapter_model.safetensors (is this a PEFT LoRA adapter folder?)",
                dir.display()
            );
        }
        let tensors = Tensor::read_safetensors(&file)
            .map_err(|e| anyhow::anyhow!("{}: cannot read safetensors: {e}", file.display()))?;
        let mut halves: BTreeMap<String, (Option<Tensor>, Option<Tensor>)> = BTreeMap::new();
        for (name, t) in tensors {
            let Some(rest) = name.strip_prefix("base_model.model.") else {
                bail!(
                    "{}: tensor {name} is not a PEFT LoRA tensor",
                    file.display()
                );
            };
            let (module, is_a) = match (
                rest.strip_suffix(".lora_A.weight"),
                rest.strip_suffix(".lora_B.weight"),
            ) {
                (Some(m), _) => (m, true),
                (_, Some(m)) => (m, false),
                _ => bail!(
                    "{}: tensor {name} is not a LoRA A or B weight",
                    file.display()
                ),
            };
            let slot = halves.entry(module.to_string()).or_default();
            let t = t.to_kind(Kind::Float);
            if is_a {
                slot.0 = Some(t);
            } else {
                slot.1 = Some(t);
            }
        }
        let mut modules = BTreeMap::new();
        for (module, (a, b)) in halves {
            let (Some(a), Some(b)) = (a, b) else {
                bail!(
                    "{}: {module} has only one of lora_A and lora_B",
                    file.display()
                );
            };
            let leaf = module.rsplit('.').next().unwrap_or("");
            let layer = module
                .strip_prefix("model.layers.")
                .and_then(|r| r.split('.').next())
                .and_then(|n| n.parse::<usize>().ok());
            let (Some(layer), Some((out, inp))) =
                (layer, Proj::from_leaf(leaf).map(|p| p.shape(cfg)))
            else {
                bail!(
                    "{}: {module} is not one of the projections LoRA targets ({})",
                    file.display(),
                    TARGETS.join(", ")
                );
            };
            if layer >= cfg.num_hidden_layers {
                return Err(wrong_base(format!(
                    "{module}: the base model has {} layers",
                    cfg.num_hidden_layers
                )));
            }
            let r = config.r as i64;
            let want_a = [r, inp as i64];
            let want_b = [out as i64, r];
            if a.size() != want_a || b.size() != want_b {
                return Err(wrong_base(format!(
                    "{module}: A {:?} and B {:?}, the base needs {want_a:?} and {want_b:?}",
                    a.size(),
                    b.size()
                )));
            }
            modules.insert(module, Pair { a, b });
        }
        if modules.is_empty() {
            bail!("{}: the adapter holds no LoRA tensors", file.display());
        }
        Ok(Self { config, modules })
    }

    /// `B · A · scale` of `module` (float32, (out, in)), as [`crate::lora::merge_into`] adds it.
    pub fn delta(&self, module: &str) -> Option<Tensor> {
        let p = self.modules.get(module)?;
        Some(p.b.matmul(&p.a) * self.config.scale())
    }
}
