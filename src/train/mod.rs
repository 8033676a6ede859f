//! The trainer: LoRA (or full fine-tuning of small models) on a split directory, with
//! gradient accumulation, clipping, warm-up + schedule, validation, checkpoints and resume.
//! It runs on whatever thread calls [`run`]; the worker puts it on its own. A run is
//! prepare, step, finish (`session.rs`).

pub mod adamw;
pub mod checkpoint;
pub mod encode;
pub mod events;
pub mod log;
pub mod loss;
mod recompute;
pub mod replay;
mod schedule;
mod session;

use crate::data::RunDir;
use crate::lora::Adapter;
use crate::model::Model;
use crate::preset::{Dtype, Preset};
use anyhow::{Context, Result};
use checkpoint::TrainerState;
use encode::{collate, Batch, Sequence, Teacher};
use events::{RunId, RunSpec, RunSummary, WorkerEvent};
use session::{Flow, Session};
use std::path::Path;
use tch::{Kind, Tensor};

/// What the controller asks for between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Continue,
    SaveNow,
    Stop,
}

/// The trainer's link to whoever drives it.
pub trait Hooks {
    /// Report an event; false means nobody is listening any more (stop and save).
    fn event(&mut self, e: WorkerEvent) -> bool;
    /// Called between optimizer steps; may block while paused.
    fn poll(&mut self) -> Signal {
        self.poll_pausing(&mut |_| {})
    }
    /// [`Hooks::poll`] for a trainer that is another process: `pause(true)` is called when a
    /// pause begins (before blocking) and `pause(false)` when it ends, so the process can be
    /// stopped and continued with it.
    fn poll_pausing(&mut self, pause: &mut dyn FnMut(bool)) -> Signal;
}

/// The trainable weights: a LoRA adapter, or the whole model.
enum Trainable {
    Lora(Box<Adapter>),
    Full,
}

/// The tensor kind of a resolved dtype ([`Preset::resolved_dtype`] never returns `auto`).
fn kind_for(dtype: Dtype) -> Kind {
    match dtype {
        Dtype::Bfloat16 => Kind::BFloat16,
        Dtype::Float16 => Kind::Half,
        Dtype::Float32 | Dtype::Auto => Kind::Float,
    }
}

fn encode_all(
    model: &Model,
    data: &crate::data::Dataset,
    preset: &Preset,
) -> Result<Vec<Sequence>> {
    let cutoff = preset.cutoff_len as usize;
    let seqs = data
        .records
        .iter()
        .map(|r| encode::encode(&model.tokenizer, &r.example, cutoff, preset.train_on_prompt))
        .collect::<Result<Vec<_>>>()?;
    Ok(if preset.packing {
        encode::pack(&seqs, cutoff)
    } else {
        seqs
    })
}

fn batches_of(seqs: &[Sequence], size: usize, pad: i64) -> Vec<Batch> {
    seqs.chunks(size.max(1))
        .map(|c| collate(&c.iter().collect::<Vec<_>>(), pad))
        .collect()
}

/// Train as `spec` says, reporting through `hooks`.
pub fn run(run_id: RunId, spec: &RunSpec, hooks: &mut dyn Hooks) -> Result<RunSummary> {
    let mut session = Session::prepare(run_id, spec, hooks)?;
    let stopped = loop {
        match session.step(hooks)? {
            Flow::Continue => {}
            Flow::Done => break false,
            Flow::Stopped => break true,
        }
    };
    session.finish(hooks, stopped)
}

/// Records an evaluation's loss in the best-so-far bookkeeping, saving the weights to `best/`
/// when it is the best yet.
fn track_best(
    state: &mut TrainerState,
    step: u64,
    eval_loss: f64,
    save_best: &dyn Fn(checkpoint::BestInfo) -> Result<()>,
) -> Result<()> {
    if state.best_eval_loss.is_none_or(|b| eval_loss < b) {
        save_best(checkpoint::BestInfo { step, eval_loss })?;
        state.best_step = Some(step);
        state.best_eval_loss = Some(eval_loss);
        state.evals_since_best = 0;
    } else {
        state.evals_since_best += 1;
    }
    Ok(())
}

/// The forgetting probe: perplexity of the base model's own answers under the current
/// weights; `None` without replay.
fn probe(model: &Model, batches: &[Batch]) -> Option<f64> {
    (!batches.is_empty()).then(|| loss::mean_loss(&model.decoder, batches).exp())
}

