//! Writes `trainer_log.jsonl`: one [`LogLine`] per logged step, with the keys LLaMA-Factory's
//! users know (current_steps, total_steps, loss, eval_loss, lr, epoch, elapsed_time,
//! throughput, total_tokens).

use crate::data::{LogLine, RunDir};
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

pub struct TrainerLog {
    path: PathBuf,
    file: File,
}

impl TrainerLog {
    /// Open for appending; lines past `keep_until_step` (left by a killed run) are dropped so
    /// a resumed run's log reads as one run.
    pub fn open(run: &RunDir, keep_until_step: u64) -> Result<Self> {
        let path = run.log();
        let kept: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| LogLine::parse(l).is_some_and(|line| line.current_steps <= keep_until_step))
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

    pub fn write(&mut self, line: &LogLine) -> Result<()> {
        writeln!(self.file, "{}", line.to_json())
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }
}
