//! The background worker: training runs on their own thread, driven by [`WorkerCommand`]s and
//! reporting [`WorkerEvent`]s. The CLI and the cockpit use the same worker.

pub mod protocol;
mod thread;

pub use protocol::*;
pub use thread::{spawn, Sink, WorkerHandle};
