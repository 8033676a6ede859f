//! Preset pane state: the experiment's preset with its overrides, stepped and typed field by
//! field, every change written back to `[preset.overrides]` at once.

use std::path::Path;

use super::input::PromptKind;
use super::App;
use crate::engine::llamafactory::child::find_cli;
use crate::experiment::{Experiment, Language};
use crate::lora::estimate::{eta_s, short, ModelShape};
use crate::preset::{usual_range, Engine, Preset};
use crate::tui::action::Action;
use crate::tui::loss::Mood;

/// Overrides beyond which the pane warns of "hyperparameter mysticism".
pub const MANY_CHANGES: usize = 3;

/// Everything the preset pane shows.
#[derive(Debug, Clone)]
pub struct PresetState {
    /// The named preset before this experiment's overrides.
    pub base: Preset,
    /// The preset with the overrides: what a run uses.
    pub current: Preset,
    /// The method's starter, for highlighting what differs.
    pub starter: Preset,
    /// Index into [`Preset::KEYS`].
    pub selected: usize,
    /// Why the experiment's preset could not be used as written.
    pub problem: Option<String>,
    /// The base model's size, for the memory estimate.
    pub shape: Option<ModelShape>,
    /// Why the chosen engine cannot run here (LLaMA-Factory not installed: how to install
    /// it, as `tunedeck train --engine llamafactory` says).
    pub engine_problem: Option<String>,
}

/// Figures derived from the preset, the data and the last measured throughput.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Derived {
    /// Training sequences (from the split, or what 8:1:1 would give).
    pub train_sequences: usize,
    /// General records replay mixes into every epoch (`replay_ratio` × training records).
    pub replay_sequences: usize,
    /// Optimizer steps per epoch.
    pub steps_per_epoch: u64,
    /// Optimizer steps of the whole run.
    pub total_steps: u64,
    /// Sequences per optimizer step.
    pub effective_batch: u64,
    /// Warm-up steps.
    pub warmup_steps: u64,
    /// Trainable parameters, when the model size is known.
    pub trainable: Option<u64>,
    /// Training memory estimate in bytes.
    pub memory: Option<u64>,
    /// Tokens per second measured by the last run.
    pub tokens_per_s: Option<f64>,
    /// Estimated run time in seconds at that speed.
    pub eta_s: Option<f64>,
}

impl PresetState {
    /// Resolves the experiment's preset and applies its overrides; problems are kept for the
    /// pane to show, falling back to the starter so the cockpit still opens.
    pub fn load(exp: &Experiment, dir: &Path) -> PresetState {
        let mut problem = None;
        let base = Preset::resolve(&exp.preset.name, dir)
            .map(|(p, _)| p)
            .unwrap_or_else(|e| {
                problem = Some(format!("{e:#}"));
                Preset::default()
            });
        let mut current = base.clone();
        if let Err(e) = current.apply_overrides(&exp.preset.overrides) {
            problem = Some(format!("[preset.overrides]: {e:#}"));
            current = base.clone();
        }
        PresetState {
            shape: ModelShape::probe(&current.model, dir),
            engine_problem: engine_problem(&current),
            base,
            current,
            starter: Preset::default(),
            selected: 0,
            problem,
        }
    }

    /// The selected key.
    pub fn key(&self) -> &'static str {
        Preset::KEYS[self.selected.min(Preset::KEYS.len() - 1)]
    }

    /// Keys that differ from the starter preset.
    pub fn differs_from_starter(&self, key: &str) -> bool {
        self.current.get(key) != self.starter.get(key)
    }

    /// Keys changed from the experiment's base preset.
    pub fn changed_keys(&self) -> Vec<&'static str> {
        Preset::KEYS
            .into_iter()
            .filter(|k| self.current.get(k) != self.base.get(k))
            .collect()
    }

    /// Gentle warnings: many changes, and values outside their usual range.
    pub fn warnings(&self, lang: Language, base_name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let changed = self.changed_keys().len();
        if changed >= MANY_CHANGES {
            out.push(match lang {
                Language::En => format!("{changed} settings changed from {base_name}: if results are poor, suspect the data and the task before the numbers."),
                Language::Zh => format!("相对 {base_name} 改了 {changed} 项参数：效果不好时，先怀疑数据和任务定义，而不是参数。"),
            });
        }
        for key in Preset::KEYS {
            let (Some((lo, hi)), Some(value)) = (usual_range(key), self.current.get(key)) else {
                continue;
            };
            let Ok(x) = value.parse::<f64>() else {
                continue;
            };
            if x < lo || x > hi {
                out.push(match lang {
                    Language::En => format!(
                        "{key} = {value} is outside the usual {}..{}",
                        short(lo),
                        short(hi)
                    ),
                    Language::Zh => {
                        format!("{key} = {value} 超出常用范围 {}..{}", short(lo), short(hi))
                    }
                });
            }
        }
        out
    }
}

/// Why `preset`'s engine cannot start here: `llamafactory-cli` not on PATH (looked up once
/// when the engine is chosen, not at every redraw).
fn engine_problem(preset: &Preset) -> Option<String> {
    match preset.engine {
        Engine::Tunedeck => None,
        Engine::Llamafactory => find_cli(std::env::var_os("PATH").as_deref())
            .err()
            .map(|e| format!("{e:#}")),
    }
}

