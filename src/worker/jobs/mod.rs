//! The cockpit's second background thread, beside the trainer: the three-part test, the
//! chat playground, writing a run's report and exporting a run, one job at a time. [`JobCommand`] in,
//! [`JobEvent`] out, every event tagged with its job id so a front end drops what it no
//! longer waits for.
//!
//! Cancellation is cooperative: each job carries an `Arc<AtomicBool>` that the front end
//! raises and the job checks between tokens. A failed send means the front end is gone, so
//! the job raises its own flag and ends.
//!
//! The chat model is loaded once and kept (see [`playground`]); an evaluation loads its own
//! models through [`evaluate_to`], the path `tunedeck eval` takes, after the chat model is
//! let go so two copies never share the memory.

mod playground;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::eval::locate::RunContext;
use crate::eval::{
    evaluate_to, write_run_report, Cancelled, EvalReport, EvalSpec, Part, Progress, ReportWritten,
    Side,
};
use crate::export::{export, ExportOptions};
use crate::model::chat::Sampling;
use crate::model::generate::StopReason;
use crate::worker::Sink;

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
        cancel: Arc<AtomicBool>,
    },
    /// Answer a chat message, streaming tokens.
    Chat {
        /// The job.
        job: JobId,
        /// The message and who answers it.
        request: Box<ChatRequest>,
        /// Raised to stop the answer.
        cancel: Arc<AtomicBool>,
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
        /// The part.
        part: Part,
        /// Who answered.
        side: Side,
        /// The question's position in its part, from 0.
        item: usize,
        /// Questions in the part.
        items: usize,
        /// Answers done over the whole evaluation.
        done: usize,
        /// Answers in all.
        total: usize,
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
            | JobEvent::Sources { job, .. }
            | JobEvent::Token { job, .. }
            | JobEvent::Replied { job, .. }
            | JobEvent::Cancelled { job }
            | JobEvent::Failed { job, .. } => *job,
        }
    }
}

/// The running jobs thread.
pub struct JobsHandle {
    tx: Sender<JobCommand>,
    join: Option<JoinHandle<()>>,
}

impl JobsHandle {
    /// Queues a command; false when the thread has ended.
    pub fn send(&self, cmd: JobCommand) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Ends the thread after the current job (raise its flag first) and waits for it.
    pub fn shutdown(mut self) {
        let _ = self.tx.send(JobCommand::Shutdown);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Starts the jobs thread; it loads nothing until a job asks.
pub fn spawn(sink: Sink<JobEvent>) -> std::io::Result<JobsHandle> {
    let (tx, rx) = channel();
    let join = std::thread::Builder::new()
        .name("tunedeck-jobs".into())
        .spawn(move || jobs_loop(&rx, &sink))?;
    Ok(JobsHandle {
        tx,
        join: Some(join),
    })
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
                let mut last = 0;
                let done = export(&options, &mut |done, total, _| {
                    // A few dozen updates are progress enough; one per tensor floods the queue.
                    if done == total || done * 50 / total.max(1) != last {
                        last = done * 50 / total.max(1);
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
            Progress::Answered {
                part,
                side,
                done,
                total,
                item,
                items,
                ..
            } => JobEvent::Answered {
                job,
                part,
                side,
                item,
                items,
                done,
                total,
            },
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
