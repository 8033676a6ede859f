//! The checkpoint layout of a Llama / Qwen2 decoder: every tensor's Hugging Face name and
//! shape, derived from `config.json` alone. Loading, random init, GGUF import and GGUF export
//! all read it here, so a new architecture changes one list.

use super::config::ModelConfig;
use anyhow::{bail, Result};
use std::path::Path;

/// The token embeddings, (V, H).
pub const EMBED: &str = "model.embed_tokens.weight";
/// The final RMSNorm's weight, (H).
pub const FINAL_NORM: &str = "model.norm.weight";
/// The output projection, (V, H); absent when tied to the embeddings.
pub const LM_HEAD: &str = "lm_head.weight";

/// A projection of a decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proj {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Proj {
    /// The seven, in layer order (the order of [`crate::preset::TARGET_MODULES`]).
    pub const ALL: [Proj; 7] = [
        Proj::Q,
        Proj::K,
        Proj::V,
        Proj::O,
        Proj::Gate,
        Proj::Up,
        Proj::Down,
    ];

    /// Its path inside a layer, e.g. `self_attn.q_proj`.
    pub const fn module(self) -> &'static str {
        match self {
            Proj::Q => "self_attn.q_proj",
            Proj::K => "self_attn.k_proj",
            Proj::V => "self_attn.v_proj",
            Proj::O => "self_attn.o_proj",
            Proj::Gate => "mlp.gate_proj",
            Proj::Up => "mlp.up_proj",
            Proj::Down => "mlp.down_proj",
        }
    }

    /// Its last name, e.g. `q_proj`: what LoRA's `target_modules` lists.
    pub fn leaf(self) -> &'static str {
        crate::preset::TARGET_MODULES[self as usize]
    }

    /// The projection whose last name is `leaf`.
    pub fn from_leaf(leaf: &str) -> Option<Proj> {
        Proj::ALL.into_iter().find(|p| p.leaf() == leaf)
    }

    /// (out, in) of its weight in `cfg`'s model.
    pub fn shape(self, cfg: &ModelConfig) -> (usize, usize) {
        let (h, ffn) = (cfg.hidden_size, cfg.intermediate_size);
        let (q, kv) = (
            cfg.num_attention_heads * cfg.head_dim(),
            cfg.kv_heads() * cfg.head_dim(),
        );
        match self {
            Proj::Q => (q, h),
            Proj::K | Proj::V => (kv, h),
            Proj::O => (h, q),
            Proj::Gate | Proj::Up => (ffn, h),
            Proj::Down => (h, ffn),
        }
    }

    /// Whether it carries a bias in `cfg`'s model.
    pub fn has_bias(self, cfg: &ModelConfig) -> bool {
        match self {
            Proj::Q | Proj::K | Proj::V => cfg.qkv_bias(),
            Proj::O => cfg.o_bias(),
            Proj::Gate | Proj::Up | Proj::Down => false,
        }
    }
}

/// The two RMSNorms of a decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// Before attention.
    Input,
    /// Before the MLP.
    PostAttention,
}

impl Norm {
    /// Its path inside a layer.
    pub const fn module(self) -> &'static str {
        match self {
            Norm::Input => "input_layernorm",
            Norm::PostAttention => "post_attention_layernorm",
        }
    }
}

/// The dotted path of `module` in layer `layer`, e.g. `model.layers.3.self_attn.q_proj`.
pub fn in_layer(layer: usize, module: &str) -> String {
    format!("model.layers.{layer}.{module}")
}

/// One tensor of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Its Hugging Face name, which is also its VarStore path.
    pub name: String,
    pub shape: Vec<usize>,
}

impl TensorSpec {
    fn new(name: impl Into<String>, shape: &[usize]) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }

    /// The error for a checkpoint in `dir` that lacks this tensor.
    pub fn missing(&self, dir: &Path) -> anyhow::Error {
        anyhow::anyhow!(
            "{}: tensor {} is missing from the weights",
            dir.display(),
            self.name
        )
    }

    /// Fails, naming `file`, when the tensor found there has another shape than this one.
    pub fn check_shape(&self, found: &[usize], file: &Path) -> Result<()> {
        if found != self.shape.as_slice() {
            bail!(
                "{}: tensor {} has shape {found:?}, config.json implies {:?}",
                file.display(),
                self.name,
                self.shape
            );
        }
        Ok(())
    }
}

/// Every tensor of `cfg`'s checkpoint in the order llama.cpp's converter writes them:
/// embeddings; per layer the input norm, q/k/v/o (each weight, then its bias if any), the
/// post-attention norm, gate/up/down; the final norm; the LM head unless tied.
pub fn layout(cfg: &ModelConfig) -> Vec<TensorSpec> {
    let (h, v) = (cfg.hidden_size, cfg.vocab_size);
    let mut out = vec![TensorSpec::new(EMBED, &[v, h])];
    for i in 0..cfg.num_hidden_layers {
        let norm = |n: Norm| TensorSpec::new(format!("{}.weight", in_layer(i, n.module())), &[h]);
        out.push(norm(Norm::Input));
        for p in [Proj::Q, Proj::K, Proj::V, Proj::O] {
            push_proj(&mut out, cfg, i, p);
        }
        out.push(norm(Norm::PostAttention));
        for p in [Proj::Gate, Proj::Up, Proj::Down] {
            push_proj(&mut out, cfg, i, p);
        }
    }
    out.push(TensorSpec::new(FINAL_NORM, &[h]));
    if !cfg.tie_word_embeddings {
        out.push(TensorSpec::new(LM_HEAD, &[v, h]));
    }
    out
}

fn push_proj(out: &mut Vec<TensorSpec>, cfg: &ModelConfig, layer: usize, p: Proj) {
    let (rows, cols) = p.shape(cfg);
    let path = in_layer(layer, p.module());
    out.push(TensorSpec::new(format!("{path}.weight"), &[rows, cols]));
    if p.has_bias(cfg) {
        out.push(TensorSpec::new(format!("{path}.bias"), &[rows]));
    }
}

/// The parameter count of `cfg`'s model.
pub fn parameters(cfg: &ModelConfig) -> usize {
    layout(cfg)
        .iter()
        .map(|t| t.shape.iter().product::<usize>())
        .sum()
}
