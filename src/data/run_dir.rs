//! A run on disk: `runs/<id>/` with the trainer's log, its checkpoints, the adapter (or the
//! whole model) it produced, the evaluation and the report. [`RunDir`] is the one place that
//! spells those names; [`LogLine`] is the one type of a `trainer_log.jsonl` line.
//!
//! The newest run is the `run-N` with the highest N. Folder numbers, unlike file times,
//! survive a copy or a resumed older run, and they are what the cockpit and `tunedeck train`
//! number new runs by. Folders with other names are listed after the numbered ones (by
//! name) but are never the newest: name them explicitly.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::{Path, PathBuf};

/// The trainer's log: one [`LogLine`] per logged step.
pub const LOG: &str = "trainer_log.jsonl";
/// The LoRA adapter a run produced (PEFT layout).
pub const ADAPTER: &str = "adapter";
/// The adapter's weights inside [`ADAPTER`].
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";
/// The whole model a full fine-tuning run produced.
pub const MODEL: &str = "model";
/// The three-part test's results.
pub const EVAL: &str = "eval.json";
/// The written report.
pub const REPORT: &str = "report.md";
/// The report's loss plot.
pub const PLOT: &str = "loss.png";
/// The preset the run trained with.
pub const PRESET: &str = "preset.toml";
/// What a run made with "next run" changed, and why.
pub const ORIGIN: &str = "origin.json";
/// The resumable checkpoints, `checkpoint-<step>` each.
pub const CHECKPOINTS: &str = "checkpoints";

/// A run folder, `runs/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run folder at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// `<runs>/run-<n>`.
    pub fn numbered(runs: &Path, n: u64) -> RunDir {
        RunDir::new(runs.join(format!("run-{n}")))
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder's name, the run's id (`run-3`).
    pub fn id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// N of a `run-N` folder.
    pub fn number(&self) -> Option<u64> {
        run_number(&self.id())
    }

    /// `<run>/<name>`, for a file this module does not name.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// `trainer_log.jsonl`.
    pub fn log(&self) -> PathBuf {
        self.file(LOG)
    }

    /// `adapter/`.
    pub fn adapter(&self) -> PathBuf {
        self.file(ADAPTER)
    }

    /// `adapter/adapter_model.safetensors`: present once the run has finished (or stopped).
    pub fn adapter_weights(&self) -> PathBuf {
        self.adapter().join(ADAPTER_WEIGHTS)
    }

    /// `model/`, after full fine-tuning.
    pub fn model(&self) -> PathBuf {
        self.file(MODEL)
    }

    /// `eval.json`.
    pub fn eval(&self) -> PathBuf {
        self.file(EVAL)
    }

    /// `report.md`.
    pub fn report(&self) -> PathBuf {
        self.file(REPORT)
    }

    /// `preset.toml`.
    pub fn preset(&self) -> PathBuf {
        self.file(PRESET)
    }

    /// `origin.json`.
    pub fn origin(&self) -> PathBuf {
        self.file(ORIGIN)
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.file(CHECKPOINTS)
    }

    /// The log's lines that parse, in file order, and how many did not (a killed run can
    /// leave half a line; a line without `current_steps` is not a step). A missing log reads
    /// as empty.
    pub fn log_lines(&self) -> (Vec<LogLine>, usize) {
        LogLine::parse_all(&std::fs::read_to_string(self.log()).unwrap_or_default())
    }
}

/// N of a `run-N` folder name.
pub fn run_number(name: &str) -> Option<u64> {
    name.strip_prefix("run-")?.parse().ok()
}

/// The run folders in `runs` (a `runs/` folder) in run order: `run-N` by N, then other
/// folders by name. None when it cannot be read.
pub fn list(runs: &Path) -> Vec<RunDir> {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let id = e.file_name().to_string_lossy().into_owned();
            (run_number(&id).unwrap_or(u64::MAX), id, e.path())
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, _, p)| RunDir::new(p)).collect()
}

/// The `run-N` folders in `runs`, by N.
pub fn numbered(runs: &Path) -> Vec<(u64, RunDir)> {
    list(runs)
        .into_iter()
        .filter_map(|r| Some((r.number()?, r)))
        .collect()
}

