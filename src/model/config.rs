//! `config.json` of a Llama or Qwen2 model, mirrored verbatim.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Llama,
    Qwen2,
}

/// The keys of Hugging Face's `LlamaConfig` / `Qwen2Config` that the decoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub model_type: String,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: Option<usize>,
    pub head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    pub vocab_size: usize,
    #[serde(default = "default_ctx")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Llama's switch for q/k/v/o bias; Qwen2 always has q/k/v bias.
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub rope_scaling: Option<serde_json::Value>,
    /// transformers 5 moved `rope_theta` and `rope_scaling` here.
    #[serde(default)]
    pub rope_parameters: Option<RopeParameters>,
    #[serde(default)]
    pub hidden_act: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RopeParameters {
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_type: Option<String>,
}

fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10000.0
}
fn default_ctx() -> usize {
    2048
}

impl ModelConfig {
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: cannot read (is {} a Hugging Face model directory?)",
                path.display(),
                dir.display()
            )
        })?;
        let mut cfg: Self = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid model config", path.display()))?;
        if let Some(theta) = cfg.rope_parameters.as_ref().and_then(|p| p.rope_theta) {
            cfg.rope_theta = theta;
        }
        cfg.validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(cfg)
    }

    pub fn architecture(&self) -> Result<Architecture> {
        let name = self.architectures.first().map(String::as_str).unwrap_or("");
        match (name, self.model_type.as_str()) {
            ("LlamaForCausalLM", _) | ("", "llama") => Ok(Architecture::Llama),
            ("Qwen2ForCausalLM", _) | ("", "qwen2") => Ok(Architecture::Qwen2),
            _ => bail!(
                "architecture {name:?} (model_type {:?}) is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM)",
                self.model_type
            ),
        }
    }

    fn validate(&self) -> Result<()> {
        self.architecture()?;
        if let Some(act) = &self.hidden_act {
            if act != "silu" {
                bail!("hidden_act {act:?} is not supported (only silu)");
            }
        }
        let scaled = self.rope_scaling.as_ref().is_some_and(|s| !s.is_null())
            || self
                .rope_parameters
                .as_ref()
                .and_then(|p| p.rope_type.as_deref())
                .is_some_and(|t| t != "default");
        if scaled {
            bail!(
                "RoPE scaling (rope_scaling / rope_type other than default) is not supported yet"
            );
        }
        let kv = self.kv_heads();
        if self.num_attention_heads == 0 || kv == 0 || !self.num_attention_heads.is_multiple_of(kv)
        {
            bail!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {kv}",
                self.num_attention_heads
            );
        }
        if !self.head_dim().is_multiple_of(2) {
            bail!(
                "head_dim {} must be even for rotary embeddings",
                self.head_dim()
            );
        }
        Ok(())
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Whether q/k/v projections carry a bias.
    pub fn qkv_bias(&self) -> bool {
        self.attention_bias || self.architecture().ok() == Some(Architecture::Qwen2)
    }

    /// Whether o_proj carries a bias (Llama's `attention_bias` covers it; Qwen2's never has one).
    pub fn o_bias(&self) -> bool {
        self.attention_bias && self.architecture().ok() == Some(Architecture::Llama)
    }
}
