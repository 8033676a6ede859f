//! `train.yaml`: every preset key mapped onto LLaMA-Factory's argument names. Most keys share
//! LLaMA-Factory's name and meaning; the rest are translated here, and the few with no
//! counterpart are reported (and written as comments) rather than dropped silently.

use super::{Sharding, Topology};
use crate::preset::{Choice, Device, Dtype, FinetuningType, Preset, Template};
use std::fmt::Write;

/// The dataset names `dataset_info.json` defines.
pub const TRAIN_DATASET: &str = "tunedeck_train";
/// The validation split's name in `dataset_info.json`.
pub const VAL_DATASET: &str = "tunedeck_val";

/// One YAML value. Strings are written double-quoted (JSON escaping is valid YAML), floats
/// always with a decimal point so YAML 1.1 readers (PyYAML, OmegaConf) never see a string.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Str(s) => write!(f, "{}", serde_json::Value::from(s.as_str())),
            Scalar::Int(i) => write!(f, "{i}"),
            // Rust's Display never uses an exponent, so "0.00005" rather than "5e-5".
            Scalar::Float(x) if x.fract() == 0.0 => write!(f, "{x:.1}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A preset key LLaMA-Factory has no counterpart for, and what that means for the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    /// The preset key.
    pub key: &'static str,
    /// Its value, as the preset holds it.
    pub value: String,
    /// What happens instead.
    pub why: String,
}

