//! The background worker: training runs on their own thread, driven by [`WorkerCommand`]s and
//! reporting [`WorkerEvent`]s. The CLI and the cockpit use the same worker. [`jobs`] is the
//! cockpit's second thread, for the three-part test and the chat playground.

pub mod jobs;
pub mod protocol;
mod thread;

pub use protocol::*;
pub use thread::{spawn, Sink, WorkerHandle};
