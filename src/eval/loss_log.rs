//! The loss history of a run, read back from its `trainer_log.jsonl` for the report and the
//! plot.

use super::curve::{verdict, Health};
use crate::data::LogLine;
use anyhow::{Context, Result};
use std::path::Path;

/// Training and validation loss from `trainer_log.jsonl`, as `(step, loss)` in log order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossLog {
    /// Training loss points.
    pub train: Vec<(f64, f64)>,
    /// Validation loss points.
    pub val: Vec<(f64, f64)>,
    /// Forgetting-probe perplexity points (`probe_ppl`; none when replay is off).
    pub probe: Vec<(f64, f64)>,
    /// The step whose validation loss was best, as the latest entry that names it says.
    pub best_step: Option<u64>,
    /// Early stopping ended the run.
    pub early_stopped: bool,
    /// The last logged step and the run's planned total.
    pub steps: Option<(u64, u64)>,
    /// Seconds the run took, from the last line.
    pub elapsed_s: Option<f64>,
    /// Lines that were not JSON objects (a killed run can leave half a line).
    pub skipped: usize,
}

impl LossLog {
    /// Parses the text of a `trainer_log.jsonl`.
    pub fn parse(text: &str) -> LossLog {
        let (lines, skipped) = LogLine::parse_all(text);
        let mut log = LossLog {
            skipped,
            ..LossLog::default()
        };
        for line in &lines {
            log.push(line);
        }
        log
    }

    /// Adds one line of the log (read after the ones already in).
    pub fn push(&mut self, line: &LogLine) {
        let step = line.current_steps as f64;
        if let Some(l) = line.loss {
            self.train.push((step, l));
        }
        if let Some(l) = line.eval_loss {
            self.val.push((step, l));
        }
        if let Some(p) = line.probe_ppl {
            self.probe.push((step, p));
        }
        self.best_step = line.best_step.or(self.best_step);
        self.early_stopped |= line.early_stopped == Some(true);
        self.steps = Some((line.current_steps, line.total_or_step()));
        self.elapsed_s = line.elapsed_time.or(self.elapsed_s);
    }

    /// The best validation point: at [`LossLog::best_step`] when the log names it, else the
    /// lowest validation loss (logs written before the trainer kept the best checkpoint).
    pub fn best(&self) -> Option<(u64, f64)> {
        let at = |step: u64| self.val.iter().rev().find(|p| p.0 == step as f64);
        let lowest = || {
            self.val
                .iter()
                .filter(|p| p.1.is_finite())
                .min_by(|a, b| a.1.total_cmp(&b.1))
        };
        let found = match self.best_step {
            Some(step) => at(step).or_else(lowest),
            None => lowest(),
        }?;
        Some((found.0 as u64, found.1))
    }

    /// The curve's verdict (smooth descent, divergence, overfitting, ...).
    pub fn health(&self) -> Health {
        let values = |pts: &[(f64, f64)]| pts.iter().map(|p| p.1).collect::<Vec<f64>>();
        verdict(&values(&self.train), &values(&self.val))
    }

    /// Reads `<run>/trainer_log.jsonl`.
    pub fn read(path: &Path) -> Result<LossLog> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "{}: cannot read the training log: has this run started?",
                path.display()
            )
        })?;
        Ok(LossLog::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_losses_steps_and_skips_broken_lines() {
        let text = r#"{"current_steps":0,"total_steps":4,"eval_loss":3.0,"elapsed_time":0.0}
{"current_steps":1,"total_steps":4,"loss":2.5,"elapsed_time":1.5}
{"current_steps":2,"total_st
{"current_steps":4,"total_steps":4,"loss":1.5,"eval_loss":2.0,"elapsed_time":6.0}
"#;
        let log = LossLog::parse(text);
        assert_eq!(log.train, [(1.0, 2.5), (4.0, 1.5)]);
        assert_eq!(log.val, [(0.0, 3.0), (4.0, 2.0)]);
        assert_eq!(
            (log.steps, log.elapsed_s, log.skipped),
            (Some((4, 4)), Some(6.0), 1)
        );
        assert_eq!(LossLog::parse(""), LossLog::default());
        assert_eq!(log.best(), Some((4, 2.0)));
    }

    #[test]
    fn reads_the_probe_the_best_step_and_early_stopping() {
        let text = r#"{"current_steps":0,"total_steps":30,"eval_loss":3.0,"probe_ppl":7.0,"best_step":0}
{"current_steps":10,"total_steps":30,"eval_loss":2.0,"probe_ppl":7.2,"best_step":10}
{"current_steps":20,"total_steps":30,"eval_loss":2.1,"probe_ppl":7.9,"best_step":10,"early_stopped":true}
"#;
        let log = LossLog::parse(text);
        assert_eq!(log.probe, [(0.0, 7.0), (10.0, 7.2), (20.0, 7.9)]);
        assert_eq!((log.best_step, log.early_stopped), (Some(10), true));
        assert_eq!(log.best(), Some((10, 2.0)));
    }
}