/// Replay records as sequences. With `teach`, base-model answers get their teacher
/// distributions (computed now, so `model` must still be the base model); the user's own
/// general data trains on plain labels. Replay sequences are never packed, so their soft
/// targets stay aligned with their positions.
fn encode_replay(
    model: &Model,
    records: &[replay::ReplayRecord],
    preset: &Preset,
    teach: bool,
) -> Result<Vec<Sequence>> {
    let cutoff = preset.cutoff_len as usize;
    let mut seqs = records
        .iter()
        .map(|r| {
            encode::encode_turn(
                &model.tokenizer,
                &r.example,
                cutoff,
                preset.train_on_prompt,
                r.ended,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    if !teach || !records.iter().all(|r| r.distill) {
        return Ok(seqs);
    }
    let pad = i64::from(model.tokenizer.pad_id);
    let k = replay::TOP_K;
    for chunk in seqs.chunks_mut(8) {
        let refs: Vec<&Sequence> = chunk.iter().collect();
        let batch = collate(&refs, pad);
        let Some((ids, probs)) = loss::top_k_at_labels(&model.decoder, &batch, k) else {
            continue;
        };
        let ids = Vec::<i64>::try_from(ids.reshape([-1]))?;
        let probs = Vec::<f32>::try_from(probs.reshape([-1]))?;
        let mut at = 0;
        for s in chunk.iter_mut() {
            let n = s.label_tokens() * k as usize;
            s.teacher = Some(Teacher {
                k: k as usize,
                ids: ids[at..at + n].to_vec(),
                probs: probs[at..at + n].to_vec(),
            });
            at += n;
        }
    }
    // A trimmed answer's turn end is the cleaning's, not the base model's: the teacher would
    // say "go on" there, so the turn end is taught as a plain label.
    let end = model
        .tokenizer
        .encode(model.tokenizer.template.turn_end())?;
    for (s, r) in seqs.iter_mut().zip(records) {
        if r.trimmed {
            s.teach_plain_tail(&end);
        }
    }
    Ok(seqs)
}

/// Keeps the preset a run was trained with in `out/preset.toml`, so a run folder says how it
/// was made. A resumed run whose preset changed since gets a warning naming the keys.
fn record_preset(
    out: &Path,
    preset: &Preset,
    resume: bool,
    warn: &mut dyn FnMut(String) -> bool,
) -> Result<()> {
    let path = RunDir::new(out).preset();
    if resume && path.exists() {
        let before = Preset::load(&path)?;
        let changed: Vec<String> = before
            .diff(preset)
            .into_iter()
            .map(|(k, a, b)| format!("{k} {a} → {b}"))
            .collect();
        if !changed.is_empty() {
            warn(format!(
                "resuming with a different preset than the run started with: {}",
                changed.join(", ")
            ));
        }
    }
    preset.save(&path)
}

fn save_weights(t: &Trainable, model: &Model, dir: &Path) -> Result<()> {
    match t {
        Trainable::Lora(a) => a.save(dir),
        Trainable::Full => model
            .vs
            .save(dir.join("model.safetensors"))
            .map_err(|e| anyhow::anyhow!("{}: cannot write weights: {e}", dir.display())),
    }
}

fn load_weights(t: &Trainable, model: &Model, dir: &Path) -> Result<()> {
    let (vs, file) = match t {
        Trainable::Lora(a) => (&a.vs, dir.join("adapter_model.safetensors")),
        Trainable::Full => (&model.vs, dir.join("model.safetensors")),
    };
    let read = Tensor::read_safetensors(&file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", file.display()))?;
    let mut vars = vs.variables();
    tch::no_grad(|| -> Result<()> {
        for (name, src) in read {
            let dst = vars
                .get_mut(&name)
                .with_context(|| format!("{}: unexpected tensor {name}", file.display()))?;
            dst.copy_(&src.to_kind(dst.kind()));
        }
        Ok(())
    })
}

/// The run's result: a PEFT adapter, or for full fine-tuning a model directory.
fn save_final(t: &Trainable, model: &Model, dir: &Path) -> Result<()> {
    match t {
        Trainable::Lora(a) => a.save(dir),
        Trainable::Full => model.save(dir),
    }
}
