//! Where an experiment keeps what evaluation and the report read: its runs, a run's adapter,
//! the preset that trained it, and the guard set.

use super::runner::{EvalSpec, Tuned};
use crate::data::run_dir::{self, RunDir};
use crate::experiment::{data_dir, runs_dir, Experiment};
use crate::preset::{Choice, Preset};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The experiment's own guard set, when it has one, relative to the experiment folder.
pub const OWN_GUARD: &str = "data/guard.jsonl";
/// The bundled guard set, relative to the tunedeck home.
pub const BUNDLED_GUARD: &str = "datasets/guard/general.jsonl";
/// Exam questions drawn from the training records by default.
pub const DEFAULT_EXAM_SIZE: usize = 20;
/// Token limit per answer by default: room for a few sentences, and the demo's four lines.
pub const DEFAULT_MAX_NEW_TOKENS: usize = 192;
/// Nucleus mass when sampling (greedy decoding, the default, ignores it).
pub const DEFAULT_TOP_P: f64 = 0.9;

/// An experiment and one of its runs.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The experiment folder.
    pub dir: PathBuf,
    /// Its `experiment.toml`.
    pub experiment: Experiment,
    /// The run's folder name under `runs/`.
    pub run_id: String,
    /// `runs/<run_id>`.
    pub run: RunDir,
    /// The preset that trained the run: `<run>/preset.toml` when the trainer left one, else
    /// the experiment's preset as it is now.
    pub preset: Preset,
    /// Where the preset came from.
    pub preset_origin: String,
}

impl RunContext {
    /// Opens the experiment at `dir` and the run `run` (the newest, as [`run_dir`] defines
    /// it, when `None`).
    pub fn open(dir: &Path, run: Option<&str>) -> Result<RunContext> {
        let experiment = Experiment::load(dir)?;
        let all = run_dir::list(&runs_dir(dir));
        let run = match run {
            Some(id) => match all.iter().find(|r| r.id() == id) {
                Some(found) => found.clone(),
                None => bail!(
                    "{}: no run named {id:?}{}",
                    runs_dir(dir).display(),
                    match all.is_empty() {
                        true => String::new(),
                        false => format!(
                            " (runs: {})",
                            all.iter().map(RunDir::id).collect::<Vec<_>>().join(", ")
                        ),
                    }
                ),
            },
            None => match run_dir::newest(&runs_dir(dir)) {
                Some((_, found)) => found,
                None if !all.is_empty() => bail!(
                    "{}: no run-N folder, so no newest run: name one of {}",
                    runs_dir(dir).display(),
                    all.iter().map(RunDir::id).collect::<Vec<_>>().join(", ")
                ),
                None => bail!(
                    "{}: no runs yet: train one first (the cockpit's Run pane, or `tunedeck train \
                     --out {}/run-1 ...`)",
                    runs_dir(dir).display(),
                    runs_dir(dir).display()
                ),
            },
        };
        let saved = run.preset();
        let (preset, preset_origin) = if saved.is_file() {
            (Preset::load(&saved)?, saved.display().to_string())
        } else {
            experiment.resolve_preset(dir)?
        };
        Ok(RunContext {
            dir: dir.to_path_buf(),
            experiment,
            run_id: run.id(),
            run,
            preset,
            preset_origin,
        })
    }

    /// What the run produced: `adapter/`, or `model/` after full fine-tuning. A run with
    /// neither still names `adapter/`, so the check says what is missing.
    pub fn tuned(&self) -> Tuned {
        let model = self.run.model();
        if !self.run.adapter().exists() && model.join("config.json").is_file() {
            Tuned::Model(model)
        } else {
            Tuned::Adapter(self.run.adapter())
        }
    }

    /// The evaluation of this run with the default settings.
    pub fn eval_spec(&self) -> EvalSpec {
        EvalSpec {
            model: crate::paths::resolve_model(&self.preset.model, &self.dir),
            tuned: self.tuned(),
            template: self.preset.template.name().to_string(),
            data: data_dir(&self.dir),
            guard: guard_for(&self.dir),
            goal: self.experiment.goal.clone(),
            run: Some(self.run_id.clone()),
            exam_size: DEFAULT_EXAM_SIZE,
            max_new_tokens: DEFAULT_MAX_NEW_TOKENS,
            temperature: 0.0,
            top_p: DEFAULT_TOP_P,
            seed: self.preset.seed,
            device: "auto".into(),
            batch_size: 0,
        }
    }
}

/// The experiment's own guard set when `<dir>/data/guard.jsonl` exists, else the bundled one.
pub fn guard_for(dir: &Path) -> PathBuf {
    let own = dir.join(OWN_GUARD);
    if own.is_file() {
        own
    } else {
        crate::paths::home().join(BUNDLED_GUARD)
    }
}
