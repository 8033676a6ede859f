//! LoRA adapters with PEFT semantics and PEFT's file layout.
//!
//! `y = W x + (B A dropout(x)) · alpha/r` (`alpha/sqrt(r)` with rsLoRA); A starts
//! kaiming-uniform(a = √5), B at zero, so a fresh adapter changes nothing. The A/B tensors live
//! in their own VarStore whose names are PEFT's keys
//! (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`), so the optimiser sees
//! only them and saving needs no renaming.

mod config;
pub mod estimate;
mod merge;

pub use config::AdapterConfig;
pub use merge::{delta_norms, merge_for_answering, merge_into, DeltaNorm};

use crate::model::linear::LoraBranch;
use crate::model::Model;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;
use tch::{nn, Tensor};

/// The seven projections LoRA can target.
pub use crate::preset::TARGET_MODULES as TARGETS;

/// An adapter attached to a model: its config and the trainable A/B tensors.
pub struct Adapter {
    pub config: AdapterConfig,
    pub vs: nn::VarStore,
}

fn module_leaf(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// A VarStore path from a dotted name.
fn path<'a>(vs: &'a nn::VarStore, dotted: &str) -> nn::Path<'a> {
    dotted.split('.').fold(vs.root(), |p, s| p / s)
}

/// Attach a fresh adapter (A random, B zero) to every targeted projection.
pub fn attach_new(model: &mut Model, config: AdapterConfig) -> Result<Adapter> {
    config.validate()?;
    let vs = nn::VarStore::new(model.device);
    let targets = config.targets()?;
    let (r, scale) = (config.r as i64, config.scale());
    for (name, linear) in model.decoder.linears_mut() {
        if !targets.contains(&module_leaf(&name)) {
            continue;
        }
        let size = linear.weight.size();
        let (out, inp) = (size[0], size[1]);
        let p = path(&vs, &format!("base_model.model.{name}"));
        let bound = 1.0 / (inp as f64).sqrt();
        let a = (&p / "lora_A").uniform("weight", &[r, inp], -bound, bound);
        let b = (&p / "lora_B").zeros("weight", &[out, r]);
        linear.lora = Some(LoraBranch {
            a,
            b,
            scale,
            dropout: config.lora_dropout,
        });
    }
    if vs.is_empty() {
        bail!(
            "no projection matched target_modules {:?}",
            config.target_modules
        );
    }
    Ok(Adapter { config, vs })
}

/// Plug a saved PEFT adapter (`adapter_config.json` + `adapter_model.safetensors`) into a model.
pub fn attach_saved(model: &mut Model, dir: &Path) -> Result<Adapter> {
    let config = AdapterConfig::load(dir)?;
    let file = dir.join("adapter_model.safetensors");
    if !file.exists() {
        bail!(
            "{}: no adapter_model.safetensors (is this a PEFT LoRA adapter directory?)",
            dir.display()
        );
    }
    let mut tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read safetensors: {e}", file.display()))?
        .into_iter()
        .collect();
    let adapter = attach_new(model, config).with_context(|| format!("{}", dir.display()))?;
    let mut vars = adapter.vs.variables();
    let mut names: Vec<String> = vars.keys().cloned().collect();
    names.sort();
    tch::no_grad(|| -> Result<()> {
        for name in &names {
            let t = tensors
                .remove(name)
                .with_context(|| format!("{}: tensor {name} is missing", file.display()))?;
            let var = vars.get_mut(name).expect("name comes from the same map");
            if t.size() != var.size() {
                bail!(
                    "{}: tensor {name} has shape {:?}, the model needs {:?}",
                    file.display(),
                    t.size(),
                    var.size()
                );
            }
            var.copy_(&t.to_kind(var.kind()));
        }
        Ok(())
    })?;
    if let Some(extra) = tensors.keys().min() {
        bail!(
            "{}: tensor {extra} does not belong to any targeted projection of this model (was the adapter trained for another base model?)",
            file.display()
        );
    }
    Ok(adapter)
}

/// A model's LoRA branches taken out of it ("the skill card" pulled), one slot per
/// projection in `linears_mut` order, ready to be plugged back in.
#[derive(Debug)]
pub struct Unplugged(Vec<Option<LoraBranch>>);

/// Takes every LoRA branch out of `model`, leaving the base model.
pub fn unplug(model: &mut Model) -> Unplugged {
    Unplugged(
        model
            .decoder
            .linears_mut()
            .into_iter()
            .map(|(_, l)| l.lora.take())
            .collect(),
    )
}

/// Puts back what [`unplug`] took out of the same model.
pub fn plug(model: &mut Model, card: Unplugged) {
    for ((_, l), b) in model.decoder.linears_mut().into_iter().zip(card.0) {
        l.lora = b;
    }
}

impl Adapter {
    /// Write `adapter_config.json` and `adapter_model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        // tch picks the format from the extension: the temporary name must end in .safetensors.
        let tmp = dir.join(".adapter_model.tmp.safetensors");
        self.vs
            .save(&tmp)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join("adapter_model.safetensors"))
            .with_context(|| format!("{}: cannot move adapter into place", dir.display()))?;
        crate::atomic::write_json(&dir.join("adapter_config.json"), &self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::generate::token_logprobs;

    #[test]
    fn unplugging_gives_back_the_base_model_and_plugging_the_adapter() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let load =
            || Model::load(&root.join("tiny-llama"), tch::Device::Cpu, "auto", false).unwrap();
        let base = load();
        let mut m = load();
        crate::lora::attach_saved(&mut m, &root.join("peft-tiny-llama")).unwrap();
        let ids = [1u32, 5, 9, 20, 33, 7];
        let lp = |m: &Model| -> Vec<f32> {
            token_logprobs(&m.decoder, &ids)
                .into_iter()
                .flatten()
                .collect()
        };
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        let tuned = lp(&m);
        assert!(!close(&tuned, &lp(&base)), "the adapter changes the model");
        let branches = unplug(&mut m);
        assert!(close(&lp(&m), &lp(&base)));
        plug(&mut m, branches);
        assert!(close(&lp(&m), &tuned));
    }
}
