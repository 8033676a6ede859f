//! PEFT's `adapter_config.json` for LoRA.

use super::TARGETS;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The keys of PEFT's `LoraConfig` that tunedeck reads and writes. Others are kept on load
/// only when they hold their default, so an adapter that needs a feature we lack is refused
/// instead of silently giving different numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdapterConfig {
    pub peft_type: String,
    pub task_type: Option<String>,
    pub r: usize,
    pub lora_alpha: f64,
    #[serde(default)]
    pub lora_dropout: f64,
    pub target_modules: TargetModules,
    #[serde(default)]
    pub use_rslora: bool,
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    #[serde(default = "default_bias")]
    pub bias: String,
    #[serde(default)]
    pub fan_in_fan_out: bool,
    #[serde(default)]
    pub use_dora: bool,
    #[serde(default)]
    pub inference_mode: bool,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub rank_pattern: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub alpha_pattern: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers_to_transform: Option<serde_json::Value>,
}

fn default_bias() -> String {
    "none".into()
}

/// A list of module names, or PEFT's string form (`"all-linear"` or a single name).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetModules {
    List(Vec<String>),
    One(String),
}

impl AdapterConfig {
    /// The adapter `preset` trains.
    pub fn from_preset(preset: &crate::preset::Preset) -> Self {
        let targets: Vec<String> = preset
            .target_modules()
            .iter()
            .map(|s| s.to_string())
            .collect();
        Self::new(
            preset.lora_rank as usize,
            f64::from(preset.lora_alpha),
            preset.lora_dropout,
            &targets,
            preset.use_rslora,
            &preset.model,
        )
    }

    pub fn new(
        r: usize,
        alpha: f64,
        dropout: f64,
        targets: &[String],
        rslora: bool,
        base: &str,
    ) -> Self {
        Self {
            peft_type: "LORA".into(),
            task_type: Some("CAUSAL_LM".into()),
            r,
            lora_alpha: alpha,
            lora_dropout: dropout,
            target_modules: TargetModules::List(targets.to_vec()),
            use_rslora: rslora,
            base_model_name_or_path: Some(base.into()),
            bias: "none".into(),
            fan_in_fan_out: false,
            use_dora: false,
            inference_mode: true,
            rank_pattern: Default::default(),
            alpha_pattern: Default::default(),
            layers_to_transform: None,
        }
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: cannot read (is {} a PEFT adapter directory?)",
                path.display(),
                dir.display()
            )
        })?;
        let cfg: Self = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a LoRA adapter config", path.display()))?;
        cfg.validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        if self.peft_type != "LORA" {
            bail!(
                "peft_type {:?} is not supported (only LORA)",
                self.peft_type
            );
        }
        if self.r == 0 {
            bail!("r = 0: the rank must be at least 1");
        }
        if !(0.0..1.0).contains(&self.lora_dropout) {
            bail!("lora_dropout = {} must be in [0, 1)", self.lora_dropout);
        }
        if self.bias != "none" {
            bail!("bias = {:?} is not supported (only \"none\")", self.bias);
        }
        if self.use_dora || self.fan_in_fan_out {
            bail!("DoRA and fan_in_fan_out adapters are not supported");
        }
        if !self.rank_pattern.is_empty()
            || !self.alpha_pattern.is_empty()
            || self.layers_to_transform.is_some()
        {
            bail!("rank_pattern, alpha_pattern and layers_to_transform are not supported");
        }
        self.targets()?;
        Ok(())
    }

    /// The targeted projection names.
    pub fn targets(&self) -> Result<Vec<&'static str>> {
        let names: Vec<&str> = match &self.target_modules {
            TargetModules::One(s) if s == "all-linear" => return Ok(TARGETS.to_vec()),
            TargetModules::One(s) => vec![s.as_str()],
            TargetModules::List(v) => v.iter().map(String::as_str).collect(),
        };
        names
            .iter()
            .map(|n| {
                TARGETS.iter().find(|t| *t == n).copied().with_context(|| {
                    format!("target module {n:?} is not one of {}", TARGETS.join(", "))
                })
            })
            .collect()
    }

    /// alpha / r, or alpha / sqrt(r) with rsLoRA.
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }
}
