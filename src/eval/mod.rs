//! Graduation: the three-part blind test (exam, interview, general-knowledge guard), its
//! scores and verdict, blind A/B judging, and the retrospective report.
//!
//! - [`metrics`] (pure) — ROUGE-L, exact match, keywords, format, repetition, perplexity;
//! - [`verdict`] (pure) — when an answer is right, when a part passes, graduation;
//! - [`questions`] — the exam sample, the unsealed test split and the guard set;
//! - [`runner`] (engine) — answers from the base model and the adapter, into [`EvalReport`];
//! - [`results`] — the contents of `eval.json`;
//! - [`blind`] (pure) — A/B judging state for the cockpit;
//! - [`report`] and [`advice`] (pure), [`curve`] (pure), [`loss_log`], [`plot`] —
//!   `report.md`, its next step, the loss curve's verdict, the run's loss history and
//!   `loss.png`; [`retrospective`] gathers them and writes a run's report;
//! - [`locate`] — where an experiment's runs, adapters and guard set are;
//! - [`next_run`] (pure) — the recommended step and the method's levers as preset changes
//!   for the next run, and the run's `origin.json`.
//! - [`runs`] (pure) — the experiment's runs side by side (`tunedeck runs`, the cockpit).

pub mod advice;
pub mod blind;
pub mod curve;
pub mod locate;
pub mod loss_log;
pub mod metrics;
pub mod next_run;
pub mod plot;
pub mod questions;
pub mod rag;
pub mod report;
pub mod results;
pub mod retrospective;
pub mod runner;
pub mod runs;
pub mod verdict;

mod font;
#[cfg(test)]
mod testing;

pub use blind::{BlindSession, BlindView, Choice, Label, Tally, WinRates, Winner};
pub use results::{EvalReport, Item, Part, PartResult, Side, SideSummary};
pub use retrospective::{write_run_report, ReportWritten};
pub use runner::{evaluate, evaluate_to, Cancelled, EvalSpec, Position, Progress, Tuned};
