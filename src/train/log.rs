//! `trainer_log.jsonl`, one JSON object per logged step with the keys LLaMA-Factory's users
//! know: current_steps, total_steps, loss, eval_loss, lr, epoch, elapsed_time, throughput,
//! total_tokens.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct TrainerLog {
    path: PathBuf,
    file: File,
}

impl TrainerLog {
    /// Open for appending; lines past `keep_until_step` (left by a killed run) are dropped so
    /// a resumed run's log reads as one run.
    pub fn open(run_dir: &Path, keep_until_step: u64) -> Result<Self> {
        let path = run_dir.join("trainer_log.jsonl");
        let kept: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v["current_steps"].as_u64())
                    .is_some_and(|s| s <= keep_until_step)
            })
            .map(String::from)
            .collect();
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        crate::atomic::write(&path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(Self { path, file })
    }

    pub fn write(&mut self, entry: &Value) -> Result<()> {
        writeln!(self.file, "{entry}")
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }
}

#[allow(clippy::too_many_arguments)]
pub fn entry(
    step: u64,
    total: u64,
    loss: Option<f64>,
    eval_loss: Option<f64>,
    lr: f64,
    epoch: f64,
    elapsed: f64,
    throughput: f64,
    tokens: u64,
) -> Value {
    let mut v = json!({
        "current_steps": step, "total_steps": total, "lr": lr, "epoch": (epoch * 100.0).round() / 100.0,
        "percentage": (step as f64 / total.max(1) as f64 * 10000.0).round() / 100.0,
        "elapsed_time": elapsed, "throughput": throughput, "total_tokens": tokens,
    });
    if let Some(l) = loss {
        v["loss"] = json!(l);
    }
    if let Some(l) = eval_loss {
        v["eval_loss"] = json!(l);
    }
    v
}

/// An evaluation entry's extra keys: `probe_ppl` (the forgetting probe, when replay is on) and
/// `best_step` (the step whose weights the run's `adapter/` will hold).
pub fn with_eval(mut entry: Value, probe_ppl: Option<f64>, best_step: Option<u64>) -> Value {
    if let Some(p) = probe_ppl {
        entry["probe_ppl"] = json!(p);
    }
    if let Some(b) = best_step {
        entry["best_step"] = json!(b);
    }
    entry
}
