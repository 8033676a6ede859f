//! Load a decoder from a Hugging Face directory (single or sharded safetensors).

use super::config::ModelConfig;
use super::linear::Linear;
use super::llama::{Attention, Decoder, Layer, Mlp};
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

/// Tensors read from disk, handed out by name into a VarStore whose paths are the same names.
struct Weights<'a> {
    tensors: HashMap<String, Tensor>,
    dir: &'a Path,
    root: nn::Path<'a>,
    opts: LoadOptions,
}

impl Weights<'_> {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.tensors.remove(name).with_context(|| {
            format!(
                "{}: tensor {name} is missing from the weights",
                self.dir.display()
            )
        })?;
        let want: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        if t.size() != want {
            bail!(
                "{}: tensor {name} has shape {:?}, config.json implies {want:?}",
                self.dir.display(),
                t.size()
            );
        }
        let t = t.to_kind(self.opts.kind).to_device(self.opts.device);
        let mut parts: Vec<&str> = name.split('.').collect();
        let leaf = parts.pop().unwrap_or(name);
        let path = parts.iter().fold(self.root.clone(), |p, s| p / *s);
        Ok(path.add(leaf, t, self.opts.trainable))
    }

    fn linear(&mut self, name: &str, out: usize, inp: usize, bias: bool) -> Result<Linear> {
        let weight = self.take(&format!("{name}.weight"), &[out, inp])?;
        let bias = if bias {
            Some(self.take(&format!("{name}.bias"), &[out])?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            lora: None,
        })
    }
}

/// Load the decoder of `dir` into `vs`, whose variable names become the checkpoint keys.
pub fn load_decoder(dir: &Path, vs: &nn::VarStore, opts: LoadOptions) -> Result<Decoder> {
    let cfg = ModelConfig::load(dir)?;
    let mut tensors = HashMap::new();
    for file in weight_files(dir)? {
        let read = Tensor::read_safetensors(&file)
            .map_err(|e| anyhow::anyhow!("{}: cannot read safetensors: {e}", file.display()))?;
        tensors.extend(read);
    }
    let mut w = Weights {
        tensors,
        dir,
        root: vs.root(),
        opts,
    };
    let (h, ffn, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let (q_out, kv_out) = (
        cfg.num_attention_heads * cfg.head_dim(),
        cfg.kv_heads() * cfg.head_dim(),
    );
    let embed_tokens = w.take("model.embed_tokens.weight", &[v, h])?;
    let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
    for i in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{i}");
        let self_attn = Attention {
            q_proj: w.linear(&format!("{p}.self_attn.q_proj"), q_out, h, cfg.qkv_bias())?,
            k_proj: w.linear(&format!("{p}.self_attn.k_proj"), kv_out, h, cfg.qkv_bias())?,
            v_proj: w.linear(&format!("{p}.self_attn.v_proj"), kv_out, h, cfg.qkv_bias())?,
            o_proj: w.linear(&format!("{p}.self_attn.o_proj"), h, q_out, cfg.o_bias())?,
        };
        let mlp = Mlp {
            gate_proj: w.linear(&format!("{p}.mlp.gate_proj"), ffn, h, false)?,
            up_proj: w.linear(&format!("{p}.mlp.up_proj"), ffn, h, false)?,
            down_proj: w.linear(&format!("{p}.mlp.down_proj"), h, ffn, false)?,
        };
        layers.push(Layer {
            input_layernorm: w.take(&format!("{p}.input_layernorm.weight"), &[h])?,
            self_attn,
            post_attention_layernorm: w
                .take(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
            mlp,
        });
    }
    let norm = w.take("model.norm.weight", &[h])?;
    let lm_head = if cfg.tie_word_embeddings {
        None
    } else {
        Some(w.take("lm_head.weight", &[v, h])?)
    };
    Ok(Decoder {
        config: cfg,
        embed_tokens,
        layers,
        norm,
        lm_head,
    })
}
