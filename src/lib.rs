//! tunedeck — a terminal cockpit for LoRA fine-tuning of LLMs.
//!
//! Layers, each knowing only the ones below it:
//! - experiment (pure): [`data`], [`preset`], [`experiment`]
//! - engine: [`gguf`], [`model`] (tch, tokenizers)
//! - front ends: [`cli`]

pub mod cli;
pub mod data;
pub mod eval;
pub mod experiment;
pub mod preset;

pub mod atomic;
pub mod gguf;
pub mod lora;
pub mod model;
pub mod paths;
pub mod safetensors_out;
pub mod train;
pub mod tui;
pub mod worker;
