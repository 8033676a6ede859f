//! Derived figures for a preset: parameter counts, a memory estimate and an ETA, plus the
//! number formats the cockpit shows them in. Rough on purpose: they answer "will it fit,
//! how long will it take", not the last megabyte.

use std::path::Path;

use crate::model::ModelConfig;
use crate::preset::{Device, Dtype, FinetuningType, Preset};

/// The sizes of a decoder that the estimates need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Hidden size.
    pub hidden: u64,
    /// MLP inner size.
    pub intermediate: u64,
    /// Decoder layers.
    pub layers: u64,
    /// Query heads × head size.
    pub q_dim: u64,
    /// Key/value heads × head size.
    pub kv_dim: u64,
    /// Vocabulary size.
    pub vocab: u64,
    /// Input and output embeddings shared.
    pub tied: bool,
}

impl Dims {
    /// SmolLM2-135M-Instruct's config.json (the demo's model), for figures that must not
    /// depend on whether the model is installed.
    pub const SMOLLM2_135M: Dims = Dims {
        hidden: 576,
        intermediate: 1536,
        layers: 30,
        q_dim: 576,
        kv_dim: 192,
        vocab: 49152,
        tied: true,
    };
}

/// What is known about the base model: its parameter count and, from `config.json`, its
/// dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    /// All parameters.
    pub params: u64,
    /// Dimensions, when `config.json` was read.
    pub dims: Option<Dims>,
}

impl ModelShape {
    /// Exact shape from a model's `config.json`.
    pub fn from_dims(d: Dims) -> ModelShape {
        let attn = d.hidden * d.q_dim * 2 + d.hidden * d.kv_dim * 2;
        let mlp = 3 * d.hidden * d.intermediate;
        let layer = attn + mlp + 2 * d.hidden;
        let embed = d.vocab * d.hidden * if d.tied { 1 } else { 2 };
        ModelShape {
            params: d.layers * layer + embed + d.hidden,
            dims: Some(d),
        }
    }

    /// A guess from a name like `Qwen2.5-7B-Instruct` or `smollm2-135m` (no dimensions).
    pub fn from_name(name: &str) -> Option<ModelShape> {
        let lower = name.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        // The last "<number><b|m>" that stands alone: "qwen2.5-7b" is 7B, not 2.5.
        let mut found = None;
        for (i, &b) in bytes.iter().enumerate() {
            let scale = match b {
                b'b' => 1e9,
                b'm' => 1e6,
                _ => continue,
            };
            let ends_word = bytes.get(i + 1).is_none_or(|c| !c.is_ascii_alphanumeric());
            let start = lower[..i]
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |s| s + 1);
            if ends_word && start < i {
                if let Ok(x) = lower[start..i].parse::<f64>() {
                    found = Some((x * scale) as u64);
                }
            }
        }
        found.map(|params| ModelShape { params, dims: None })
    }

    /// The shape of a preset's model: its `config.json` when the folder is here (a small file,
    /// fine to read on the UI thread), else a guess from the name.
    pub fn probe(model: &str, base_dir: &Path) -> Option<ModelShape> {
        let dir = crate::paths::resolve_model(model, base_dir);
        match ModelConfig::load(&dir) {
            Ok(c) => Some(ModelShape::from_dims(Dims {
                hidden: c.hidden_size as u64,
                intermediate: c.intermediate_size as u64,
                layers: c.num_hidden_layers as u64,
                q_dim: (c.num_attention_heads * c.head_dim()) as u64,
                kv_dim: (c.kv_heads() * c.head_dim()) as u64,
                vocab: c.vocab_size as u64,
                tied: c.tie_word_embeddings,
            })),
            Err(_) => ModelShape::from_name(model),
        }
    }

    /// Parameters the preset trains: LoRA's A and B on each adapted projection, or all.
    pub fn trainable(&self, p: &Preset) -> u64 {
        if p.finetuning_type == FinetuningType::Full {
            return self.params;
        }
        let r = u64::from(p.lora_rank);
        match self.dims {
            Some(d) => {
                let per_layer: u64 = p
                    .target_modules()
                    .iter()
                    .map(|m| match *m {
                        "q_proj" | "o_proj" => d.hidden + d.q_dim,
                        "k_proj" | "v_proj" => d.hidden + d.kv_dim,
                        _ => d.hidden + d.intermediate,
                    })
                    .sum();
                d.layers * per_layer * r
            }
            // Rank 8 on all projections of a 7B model trains about 0.26% of it.
            None => {
                let share = p.target_modules().len() as f64 / 7.0;
                (self.params as f64 * 0.0026 * r as f64 / 8.0 * share) as u64
            }
        }
    }

    /// Training memory in bytes, an upper bound: frozen weights, trainable weights with their
    /// gradients and AdamW moments in float32 (16 bytes each), and activations for batches
    /// padded to the full `cutoff_len` (shorter records need less).
    pub fn memory(&self, p: &Preset) -> u64 {
        let bytes = dtype_bytes(p);
        let trainable = self.trainable(p);
        let frozen = if p.finetuning_type == FinetuningType::Full {
            0
        } else {
            self.params * bytes
        };
        frozen + trainable * 16 + self.activations(p)
    }

    /// Activation memory for one batch (Korthikanti et al.: about 34·s·b·h half-precision
    /// bytes per layer without stored attention scores); with gradient checkpointing only
    /// each layer's input is kept, plus one layer's worth.
    fn activations(&self, p: &Preset) -> u64 {
        let Some(d) = self.dims else { return 0 };
        let tokens = u64::from(p.per_device_train_batch_size) * u64::from(p.cutoff_len);
        let scale = dtype_bytes(p) / 2;
        let full_layer = 34 * tokens * d.hidden * scale;
        if p.gradient_checkpointing {
            d.layers * tokens * d.hidden * dtype_bytes(p) + full_layer
        } else {
            d.layers * full_layer
        }
    }
}