impl App {
    /// Steps, memory and time for the current preset on the current data.
    pub fn derived(&self) -> Derived {
        let p = &self.preset.current;
        let records = self.data.train_sequences();
        let replay = crate::train::replay::count_for(p, records);
        // The trainer plans its steps over the training and replay records together.
        let n = records + replay;
        let one_epoch = Preset {
            num_train_epochs: 1.0,
            max_steps: 0,
            ..p.clone()
        };
        let total_steps = p.total_steps(n);
        let tokens_per_s = self.run.measured_tokens_per_s();
        let tokens_per_step = p.effective_batch_size() as f64 * self.data.mean_tokens(p.cutoff_len);
        Derived {
            train_sequences: records,
            replay_sequences: replay,
            steps_per_epoch: one_epoch.total_steps(n),
            total_steps,
            effective_batch: p.effective_batch_size(),
            warmup_steps: p.warmup_steps_for(total_steps),
            trainable: self.preset.shape.map(|s| s.trainable(p)),
            memory: self.preset.shape.map(|s| s.memory(p)),
            tokens_per_s,
            eta_s: tokens_per_s.and_then(|t| eta_s(total_steps, tokens_per_step, t)),
        }
    }

    pub(super) fn preset_action(&mut self, action: Action) {
        let key = self.preset.key();
        match action {
            nav if nav.is_navigation() => {
                self.preset.selected =
                    super::moved(self.preset.selected, Preset::KEYS.len(), action, 8);
            }
            Action::Increase | Action::Decrease => {
                match self.preset.current.step(key, action == Action::Increase) {
                    Ok(true) => self.preset_commit(key),
                    Ok(false) => {
                        let msg = self
                            .lang()
                            .pick("That is as far as this value goes.", "这个值已到极限。");
                        self.tell(msg, Mood::Neutral);
                    }
                    Err(_) => {
                        let msg = self.lang().pick(
                            "This value is typed, not stepped: press Enter.",
                            "这个值需要输入：请按 Enter。",
                        );
                        self.tell(msg, Mood::Neutral);
                    }
                }
            }
            Action::Edit => {
                let now = self.preset.current.get(key).unwrap_or_default();
                self.open_prompt(PromptKind::PresetValue(key), &now);
            }
            Action::Reset => {
                self.exp.preset.overrides.remove(key);
                let mut p = self.preset.base.clone();
                if p.apply_overrides(&self.exp.preset.overrides).is_ok() {
                    self.preset.current = p;
                }
                self.preset_commit(key);
            }
            Action::SaveAs => self.open_prompt(PromptKind::SaveAs, ""),
            _ => {}
        }
    }

    /// Applies a typed value; refused values leave the preset as it was.
    pub(super) fn preset_set(&mut self, key: &'static str, text: &str) -> Result<(), String> {
        let mut p = self.preset.current.clone();
        p.set(key, text).map_err(|e| format!("{e:#}"))?;
        p.validate().map_err(|problems| problems.join("; "))?;
        self.preset.current = p;
        self.preset_commit(key);
        Ok(())
    }

    /// Writes the overrides to `experiment.toml` and refreshes what depends on `key`.
    fn preset_commit(&mut self, key: &str) {
        self.exp.preset.overrides = self.preset.current.overrides_against(&self.preset.base);
        if key == "model" {
            self.preset.shape = ModelShape::probe(&self.preset.current.model, &self.dir);
        }
        if key == "engine" {
            self.preset.engine_problem = engine_problem(&self.preset.current);
        }
        self.changed();
        self.save();
    }

    /// Saves the current preset as `presets/<name>.toml` in the experiment and makes it the
    /// experiment's preset (with no overrides left).
    pub(super) fn preset_save_as(&mut self, name: &str) -> Result<(), String> {
        let lang = self.lang();
        let name = name.trim();
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(lang
                .pick(
                    "a name of letters, digits, - and _, like my-run",
                    "名称只能包含字母、数字、- 和 _，例如 my-run",
                )
                .into());
        }
        let path = self.dir.join("presets").join(format!("{name}.toml"));
        if path.exists() || Preset::BUILTIN_NAMES.contains(&name) {
            return Err(match lang {
                Language::En => {
                    format!("presets/{name}.toml exists or is built in: choose another name")
                }
                Language::Zh => format!("presets/{name}.toml 已存在或是内置名称：请换一个名称"),
            });
        }
        std::fs::create_dir_all(path.parent().unwrap_or(&self.dir)).map_err(|e| e.to_string())?;
        self.preset
            .current
            .save(&path)
            .map_err(|e| format!("{e:#}"))?;
        self.exp.preset.name = name.to_string();
        self.exp.preset.overrides.clear();
        self.preset.base = self.preset.current.clone();
        self.changed();
        self.save();
        let msg = match lang {
            Language::En => format!("Saved presets/{name}.toml; the experiment now uses it."),
            Language::Zh => format!("已保存 presets/{name}.toml，实验改用该参数。"),
        };
        self.tell(&msg, Mood::Good);
        Ok(())
    }
}
