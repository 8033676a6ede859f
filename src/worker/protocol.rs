//! The worker protocol: `WorkerCommand` in, [`WorkerEvent`] out. Every event carries the run id
//! it belongs to, so a front end can drop events of a run it no longer shows. The run's own
//! types (spec, step figures, events) are the trainer's ([`crate::train::events`]).

pub use crate::train::events::*;

#[derive(Debug, Clone)]
pub enum WorkerCommand {
    Start {
        run_id: RunId,
        spec: Box<RunSpec>,
    },
    /// Follow a run folder another process writes (a LLaMA-Factory `output_dir`, perhaps on
    /// a cluster's shared filesystem): its `trainer_log.jsonl` reported as a run's events
    /// until the run ends or [`WorkerCommand::Stop`].
    Follow {
        run_id: RunId,
        dir: std::path::PathBuf,
    },
    Pause,
    Resume,
    /// Stop after the current step and save a checkpoint.
    Stop,
    /// Save a checkpoint after the current step and go on.
    SaveNow,
    /// Stop any run (saving it) and end the worker thread.
    Shutdown,
}
