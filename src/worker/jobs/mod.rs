//! The cockpit's second background thread, beside the trainer: the three-part test, the
//! chat playground, writing a run's report and exporting a run, one job at a time; a second
//! instance checks and splits the dataset ([`JobCommand::is_dataset`]). [`JobCommand`] in,
//! [`JobEvent`] out, every event tagged with its job id so a front end drops what it no
//! longer waits for.
//!
//! Cancellation is cooperative: each job carries a [`Cancel`] flag that the front end
//! raises and the job checks between tokens. A failed send means the front end is gone, so
//! the job raises its own flag and ends.
//!
//! The chat model is loaded once and kept (see [`playground`]); an evaluation loads its own
//! models through [`evaluate_to`], the path `tunedeck eval` takes, after the chat model is
//! let go so two copies never share the memory.

mod playground;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;

use crate::data::inspect::{inspect, Inspection, Stage};
use crate::data::split_dir::HoldsAnotherSplit;
use crate::data::{split_to_dir, Dataset, Ratio, SplitOutcome};
use crate::eval::locate::RunContext;
use crate::eval::{
    evaluate_to, write_run_report, Cancelled, EvalReport, EvalSpec, Position, Progress,
    ReportWritten, Side,
};
use crate::export::{export, ExportOptions};
use crate::model::chat::Sampling;
use crate::model::generate::StopReason;
use crate::worker::handle::{Command, Handle, Throttle};
use crate::worker::Sink;

pub use crate::worker::handle::Cancel;

use playground::Playground;

/// A job's number, unique within a cockpit session.
pub type JobId = u64;

/// One model's turn in a chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTurn {
    /// The base model, or the base model with the adapter plugged in.
    pub side: Side,
    /// Earlier `(user, assistant)` turns of this side's conversation.
    pub history: Vec<(String, String)>,
}

/// A question for the chat playground.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Base model directory.
    pub model: PathBuf,
    /// Chat template name, or `auto`.
    pub template: String,
    /// `auto`, `cpu` or `cuda`.
    pub device: String,
    /// The run's PEFT adapter, needed when a turn is the adapter's.
    pub adapter: Option<PathBuf>,
    /// The user's message, as typed.
    pub prompt: String,
    /// With retrieval on: the experiment whose knowledge base is searched (on this thread,
    /// never the UI's) and how much of it goes before the message.
    pub knowledge_base: Option<(PathBuf, crate::rag::Settings)>,
    /// Who answers, in order (compare mode: the base model, then the adapter).
    pub turns: Vec<ChatTurn>,
    /// Greedy unless asked otherwise.
    pub sampling: Sampling,
}

impl ChatRequest {
    /// The chunks the knowledge base gives for the message; none with retrieval off.
    pub fn sources(&self) -> anyhow::Result<Vec<crate::rag::Hit>> {
        match &self.knowledge_base {
            Some((dir, settings)) => {
                crate::rag::KnowledgeBase::open(dir)?.context(&self.prompt, settings)
            }
            None => Ok(Vec::new()),
        }
    }

    /// The turn the model is given: the message after its numbered sources.
    pub fn turn(&self, sources: &[crate::rag::Hit]) -> String {
        crate::rag::citation::prompt(&self.prompt, sources)
    }
}

/// What the front end asks for.
#[derive(Debug, Clone)]
pub enum JobCommand {
    /// Run the three-part test and write its report to `out`.
    Eval {
        /// The job.
        job: JobId,
        /// What to evaluate.
        spec: Box<EvalSpec>,
        /// The run's `eval.json`.
        out: PathBuf,
        /// Raised to cancel.
        cancel: Cancel,
    },
    /// Answer a chat message, streaming tokens.
    Chat {
        /// The job.
        job: JobId,
        /// The message and who answers it.
        request: Box<ChatRequest>,
        /// Raised to stop the answer.
        cancel: Cancel,
    },
    /// Write a run's `report.md` and `loss.png`, as `tunedeck report` does (off the UI
    /// thread: it checks the whole records file, which grows with the dataset).
    Report {
        /// The job.
        job: JobId,
        /// The experiment folder.
        dir: PathBuf,
        /// The run under `runs/`.
        run: String,
    },
    /// Export a run for llama.cpp and Ollama, as `tunedeck export` does.
    Export {
        /// The job.
        job: JobId,
        /// What to export and where.
        options: Box<ExportOptions>,
    },
    /// Read and check a records file and match it with its split (see
    /// [`crate::data::inspect`]): thousands of records take long enough to freeze a screen.
    CheckDataset {
        /// The job.
        job: JobId,
        /// The records file.
        path: PathBuf,
        /// The experiment's split folder.
        split_dir: PathBuf,
        /// The preset's cutoff length, in tokens.
        cutoff: usize,
    },
    /// Split checked records into `out`, as `tunedeck data split` does.
    SplitDataset {
        /// The job.
        job: JobId,
        /// The records, as the front end shows them.
        dataset: Box<Dataset>,
        /// The parts' shares.
        ratio: Ratio,
        /// The shuffle's seed.
        seed: u64,
        /// The split folder.
        out: PathBuf,
        /// Replace a different split already there.
        replace: bool,
    },
    /// End the thread once the current job is over.
    Shutdown,
}

