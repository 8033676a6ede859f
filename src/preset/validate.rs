//! Impossible values (errors) and unusual ones (hints).
//!
//! Every check is written so that NaN fails it: `!(x > 0.0)` rather than `x <= 0.0`, because
//! TOML can spell `nan` and a NaN learning rate would otherwise train silently into garbage.

use super::{Device, Dtype, Preset, TARGET_MODULES};

/// One impossible value; `key` lets stepping tell which field a problem belongs to.
pub(super) struct Problem {
    pub key: &'static str,
    pub message: String,
}

/// The range most runs use, for hints next to a value in the cockpit and in `hints()`.
/// `None` for keys with no meaningful range (names, switches, seeds).
pub fn usual_range(key: &str) -> Option<(f64, f64)> {
    Some(match key {
        "learning_rate" => (1e-5, 5e-4),
        "lora_rank" => (4.0, 64.0),
        "lora_alpha" => (4.0, 128.0),
        "lora_dropout" => (0.0, 0.1),
        "num_train_epochs" => (1.0, 10.0),
        "warmup_ratio" => (0.0, 0.2),
        "per_device_train_batch_size" => (1.0, 32.0),
        "gradient_accumulation_steps" => (1.0, 32.0),
        "cutoff_len" => (256.0, 8192.0),
        "max_grad_norm" => (0.3, 1.0),
        "weight_decay" => (0.0, 0.1),
        "replay_ratio" => (0.0, 1.0),
        "early_stopping_patience" => (0.0, 5.0),
        _ => return None,
    })
}

