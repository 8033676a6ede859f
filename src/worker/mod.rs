//! The background worker: training runs on their own thread, driven by [`WorkerCommand`]s and
//! reporting [`WorkerEvent`]s. The CLI and the cockpit use the same worker. [`jobs`] is the
//! cockpit's second thread, for the three-part test, the chat playground, reports, exports and
//! (in an instance of its own) the dataset's check and split. Each is a [`handle::Handle`].

pub mod handle;
pub mod jobs;
pub mod protocol;
mod thread;

pub use protocol::*;
pub use thread::{spawn, WorkerHandle};

/// Where a background thread's events go (the trainer's by default, or the jobs thread's
/// [`jobs::JobEvent`]s); returns false once the front end is gone.
pub type Sink<E = WorkerEvent> = Box<dyn Fn(E) -> bool + Send>;
