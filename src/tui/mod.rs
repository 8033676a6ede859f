//! The cockpit: a keyboard-driven terminal app over one experiment.
//!
//! The Elm-style layout the house style asks for:
//! - [`app`]: the state, changed only by [`App::update`] (user actions), [`App::on_worker`]
//!   (trainer events) and [`App::tick`] (the clock);
//! - [`ui`]: drawing, a pure function of `&App`, one file per pane; [`theme`]: every style;
//! - [`keymap`]: the only place that names keys, mapping them to [`action::Action`]s;
//! - [`event`] and [`runner`]: the single event queue, the loop and the terminal; [`watch`]:
//!   `tunedeck watch`, the Loss pane alone over a run folder;
//! - pure helpers: [`loss`] (loss history, and how worried its verdict looks),
//!   [`text`] (cell-width wrapping), [`editor`] (text input); the preset pane's figures come
//!   from [`crate::lora::estimate`].

pub mod action;
pub mod app;
pub mod editor;
pub mod event;
pub mod keymap;
pub mod loss;
pub mod runner;
pub mod text;
pub mod theme;
pub mod ui;
pub mod watch;

pub use crate::worker::Sink;
pub use action::{Action, Pane};
pub use app::App;
pub use runner::{run, Worker};
