//! Load a decoder from a Hugging Face directory (single or sharded safetensors).

use super::config::ModelConfig;
use super::layout::layout;
use super::llama::Decoder;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

/// Where and how the base weights live.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub device: Device,
    pub kind: Kind,
    /// Register the weights as trainable (full fine-tuning); otherwise they are frozen.
    pub trainable: bool,
}

/// The safetensors files of a model directory, from the shard index when there is one.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index)
            .with_context(|| format!("{}: cannot read", index.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not valid JSON", index.display()))?;
        let map = json["weight_map"]
            .as_object()
            .with_context(|| format!("{}: no weight_map object", index.display()))?;
        let files: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    let single = dir.join("model.safetensors");
    if !single.exists() {
        bail!(
            "{}: no model.safetensors or model.safetensors.index.json",
            dir.display()
        );
    }
    Ok(vec![single])
}

/// Load the decoder of `dir` into `vs`, whose variable names become the checkpoint keys.
/// Every tensor of the config's [`layout`] must be there with its shape; others are ignored.
pub fn load_decoder(dir: &Path, vs: &nn::VarStore, opts: LoadOptions) -> Result<Decoder> {
    let cfg = ModelConfig::load(dir)?;
    let files = weight_files(dir)?;
    // Each tensor with the index of the file it came from, for the shape error.
    let mut found: HashMap<String, (Tensor, usize)> = HashMap::new();
    for (i, file) in files.iter().enumerate() {
        let read = Tensor::read_safetensors(file)
            .map_err(|e| anyhow::anyhow!("{}: cannot read safetensors: {e}", file.display()))?;
        found.extend(read.into_iter().map(|(name, t)| (name, (t, i))));
    }
    let root = vs.root();
    let mut loaded = HashMap::new();
    for spec in layout(&cfg) {
        let (t, file) = found.remove(&spec.name).ok_or_else(|| spec.missing(dir))?;
        let size: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        spec.check_shape(&size, &files[file])?;
        let t = t.to_kind(opts.kind).to_device(opts.device);
        let mut parts: Vec<&str> = spec.name.split('.').collect();
        let leaf = parts.pop().unwrap_or(spec.name.as_str());
        let path = parts.iter().fold(root.clone(), |p, s| p / *s);
        let var = path.add(leaf, t, opts.trainable);
        loaded.insert(spec.name, var);
    }
    Decoder::from_tensors(cfg, loaded)
}
