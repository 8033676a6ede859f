//! Checkpoints: `checkpoints/checkpoint-<step>/` with the trainable weights (a PEFT adapter,
//! or the full model's weights), the optimizer moments and `trainer_state.json`. Each is
//! written into a temporary folder and renamed into place, so a kill mid-save leaves the
//! previous checkpoint intact.

use crate::data::RunDir;
use crate::lora::AdapterConfig;
use crate::preset::{FinetuningType, Preset};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const KEEP: usize = 2;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainerState {
    pub global_step: u64,
    pub total_steps: u64,
    pub epoch: f64,
    pub total_tokens: u64,
    pub elapsed_s: f64,
    pub initial_eval_loss: Option<f64>,
    pub last_eval_loss: Option<f64>,
    pub seed: u64,
    /// The step with the best validation loss so far, and that loss (kept in `best/`).
    #[serde(default)]
    pub best_step: Option<u64>,
    #[serde(default)]
    pub best_eval_loss: Option<f64>,
    /// Evaluations since the best one (early stopping's count).
    #[serde(default)]
    pub evals_since_best: u32,
}

/// The best validation checkpoint's folder in a run.
pub const BEST: &str = "best";
/// What `best/` holds: its step and validation loss.
const BEST_INFO: &str = "best.json";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestInfo {
    pub step: u64,
    pub eval_loss: f64,
}

/// Replaces `run_dir/best/` with weights written by `write_weights(tmp_dir)`. The old copy is
/// moved aside before the new one moves in, so a kill at any point leaves one complete copy
/// (`best/`, or `.best-old/` between the two renames; [`best`] finds either).
pub fn save_best(
    run_dir: &Path,
    info: BestInfo,
    write_weights: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<()> {
    let dst = run_dir.join(BEST);
    let tmp = run_dir.join(".best-tmp");
    let old = run_dir.join(".best-old");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    write_weights(&tmp)?;
    crate::atomic::write_json(&tmp.join(BEST_INFO), &info)?;
    if dst.exists() {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(&dst, &old)
            .with_context(|| format!("{}: cannot move aside", dst.display()))?;
    }
    std::fs::rename(&tmp, &dst)
        .with_context(|| format!("{}: cannot move into place", dst.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The run's best validation checkpoint: its folder and what it holds, when there is one.
pub fn best(run_dir: &Path) -> Option<(PathBuf, BestInfo)> {
    [BEST, ".best-old"].iter().find_map(|name| {
        let dir = run_dir.join(name);
        let text = std::fs::read_to_string(dir.join(BEST_INFO)).ok()?;
        Some((dir, serde_json::from_str(&text).ok()?))
    })
}

pub fn dir_for(run_dir: &Path, step: u64) -> PathBuf {
    RunDir::new(run_dir)
        .checkpoints()
        .join(format!("checkpoint-{step}"))
}

/// Checkpoints of a run, oldest first (complete ones only: trainer_state.json is written last).
pub fn list(run_dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(RunDir::new(run_dir).checkpoints())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let step = name.strip_prefix("checkpoint-")?.parse().ok()?;
            e.path()
                .join("trainer_state.json")
                .exists()
                .then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}

pub fn latest(run_dir: &Path) -> Option<(u64, PathBuf)> {
    list(run_dir).pop()
}

/// Write a checkpoint with `write_weights(tmp_dir)` for the weights and optimizer, then the
/// state; rename into place and prune old checkpoints.
pub fn save(
    run_dir: &Path,
    state: &TrainerState,
    write_weights: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let dst = dir_for(run_dir, state.global_step);
    let tmp = RunDir::new(run_dir)
        .checkpoints()
        .join(format!(".tmp-checkpoint-{}", state.global_step));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    write_weights(&tmp)?;
    crate::atomic::write_json(&tmp.join("trainer_state.json"), state)?;
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::rename(&tmp, &dst)
        .with_context(|| format!("{}: cannot move checkpoint into place", dst.display()))?;
    let all = list(run_dir);
    for (_, old) in all.iter().take(all.len().saturating_sub(KEEP)) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(dst)
}

pub fn load_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join("trainer_state.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a trainer state", path.display()))
}

/// A preset key whose value changed since the checkpoint was written in a way that changes
/// the trainable weights (their shapes, or the model they belong to): the trainer could not
/// load the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The preset key.
    pub key: &'static str,
    /// Its value when the checkpoint was written.
    pub was: String,
    /// Its value now.
    pub now: String,
}

impl Conflict {
    fn of(key: &'static str, was: impl ToString, now: impl ToString) -> Option<Conflict> {
        let (was, now) = (was.to_string(), now.to_string());
        (was != now).then_some(Conflict { key, was, now })
    }
}

/// Why the latest checkpoint in `run_dir` cannot go on under `preset`, if it cannot. A
/// checkpoint this cannot read is left to the trainer, whose error names the file.
pub fn conflict(run_dir: &Path, preset: &Preset) -> Option<Conflict> {
    let (_, dir) = latest(run_dir)?;
    let lora_checkpoint = dir.join("adapter_config.json").is_file();
    let kind = |lora: bool| if lora { "lora" } else { "full" };
    let lora_preset = preset.finetuning_type == FinetuningType::Lora;
    if lora_checkpoint != lora_preset {
        return Conflict::of("finetuning_type", kind(lora_checkpoint), kind(lora_preset));
    }
    if !lora_preset {
        return None;
    }
    let saved = AdapterConfig::load(&dir).ok()?;
    let sorted = |mut names: Vec<&'static str>| {
        names.sort_unstable();
        names.join(", ")
    };
    let base = saved.base_model_name_or_path.clone().unwrap_or_default();
    Conflict::of("model", base, &preset.model)
        .or_else(|| Conflict::of("lora_rank", saved.r, preset.lora_rank))
        .or_else(|| {
            let targets = sorted(saved.targets().ok()?);
            Conflict::of("lora_target", targets, sorted(preset.target_modules()))
        })
}