/// The newest run in `runs`: the `run-N` with the highest N (see the module's note).
pub fn newest(runs: &Path) -> Option<(u64, RunDir)> {
    numbered(runs).pop()
}

/// The next free run number in `runs`: one past the highest `run-N`.
pub fn next_number(runs: &Path) -> u64 {
    newest(runs).map_or(0, |(n, _)| n) + 1
}

/// One line of `trainer_log.jsonl`, with the keys LLaMA-Factory's users know.
///
/// Fields are declared in alphabetical order, the order the log has always had on disk.
/// Reading is lenient: unknown keys are ignored and a key of an unexpected type (such as
/// LLaMA-Factory's `"elapsed_time": "0:01:05"`) reads as absent, so other trainers' logs
/// load; only `current_steps` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The step whose weights the run's `adapter/` will hold (evaluation lines).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub best_step: Option<u64>,
    /// Optimizer steps done.
    pub current_steps: u64,
    /// Early stopping ended the run at this line.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub early_stopped: Option<bool>,
    /// Seconds of training so far (LLaMA-Factory writes Python's timedelta text instead,
    /// `"0:01:05"` or `"1 day, 2:03:04"`; both read as seconds).
    #[serde(
        default,
        deserialize_with = "seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub elapsed_time: Option<f64>,
    /// Epochs done, to two decimals.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub epoch: Option<f64>,
    /// Validation loss (evaluation lines).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub eval_loss: Option<f64>,
    /// Training loss of the step.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub loss: Option<f64>,
    /// Learning rate of the step.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub lr: Option<f64>,
    /// Percent of the planned steps done, to two decimals.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub percentage: Option<f64>,
    /// The forgetting probe's perplexity (evaluation lines, when replay is on).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub probe_ppl: Option<f64>,
    /// Tokens per second over the last few steps.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub throughput: Option<f64>,
    /// The run's planned steps.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_steps: Option<u64>,
    /// Tokens trained on so far.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_tokens: Option<u64>,
}

/// A value of the expected type, else absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// Seconds as a number, or as Python's `str(timedelta)`: `"H:MM:SS[.ffffff]"` with an
/// optional `"D day(s), "` in front; anything else reads as absent.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => timedelta_seconds(&s),
        _ => None,
    })
}

/// `"2 days, 3:04:05.5"` → 183845.5 seconds.
fn timedelta_seconds(text: &str) -> Option<f64> {
    let (days, clock) = match text.split_once(',') {
        Some((days, clock)) => {
            let n = days
                .trim()
                .strip_suffix("days")
                .or(days.trim().strip_suffix("day"))?;
            (n.trim().parse::<f64>().ok()?, clock)
        }
        None => (0.0, text),
    };
    let mut parts = clock.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (h, m, s): (f64, f64, f64) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    let total = days * 86_400.0 + h * 3600.0 + m * 60.0 + s;
    total.is_finite().then_some(total)
}

impl LogLine {
    /// The line of step `step` of `total`, its percentage filled in; the caller sets the rest.
    pub fn at(step: u64, total: u64) -> LogLine {
        LogLine {
            current_steps: step,
            total_steps: Some(total),
            percentage: Some((step as f64 / total.max(1) as f64 * 10000.0).round() / 100.0),
            ..LogLine::default()
        }
    }

    /// `epoch`, rounded to two decimals as the log keeps it.
    pub fn epoch(self, epoch: f64) -> LogLine {
        LogLine {
            epoch: Some((epoch * 100.0).round() / 100.0),
            ..self
        }
    }

