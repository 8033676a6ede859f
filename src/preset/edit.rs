//! Changing a preset one key at a time: `--set key=value`, the cockpit's up/down stepping,
//! `experiment.toml` overrides and diffs.
//!
//! All of them go through the preset's TOML table rather than a hand-written match over
//! fields: serialize, replace one value, deserialize. A new field then works everywhere
//! without touching this file, and serde's own messages name the allowed values.

use anyhow::{bail, Context, Result};
use toml::{Table, Value};

use super::validate::num;
use super::{Choice, Device, Dtype, Engine, FinetuningType, LrScheduler, Preset, Template};

/// The values an enum key can take, in cycling order; `None` for other keys.
pub fn choices(key: &str) -> Option<&'static [&'static str]> {
    Some(match key {
        "engine" => Engine::NAMES,
        "template" => Template::NAMES,
        "finetuning_type" => FinetuningType::NAMES,
        "lr_scheduler_type" => LrScheduler::NAMES,
        "device" => Device::NAMES,
        "dtype" => Dtype::NAMES,
        _ => return None,
    })
}

impl Preset {
    /// The preset as a TOML table (every key present: the struct has no optional fields).
    pub fn to_table(&self) -> Table {
        // Serializing plain strings, numbers, booleans and a string list cannot fail.
        Table::try_from(self).unwrap_or_default()
    }

    /// A key's value as shown to a user (`5e-5`, `chatml`, `q_proj, v_proj`); `None` for an
    /// unknown key.
    pub fn get(&self, key: &str) -> Option<String> {
        self.to_table().get(key).map(display)
    }

    /// Applies `--set key=value`: `value` is read by the key's type (number, whole number,
    /// true/false, text, or a module list like `q_proj,v_proj`). On error the preset is
    /// unchanged. The result is not validated: call [`Preset::validate`] after the last change.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let table = self.to_table();
        let current = table.get(key).with_context(|| unknown_key(key))?;
        let parsed = parse_as(current, value).with_context(|| format!("{key} = {value}"))?;
        *self = with_value(table, key, parsed).with_context(|| format!("{key} = {value}"))?;
        Ok(())
    }

    /// Applies every `key = value` of an `experiment.toml` `[preset.overrides]` table, in
    /// order; errors name the key. Integers are accepted where a float is expected.
    pub fn apply_overrides(&mut self, overrides: &Table) -> Result<()> {
        let mut table = self.to_table();
        for (key, value) in overrides {
            let current = table.get(key).with_context(|| unknown_key(key))?;
            let value = match (current, value) {
                (Value::Float(_), Value::Integer(n)) => Value::Float(*n as f64),
                _ => value.clone(),
            };
            table.insert(key.clone(), value);
        }
        *self = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("preset overrides: {}", e.message()))?;
        Ok(())
    }

    /// The keys where `self` differs from `base`, as a table ready for `[preset.overrides]`.
    pub fn overrides_against(&self, base: &Preset) -> Table {
        let (mine, theirs) = (self.to_table(), base.to_table());
        mine.into_iter()
            .filter(|(k, v)| theirs.get(k) != Some(v))
            .collect()
    }

    /// Fields that differ, in file order, as `(key, mine, theirs)` display strings
    /// (e.g. "fields that differ from the starter").
    pub fn diff(&self, other: &Preset) -> Vec<(String, String, String)> {
        let (mine, theirs) = (self.to_table(), other.to_table());
        Preset::KEYS
            .iter()
            .filter_map(|&k| {
                let (a, b) = (mine.get(k)?, theirs.get(k)?);
                (a != b).then(|| (k.to_string(), display(a), display(b)))
            })
            .collect()
    }

    /// One cockpit step of `key` up or down: learning rate ×/÷ 2, rank by powers of two
    /// (alpha unchanged), epochs ± 1, dropout and warm-up ratio ± 0.05, weight decay ± 0.01,
    /// replay ratio ± 0.25, seed and patience ± 1, other whole numbers and floats ×/÷ 2,
    /// switches toggle, choices cycle.
    /// A step that would make the key invalid is not taken: returns `Ok(false)`.
    pub fn step(&mut self, key: &str, up: bool) -> Result<bool> {
        let table = self.to_table();
        let current = table.get(key).with_context(|| unknown_key(key))?;
        let next = stepped(key, current, up)?;
        let candidate = with_value(table, key, next)?;
        if candidate.problems().iter().any(|p| p.key == key) {
            return Ok(false);
        }
        let changed = candidate != *self;
        *self = candidate;
        Ok(changed)
    }
}

