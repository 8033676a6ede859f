//! Other training engines tunedeck drives while the cockpit stays the user's home.
//!
//! - [`llamafactory`]: LLaMA-Factory (torchrun, DeepSpeed ZeRO, FSDP2) for experiments that
//!   outgrow one machine: export, launch as a child process, follow its `trainer_log.jsonl`.

pub mod llamafactory;