/// How one preset key lands in `train.yaml`.
enum Mapped {
    /// These LLaMA-Factory keys and values.
    To(Vec<(&'static str, Scalar)>),
    /// Nothing to write: LLaMA-Factory does the same by default (the reason, as a comment).
    Implied(&'static str),
    /// No counterpart.
    Missing(String),
}

use Mapped::*;

fn one(key: &'static str, v: Scalar) -> Mapped {
    To(vec![(key, v)])
}

fn int(x: impl Into<i64>) -> Scalar {
    Scalar::Int(x.into())
}

/// Where `key` of `p` goes. Every name in [`Preset::KEYS`] has an arm (the test checks).
fn map_key(p: &Preset, key: &str) -> Mapped {
    match key {
        // Which trainer reads the preset: this file is LLaMA-Factory's whatever it says.
        "engine" => To(Vec::new()),
        // Written by the caller: the model path may need resolving against the experiment.
        "model" => To(Vec::new()),
        "template" => match p.template {
            Template::Auto => Implied(
                "template = auto: LLaMA-Factory reads the chat template from the tokenizer when `template` is unset",
            ),
            Template::Chatml => one("template", Scalar::Str("chatml".into())),
            Template::Alpaca => one("template", Scalar::Str("alpaca".into())),
        },
        "finetuning_type" => one(
            "finetuning_type",
            Scalar::Str(p.finetuning_type.name().into()),
        ),
        "lora_rank" => one("lora_rank", int(p.lora_rank)),
        "lora_alpha" => one("lora_alpha", int(p.lora_alpha)),
        "lora_dropout" => one("lora_dropout", Scalar::Float(p.lora_dropout)),
        "lora_target" => one("lora_target", Scalar::Str(p.lora_target.join(","))),
        "use_rslora" => one("use_rslora", Scalar::Bool(p.use_rslora)),
        "learning_rate" => one("learning_rate", Scalar::Float(p.learning_rate)),
        "lr_scheduler_type" => one(
            "lr_scheduler_type",
            Scalar::Str(p.lr_scheduler_type.name().into()),
        ),
        // One of the two, as tunedeck reads them: transformers 5 copies a set `warmup_ratio`
        // over `warmup_steps`, so writing both would lose a step count.
        "warmup_ratio" if p.warmup_steps > 0 => Implied("warmup_ratio: warmup_steps > 0 decides"),
        "warmup_ratio" => one("warmup_ratio", Scalar::Float(p.warmup_ratio)),
        "warmup_steps" if p.warmup_steps == 0 => Implied("warmup_steps = 0: warmup_ratio decides"),
        "warmup_steps" => one("warmup_steps", int(p.warmup_steps as i64)),
        "num_train_epochs" => one("num_train_epochs", Scalar::Float(p.num_train_epochs)),
        // Transformers' "no limit" is -1; 0 would mean the same to it, but -1 is what its
        // users read.
        "max_steps" => one(
            "max_steps",
            int(if p.max_steps == 0 { -1 } else { p.max_steps as i64 }),
        ),
        "per_device_train_batch_size" => To(vec![
            ("per_device_train_batch_size", int(p.per_device_train_batch_size)),
            ("per_device_eval_batch_size", int(p.per_device_train_batch_size)),
        ]),
        "gradient_accumulation_steps" => one(
            "gradient_accumulation_steps",
            int(p.gradient_accumulation_steps),
        ),
        "cutoff_len" => one("cutoff_len", int(p.cutoff_len)),
        "max_grad_norm" => one("max_grad_norm", Scalar::Float(p.max_grad_norm)),
        "weight_decay" => one("weight_decay", Scalar::Float(p.weight_decay)),
        "seed" => one("seed", int(p.seed as i64)),
        "logging_steps" => one("logging_steps", int(p.logging_steps)),
        // tunedeck's 0 = "only at the end"; transformers has no such strategy, so once per
        // epoch is the nearest (the last epoch's evaluation is the end).
        "eval_steps" if p.eval_steps == 0 => one("eval_strategy", Scalar::Str("epoch".into())),
        "eval_steps" => To(vec![
            ("eval_strategy", Scalar::Str("steps".into())),
            ("eval_steps", int(p.eval_steps)),
        ]),
        // 0 = "only at the end": LLaMA-Factory always saves the final adapter.
        "save_steps" if p.save_steps == 0 => one("save_strategy", Scalar::Str("no".into())),
        "save_steps" => To(vec![
            ("save_strategy", Scalar::Str("steps".into())),
            ("save_steps", int(p.save_steps)),
        ]),
        "device" => match p.device {
            Device::Cpu => one("use_cpu", Scalar::Bool(true)),
            Device::Auto | Device::Cuda => {
                Implied("device: torchrun gives each process one visible GPU")
            }
        },
        "dtype" => match (p.dtype, p.device) {
            (Dtype::Bfloat16, _) | (Dtype::Auto, Device::Auto | Device::Cuda) => {
                one("bf16", Scalar::Bool(true))
            }
            (Dtype::Float16, _) => one("fp16", Scalar::Bool(true)),
            (Dtype::Float32, _) | (Dtype::Auto, Device::Cpu) => {
                Implied("dtype float32: LLaMA-Factory trains in float32 unless bf16/fp16 is set")
            }
        },
        "packing" => one("packing", Scalar::Bool(p.packing)),
        // transformers 5 replaced `group_by_length` with a sampler choice.
        "group_by_length" if p.group_by_length => one(
            "train_sampling_strategy",
            Scalar::Str("group_by_length".into()),
        ),
        "group_by_length" => Implied("group_by_length = false: random order, transformers' default"),
        "gradient_checkpointing" => one(
            "disable_gradient_checkpointing",
            Scalar::Bool(!p.gradient_checkpointing),
        ),
        "train_on_prompt" => one("train_on_prompt", Scalar::Bool(p.train_on_prompt)),
        "replay_ratio" if p.replay_ratio == 0.0 => Implied("replay_ratio = 0: no replay"),
        "replay_ratio" => Missing(
            "LLaMA-Factory has no replay of general data: add your general records as another \
             dataset in dataset_info.json and list it in `dataset` (mix_strategy, interleave_probs)"
                .into(),
        ),
        "replay_file" if p.replay_ratio == 0.0 => Implied("replay_file: replay is off"),
        "replay_file" => Missing("see replay_ratio".into()),
        "early_stopping_patience" if p.early_stopping_patience == 0 => {
            Implied("early_stopping_patience = 0: no early stopping")
        }
        "early_stopping_patience" => Missing(
            "LLaMA-Factory has no early stopping: the run trains to the end; pick the best \
             checkpoint-N by eval_loss in trainer_log.jsonl"
                .into(),
        ),
        other => Missing(format!("tunedeck does not know how to map `{other}`")),
    }
}

/// The preset's value of `key`, for messages.
fn shown(p: &Preset, key: &str) -> String {
    let table = toml::Value::try_from(p).ok();
    table
        .as_ref()
        .and_then(|t| t.get(key))
        .map_or_else(String::new, |v| v.to_string())
}

/// `train.yaml` for `preset` on `topology`, with `model` already resolved, and the keys that
/// have no counterpart.
pub fn train_yaml(
    p: &Preset,
    model: &str,
    output_dir: &str,
    topology: Topology,
) -> (String, Vec<Unmapped>) {
    let mut out = String::new();
    let mut unmapped = Vec::new();
    let mut implied = Vec::new();
    let line = |out: &mut String, k: &str, v: Scalar| {
        let _ = writeln!(out, "{k}: {v}");
    };
    out.push_str(
        "# Written by `tunedeck export llamafactory` from the experiment's preset: edit the \
         preset and export again\n# rather than editing this file. Run it with launch.sh.\n",
    );
    out.push_str("\n### model\n");
    line(&mut out, "model_name_or_path", Scalar::Str(model.into()));
    line(&mut out, "trust_remote_code", Scalar::Bool(false));
    out.push_str("\n### method\n");
    line(&mut out, "stage", Scalar::Str("sft".into()));
    line(&mut out, "do_train", Scalar::Bool(true));
    let mut body = String::new();
    for key in Preset::KEYS {
        match map_key(p, key) {
            To(pairs) => {
                for (k, v) in pairs {
                    line(&mut body, k, v);
                }
            }
            Implied(why) => implied.push(why),
            Missing(why) => unmapped.push(Unmapped {
                key,
                value: shown(p, key),
                why,
            }),
        }
    }
    if p.finetuning_type == FinetuningType::Full {
        // LoRA keys are ignored by LLaMA-Factory for full fine-tuning, as by tunedeck.
        body.push_str("# finetuning_type full: the lora_* keys above are ignored\n");
    }
    out.push_str(&body);
    if let Some(file) = topology.sharding.deepspeed_file() {
        line(&mut out, "deepspeed", Scalar::Str(file.into()));
    }
    out.push_str("\n### dataset\n");
    line(&mut out, "dataset_dir", Scalar::Str("data".into()));
    line(&mut out, "dataset", Scalar::Str(TRAIN_DATASET.into()));
    line(&mut out, "eval_dataset", Scalar::Str(VAL_DATASET.into()));
    line(&mut out, "overwrite_cache", Scalar::Bool(true));
    line(&mut out, "preprocessing_num_workers", int(1));
    out.push_str("\n### output\n");
    line(&mut out, "output_dir", Scalar::Str(output_dir.into()));
    line(&mut out, "overwrite_output_dir", Scalar::Bool(true));
    line(&mut out, "plot_loss", Scalar::Bool(false));
    line(&mut out, "report_to", Scalar::Str("none".into()));
    if topology.sharding == Sharding::Fsdp2 {
        out.push_str("# FSDP2 comes from accelerate_fsdp2.yaml (see launch.sh)\n");
    }
    out.push_str("\n### same as LLaMA-Factory's default, nothing to write\n");
    for why in implied {
        let _ = writeln!(out, "# {why}");
    }
    if !unmapped.is_empty() {
        out.push_str("\n### preset keys with no LLaMA-Factory counterpart (not applied)\n");
        for u in &unmapped {
            let _ = writeln!(out, "# {} = {}: {}", u.key, u.value, u.why);
        }
    }
    (out, unmapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_key_has_a_mapping() {
        let p = Preset::default();
        for key in Preset::KEYS {
            if let Missing(why) = map_key(&p, key) {
                assert!(!why.contains("does not know"), "{key}: {why}");
            }
        }
    }

    #[test]
    fn floats_stay_floats_in_yaml_1_1() {
        assert_eq!(Scalar::Float(5e-5).to_string(), "0.00005");
        assert_eq!(Scalar::Float(3.0).to_string(), "3.0");
        assert_eq!(Scalar::Str("a\"b".into()).to_string(), r#""a\"b""#);
    }

    #[test]
    fn keys_without_counterpart_are_reported_and_commented() {
        let p = Preset {
            replay_ratio: 0.5,
            early_stopping_patience: 3,
            ..Preset::default()
        };
        let (yaml, unmapped) = train_yaml(&p, "m", "output", Topology::default());
        let keys: Vec<_> = unmapped.iter().map(|u| u.key).collect();
        assert_eq!(
            keys,
            ["replay_ratio", "replay_file", "early_stopping_patience"]
        );
        assert!(yaml.contains("# early_stopping_patience = 3: LLaMA-Factory has no early"));
        let (_, none) = train_yaml(&Preset::default(), "m", "output", Topology::default());
        assert!(none.is_empty());
    }
}
