//! The trainer: LoRA (or full fine-tuning of small models) on a split directory, with
//! gradient accumulation, clipping, warm-up + schedule, validation, checkpoints and resume.
//! It runs on whatever thread calls [`run`]; the worker puts it on its own.

pub mod adamw;
pub mod checkpoint;
pub mod encode;
pub mod events;
pub mod log;
pub mod loss;
mod recompute;
pub mod replay;
mod schedule;

use crate::data::{LogLine, RunDir, SplitDir};
use crate::lora::{self, Adapter, AdapterConfig};
use crate::model::{device, Model};
use crate::preset::{Choice, Dtype, FinetuningType, Preset};
use adamw::AdamW;
use anyhow::{bail, Context, Result};
use checkpoint::TrainerState;
use encode::{collate, Batch, Sequence, Teacher};
use events::{LoadedInfo, RunId, RunSpec, RunSummary, StepStats, WorkerEvent};
use std::path::Path;
use std::time::Instant;
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
    fn poll(&mut self) -> Signal;
}

/// The trainable weights: a LoRA adapter, or the whole model.
enum Trainable {
    Lora(Box<Adapter>),
    Full,
}

fn kind_for(preset: &Preset, dev: tch::Device) -> Kind {
    match preset.dtype {
        Dtype::Float32 => Kind::Float,
        Dtype::Bfloat16 => Kind::BFloat16,
        Dtype::Float16 => Kind::Half,
        Dtype::Auto => device::default_kind(dev),
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
    let preset = &spec.preset;
    preset
        .validate()
        .map_err(|errs| anyhow::anyhow!("invalid preset: {}", errs.join("; ")))?;
    let out = &spec.out_dir;
    let run_dir = RunDir::new(out);
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let resume_from = if spec.resume {
        checkpoint::latest(out)
    } else {
        None
    };
    if !spec.resume && !checkpoint::list(out).is_empty() {
        bail!("{} already has checkpoints: pass --resume to continue that run, or choose another --out", out.display());
    }
    let status = |hooks: &mut dyn Hooks, message: String| {
        hooks.event(WorkerEvent::Status { run_id, message })
    };
    if spec.resume {
        // The checkpoint's weights only fit the model and adapter shape they were saved from.
        if let Some(c) = checkpoint::conflict(out, preset) {
            bail!(
                "{}: cannot resume with {} {} → {}: the checkpoints were trained with the preset \
                 in {}; set it back, or start a new run in another --out folder",
                out.display(),
                c.key,
                c.was,
                c.now,
                run_dir.preset().display()
            );
        }
    }
    record_preset(out, preset, spec.resume, &mut |m| status(hooks, m))?;

    let split = SplitDir::open(&spec.data_dir)?;
    let train_data = split.train()?;
    let val_data = split.val()?;
    if train_data.records.is_empty() {
        bail!("{}: train.jsonl has no records", spec.data_dir.display());
    }

    let dev = device::pick(preset.device.name())?;
    let kind = kind_for(preset, dev);
    let model_dir = crate::paths::resolve_model(&preset.model, &spec.base_dir);
    status(
        hooks,
        format!(
            "loading {} on {}",
            model_dir.display(),
            device::describe(dev)
        ),
    );
    let full = preset.finetuning_type == FinetuningType::Full;
    let mut model = Model::load_with(&model_dir, dev, kind, preset.template.name(), full)?;
    // Replay answers and their teacher distributions come from the base model, so they are
    // made before an adapter is attached.
    let replay = replay::prepare(
        &model,
        preset,
        &split,
        &spec.base_dir,
        train_data.records.len(),
        &mut |m| {
            status(hooks, m);
        },
    )?;
    let pad = i64::from(model.tokenizer.pad_id);
    let (replay_seqs, probe_batches) = match &replay {
        None => (Vec::new(), Vec::new()),
        Some(r) => {
            status(
                hooks,
                format!(
                    "replay: {} general records an epoch from {}; {} held out as the forgetting probe",
                    r.train.len(),
                    r.source,
                    r.probe.len()
                ),
            );
            let seqs = encode_replay(&model, &r.train, preset, true)?;
            let probe = encode_replay(&model, &r.probe, preset, false)?;
            let batch = preset.per_device_train_batch_size as usize;
            (seqs, batches_of(&probe, batch, pad))
        }
    };
    tch::manual_seed(preset.seed as i64);
    let trainable = if full {
        Trainable::Full
    } else {
        let cfg = AdapterConfig::from_preset(preset);
        match &spec.init_adapter {
            Some(dir) => Trainable::Lora(Box::new(lora::attach_saved(&mut model, dir)?)),
            None => Trainable::Lora(Box::new(lora::attach_new(&mut model, cfg)?)),
        }
    };

    status(hooks, "tokenizing".into());
    let mut train_seqs = encode_all(&model, &train_data, preset)?;
    train_seqs.extend(replay_seqs);
    let val_seqs = encode_all(&model, &val_data, preset)?;
    let val_batches = batches_of(&val_seqs, preset.per_device_train_batch_size as usize, pad);
    let plan = schedule::Plan::new(&train_seqs, preset);
    let total = plan.total_steps();

    let mut params: Vec<(String, Tensor, bool)> = match &trainable {
        Trainable::Lora(a) => {
            a.vs.variables()
                .into_iter()
                .map(|(n, t)| (n, t, true))
                .collect()
        }
        Trainable::Full => model
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| {
                let decay = !(n.contains("norm") || n.ends_with("bias"));
                (n, t, decay)
            })
            .collect(),
    };
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let trainable_params: i64 = params.iter().map(|(_, t, _)| t.numel() as i64).sum();
    let total_params: i64 = model
        .vs
        .variables()
        .values()
        .map(|t| t.numel() as i64)
        .sum::<i64>()
        + if full { 0 } else { trainable_params };
    let mut opt = AdamW::new(params, preset.weight_decay);

    let mut state = TrainerState {
        global_step: 0,
        total_steps: total,
        epoch: 0.0,
        total_tokens: 0,
        elapsed_s: 0.0,
        initial_eval_loss: None,
        last_eval_loss: None,
        seed: preset.seed,
        ..TrainerState::default()
    };
    if let Some((step, dir)) = &resume_from {
        status(hooks, format!("resuming from {}", dir.display()));
        state = checkpoint::load_state(dir)?;
        load_weights(&trainable, &model, dir)?;
        opt.load(&dir.join("optimizer.safetensors"))?;
        // Dropout continues from a seed tied to the step, so a resumed run is reproducible.
        tch::manual_seed(preset.seed as i64 + *step as i64);
    } else if spec.resume {
        status(
            hooks,
            format!("no checkpoint in {}: starting from step 0", out.display()),
        );
    }
    let mut log = log::TrainerLog::open(&run_dir, state.global_step)?;
    hooks.event(WorkerEvent::Loaded {
        run_id,
        info: LoadedInfo {
            model: model_dir.display().to_string(),
            device: device::describe(dev),
            trainable_params: trainable_params as u64,
            total_params: total_params as u64,
            train_sequences: train_seqs.len(),
            val_sequences: val_seqs.len(),
            total_steps: total,
            start_step: state.global_step,
        },
    });

    let save_best = |info: checkpoint::BestInfo| -> Result<()> {
        checkpoint::save_best(out, info, &mut |tmp| save_weights(&trainable, &model, tmp))
    };
    let save = |state: &TrainerState, hooks: &mut dyn Hooks, opt: &AdamW| -> Result<()> {
        let dir = checkpoint::save(out, state, &mut |tmp| {
            save_weights(&trainable, &model, tmp)?;
            opt.save(&tmp.join("optimizer.safetensors"))
        })?;
        hooks.event(WorkerEvent::Checkpoint {
            run_id,
            step: state.global_step,
            path: dir,
        });
        Ok(())
    };

    if state.initial_eval_loss.is_none() && !val_batches.is_empty() {
        status(hooks, "measuring the initial validation loss".into());
        let l = loss::mean_loss(&model.decoder, &val_batches);
        state.initial_eval_loss = Some(l);
        state.last_eval_loss = Some(l);
        let probe_ppl = probe(&model, &probe_batches);
        track_best(&mut state, 0, l, &save_best)?;
        log.write(&LogLine {
            eval_loss: Some(l),
            probe_ppl,
            best_step: state.best_step,
            ..log_line(&state, 0.0, 0.0)
        })?;
        hooks.event(WorkerEvent::Eval {
            run_id,
            step: 0,
            eval_loss: l,
            probe_ppl,
            best_step: 0,
        });
    }

    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let mut recent: std::collections::VecDeque<(usize, f64)> = Default::default();
    let mut last_loss = None;
    let mut stopped = false;
    let mut early_stopped = false;
    while state.global_step < total {
        match hooks.poll() {
            Signal::Stop => {
                stopped = true;
                break;
            }
            Signal::SaveNow => save(&state, hooks, &opt)?,
            Signal::Continue => {}
        }
        let step = state.global_step;
        let t0 = Instant::now();
        let micro = plan.step_batches(step, &train_seqs);
        let label_tokens: usize = micro
            .iter()
            .map(|b| b.iter().map(|s| s.label_tokens()).sum::<usize>())
            .sum();
        let mut tokens = 0usize;
        let mut loss_total = 0.0;
        opt.zero_grad();
        for (m, seqs) in micro.iter().enumerate() {
            let batch = collate(seqs, pad);
            tokens += batch.tokens;
            // Token-weighted mean over the whole accumulated step, as transformers does with
            // num_items_in_batch.
            let denominator = label_tokens.max(1) as f64;
            if preset.gradient_checkpointing {
                let seed = (preset.seed as i64)
                    .wrapping_mul(1_000_003)
                    .wrapping_add((step * 64 + m as u64) as i64);
                let (value, _) = recompute::backward(&model.decoder, &batch, denominator, seed);
                loss_total += value;
            } else {
                let ids = batch.ids.to_device(model.decoder.embed_tokens.device());
                let hidden = model.decoder.hidden(&ids, None, true);
                let (value, _) =
                    loss::backward_at_labels(&model.decoder, &hidden, &batch, denominator);
                loss_total += value;
            }
        }
        let grad_norm = opt.clip_grad_norm(preset.max_grad_norm);
        if !loss_total.is_finite() || !grad_norm.is_finite() {
            bail!(
                "training diverged at step {}: loss = {loss_total}, gradient norm = {grad_norm} (learning rate {:.2e}). \
                 Lower learning_rate, check the data for empty or garbled records, or use dtype = \"float32\"; \
                 the last good checkpoint is in {}",
                step + 1,
                preset.lr_at(step, total),
                run_dir.checkpoints().display()
            );
        }
        let lr = preset.lr_at(step, total);
        opt.apply(lr);
        state.global_step += 1;
        state.total_tokens += tokens as u64;
        state.epoch = plan.epoch_at(state.global_step);
        state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
        recent.push_back((tokens, t0.elapsed().as_secs_f64()));
        if recent.len() > 5 {
            recent.pop_front();
        }
        let (tok, secs) = recent
            .iter()
            .fold((0usize, 0.0), |(a, b), (t, s)| (a + t, b + s));
        let throughput = tok as f64 / secs.max(1e-9);
        last_loss = Some(loss_total);
        let stats = StepStats {
            step: state.global_step,
            total_steps: total,
            epoch: state.epoch,
            loss: loss_total,
            lr,
            grad_norm,
            tokens_per_s: throughput,
            total_tokens: state.total_tokens,
            elapsed_s: state.elapsed_s,
        };
        let listening = hooks.event(WorkerEvent::Step { run_id, stats });
        let s = state.global_step;
        let at_end = s == total;
        let mut eval_loss = None;
        let mut probe_ppl = None;
        if !val_batches.is_empty()
            && ((preset.eval_steps > 0 && s.is_multiple_of(u64::from(preset.eval_steps))) || at_end)
        {
            let l = loss::mean_loss(&model.decoder, &val_batches);
            state.last_eval_loss = Some(l);
            eval_loss = Some(l);
            probe_ppl = probe(&model, &probe_batches);
            track_best(&mut state, s, l, &save_best)?;
            let patience = preset.early_stopping_patience;
            early_stopped = patience > 0 && state.evals_since_best >= patience && !at_end;
            hooks.event(WorkerEvent::Eval {
                run_id,
                step: s,
                eval_loss: l,
                probe_ppl,
                best_step: state.best_step.unwrap_or(s),
            });
        }
        let log_now = preset.logging_steps > 0 && s.is_multiple_of(u64::from(preset.logging_steps));
        if log_now || at_end || eval_loss.is_some() {
            let evaluated = eval_loss.is_some();
            log.write(&LogLine {
                loss: Some(loss_total),
                eval_loss,
                probe_ppl: probe_ppl.filter(|_| evaluated),
                best_step: state.best_step.filter(|_| evaluated),
                early_stopped: early_stopped.then_some(true),
                ..log_line(&state, lr, throughput)
            })?;
        }
        if (preset.save_steps > 0 && s.is_multiple_of(u64::from(preset.save_steps)))
            || at_end
            || early_stopped
        {
            save(&state, hooks, &opt)?;
        }
        if early_stopped {
            status(
                hooks,
                format!(
                    "early stopping: no better validation loss in {} evaluations; the adapter is step {}'s",
                    preset.early_stopping_patience,
                    state.best_step.unwrap_or(s)
                ),
            );
            break;
        }
        if !listening {
            stopped = true;
            break;
        }
    }
    if stopped && checkpoint::latest(out).map(|(s, _)| s) != Some(state.global_step) {
        save(&state, hooks, &opt)?;
    }
    let adapter_dir = if full {
        run_dir.model()
    } else {
        run_dir.adapter()
    };
    // The run's result is its best validation checkpoint, as load_best_model_at_end does.
    let best = checkpoint::best(out);
    if let Some((dir, info)) = &best {
        if info.step != state.global_step {
            load_weights(&trainable, &model, dir)?;
        }
    }
    save_final(&trainable, &model, &adapter_dir)?;
    let summary = RunSummary {
        steps: state.global_step,
        final_loss: last_loss,
        initial_eval_loss: state.initial_eval_loss,
        final_eval_loss: state.last_eval_loss,
        elapsed_s: state.elapsed_s,
        adapter_dir,
        stopped,
        best_step: best.map(|(_, info)| info.step),
        early_stopped,
    };
    hooks.event(WorkerEvent::Finished {
        run_id,
        summary: summary.clone(),
    });
    Ok(summary)
}

/// The log line of the step `state` has reached, at learning rate `lr`; evaluation figures
/// are the caller's to add.
fn log_line(state: &TrainerState, lr: f64, throughput: f64) -> LogLine {
    LogLine {
        lr: Some(lr),
        elapsed_time: Some(state.elapsed_s),
        throughput: Some(throughput),
        total_tokens: Some(state.total_tokens),
        ..LogLine::at(state.global_step, state.total_steps).epoch(state.epoch)
    }
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
