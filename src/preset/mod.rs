//! Training presets: every hyperparameter of a run, in one TOML file with the key names
//! LLaMA-Factory users already know.
//!
//! - this file: the [`Preset`] struct, its enums, loading, saving, built-ins and the values a
//!   trainer derives from it (LoRA scale, step counts, learning-rate schedule);
//! - [`validate`](Preset::validate) and [`usual_range`]: impossible values and hints;
//! - `edit.rs`: [`set`](Preset::set) for `--set key=value`, [`step`](Preset::step) for the
//!   cockpit, [`diff`](Preset::diff) and overrides;
//! - [`file`](mod@file): TOML reading with readable errors, shared with `experiment`.

mod edit;
pub use edit::choices;
pub mod file;
mod validate;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer, Serialize};

pub use validate::usual_range;

/// Every hyperparameter of one run. Keys missing from a file take the method's starter values
/// ([`Preset::default`]); unknown keys are an error, so a typo never silently does nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Preset {
    /// Which trainer runs the preset: tunedeck's own, or LLaMA-Factory (`llamafactory-cli
    /// train` as a child process) when one machine is not enough.
    pub engine: Engine,
    /// Base model: a local folder in Hugging Face layout, or a hub name.
    pub model: String,
    /// Chat template used to turn records into token sequences.
    pub template: Template,
    /// LoRA adapter or full fine-tuning.
    pub finetuning_type: FinetuningType,
    /// LoRA rank `r`.
    pub lora_rank: u32,
    /// LoRA alpha; the update is scaled by `alpha / r` (`alpha / sqrt(r)` with rsLoRA).
    pub lora_alpha: u32,
    /// Dropout on the LoRA input, in [0, 1).
    pub lora_dropout: f64,
    /// Projections that get an adapter: names from [`TARGET_MODULES`], or `all`.
    /// A file may write a list or one comma-separated string, as LLaMA-Factory does.
    #[serde(deserialize_with = "list_or_commas")]
    pub lora_target: Vec<String>,
    /// Rank-stabilised LoRA scaling (`alpha / sqrt(r)`).
    pub use_rslora: bool,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Shape of the learning rate after warm-up.
    pub lr_scheduler_type: LrScheduler,
    /// Warm-up length as a fraction of all steps; ignored when `warmup_steps` > 0.
    pub warmup_ratio: f64,
    /// Warm-up length in optimizer steps; 0 means "use `warmup_ratio`".
    pub warmup_steps: u64,
    /// Passes over the training set (fractions allowed).
    pub num_train_epochs: f64,
    /// Stops after this many optimizer steps when > 0, overriding `num_train_epochs`.
    pub max_steps: u64,
    /// Sequences per forward pass.
    pub per_device_train_batch_size: u32,
    /// Forward passes per optimizer step (effective batch = batch × accumulation).
    pub gradient_accumulation_steps: u32,
    /// Longest sequence in tokens; longer records are truncated.
    pub cutoff_len: u32,
    /// Gradient-norm clipping threshold; 0 turns clipping off.
    pub max_grad_norm: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Seed for shuffling, dropout and adapter initialisation.
    pub seed: u64,
    /// Log the training loss every this many optimizer steps.
    pub logging_steps: u32,
    /// Evaluate on the validation split every this many steps; 0 = only at the end.
    pub eval_steps: u32,
    /// Save a checkpoint every this many steps; 0 = only at the end.
    pub save_steps: u32,
    /// Where to train.
    pub device: Device,
    /// Precision of the base weights and activations.
    pub dtype: Dtype,
    /// Concatenate short records into full-length sequences.
    pub packing: bool,
    /// Batch sequences of similar length together (within windows of 8 batches of the
    /// shuffled order), so less compute goes to padding.
    pub group_by_length: bool,
    /// Recompute activations in the backward pass to save memory.
    pub gradient_checkpointing: bool,
    /// Also compute the loss on prompt tokens, not only on the response.
    pub train_on_prompt: bool,
    /// General records mixed into every epoch, per training record (0 = off): the cure for
    /// forgetting that users of other tools apply by hand ("mix in general data").
    pub replay_ratio: f64,
    /// Where replay records come from: empty = the bundled everyday prompts answered once by
    /// the base model itself (cached in the experiment's `data/replay.jsonl`); otherwise an
    /// Alpaca/ShareGPT file of the user's own general data.
    pub replay_file: String,
    /// Stop after this many evaluations without a better validation loss (0 = never); the
    /// run's `adapter/` is always the best validation checkpoint.
    pub early_stopping_patience: u32,
}