/// What a job reports.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// A model or adapter is loading.
    Loading {
        /// The job.
        job: JobId,
        /// Its directory.
        path: PathBuf,
    },
    /// The evaluation's inputs are checked and the sealed test split is open.
    Unsealed {
        /// The job.
        job: JobId,
        /// The reason on record.
        reason: String,
    },
    /// One evaluation answer done.
    Answered {
        /// The job.
        job: JobId,
        /// Where the evaluation is.
        at: Position,
    },
    /// The evaluation is done and its report written.
    Evaluated {
        /// The job.
        job: JobId,
        /// The report, as written.
        report: Box<EvalReport>,
        /// Where it was written.
        path: PathBuf,
    },
    /// A run's report and loss plot are written.
    Reported {
        /// The job.
        job: JobId,
        /// What was written, and the report's next step.
        written: ReportWritten,
    },
    /// An export wrote one more tensor.
    Exporting {
        /// The job.
        job: JobId,
        /// Tensors written.
        done: usize,
        /// Tensors in the model file.
        total: usize,
    },
    /// The export folder is in place.
    Exported {
        /// The job.
        job: JobId,
        /// The folder.
        dir: PathBuf,
        /// The model GGUF's file name.
        model_file: String,
    },
    /// A dataset check reached another stage.
    Inspecting {
        /// The job.
        job: JobId,
        /// The stage.
        stage: Stage,
    },
    /// A dataset check is done.
    Inspected {
        /// The job.
        job: JobId,
        /// What it found (a file that does not load is a finding, not a failure).
        inspection: Box<Inspection>,
    },
    /// A split is written, or was refused.
    Split {
        /// The job.
        job: JobId,
        /// What was written, or why nothing was.
        result: Result<Box<SplitOutcome>, SplitFailure>,
    },
    /// The chunks retrieved for a chat message, sent before its first token (retrieval on).
    Sources {
        /// The job.
        job: JobId,
        /// Numbered from 1 in the prompt, best first.
        hits: Vec<crate::rag::Hit>,
    },
    /// A piece of a chat answer.
    Token {
        /// The job.
        job: JobId,
        /// Who is answering.
        side: Side,
        /// Text to append.
        text: String,
    },
    /// One side's chat answer is complete.
    Replied {
        /// The job.
        job: JobId,
        /// Who answered.
        side: Side,
        /// Tokens generated.
        tokens: usize,
        /// End of turn, or the token limit.
        stop: StopReason,
    },
    /// The job stopped because its flag was raised.
    Cancelled {
        /// The job.
        job: JobId,
    },
    /// The job failed; nothing more comes from it.
    Failed {
        /// The job.
        job: JobId,
        /// Why, with its context.
        error: String,
    },
}

impl JobCommand {
    /// Whether it is the dataset's check or split: the cockpit runs those on a jobs thread of
    /// their own, so they never wait behind a test or a chat answer.
    pub fn is_dataset(&self) -> bool {
        matches!(
            self,
            JobCommand::CheckDataset { .. } | JobCommand::SplitDataset { .. }
        )
    }
}

impl JobEvent {
    /// The job the event belongs to.
    pub fn job(&self) -> JobId {
        match self {
            JobEvent::Loading { job, .. }
            | JobEvent::Unsealed { job, .. }
            | JobEvent::Answered { job, .. }
            | JobEvent::Evaluated { job, .. }
            | JobEvent::Reported { job, .. }
            | JobEvent::Exporting { job, .. }
            | JobEvent::Exported { job, .. }
            | JobEvent::Inspecting { job, .. }
            | JobEvent::Inspected { job, .. }
            | JobEvent::Split { job, .. }
            | JobEvent::Sources { job, .. }
            | JobEvent::Token { job, .. }
            | JobEvent::Replied { job, .. }
            | JobEvent::Cancelled { job }
            | JobEvent::Failed { job, .. } => *job,
        }
    }
}

