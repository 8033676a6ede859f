//! One training run in three parts: [`Session::prepare`] (check the folder, load the model
//! and data, attach the adapter, resume, measure the initial validation loss),
//! [`Session::step`] (one optimizer step, with its evaluation, log line and checkpoint) and
//! [`Session::finish`] (the best weights into `adapter/` or `model/`).

use super::adamw::AdamW;
use super::checkpoint::{self, TrainerState};
use super::encode::{collate, Batch, Sequence};
use super::events::{LoadedInfo, RunId, RunSpec, RunSummary, StepStats, WorkerEvent};
use super::{
    batches_of, encode_all, encode_replay, kind_for, load_weights, log, loss, probe, recompute,
    record_preset, replay, save_final, save_weights, schedule, track_best, Hooks, Signal,
    Trainable,
};
use crate::data::{LogLine, RunDir, SplitDir};
use crate::lora::{self, AdapterConfig};
use crate::model::{device, Model};
use crate::preset::{Choice, FinetuningType, Preset};
use anyhow::{bail, Context, Result};
use std::collections::VecDeque;
use std::time::Instant;
use tch::Tensor;

/// What the loop does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Train the next step.
    Continue,
    /// Every planned step is done, or early stopping ended the run.
    Done,
    /// Asked to stop, or nobody is listening any more.
    Stopped,
}

/// The state a run carries from one step to the next.
pub(super) struct Session<'a> {
    run_id: RunId,
    preset: &'a Preset,
    run_dir: RunDir,
    model: Model,
    trainable: Trainable,
    full: bool,
    pad: i64,
    train_seqs: Vec<Sequence>,
    val_batches: Vec<Batch>,
    probe_batches: Vec<Batch>,
    plan: schedule::Plan,
    total: u64,
    opt: AdamW,
    state: TrainerState,
    log: log::TrainerLog,
    started: Instant,
    elapsed_before: f64,
    /// Tokens and seconds of the last few steps, for the throughput.
    recent: VecDeque<(usize, f64)>,
    last_loss: Option<f64>,
    early_stopped: bool,
}

fn status(hooks: &mut dyn Hooks, run_id: RunId, message: String) -> bool {
    hooks.event(WorkerEvent::Status { run_id, message })
}

impl<'a> Session<'a> {
    /// Everything before the first step; ends with the initial validation loss measured and
    /// logged (a fresh run with validation data).
    pub(super) fn prepare(
        run_id: RunId,
        spec: &'a RunSpec,
        hooks: &mut dyn Hooks,
    ) -> Result<Session<'a>> {
        let preset = &spec.preset;
        preset
            .validate()
            .map_err(|errs| anyhow::anyhow!("invalid preset: {}", errs.join("; ")))?;
        let out = &spec.out_dir;
        let run_dir = RunDir::new(out);
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create", out.display()))?;
        let resume_from = if spec.resume {
            checkpoint::latest(out)
        } else {
            None
        };
        if !spec.resume && !checkpoint::list(out).is_empty() {
            bail!("{} already has checkpoints: pass --resume to continue that run, or choose another --out", out.display());
        }
        if spec.resume {
            // The checkpoint's weights only fit the model and adapter shape they were saved
            // from.
            if let Some(c) = checkpoint::conflict(out, preset) {
                bail!(
                    "{}: cannot resume with {} {} → {}: the checkpoints were trained with the \
                     preset in {}; set it back, or start a new run in another --out folder",
                    out.display(),
                    c.key,
                    c.was,
                    c.now,
                    run_dir.preset().display()
                );
            }
        }
        record_preset(out, preset, spec.resume, &mut |m| status(hooks, run_id, m))?;

        let split = SplitDir::open(&spec.data_dir)?;
        let train_data = split.train()?;
        let val_data = split.val()?;
        if train_data.records.is_empty() {
            bail!("{}: train.jsonl has no records", spec.data_dir.display());
        }