/// Bytes per base weight, `auto` resolved as the trainer resolves it.
fn dtype_bytes(p: &Preset) -> u64 {
    match p.resolved_dtype(p.device == Device::Cuda).0 {
        Dtype::Float32 => 4,
        _ => 2,
    }
}

/// Seconds to go: `steps_left` optimizer steps of `tokens_per_step` tokens at `tokens_per_s`.
pub fn eta_s(steps_left: u64, tokens_per_step: f64, tokens_per_s: f64) -> Option<f64> {
    (tokens_per_s > 0.0 && tokens_per_step > 0.0)
        .then(|| steps_left as f64 * tokens_per_step / tokens_per_s)
}

/// `5e-5` rather than `0.00005`, `3` rather than `3.0` (as presets write numbers).
pub fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// `134.5M`, `7.6B`, `5.2K`, `12`.
pub fn count(n: u64) -> String {
    let x = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}K", x / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", x / 1e6),
        _ => format!("{:.1}B", x / 1e9),
    }
}

/// `512 MB`, `1.4 GB`.
pub fn bytes(n: u64) -> String {
    let x = n as f64;
    if x < 1e9 {
        format!("{:.0} MB", x / 1e6)
    } else {
        format!("{:.1} GB", x / 1e9)
    }
}

/// `45s`, `3m 05s`, `1h 02m`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: Dims = Dims::SMOLLM2_135M;

    #[test]
    fn smollm2_has_134_5m_parameters() {
        let s = ModelShape::from_dims(SMOLLM2);
        assert_eq!(s.params, 134_515_008);
        assert_eq!(count(s.params), "134.5M");
    }

    #[test]
    fn names_give_a_parameter_guess() {
        let p = |n: &str| ModelShape::from_name(n).map(|s| s.params);
        assert_eq!(p("Qwen/Qwen2.5-7B-Instruct"), Some(7_000_000_000));
        assert_eq!(p("models/smollm2-135m-instruct"), Some(135_000_000));
        assert_eq!(p("Qwen2.5-0.5B"), Some(500_000_000));
        assert_eq!(p("my-model"), None);
    }

    #[test]
    fn lora_trains_a_few_million_parameters_of_smollm2() {
        let s = ModelShape::from_dims(SMOLLM2);
        let p = Preset::builtin("smollm2-cpu").unwrap();
        // r × (in + out) on all seven projections of 30 layers, at the preset's rank.
        let r = u64::from(p.lora_rank);
        assert_eq!(s.trainable(&p), 30 * r * (2 * 1152 + 2 * 768 + 3 * 2112));
        let full = Preset {
            finetuning_type: FinetuningType::Full,
            ..p.clone()
        };
        assert_eq!(s.trainable(&full), s.params);
        let mem = s.memory(&p);
        // Weights (538 MB) plus float32 activations of 4 × 512 tokens without checkpointing.
        assert!(mem > 2_000_000_000 && mem < 5_000_000_000, "{}", bytes(mem));
    }

    #[test]
    fn a_7b_guess_needs_a_big_gpu() {
        let s = ModelShape::from_name("Qwen/Qwen2.5-7B-Instruct").unwrap();
        let mem = s.memory(&Preset::default());
        assert!(
            mem > 14_000_000_000 && mem < 20_000_000_000,
            "{}",
            bytes(mem)
        );
    }

    #[test]
    fn formats_are_short() {
        assert_eq!(bytes(538_000_000), "538 MB");
        assert_eq!(bytes(15_400_000_000), "15.4 GB");
        assert_eq!(duration(45.2), "45s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(3720.0), "1h 02m");
        assert_eq!(duration(f64::NAN), "?");
        assert_eq!(eta_s(10, 400.0, 200.0), Some(20.0));
        assert_eq!(eta_s(10, 400.0, 0.0), None);
    }
}