/// Shortest readable form of a number: `5e-5` rather than `0.00005`, `3` rather than `3.0`.
pub(super) fn num(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl Preset {
    /// Checks every value that cannot work; `Err` lists each problem as one readable line,
    /// e.g. `learning_rate = -1 must be > 0 and < 1 (usually 1e-5..5e-4)`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.into_iter().map(|p| p.message).collect())
        }
    }

    /// Values that work but are outside [`usual_range`] or an odd combination: worth a second
    /// look, never a reason to refuse a run.
    pub fn hints(&self) -> Vec<String> {
        let mut out = Vec::new();
        let table = self.to_table();
        for key in Preset::KEYS {
            let value = match table.get(key) {
                Some(toml::Value::Float(x)) => *x,
                Some(toml::Value::Integer(n)) => *n as f64,
                _ => continue,
            };
            if let Some((lo, hi)) = usual_range(key) {
                if value < lo || value > hi {
                    out.push(format!(
                        "{key} = {} is outside the usual {}..{}",
                        num(value),
                        num(lo),
                        num(hi)
                    ));
                }
            }
        }
        if self.device == Device::Cpu && self.dtype == Dtype::Float16 {
            out.push("dtype = float16 on device = cpu is slow and poorly supported: use float32 or bfloat16".into());
        }
        if self.lora_alpha < self.lora_rank {
            out.push(format!(
                "lora_alpha = {} is below lora_rank = {}: the adapter's update is scaled down (alpha is usually 1-2 × rank)",
                self.lora_alpha, self.lora_rank
            ));
        }
        out
    }

    /// Every impossible value, tagged with its key.
    pub(super) fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: &'static str, message: String| out.push(Problem { key, message });
        let usual = |key: &str| match usual_range(key) {
            Some((lo, hi)) => format!(" (usually {}..{})", num(lo), num(hi)),
            None => String::new(),
        };

        if self.model.trim().is_empty() {
            bad("model", "model is empty: give a local model folder or a Hugging Face name like \"Qwen/Qwen2.5-7B-Instruct\"".into());
        }
        if self.lora_rank == 0 {
            bad(
                "lora_rank",
                format!("lora_rank = 0 must be at least 1{}", usual("lora_rank")),
            );
        }
        if self.lora_alpha == 0 {
            bad("lora_alpha", format!("lora_alpha = 0 must be at least 1: 0 turns the adapter off (usually 2 × lora_rank = {})", 2 * self.lora_rank));
        }
        if !(self.lora_dropout >= 0.0 && self.lora_dropout < 1.0) {
            bad(
                "lora_dropout",
                format!(
                    "lora_dropout = {} must be >= 0 and < 1{}",
                    num(self.lora_dropout),
                    usual("lora_dropout")
                ),
            );
        }
        self.check_targets(&mut bad);
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            bad(
                "learning_rate",
                format!(
                    "learning_rate = {} must be > 0 and < 1{}",
                    num(self.learning_rate),
                    usual("learning_rate")
                ),
            );
        }
        if !(self.warmup_ratio >= 0.0 && self.warmup_ratio < 1.0) {
            bad(
                "warmup_ratio",
                format!(
                    "warmup_ratio = {} must be >= 0 and < 1{}",
                    num(self.warmup_ratio),
                    usual("warmup_ratio")
                ),
            );
        }
        if !(self.num_train_epochs > 0.0 && self.num_train_epochs.is_finite()) {
            bad(
                "num_train_epochs",
                format!(
                    "num_train_epochs = {} must be > 0{}",
                    num(self.num_train_epochs),
                    usual("num_train_epochs")
                ),
            );
        }
        if self.per_device_train_batch_size == 0 {
            bad(
                "per_device_train_batch_size",
                "per_device_train_batch_size = 0 must be at least 1".into(),
            );
        }
        if self.gradient_accumulation_steps == 0 {
            bad(
                "gradient_accumulation_steps",
                "gradient_accumulation_steps = 0 must be at least 1".into(),
            );
        }
        if self.cutoff_len < 16 {
            bad("cutoff_len", format!("cutoff_len = {} must be at least 16 tokens: a prompt and an answer cannot fit{}", self.cutoff_len, usual("cutoff_len")));
        }
        if !(self.max_grad_norm >= 0.0 && self.max_grad_norm.is_finite()) {
            bad(
                "max_grad_norm",
                format!(
                    "max_grad_norm = {} must be >= 0 (0 turns clipping off){}",
                    num(self.max_grad_norm),
                    usual("max_grad_norm")
                ),
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay < 1.0) {
            bad(
                "weight_decay",
                format!(
                    "weight_decay = {} must be >= 0 and < 1{}",
                    num(self.weight_decay),
                    usual("weight_decay")
                ),
            );
        }
        if !(self.replay_ratio >= 0.0 && self.replay_ratio <= 10.0) {
            bad(
                "replay_ratio",
                format!(
                    "replay_ratio = {} must be between 0 (off) and 10 general records per training record{}",
                    num(self.replay_ratio),
                    usual("replay_ratio")
                ),
            );
        }
        if self.logging_steps == 0 {
            bad(
                "logging_steps",
                "logging_steps = 0 must be at least 1 (1 logs every step)".into(),
            );
        }
        out
    }

    fn check_targets(&self, bad: &mut impl FnMut(&'static str, String)) {
        let key = "lora_target";
        if self.lora_target.is_empty() {
            bad(key, "lora_target is empty: list projections like [\"q_proj\", \"v_proj\"] or write \"all\"".into());
        }
        for (i, t) in self.lora_target.iter().enumerate() {
            if t == "all" {
                if self.lora_target.len() > 1 {
                    bad(
                        key,
                        "lora_target: \"all\" already includes every projection: write it alone"
                            .into(),
                    );
                }
            } else if !TARGET_MODULES.contains(&t.as_str()) {
                let hint = match super::file::closest(t, TARGET_MODULES.into_iter()) {
                    Some(c) => format!(" (did you mean `{c}`?)"),
                    None => String::new(),
                };
                bad(
                    key,
                    format!(
                        "lora_target: unknown module `{t}`{hint}: use {} or \"all\"",
                        TARGET_MODULES.join(", ")
                    ),
                );
            } else if self.lora_target[..i].contains(t) {
                bad(key, format!("lora_target lists `{t}` twice: remove one"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems of the default preset with one change, as (key, message) pairs.
    fn problems_with(change: impl FnOnce(&mut Preset)) -> Vec<(&'static str, String)> {
        let mut p = Preset::default();
        change(&mut p);
        p.problems()
            .into_iter()
            .map(|p| (p.key, p.message))
            .collect()
    }

    fn rejects(key: &str, change: impl FnOnce(&mut Preset)) -> String {
        let found = problems_with(change);
        assert_eq!(
            found.len(),
            1,
            "expected exactly one problem, got {found:?}"
        );
        assert_eq!(found[0].0, key);
        assert!(found[0].1.starts_with(key), "{}", found[0].1);
        found[0].1.clone()
    }

    #[test]
    fn default_is_valid() {
        assert!(Preset::default().validate().is_ok());
        assert!(Preset::default().hints().is_empty());
    }

    #[test]
    fn every_rule_rejects_its_impossible_values() {
        rejects("model", |p| p.model = " ".into());
        rejects("lora_rank", |p| p.lora_rank = 0);
        rejects("lora_alpha", |p| p.lora_alpha = 0);
        rejects("lora_dropout", |p| p.lora_dropout = 1.0);
        rejects("lora_dropout", |p| p.lora_dropout = -0.1);
        rejects("lora_target", |p| p.lora_target.clear());
        rejects("lora_target", |p| {
            p.lora_target = vec!["all".into(), "q_proj".into()]
        });
        rejects("lora_target", |p| {
            p.lora_target = vec!["q_proj".into(), "q_proj".into()]
        });
        let m = rejects("lora_target", |p| p.lora_target = vec!["qproj".into()]);
        assert!(
            m.contains("unknown module `qproj` (did you mean `q_proj`?)"),
            "{m}"
        );
        let m = rejects("learning_rate", |p| p.learning_rate = -1.0);
        assert_eq!(
            m,
            "learning_rate = -1 must be > 0 and < 1 (usually 1e-5..5e-4)"
        );
        rejects("learning_rate", |p| p.learning_rate = 0.0);
        rejects("learning_rate", |p| p.learning_rate = 1.0);
        rejects("learning_rate", |p| p.learning_rate = f64::NAN);
        rejects("warmup_ratio", |p| p.warmup_ratio = 1.0);
        rejects("num_train_epochs", |p| p.num_train_epochs = 0.0);
        rejects("num_train_epochs", |p| p.num_train_epochs = f64::INFINITY);
        rejects("per_device_train_batch_size", |p| {
            p.per_device_train_batch_size = 0
        });
        rejects("gradient_accumulation_steps", |p| {
            p.gradient_accumulation_steps = 0
        });
        let m = rejects("cutoff_len", |p| p.cutoff_len = 15);
        assert!(m.starts_with("cutoff_len = 15 must be at least 16"), "{m}");
        rejects("max_grad_norm", |p| p.max_grad_norm = -1.0);
        rejects("weight_decay", |p| p.weight_decay = 1.0);
        rejects("logging_steps", |p| p.logging_steps = 0);
    }

    #[test]
    fn boundary_values_are_accepted() {
        for change in [
            (|p: &mut Preset| p.lora_dropout = 0.0) as fn(&mut Preset),
            |p| p.lora_dropout = 0.99,
            |p| p.cutoff_len = 16,
            |p| p.max_grad_norm = 0.0,
            |p| p.num_train_epochs = 0.5,
            |p| p.lora_target = vec!["q_proj".into(), "v_proj".into()],
        ] {
            assert!(problems_with(change).is_empty());
        }
    }

    #[test]
    fn validate_reports_every_problem_at_once() {
        let p = Preset {
            lora_rank: 0,
            learning_rate: 2.0,
            cutoff_len: 0,
            ..Preset::default()
        };
        assert_eq!(p.validate().unwrap_err().len(), 3);
    }

    #[test]
    fn hints_flag_unusual_but_possible_values() {
        let p = Preset {
            learning_rate: 0.01,
            device: Device::Cpu,
            dtype: Dtype::Float16,
            ..Preset::default()
        };
        let h = p.hints();
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[0], "learning_rate = 0.01 is outside the usual 1e-5..5e-4");
        assert!(h[1].starts_with("dtype = float16"));
    }

    #[test]
    fn usual_ranges_cover_the_main_knobs() {
        assert_eq!(usual_range("learning_rate"), Some((1e-5, 5e-4)));
        assert_eq!(usual_range("lora_rank"), Some((4.0, 64.0)));
        assert_eq!(usual_range("num_train_epochs"), Some((1.0, 10.0)));
        assert_eq!(usual_range("model"), None);
    }
}
