//! What a training run is given and what it reports: the trainer's own types. The worker
//! thread carries them between the trainer and a front end (`crate::worker` re-exports them),
//! but they belong here, so the trainer never imports the layer above it.

use crate::data::LogLine;
use crate::preset::Preset;
use std::path::PathBuf;

pub type RunId = u64;

/// What a training run needs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The resolved preset (overrides applied). A relative `model` path is resolved against
    /// `base_dir`.
    pub preset: Preset,
    /// Directory relative model paths are resolved against (the repository or experiment).
    pub base_dir: PathBuf,
    /// A split directory made by `tunedeck data split` (train.jsonl, val.jsonl, split.toml).
    pub data_dir: PathBuf,
    /// The run directory: trainer_log.jsonl, checkpoints/, adapter/.
    pub out_dir: PathBuf,
    /// Continue from the latest checkpoint in `out_dir`.
    pub resume: bool,
    /// Start LoRA training from this saved adapter instead of a fresh one (A random, B zero).
    pub init_adapter: Option<PathBuf>,
}

/// One optimizer step's figures (the keys of trainer_log.jsonl).
#[derive(Debug, Clone, PartialEq)]
pub struct StepStats {
    pub step: u64,
    pub total_steps: u64,
    pub epoch: f64,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    /// Training tokens per second over the recent steps.
    pub tokens_per_s: f64,
    pub total_tokens: u64,
    pub elapsed_s: f64,
}

impl StepStats {
    /// The figures a training line of `trainer_log.jsonl` records (tunedeck's or another
    /// trainer's); `None` for a line without a training loss. What a log does not say reads
    /// as 0.
    pub fn of_line(line: &LogLine) -> Option<StepStats> {
        Some(StepStats {
            step: line.current_steps,
            total_steps: line.total_or_step(),
            epoch: line.epoch.unwrap_or(0.0),
            loss: line.loss?,
            lr: line.lr.unwrap_or(0.0),
            grad_norm: 0.0,
            tokens_per_s: line.throughput.unwrap_or(0.0),
            total_tokens: line.total_tokens.unwrap_or(0),
            elapsed_s: line.elapsed_time.unwrap_or(0.0),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadedInfo {
    pub model: String,
    pub device: String,
    pub trainable_params: u64,
    pub total_params: u64,
    pub train_sequences: usize,
    pub val_sequences: usize,
    pub total_steps: u64,
    /// The step the run starts from (non-zero when resumed).
    pub start_step: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub steps: u64,
    pub final_loss: Option<f64>,
    pub initial_eval_loss: Option<f64>,
    pub final_eval_loss: Option<f64>,
    pub elapsed_s: f64,
    pub adapter_dir: PathBuf,
    /// True when the run ended early because it was stopped.
    pub stopped: bool,
    /// The step whose weights `adapter_dir` holds: the best validation loss.
    pub best_step: Option<u64>,
    /// True when early stopping ended the run (the patience ran out).
    pub early_stopped: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    /// Model and data are loaded; training is about to start.
    Loaded {
        run_id: RunId,
        info: LoadedInfo,
    },
    /// A progress message while loading (for a status line).
    Status {
        run_id: RunId,
        message: String,
    },
    Step {
        run_id: RunId,
        stats: StepStats,
    },
    Eval {
        run_id: RunId,
        step: u64,
        eval_loss: f64,
        /// Perplexity of the base model's own answers to held-out replay prompts under the
        /// adapter (the forgetting probe); `None` when replay is off.
        probe_ppl: Option<f64>,
        /// The step whose validation loss is the best so far (what `adapter/` will hold).
        best_step: u64,
    },
    Checkpoint {
        run_id: RunId,
        step: u64,
        path: PathBuf,
    },
    Paused {
        run_id: RunId,
    },
    Resumed {
        run_id: RunId,
    },
    Finished {
        run_id: RunId,
        summary: RunSummary,
    },
    Failed {
        run_id: RunId,
        error: String,
    },
}

impl WorkerEvent {
    pub fn run_id(&self) -> RunId {
        match self {
            Self::Loaded { run_id, .. }
            | Self::Status { run_id, .. }
            | Self::Step { run_id, .. }
            | Self::Eval { run_id, .. }
            | Self::Checkpoint { run_id, .. }
            | Self::Paused { run_id }
            | Self::Resumed { run_id }
            | Self::Finished { run_id, .. }
            | Self::Failed { run_id, .. } => *run_id,
        }
    }
}