        let dev = device::pick(preset.device.name())?;
        let (dtype, why) = preset.resolved_dtype(dev.is_cuda());
        let kind = kind_for(dtype);
        let why = why.map(|w| format!(" ({w})")).unwrap_or_default();
        let model_dir = crate::paths::resolve_model(&preset.model, &spec.base_dir);
        status(
            hooks,
            run_id,
            format!(
                "loading {} on {}, base weights in {dtype}{why}",
                model_dir.display(),
                device::describe(dev)
            ),
        );
        let full = preset.finetuning_type == FinetuningType::Full;
        let mut model = Model::load_with(&model_dir, dev, kind, preset.template.name(), full)?;
        // Replay answers and their teacher distributions come from the base model, so they
        // are made before an adapter is attached.
        let replay = replay::prepare(
            &model,
            preset,
            &split,
            &spec.base_dir,
            train_data.records.len(),
            &mut |m| {
                status(hooks, run_id, m);
            },
        )?;
        let pad = i64::from(model.tokenizer.pad_id);
        let (replay_seqs, probe_batches) = match &replay {
            None => (Vec::new(), Vec::new()),
            Some(r) => {
                status(
                    hooks,
                    run_id,
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

        status(hooks, run_id, "tokenizing".into());
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
            status(hooks, run_id, format!("resuming from {}", dir.display()));
            state = checkpoint::load_state(dir)?;
            load_weights(&trainable, &model, dir)?;
            opt.load(&dir.join("optimizer.safetensors"))?;
            // Dropout continues from a seed tied to the step, so a resumed run is
            // reproducible.
            tch::manual_seed(preset.seed as i64 + *step as i64);
        } else if spec.resume {
            status(
                hooks,
                run_id,
                format!("no checkpoint in {}: starting from step 0", out.display()),
            );
        }
        let log = log::TrainerLog::open(&run_dir, state.global_step)?;
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

        let mut session = Session {
            run_id,
            preset,
            run_dir,
            model,
            trainable,
            full,
            pad,
            train_seqs,
            val_batches,
            probe_batches,
            plan,
            total,
            opt,
            elapsed_before: state.elapsed_s,
            state,
            log,
            started: Instant::now(),
            recent: VecDeque::new(),
            last_loss: None,
            early_stopped: false,
        };
        session.initial_eval(hooks)?;
        // Training time starts with the first step.
        session.started = Instant::now();
        session.elapsed_before = session.state.elapsed_s;
        Ok(session)
    }

    /// The validation loss before any training, once per run.
    fn initial_eval(&mut self, hooks: &mut dyn Hooks) -> Result<()> {
        if self.state.initial_eval_loss.is_some() || self.val_batches.is_empty() {
            return Ok(());
        }
        status(
            hooks,
            self.run_id,
            "measuring the initial validation loss".into(),
        );
        let l = loss::mean_loss(&self.model.decoder, &self.val_batches);
        self.state.initial_eval_loss = Some(l);
        self.state.last_eval_loss = Some(l);
        let probe_ppl = probe(&self.model, &self.probe_batches);
        self.track_best(0, l)?;
        self.log.write(&LogLine {
            eval_loss: Some(l),
            probe_ppl,
            best_step: self.state.best_step,
            ..self.log_line(0.0, 0.0)
        })?;
        hooks.event(WorkerEvent::Eval {
            run_id: self.run_id,
            step: 0,
            eval_loss: l,
            probe_ppl,
            best_step: 0,
        });
        Ok(())
    }

    /// One optimizer step (after asking `hooks` whether to go on), with its evaluation, log
    /// line and checkpoint when they are due.
    pub(super) fn step(&mut self, hooks: &mut dyn Hooks) -> Result<Flow> {
        if self.state.global_step >= self.total {
            return Ok(Flow::Done);
        }
        match hooks.poll() {
            Signal::Stop => return Ok(Flow::Stopped),
            Signal::SaveNow => self.save(hooks)?,
            Signal::Continue => {}
        }
        let preset = self.preset;
        let total = self.total;
        let step = self.state.global_step;
        let t0 = Instant::now();
        let (loss_total, tokens) = self.forward_backward(step);
        let grad_norm = self.opt.clip_grad_norm(preset.max_grad_norm);
        if !loss_total.is_finite() || !grad_norm.is_finite() {
            bail!(
                "training diverged at step {}: loss = {loss_total}, gradient norm = {grad_norm} (learning rate {:.2e}). \
                 Lower learning_rate, check the data for empty or garbled records, or use dtype = \"float32\"; \
                 the last good checkpoint is in {}",
                step + 1,
                preset.lr_at(step, total),
                self.run_dir.checkpoints().display()
            );
        }
        let lr = preset.lr_at(step, total);
        self.opt.apply(lr);
        let state = &mut self.state;
        state.global_step += 1;
        state.total_tokens += tokens as u64;
        state.epoch = self.plan.epoch_at(state.global_step);
        state.elapsed_s = self.elapsed_before + self.started.elapsed().as_secs_f64();
        self.recent.push_back((tokens, t0.elapsed().as_secs_f64()));
        if self.recent.len() > 5 {
            self.recent.pop_front();
        }
        let (tok, secs) = self
            .recent
            .iter()
            .fold((0usize, 0.0), |(a, b), (t, s)| (a + t, b + s));
        let throughput = tok as f64 / secs.max(1e-9);
        self.last_loss = Some(loss_total);
        let stats = StepStats {
            step: self.state.global_step,
            total_steps: total,
            epoch: self.state.epoch,
            loss: loss_total,
            lr,
            grad_norm,
            tokens_per_s: throughput,
            total_tokens: self.state.total_tokens,
            elapsed_s: self.state.elapsed_s,
        };
        let run_id = self.run_id;
        let listening = hooks.event(WorkerEvent::Step { run_id, stats });
        let s = self.state.global_step;
        let at_end = s == total;
        let mut eval_loss = None;
        let mut probe_ppl = None;
        if !self.val_batches.is_empty()
            && ((preset.eval_steps > 0 && s.is_multiple_of(u64::from(preset.eval_steps))) || at_end)
        {
            let l = loss::mean_loss(&self.model.decoder, &self.val_batches);
            self.state.last_eval_loss = Some(l);
            eval_loss = Some(l);
            probe_ppl = probe(&self.model, &self.probe_batches);
            self.track_best(s, l)?;
            let patience = preset.early_stopping_patience;
            self.early_stopped = patience > 0 && self.state.evals_since_best >= patience && !at_end;
            hooks.event(WorkerEvent::Eval {
                run_id,
                step: s,
                eval_loss: l,
                probe_ppl,
                best_step: self.state.best_step.unwrap_or(s),
            });
        }
        let early_stopped = self.early_stopped;
        let log_now = preset.logging_steps > 0 && s.is_multiple_of(u64::from(preset.logging_steps));
        if log_now || at_end || eval_loss.is_some() {
            let evaluated = eval_loss.is_some();
            let line = LogLine {
                loss: Some(loss_total),
                eval_loss,
                probe_ppl: probe_ppl.filter(|_| evaluated),
                best_step: self.state.best_step.filter(|_| evaluated),
                early_stopped: early_stopped.then_some(true),
                ..self.log_line(lr, throughput)
            };
            self.log.write(&line)?;
        }
        if (preset.save_steps > 0 && s.is_multiple_of(u64::from(preset.save_steps)))
            || at_end
            || early_stopped
        {
            self.save(hooks)?;
        }
        if early_stopped {
            status(
                hooks,
                run_id,
                format!(
                    "early stopping: no better validation loss in {} evaluations; the adapter is step {}'s",
                    preset.early_stopping_patience,
                    self.state.best_step.unwrap_or(s)
                ),
            );
            return Ok(Flow::Done);
        }
        if !listening {
            return Ok(Flow::Stopped);
        }
        Ok(if at_end { Flow::Done } else { Flow::Continue })
    }

    /// Forward and backward passes over step `step`'s micro-batches, gradients accumulated:
    /// the step's loss and its token count.
    fn forward_backward(&mut self, step: u64) -> (f64, usize) {
        let preset = self.preset;
        let micro = self.plan.step_batches(step, &self.train_seqs);
        let label_tokens: usize = micro
            .iter()
            .map(|b| b.iter().map(|s| s.label_tokens()).sum::<usize>())
            .sum();
        let mut tokens = 0usize;
        let mut loss_total = 0.0;
        self.opt.zero_grad();
        let decoder = &self.model.decoder;
        for (m, seqs) in micro.iter().enumerate() {
            let batch = collate(seqs, self.pad);
            tokens += batch.tokens;
            // Token-weighted mean over the whole accumulated step, as transformers does with
            // num_items_in_batch.
            let denominator = label_tokens.max(1) as f64;
            if preset.gradient_checkpointing {
                let seed = (preset.seed as i64)
                    .wrapping_mul(1_000_003)
                    .wrapping_add((step * 64 + m as u64) as i64);
                let (value, _) = recompute::backward(decoder, &batch, denominator, seed);
                loss_total += value;
            } else {
                let ids = batch.ids.to_device(decoder.embed_tokens.device());
                let hidden = decoder.hidden(&ids, None, true);
                let (value, _) = loss::backward_at_labels(decoder, &hidden, &batch, denominator);
                loss_total += value;
            }
        }
        (loss_total, tokens)
    }

    /// The run's result: a last checkpoint when it was stopped between saves, then the best
    /// validation checkpoint's weights (as load_best_model_at_end does) into `adapter/` (or
    /// `model/`).
    pub(super) fn finish(self, hooks: &mut dyn Hooks, stopped: bool) -> Result<RunSummary> {
        let out = self.run_dir.path();
        if stopped && checkpoint::latest(out).map(|(s, _)| s) != Some(self.state.global_step) {
            self.save(hooks)?;
        }
        let adapter_dir = if self.full {
            self.run_dir.model()
        } else {
            self.run_dir.adapter()
        };
        let best = checkpoint::best(out);
        if let Some((dir, info)) = &best {
            if info.step != self.state.global_step {
                load_weights(&self.trainable, &self.model, dir)?;
            }
        }
        save_final(&self.trainable, &self.model, &adapter_dir)?;
        let state = &self.state;
        let summary = RunSummary {
            steps: state.global_step,
            final_loss: self.last_loss,
            initial_eval_loss: state.initial_eval_loss,
            final_eval_loss: state.last_eval_loss,
            elapsed_s: state.elapsed_s,
            adapter_dir,
            stopped,
            best_step: best.map(|(_, info)| info.step),
            early_stopped: self.early_stopped,
        };
        hooks.event(WorkerEvent::Finished {
            run_id: self.run_id,
            summary: summary.clone(),
        });
        Ok(summary)
    }

    /// A resumable checkpoint of the current step, announced to `hooks`.
    fn save(&self, hooks: &mut dyn Hooks) -> Result<()> {
        let dir = checkpoint::save(self.run_dir.path(), &self.state, &mut |tmp| {
            save_weights(&self.trainable, &self.model, tmp)?;
            self.opt.save(&tmp.join("optimizer.safetensors"))
        })?;
        hooks.event(WorkerEvent::Checkpoint {
            run_id: self.run_id,
            step: self.state.global_step,
            path: dir,
        });
        Ok(())
    }

    /// Books an evaluation's loss, saving the weights to `best/` when it is the best yet.
    fn track_best(&mut self, step: u64, eval_loss: f64) -> Result<()> {
        let (out, trainable, model) = (self.run_dir.path(), &self.trainable, &self.model);
        track_best(&mut self.state, step, eval_loss, &|info| {
            checkpoint::save_best(out, info, &mut |tmp| save_weights(trainable, model, tmp))
        })
    }

    /// The log line of the step reached, at learning rate `lr`; evaluation figures are the
    /// caller's to add.
    fn log_line(&self, lr: f64, throughput: f64) -> LogLine {
        let s = &self.state;
        LogLine {
            lr: Some(lr),
            elapsed_time: Some(s.elapsed_s),
            throughput: Some(throughput),
            total_tokens: Some(s.total_tokens),
            ..LogLine::at(s.global_step, self.total).epoch(s.epoch)
        }
    }
}
