//! tunedeck — a terminal cockpit for LoRA fine-tuning of LLMs.
//!
//! Layers, each knowing only the ones below it (`tests/layering.rs` checks the source):
//! - experiment (pure: serde, no tch, no terminal): [`data`] (load, check, split),
//!   [`preset`] (hyperparameters), [`experiment`] (goal, lint, decision helper, plan)
//! - engine (tch, tokenizers): [`gguf`] (read, import, write, quantise), [`model`] (decoder,
//!   tokenizer, templates, generation), [`lora`] (PEFT adapters, merge), [`train`] (the
//!   trainer), [`eval`] (the three-part blind test and the report), [`export`] (GGUF,
//!   llama.cpp LoRA, Ollama), [`engine`] (other trainers: LLaMA-Factory export, launch, log
//!   following)
//! - worker: [`worker`] (the commands and the background threads; a run's spec and events are
//!   the trainer's own, [`train::events`], re-exported)
//! - front ends: [`tui`] (the cockpit), [`cli`] (subcommands)
//!
//! Shared plumbing: [`atomic`] (temp file + rename), [`safetensors_out`] (streaming writer),
//! [`safetensors_in`] (mapped reader), [`paths`] (where bundled assets live), [`rng`] (the one
//! seeded generator), [`date`] (calendar dates and UTC timestamps).

pub mod cli;
pub mod data;
pub mod eval;
pub mod experiment;
pub mod export;
pub mod preset;

pub mod atomic;
pub mod date;
pub mod engine;
pub mod gguf;
pub mod lora;
pub mod model;
pub mod paths;
pub mod rng;
pub mod safetensors_in;
pub mod safetensors_out;
pub mod train;
pub mod tui;
pub mod worker;