/// The seven projections of a Llama/Qwen2 decoder layer that LoRA can adapt, in layer order.
pub const TARGET_MODULES: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// The presets compiled into the binary, so the demo works from any folder.
const BUILTIN: [(&str, &str); 2] = [
    ("starter", include_str!("../../presets/starter.toml")),
    (
        "smollm2-cpu",
        include_str!("../../presets/smollm2-cpu.toml"),
    ),
];

/// A closed set of lowercase names, for cycling in the cockpit and listing in errors.
pub trait Choice: Sized + Copy + PartialEq + 'static {
    /// Every value, in the order the cockpit cycles through them.
    const ALL: &'static [Self];
    /// The names used in TOML files, in the same order as `ALL`.
    const NAMES: &'static [&'static str];
    /// The name used in TOML files.
    fn name(self) -> &'static str;
}

macro_rules! choice_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl Choice for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const NAMES: &'static [&'static str] = &[$($text),+];
            fn name(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

choice_enum! {
    /// The trainer.
    Engine {
        /// tunedeck's own trainer (one CPU or one GPU).
        Tunedeck = "tunedeck",
        /// LLaMA-Factory, run as a child process (torchrun, DeepSpeed, FSDP).
        Llamafactory = "llamafactory",
    }
}

choice_enum! {
    /// Chat template.
    Template {
        /// Read the template from the model's `tokenizer_config.json`.
        Auto = "auto",
        /// `<|im_start|>role\n...<|im_end|>` (Qwen, SmolLM).
        Chatml = "chatml",
        /// `### Instruction:` / `### Response:` plain-text prompts.
        Alpaca = "alpaca",
    }
}

choice_enum! {
    /// What is trained.
    FinetuningType {
        /// A small adapter on frozen base weights.
        Lora = "lora",
        /// Every base weight.
        Full = "full",
    }
}

choice_enum! {
    /// Learning rate after warm-up.
    LrScheduler {
        /// Half a cosine down to 0.
        Cosine = "cosine",
        /// A straight line down to 0.
        Linear = "linear",
        /// Flat at the peak.
        Constant = "constant",
    }
}

choice_enum! {
    /// Training device.
    Device {
        /// CUDA when available, else CPU.
        Auto = "auto",
        /// CPU.
        Cpu = "cpu",
        /// The first CUDA device.
        Cuda = "cuda",
    }
}

choice_enum! {
    /// Compute precision.
    Dtype {
        /// bfloat16 on CUDA and on CPUs with bfloat16 units (AMX, AVX-512 BF16), else float32.
        Auto = "auto",
        /// float32.
        Float32 = "float32",
        /// bfloat16.
        Bfloat16 = "bfloat16",
        /// float16.
        Float16 = "float16",
    }
}

impl Default for Preset {
    /// The method's starter ("万能起手式"); `presets/starter.toml` spells out the same values.
    fn default() -> Self {
        Preset {
            engine: Engine::Tunedeck,
            model: "Qwen/Qwen2.5-7B-Instruct".into(),
            template: Template::Auto,
            finetuning_type: FinetuningType::Lora,
            lora_rank: 8,
            lora_alpha: 16,
            lora_dropout: 0.0,
            lora_target: vec!["all".into()],
            use_rslora: false,
            learning_rate: 5e-5,
            lr_scheduler_type: LrScheduler::Cosine,
            warmup_ratio: 0.1,
            warmup_steps: 0,
            num_train_epochs: 3.0,
            max_steps: 0,
            per_device_train_batch_size: 1,
            gradient_accumulation_steps: 8,
            cutoff_len: 2048,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            seed: 42,
            logging_steps: 5,
            eval_steps: 20,
            save_steps: 50,
            device: Device::Auto,
            dtype: Dtype::Bfloat16,
            packing: false,
            gradient_checkpointing: true,
            train_on_prompt: false,
            group_by_length: false,
            replay_ratio: 0.0,
            replay_file: String::new(),
            early_stopping_patience: 0,
        }
    }
}

impl Preset {
    /// Every key, in file order (the cockpit lists them in this order).
    pub const KEYS: [&'static str; 33] = [
        "engine",
        "model",
        "template",
        "finetuning_type",
        "lora_rank",
        "lora_alpha",
        "lora_dropout",
        "lora_target",
        "use_rslora",
        "learning_rate",
        "lr_scheduler_type",
        "warmup_ratio",
        "warmup_steps",
        "num_train_epochs",
        "max_steps",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "cutoff_len",
        "max_grad_norm",
        "weight_decay",
        "seed",
        "logging_steps",
        "eval_steps",
        "save_steps",
        "device",
        "dtype",
        "packing",
        "group_by_length",
        "gradient_checkpointing",
        "train_on_prompt",
        "replay_ratio",
        "replay_file",
        "early_stopping_patience",
    ];

    /// The precision a run on `device` trains the frozen base in, and why when `dtype` is
    /// `auto`: bfloat16 on a GPU and on a CPU with bfloat16 units, float32 on other CPUs. The
    /// adapter, the loss, its softmax and the optimizer state stay float32 either way.
    pub fn resolved_dtype(&self, on_gpu: bool) -> (Dtype, Option<String>) {
        if self.dtype != Dtype::Auto {
            return (self.dtype, None);
        }
        if on_gpu {
            return (Dtype::Bfloat16, Some("auto: GPU".into()));
        }
        match crate::cpu::bf16_units() {
            Some(units) => (Dtype::Bfloat16, Some(format!("auto: CPU has {units}"))),
            None => (
                Dtype::Float32,
                Some("auto: CPU has no bfloat16 units".into()),
            ),
        }
    }

    /// Names of the presets compiled into the binary.
    pub const BUILTIN_NAMES: [&'static str; 2] = [BUILTIN[0].0, BUILTIN[1].0];

    /// Reads and validates a preset file; errors name the file, the line and the key.
    pub fn load(path: &Path) -> Result<Preset> {
        let preset: Preset = file::read_toml(path)?;
        preset.checked(&path.display().to_string())
    }

    /// Parses and validates preset text; `origin` (usually the file name) starts every error.
    pub fn parse(text: &str, origin: &str) -> Result<Preset> {
        let preset: Preset = file::parse_toml(text, origin)?;
        preset.checked(origin)
    }

    /// A preset compiled into the binary, by name (see [`Preset::BUILTIN_NAMES`]).
    pub fn builtin(name: &str) -> Result<Preset> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).with_context(|| {
            format!(
                "no built-in preset `{name}`: use one of {} or a path to a .toml file",
                Self::BUILTIN_NAMES.join(", ")
            )
        })?;
        Preset::parse(text, &format!("built-in preset {name}"))
    }

    /// Finds a preset by what an `experiment.toml` or the command line names:
    /// a path (contains `/` or ends in `.toml`, relative to `base_dir`), else
    /// `<base_dir>/presets/<name>.toml` when it exists, else a built-in.
    /// Returns the preset and where it came from, for messages and run records.
    pub fn resolve(spec: &str, base_dir: &Path) -> Result<(Preset, String)> {
        let looks_like_path = spec.contains('/') || spec.contains('\\') || spec.ends_with(".toml");
        let local: PathBuf = if looks_like_path {
            base_dir.join(spec)
        } else {
            base_dir.join("presets").join(format!("{spec}.toml"))
        };
        if looks_like_path || local.is_file() {
            let preset = Preset::load(&local)?;
            return Ok((preset, local.display().to_string()));
        }
        Ok((Preset::builtin(spec)?, format!("built-in preset {spec}")))
    }

    /// Writes the preset to `path` atomically (a temporary file, then a rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        file::write_toml_atomic(path, self)
    }

    /// `self` if it validates, else one error listing every problem under `origin`
    /// (use after `--set` overrides: `preset.checked("presets/x.toml with --set")`).
    pub fn checked(self, origin: &str) -> Result<Preset> {
        match self.validate() {
            Ok(()) => Ok(self),
            Err(problems) => Err(anyhow::anyhow!(
                "{origin}: {} invalid value{}: fix {}:\n  - {}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                if problems.len() == 1 { "it" } else { "them" },
                problems.join("\n  - ")
            )),
        }
    }

    /// The factor on the LoRA update: `alpha / r`, or `alpha / sqrt(r)` with rsLoRA (as PEFT).
    pub fn lora_scale(&self) -> f64 {
        let r = f64::from(self.lora_rank.max(1));
        let alpha = f64::from(self.lora_alpha);
        if self.use_rslora {
            alpha / r.sqrt()
        } else {
            alpha / r
        }
    }

    /// The adapted projections in layer order, with `all` expanded and unknown names dropped
    /// ([`Preset::validate`] reports those).
    pub fn target_modules(&self) -> Vec<&'static str> {
        let all = self.lora_target.iter().any(|t| t == "all");
        TARGET_MODULES
            .into_iter()
            .filter(|m| all || self.lora_target.iter().any(|t| t == m))
            .collect()
    }

    /// Sequences per optimizer step.
    pub fn effective_batch_size(&self) -> u64 {
        u64::from(self.per_device_train_batch_size) * u64::from(self.gradient_accumulation_steps)
    }

    /// Optimizer steps for a training set of `sequences` sequences, counted as Hugging Face's
    /// Trainer does (so numbers match what LLaMA-Factory users see): `max_steps` when set,
    /// else `ceil(epochs × max(1, batches_per_epoch / accumulation))`.
    pub fn total_steps(&self, sequences: usize) -> u64 {
        if self.max_steps > 0 {
            return self.max_steps;
        }
        let batch = u64::from(self.per_device_train_batch_size.max(1));
        let batches = (sequences as u64).div_ceil(batch);
        let per_epoch = (batches / u64::from(self.gradient_accumulation_steps.max(1))).max(1);
        (self.num_train_epochs.max(0.0) * per_epoch as f64).ceil() as u64
    }

    /// Warm-up steps out of `total`: `warmup_steps` when set, else `ceil(ratio × total)`.
    pub fn warmup_steps_for(&self, total: u64) -> u64 {
        if self.warmup_steps > 0 {
            self.warmup_steps
        } else {
            (self.warmup_ratio.max(0.0) * total as f64).ceil() as u64
        }
    }

    /// Learning rate for the 0-based optimizer step `step` of `total`, following Hugging
    /// Face's `get_{cosine,linear}_schedule_with_warmup` (so step 0 of a warm-up uses 0).
    /// `constant` keeps the warm-up, then stays at the peak.
    pub fn lr_at(&self, step: u64, total: u64) -> f64 {
        let warmup = self.warmup_steps_for(total);
        if step < warmup {
            return self.learning_rate * step as f64 / warmup as f64;
        }
        let span = total.saturating_sub(warmup).max(1) as f64;
        let done = (step - warmup) as f64 / span;
        let factor = match self.lr_scheduler_type {
            LrScheduler::Constant => 1.0,
            LrScheduler::Linear => (1.0 - done).max(0.0),
            LrScheduler::Cosine => (0.5 * (1.0 + (std::f64::consts::PI * done).cos())).max(0.0),
        };
        self.learning_rate * factor
    }
}