    /// One line of the log, or `None` when it is not a JSON object with `current_steps`.
    pub fn parse(line: &str) -> Option<LogLine> {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v @ serde_json::Value::Object(_)) => serde_json::from_value(v).ok(),
            _ => None,
        }
    }

    /// Every line of a log's text that parses, and how many non-blank lines did not.
    pub fn parse_all(text: &str) -> (Vec<LogLine>, usize) {
        let mut skipped = 0;
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let parsed = LogLine::parse(l);
                skipped += usize::from(parsed.is_none());
                parsed
            })
            .collect();
        (lines, skipped)
    }

    /// The line as the log writes it (one JSON object, no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a LogLine always serialises")
    }

    /// The planned total, or the step itself when the line does not say.
    pub fn total_or_step(&self) -> u64 {
        self.total_steps.unwrap_or(self.current_steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_written_with_the_keys_and_order_the_log_has_always_had() {
        let mut line = LogLine {
            loss: Some(6.8211424350738525),
            lr: Some(0.0),
            elapsed_time: Some(0.090248275),
            throughput: Some(13186.2732181184),
            total_tokens: Some(1190),
            ..LogLine::at(1, 40).epoch(1.0)
        };
        assert_eq!(
            line.to_json(),
            r#"{"current_steps":1,"elapsed_time":0.090248275,"epoch":1.0,"loss":6.8211424350738525,"lr":0.0,"percentage":2.5,"throughput":13186.2732181184,"total_steps":40,"total_tokens":1190}"#
        );
        line.best_step = Some(1);
        line.early_stopped = Some(true);
        line.probe_ppl = Some(7.0);
        line.eval_loss = Some(2.0);
        let back = LogLine::parse(&line.to_json()).unwrap();
        assert_eq!(back, line);
    }

    #[test]
    fn reading_tolerates_unknown_keys_other_types_and_broken_lines() {
        let text = r#"{"current_steps": 10, "total_steps": 30, "loss": 1.5, "lr": 1e-4, "epoch": 0.33, "percentage": 33.33, "elapsed_time": "0:00:12", "remaining_time": "0:00:24", "throughput": 512.0, "total_tokens": 4096}
{"current_steps":11,"total_st
[1, 2]
{"loss": 1.0}

{"current_steps":12,"eval_loss":null}
"#;
        let (lines, skipped) = LogLine::parse_all(text);
        assert_eq!(skipped, 3);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].current_steps, 10);
        assert_eq!(lines[0].loss, Some(1.5));
        assert_eq!(
            lines[0].elapsed_time,
            Some(12.0),
            "LLaMA-Factory's H:MM:SS reads as seconds"
        );
        assert_eq!(lines[0].total_tokens, Some(4096));
        assert_eq!((lines[1].eval_loss, lines[1].total_or_step()), (None, 12));
    }

    #[test]
    fn elapsed_time_reads_seconds_and_python_timedelta_text() {
        let read = |v: &str| {
            LogLine::parse(&format!(r#"{{"current_steps": 1, "elapsed_time": {v}}}"#))
                .unwrap()
                .elapsed_time
        };
        assert_eq!(read("7.5"), Some(7.5));
        assert_eq!(read(r#""0:00:07""#), Some(7.0));
        assert_eq!(read(r#""1:02:03.25""#), Some(3723.25));
        assert_eq!(read(r#""1 day, 0:00:01""#), Some(86_401.0));
        assert_eq!(
            read(r#""2 days, 3:04:05""#),
            Some(2.0 * 86_400.0 + 11_045.0)
        );
        for bad in [
            r#""soon""#,
            r#""1:2""#,
            r#""1:2:3:4""#,
            r#""x days, 0:00:01""#,
            "null",
            "[1]",
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }

    #[test]
    fn run_order_and_the_newest_run() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path();
        assert_eq!(newest(runs), None);
        assert_eq!(next_number(runs), 1);
        for name in ["run-2", "run-10", "custom", "run-1"] {
            std::fs::create_dir(runs.join(name)).unwrap();
        }
        std::fs::write(runs.join("run-11"), "a file, not a run").unwrap();
        let ids: Vec<String> = list(runs).iter().map(RunDir::id).collect();
        assert_eq!(ids, ["run-1", "run-2", "run-10", "custom"]);
        let (n, run) = newest(runs).unwrap();
        assert_eq!((n, run.id()), (10, "run-10".to_string()));
        assert_eq!(next_number(runs), 11);
        assert_eq!(run.log(), runs.join("run-10/trainer_log.jsonl"));
        assert_eq!(
            run.adapter_weights(),
            runs.join("run-10/adapter/adapter_model.safetensors")
        );
    }
}