/// Why a split was not written.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitFailure {
    /// The folder holds another split, which only an explicit replace may overwrite.
    HoldsAnother(HoldsAnotherSplit),
    /// Anything else, with its context.
    Failed(String),
}

/// The running jobs thread.
pub type JobsHandle = Handle<JobCommand>;

impl Command for JobCommand {
    fn shutdown() -> Self {
        JobCommand::Shutdown
    }
}

/// Starts the jobs thread; it loads nothing until a job asks.
pub fn spawn(sink: Sink<JobEvent>) -> std::io::Result<JobsHandle> {
    Handle::spawn("tunedeck-jobs", move |rx| jobs_loop(&rx, &sink))
}

fn jobs_loop(rx: &Receiver<JobCommand>, sink: &Sink<JobEvent>) {
    let mut playground = Playground::default();
    while let Ok(cmd) = rx.recv() {
        match cmd {
            JobCommand::Eval {
                job,
                spec,
                out,
                cancel,
            } => {
                playground.let_go();
                evaluate_job(job, &spec, out, &cancel, sink);
            }
            JobCommand::Chat {
                job,
                request,
                cancel,
            } => {
                let event = match playground.answer(job, &request, &cancel, sink) {
                    Ok(true) => None,
                    Ok(false) => Some(JobEvent::Cancelled { job }),
                    Err(e) => Some(JobEvent::Failed {
                        job,
                        error: format!("{e:#}"),
                    }),
                };
                if let Some(e) = event {
                    sink(e);
                }
            }
            JobCommand::Report { job, dir, run } => {
                let written = RunContext::open(&dir, Some(&run)).and_then(|c| write_run_report(&c));
                sink(match written {
                    Ok(written) => JobEvent::Reported { job, written },
                    Err(e) => JobEvent::Failed {
                        job,
                        error: format!("{e:#}"),
                    },
                });
            }
            JobCommand::Export { job, options } => {
                // The chat model is let go: the export streams the base model's weights.
                playground.let_go();
                let mut throttle = Throttle::new(50);
                let done = export(&options, &mut |done, total, _| {
                    if throttle.due(done, total) {
                        sink(JobEvent::Exporting { job, done, total });
                    }
                });
                sink(match done {
                    Ok(e) => JobEvent::Exported {
                        job,
                        dir: e.dir,
                        model_file: e.model_file,
                    },
                    Err(e) => JobEvent::Failed {
                        job,
                        error: format!("{e:#}"),
                    },
                });
            }
            JobCommand::CheckDataset {
                job,
                path,
                split_dir,
                cutoff,
            } => {
                let inspection = inspect(&path, &split_dir, cutoff, &mut |stage| {
                    sink(JobEvent::Inspecting { job, stage });
                });
                sink(JobEvent::Inspected {
                    job,
                    inspection: Box::new(inspection),
                });
            }
            JobCommand::SplitDataset {
                job,
                dataset,
                ratio,
                seed,
                out,
                replace,
            } => {
                let result = split_to_dir(&dataset, ratio, seed, &out, replace)
                    .map(Box::new)
                    .map_err(|e| match e.downcast::<HoldsAnotherSplit>() {
                        Ok(another) => SplitFailure::HoldsAnother(another),
                        Err(e) => SplitFailure::Failed(format!("{e:#}")),
                    });
                sink(JobEvent::Split { job, result });
            }
            JobCommand::Shutdown => return,
        }
    }
}

/// Runs one evaluation, reporting as it goes and ending with `Evaluated`, `Cancelled` or
/// `Failed`.
fn evaluate_job(
    job: JobId,
    spec: &EvalSpec,
    out: PathBuf,
    cancel: &AtomicBool,
    sink: &Sink<JobEvent>,
) {
    let tell = |event: JobEvent| {
        if !sink(event) {
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let result = evaluate_to(spec, &out, cancel, &mut |p| {
        tell(match p {
            Progress::Loading(dir) => JobEvent::Loading {
                job,
                path: dir.to_path_buf(),
            },
            Progress::Unsealed { reason, .. } => JobEvent::Unsealed {
                job,
                reason: reason.to_string(),
            },
            Progress::Answered { at, .. } => JobEvent::Answered { job, at },
        })
    });
    sink(match result {
        Ok(report) => JobEvent::Evaluated {
            job,
            report: Box::new(report),
            path: out,
        },
        Err(e) if e.downcast_ref::<Cancelled>().is_some() => JobEvent::Cancelled { job },
        Err(e) => JobEvent::Failed {
            job,
            error: format!("{e:#}"),
        },
    });
}