/// Accepts `["q_proj", "v_proj"]` or `"q_proj,v_proj"` (LLaMA-Factory's form) or `"all"`.
fn list_or_commas<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(
                r#"a list like ["q_proj", "v_proj"], a string like "q_proj,v_proj", or "all""#,
            )
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(s.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                out.push(item.trim().to_string());
            }
            Ok(out)
        }
    }
    d.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_dtype_is_bfloat16_on_a_gpu_and_follows_the_cpu_units_elsewhere() {
        let mut p = Preset {
            dtype: Dtype::Float32,
            ..Preset::default()
        };
        assert_eq!(p.resolved_dtype(true), (Dtype::Float32, None));
        p.dtype = Dtype::Auto;
        assert_eq!(p.resolved_dtype(true).0, Dtype::Bfloat16);
        let (cpu, why) = p.resolved_dtype(false);
        let expected = match crate::cpu::bf16_units() {
            Some(_) => Dtype::Bfloat16,
            None => Dtype::Float32,
        };
        assert_eq!(cpu, expected);
        assert!(why.unwrap().starts_with("auto: CPU has"));
    }

    #[test]
    fn keys_list_every_field_in_file_order() {
        let text = toml::to_string(&Preset::default()).unwrap();
        let keys: Vec<&str> = text.lines().filter_map(|l| l.split(" = ").next()).collect();
        assert_eq!(keys, Preset::KEYS);
    }

    #[test]
    fn missing_keys_take_the_starter_values() {
        let p: Preset = toml::from_str("learning_rate = 1e-4").unwrap();
        assert_eq!(p.learning_rate, 1e-4);
        assert_eq!(p.lora_rank, 8);
        assert_eq!(p.lora_target, ["all"]);
    }

    #[test]
    fn integers_are_accepted_for_float_keys() {
        let p: Preset = toml::from_str("num_train_epochs = 2").unwrap();
        assert_eq!(p.num_train_epochs, 2.0);
    }

    #[test]
    fn lora_target_reads_lists_and_comma_strings() {
        let p: Preset = toml::from_str(r#"lora_target = "q_proj, v_proj""#).unwrap();
        assert_eq!(p.lora_target, ["q_proj", "v_proj"]);
        let p: Preset = toml::from_str(r#"lora_target = ["k_proj", "o_proj"]"#).unwrap();
        assert_eq!(p.lora_target, ["k_proj", "o_proj"]);
        assert_eq!(p.target_modules(), ["k_proj", "o_proj"]);
        let e = toml::from_str::<Preset>("lora_target = 3").unwrap_err();
        assert!(e.message().contains("\"all\""), "{e}");
    }

    #[test]
    fn all_expands_to_seven_projections() {
        assert_eq!(Preset::default().target_modules(), TARGET_MODULES);
    }

    #[test]
    fn unknown_enum_value_lists_the_choices() {
        let e = Preset::parse("dtype = \"fp8\"", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:1: unknown variant `fp8`"), "{e}");
        assert!(
            e.contains("`bfloat16`") && e.contains("use one of the listed values"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_fix() {
        let text = "model = \"m\"\nlearnin_rate = 1e-4\n";
        let e = Preset::parse(text, "presets/x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("presets/x.toml:2: unknown field `learnin_rate`"),
            "{e}"
        );
        assert!(e.contains("did you mean `learning_rate`?"), "{e}");
    }

    #[test]
    fn wrong_type_says_fix_the_value() {
        let e = Preset::parse("lora_rank = \"eight\"", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid type") && e.ends_with("fix the value"),
            "{e}"
        );
    }

    #[test]
    fn invalid_values_are_listed_together() {
        let e = Preset::parse("learning_rate = -1\nlora_rank = 0", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml: 2 invalid values: fix them:"), "{e}");
        assert!(e.contains("learning_rate = -1 must be > 0"), "{e}");
        assert!(e.contains("lora_rank = 0"), "{e}");
    }

    #[test]
    fn builtins_parse_and_unknown_builtin_lists_names() {
        for name in Preset::BUILTIN_NAMES {
            Preset::builtin(name).unwrap();
        }
        let e = Preset::builtin("nope").unwrap_err().to_string();
        assert!(e.contains("starter, smollm2-cpu"), "{e}");
    }

    #[test]
    fn resolve_prefers_a_local_file_then_a_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let (p, from) = Preset::resolve("starter", dir.path()).unwrap();
        assert_eq!(
            (p, from.as_str()),
            (Preset::default(), "built-in preset starter")
        );
        std::fs::create_dir(dir.path().join("presets")).unwrap();
        std::fs::write(dir.path().join("presets/starter.toml"), "lora_rank = 4").unwrap();
        assert_eq!(
            Preset::resolve("starter", dir.path()).unwrap().0.lora_rank,
            4
        );
        let e = Preset::resolve("mine.toml", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("mine.toml: cannot read the file"), "{e}");
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        let p = Preset {
            lora_target: vec!["q_proj".into(), "v_proj".into()],
            learning_rate: 3e-4,
            ..Preset::default()
        };
        p.save(&path).unwrap();
        assert_eq!(Preset::load(&path).unwrap(), p);
    }

    #[test]
    fn lora_scale_follows_peft() {
        let mut p = Preset::default();
        assert_eq!(p.lora_scale(), 2.0);
        p.use_rslora = true;
        p.lora_rank = 16;
        p.lora_alpha = 32;
        assert_eq!(p.lora_scale(), 8.0);
    }

    #[test]
    fn total_steps_matches_the_hf_trainer() {
        let mut p = Preset::default(); // batch 1 × accumulation 8, 3 epochs
        assert_eq!(p.effective_batch_size(), 8);
        assert_eq!(p.total_steps(88), 33); // 88 batches / 8 = 11 per epoch
        assert_eq!(p.total_steps(90), 33); // the last partial accumulation is dropped
        assert_eq!(p.total_steps(3), 3); // at least one step per epoch
        p.num_train_epochs = 1.5;
        assert_eq!(p.total_steps(88), 17);
        p.max_steps = 5;
        assert_eq!(p.total_steps(88), 5);
    }

    #[test]
    fn schedule_warms_up_then_decays() {
        let mut p = Preset::default(); // cosine, warm-up 0.1, lr 5e-5
        assert_eq!(p.warmup_steps_for(100), 10);
        assert_eq!(p.warmup_steps_for(33), 4);
        assert_eq!(p.lr_at(0, 100), 0.0);
        assert_eq!(p.lr_at(5, 100), 2.5e-5);
        assert_eq!(p.lr_at(10, 100), 5e-5);
        assert!((p.lr_at(55, 100) - 2.5e-5).abs() < 1e-12);
        assert!(p.lr_at(100, 100).abs() < 1e-12);
        p.lr_scheduler_type = LrScheduler::Linear;
        assert!((p.lr_at(55, 100) - 2.5e-5).abs() < 1e-12);
        p.lr_scheduler_type = LrScheduler::Constant;
        p.warmup_steps = 2;
        assert_eq!(p.warmup_steps_for(100), 2);
        assert_eq!(p.lr_at(1, 100), 2.5e-5);
        assert_eq!(p.lr_at(99, 100), 5e-5);
    }
}