/// The value one step away from `current`.
fn stepped(key: &str, current: &Value, up: bool) -> Result<Value> {
    let add = |x: f64, d: f64| Value::Float(round6(if up { x + d } else { (x - d).max(0.0) }));
    Ok(match (key, current) {
        ("num_train_epochs", Value::Float(x)) => Value::Float(if up { x + 1.0 } else { x - 1.0 }),
        ("lora_dropout" | "warmup_ratio", Value::Float(x)) => add(*x, 0.05),
        ("weight_decay", Value::Float(x)) => add(*x, 0.01),
        ("replay_ratio", Value::Float(x)) => add(*x, 0.25),
        ("early_stopping_patience", Value::Integer(n)) => {
            Value::Integer(if up { n + 1 } else { (n - 1).max(0) })
        }
        ("lora_rank", Value::Integer(r)) => {
            let r = (*r).max(1) as u64;
            // Powers of two bracketing r: from 12, up is 16 and down is 8.
            let next = if up {
                (r + 1).next_power_of_two()
            } else {
                r.next_power_of_two() / 2
            };
            Value::Integer(next as i64)
        }
        ("seed", Value::Integer(n)) => Value::Integer(if up { n + 1 } else { n - 1 }),
        (_, Value::Integer(n)) => Value::Integer(if up { (n * 2).max(1) } else { n / 2 }),
        (_, Value::Float(x)) => Value::Float(if up { x * 2.0 } else { x / 2.0 }),
        (_, Value::Boolean(b)) => Value::Boolean(!b),
        (_, Value::String(s)) => match choices(key) {
            Some(list) => {
                let i = list.iter().position(|c| c == s).unwrap_or(0);
                let n = list.len();
                let j = if up { (i + 1) % n } else { (i + n - 1) % n };
                Value::String(list[j].to_string())
            }
            None => bail!("{key} is text, not a number: change it with --set {key}=..."),
        },
        _ => bail!("{key} is a list: change it with --set {key}=q_proj,v_proj or --set {key}=all"),
    })
}

/// Rounds away float noise from repeated ± 0.05 steps (0.1 + 0.05 = 0.15000000000000002).
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `table` with `key` replaced, deserialized back into a preset.
fn with_value(mut table: Table, key: &str, value: Value) -> Result<Preset> {
    table.insert(key.to_string(), value);
    Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))
}

/// Reads `text` as a value of the same TOML type as `current`.
fn parse_as(current: &Value, text: &str) -> Result<Value> {
    let t = text.trim();
    Ok(match current {
        Value::Float(_) => Value::Float(
            t.parse()
                .with_context(|| format!("expected a number like 3 or 5e-5, got `{t}`"))?,
        ),
        Value::Integer(_) => Value::Integer(
            t.parse()
                .with_context(|| format!("expected a whole number like 8, got `{t}`"))?,
        ),
        Value::Boolean(_) => Value::Boolean(match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" => false,
            _ => bail!("expected true or false, got `{t}`"),
        }),
        // A TOML array literal, else the comma form the field's deserializer splits.
        Value::Array(_) if t.starts_with('[') => {
            let doc: Table = toml::from_str(&format!("v = {t}"))
                .map_err(|e| anyhow::anyhow!("not a valid list: {}", e.message()))?;
            doc.get("v").cloned().unwrap_or(Value::Array(Vec::new()))
        }
        _ => Value::String(t.trim_matches('"').to_string()),
    })
}

fn unknown_key(key: &str) -> String {
    let hint = match super::file::closest(key, Preset::KEYS.into_iter()) {
        Some(k) => format!(" (did you mean `{k}`?)"),
        None => format!(": the keys are {}", Preset::KEYS.join(", ")),
    };
    format!("unknown preset key `{key}`{hint}")
}

