//! tunedeck — a terminal cockpit for LoRA fine-tuning of LLMs.
//!
//! Layers, each knowing only the ones below it (`tests/layering.rs` checks the source):
//! - experiment (pure: serde, no tch, no terminal): [`data`] (load, check, split; a split on
//!   disk, [`data::SplitDir`]; a run on disk, [`data::RunDir`]: its file names, the
//!   newest-run rule and the log's [`data::LogLine`]; what the Dataset pane shows of a records
//!   file, [`data::inspect`]), [`preset`] (hyperparameters),
//!   [`experiment`] (goal, lint, decision helper, plan, `experiment.toml` edited in place),
//!   [`rag`] (the knowledge base: chunking, BM25 retrieval with Chinese segmentation, citations)
//! - engine (tch, tokenizers): [`gguf`] (read, import, write, quantise), [`model`] (decoder,
//!   tokenizer, templates, generation; every tensor's name and shape in [`model::layout`],
//!   which loading, random init, GGUF import and export share), [`lora`] (PEFT adapters,
//!   merge; [`lora::estimate`]: parameter counts, memory and ETA), [`train`] (the trainer: its own types in
//!   [`train::events`], a run as prepare / step / finish, the log it writes), [`eval`] (the
//!   three-part blind test and the report), [`export`] (GGUF, llama.cpp LoRA, Ollama),
//!   [`engine`] (other trainers: LLaMA-Factory export, launch, log following, a run driven
//!   through the trainer's hooks)
//! - worker: [`worker`] (the commands and the background threads, each a
//!   [`worker::handle::Handle`]: the trainer thread, whose run spec and events are the
//!   trainer's own, re-exported; the jobs thread for tests, chat, reports and exports, and a
//!   second one for the dataset's check and split; `train` never imports it)
//! - front ends: [`tui`] (the cockpit: `app` state, `ui` drawing, one file per pane; blind
//!   judging in `app/blind.rs` and `ui/blind.rs`; `watch.rs`, the Loss pane alone over a run
//!   folder), [`cli`] (subcommands)
//!
//! Shared plumbing: [`atomic`] (unique temp file + rename + folder sync), [`safetensors_out`]
//! (streaming writer), [`safetensors_in`] (mapped reader), [`paths`] (where bundled assets
//! live), [`rng`] (the one seeded generator), [`date`] (calendar dates and UTC timestamps), [`cpu`]
//! (what the CPU offers: bfloat16 units), [`alloc`] (large blocks kept for reuse).

pub mod alloc;
pub mod cli;
pub mod data;
pub mod eval;
pub mod experiment;
pub mod export;
pub mod preset;
pub mod rag;

pub mod atomic;
pub mod cpu;
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
