//! The loss history of a run, read back from its `trainer_log.jsonl` for the report and the
//! plot.

use super::curve::{verdict, Health};
use anyhow::{Context, Result};
use std::path::Path;

/// Training and validation loss from `trainer_log.jsonl`, as `(step, loss)` in log order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossLog {
    /// Training loss points.
    pub train: Vec<(f64, f64)>,
    /// Validation loss points.
    pub val: Vec<(f64, f64)>,
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
        let mut log = LossLog::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(serde_json::Value::Object(v)) = serde_json::from_str(line) else {
                log.skipped += 1;
                continue;
            };
            let Some(step) = v.get("current_steps").and_then(|s| s.as_u64()) else {
                log.skipped += 1;
                continue;
            };
            let num = |k: &str| v.get(k).and_then(|x| x.as_f64());
            if let Some(l) = num("loss") {
                log.train.push((step as f64, l));
            }
            if let Some(l) = num("eval_loss") {
                log.val.push((step as f64, l));
            }
            let total = v
                .get("total_steps")
                .and_then(|s| s.as_u64())
                .unwrap_or(step);
            log.steps = Some((step, total));
            log.elapsed_s = num("elapsed_time").or(log.elapsed_s);
        }
        log
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
    }
}