/// A value as a user reads it.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Float(x) => num(*x),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parses_by_the_field_type() {
        let mut p = Preset::default();
        p.set("learning_rate", "1e-4").unwrap();
        p.set("num_train_epochs", "2").unwrap();
        p.set("lora_rank", "16").unwrap();
        p.set("packing", "yes").unwrap();
        p.set("dtype", "float32").unwrap();
        p.set("model", "models/smollm2-135m-instruct").unwrap();
        p.set("lora_target", "q_proj, v_proj").unwrap();
        assert_eq!(p.learning_rate, 1e-4);
        assert_eq!(p.num_train_epochs, 2.0);
        assert_eq!(p.lora_rank, 16);
        assert!(p.packing);
        assert_eq!(p.dtype, Dtype::Float32);
        assert_eq!(p.model, "models/smollm2-135m-instruct");
        assert_eq!(p.lora_target, ["q_proj", "v_proj"]);
        p.set("lora_target", r#"["k_proj"]"#).unwrap();
        assert_eq!(p.lora_target, ["k_proj"]);
        p.set("lora_target", "all").unwrap();
        assert_eq!(p.lora_target, ["all"]);
    }

    #[test]
    fn set_errors_name_the_key_and_leave_the_preset_alone() {
        let mut p = Preset::default();
        let cases = [
            (
                "learnin_rate",
                "1",
                "unknown preset key `learnin_rate` (did you mean `learning_rate`?)",
            ),
            (
                "learning_rate",
                "fast",
                "learning_rate = fast: expected a number",
            ),
            (
                "lora_rank",
                "8.5",
                "lora_rank = 8.5: expected a whole number",
            ),
            ("lora_rank", "-1", "lora_rank = -1: invalid value"),
            (
                "packing",
                "maybe",
                "packing = maybe: expected true or false",
            ),
            (
                "dtype",
                "fp8",
                "dtype = fp8: unknown variant `fp8`, expected one of",
            ),
            ("lora_target", "[1]", "lora_target = [1]: invalid type"),
        ];
        for (key, value, expected) in cases {
            let e = format!("{:#}", p.set(key, value).unwrap_err());
            assert!(e.starts_with(expected), "{e}");
        }
        assert_eq!(p, Preset::default());
    }

    #[test]
    fn set_does_not_validate() {
        let mut p = Preset::default();
        p.set("learning_rate", "-1").unwrap();
        assert!(p.validate().is_err());
    }

    #[test]
    fn get_shows_values_readably() {
        let p = Preset {
            lora_target: vec!["q_proj".into(), "v_proj".into()],
            ..Preset::default()
        };
        assert_eq!(p.get("learning_rate").unwrap(), "5e-5");
        assert_eq!(p.get("lora_target").unwrap(), "q_proj, v_proj");
        assert_eq!(p.get("template").unwrap(), "auto");
        assert_eq!(p.get("nope"), None);
    }

    #[test]
    fn diff_lists_changed_fields_in_file_order() {
        let starter = Preset::default();
        let mut p = starter.clone();
        p.dtype = Dtype::Float32;
        p.learning_rate = 3e-4;
        p.lora_rank = 16;
        assert_eq!(
            p.diff(&starter),
            [
                ("lora_rank".into(), "16".into(), "8".into()),
                ("learning_rate".into(), "3e-4".into(), "5e-5".into()),
                ("dtype".into(), "float32".into(), "bfloat16".into()),
            ]
        );
        assert!(starter.diff(&starter).is_empty());
    }

    #[test]
    fn overrides_round_trip_through_a_table() {
        let base = Preset::default();
        let mut p = base.clone();
        p.learning_rate = 1e-4;
        p.device = Device::Cpu;
        let overrides = p.overrides_against(&base);
        assert_eq!(overrides.len(), 2);
        let mut q = base.clone();
        q.apply_overrides(&overrides).unwrap();
        assert_eq!(q, p);
    }

    #[test]
    fn overrides_accept_integers_for_floats_and_name_bad_keys() {
        let mut p = Preset::default();
        let t: Table = toml::from_str("num_train_epochs = 5\nlora_rank = 4").unwrap();
        p.apply_overrides(&t).unwrap();
        assert_eq!((p.num_train_epochs, p.lora_rank), (5.0, 4));
        let t: Table = toml::from_str("epochs = 5").unwrap();
        let e = p.apply_overrides(&t).unwrap_err().to_string();
        assert!(e.starts_with("unknown preset key `epochs`"), "{e}");
        let t: Table = toml::from_str("dtype = \"fp8\"").unwrap();
        let e = p.apply_overrides(&t).unwrap_err().to_string();
        assert!(
            e.starts_with("preset overrides: unknown variant `fp8`"),
            "{e}"
        );
    }

    #[test]
    fn stepping_follows_each_key_rule() {
        let mut p = Preset::default();
        assert!(p.step("learning_rate", true).unwrap());
        assert_eq!(p.learning_rate, 1e-4);
        p.step("learning_rate", false).unwrap();
        p.step("learning_rate", false).unwrap();
        assert_eq!(p.learning_rate, 2.5e-5);

        p.step("lora_rank", true).unwrap();
        assert_eq!((p.lora_rank, p.lora_alpha), (16, 16));
        p.lora_rank = 12;
        p.step("lora_rank", false).unwrap();
        assert_eq!(p.lora_rank, 8);
        p.lora_rank = 12;
        p.step("lora_rank", true).unwrap();
        assert_eq!(p.lora_rank, 16);

        p.step("num_train_epochs", true).unwrap();
        assert_eq!(p.num_train_epochs, 4.0);
        p.step("per_device_train_batch_size", true).unwrap();
        p.step("gradient_accumulation_steps", false).unwrap();
        assert_eq!(
            (p.per_device_train_batch_size, p.gradient_accumulation_steps),
            (2, 4)
        );

        p.lora_dropout = 0.1;
        p.step("lora_dropout", true).unwrap();
        assert_eq!(p.lora_dropout, 0.15);
        p.step("packing", true).unwrap();
        assert!(p.packing);
        p.step("seed", false).unwrap();
        assert_eq!(p.seed, 41);
    }

    #[test]
    fn stepping_cycles_choices_both_ways() {
        let mut p = Preset::default();
        p.step("dtype", true).unwrap();
        assert_eq!(p.dtype, Dtype::Float16);
        p.step("dtype", true).unwrap();
        assert_eq!(p.dtype, Dtype::Auto);
        p.step("dtype", false).unwrap();
        assert_eq!(p.dtype, Dtype::Float16);
        p.step("lr_scheduler_type", false).unwrap();
        assert_eq!(p.lr_scheduler_type, LrScheduler::Constant);
    }

    #[test]
    fn stepping_stops_at_the_limits() {
        let edge = Preset {
            lora_rank: 1,
            num_train_epochs: 1.0,
            per_device_train_batch_size: 1,
            cutoff_len: 16,
            learning_rate: 0.5,
            lora_dropout: 0.0,
            ..Preset::default()
        };
        let mut p = edge.clone();
        for (key, up) in [
            ("lora_rank", false),
            ("num_train_epochs", false),
            ("per_device_train_batch_size", false),
            ("cutoff_len", false),
            ("learning_rate", true),
            ("lora_dropout", false),
        ] {
            assert!(!p.step(key, up).unwrap(), "{key} stepped past its limit");
        }
        assert_eq!(p, edge);
    }

    #[test]
    fn stepping_text_or_unknown_keys_says_what_to_do() {
        let mut p = Preset::default();
        let e = p.step("model", true).unwrap_err().to_string();
        assert!(e.contains("--set model="), "{e}");
        let e = p.step("lora_target", true).unwrap_err().to_string();
        assert!(e.contains("--set lora_target="), "{e}");
        assert!(p.step("nope", true).is_err());
    }

    #[test]
    fn choices_list_enum_names() {
        assert_eq!(choices("template").unwrap(), ["auto", "chatml", "alpaca"]);
        assert_eq!(choices("device").unwrap(), ["auto", "cpu", "cuda"]);
        assert_eq!(choices("model"), None);
    }
}
