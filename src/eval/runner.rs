//! Runs the three-part test: every question answered by the base model, then by the base
//! model with the adapter plugged in, scored and judged into an [`EvalReport`].
//!
//! The model loads once. The adapter is plugged in straight away, so a broken adapter fails
//! in seconds rather than after the base model's answers; its branches are then taken out for
//! the base model's turn and put back for the adapter's.
//!
//! Each part's questions are answered by one batched generation per side, which gives the
//! one-at-a-time generator's answers token for token; an answer the repetition detector
//! already calls a loop is cut there (it is wrong either way) and marked `cut`.

use super::metrics::{perplexity, rouge_l, FormatCheck, Repetition};
use super::questions::{self, Question};
use super::results::{
    utc_now, Answer, EvalReport, Item, Part, Settings, Side, Timing, Unsealing, VERSION,
};
use super::verdict;
use crate::data::SplitDir;
use crate::experiment::Goal;
use crate::lora::{plug, unplug, Unplugged};
use crate::model::generate::{
    generate_batch_with, token_logprobs_after, GenerateOptions, SharedPrefix, StopReason,
};
use crate::model::{device, Model};
use anyhow::{bail, Context, Result};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What is evaluated against the base model.
#[derive(Debug, Clone, PartialEq)]
pub enum Tuned {
    /// A PEFT LoRA adapter directory.
    Adapter(PathBuf),
    /// A fully fine-tuned model directory (Hugging Face layout).
    Model(PathBuf),
}

impl Tuned {
    /// The directory.
    pub fn dir(&self) -> &std::path::Path {
        match self {
            Tuned::Adapter(d) | Tuned::Model(d) => d,
        }
    }

    /// A clear error when the weights are not there (e.g. a run that never finished).
    pub fn check(&self) -> Result<()> {
        let (file, what) = match self {
            Tuned::Adapter(d) => (d.join("adapter_model.safetensors"), "adapter"),
            Tuned::Model(d) => (d.join("config.json"), "fine-tuned model"),
        };
        if !file.is_file() {
            bail!(
                "{}: no {what} here (missing {}): train the run to the end, or point --adapter \
                 at a checkpoint",
                self.dir().display(),
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
        }
        Ok(())
    }
}

/// Everything an evaluation needs.
#[derive(Debug, Clone)]
pub struct EvalSpec {
    /// Base model directory.
    pub model: PathBuf,
    /// The adapter or fine-tuned model.
    pub tuned: Tuned,
    /// Chat template: the one training used (a name, or `auto`).
    pub template: String,
    /// Split directory (`train.jsonl`, `val.jsonl`, sealed `test.jsonl`).
    pub data: PathBuf,
    /// Guard set file.
    pub guard: PathBuf,
    /// Pass marks and output format.
    pub goal: Goal,
    /// The run's id, for the record and the unsealing reason.
    pub run: Option<String>,
    /// Training records in the exam.
    pub exam_size: usize,
    /// Token limit per answer.
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    /// Nucleus mass when sampling.
    pub top_p: f64,
    /// Seed of the exam sample and of sampling.
    pub seed: u64,
    /// `auto`, `cpu` or `cuda`.
    pub device: String,
    /// Sequences generated at once: 0 = automatic, 1 = one at a time.
    pub batch_size: usize,
}

/// Where an evaluation is after one more answer: the owned part of [`Progress::Answered`],
/// which the cockpit's jobs thread passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The part.
    pub part: Part,
    /// Who answered.
    pub side: Side,
    /// Answers done so far, over the whole evaluation.
    pub done: usize,
    /// Answers in all.
    pub total: usize,
    /// The question's position in its part, from 0.
    pub item: usize,
    /// Questions in the part.
    pub items: usize,
}

/// What the runner reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress<'a> {
    /// A model is loading (the base model, or a fully fine-tuned one).
    Loading(&'a Path),
    /// Every input checked and the models ready: the test split has been unsealed, with
    /// this reason, in this log.
    Unsealed {
        /// The reason on record.
        reason: &'a str,
        /// The log file.
        log: &'a Path,
    },
    /// One answer done.
    Answered {
        /// Where the evaluation is.
        at: Position,
        /// The answer.
        text: &'a str,
    },
}

/// The error returned when the cancel flag was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("evaluation cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// The questions, part by part.
pub(super) type Parts = Vec<(Part, Vec<Question>)>;

/// One side's answers, part by part, in question order.
pub(super) type Answers = Vec<Vec<Answer>>;

/// Runs the evaluation. `cancel` is checked between tokens; `progress` sees each step.
pub fn evaluate(
    spec: &EvalSpec,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<EvalReport> {
    // Everything that can be checked without a model is checked first, and the test split
    // is unsealed only once the model has loaded: a failed start leaves no unsealing on record.
    spec.tuned.check()?;
    let format = spec.goal.output_regex().map(FormatCheck::new).transpose()?;
    let split = SplitDir::open(&spec.data)?;
    let train = split.train()?;
    if train.records.is_empty() {
        bail!(
            "{}: train.jsonl has no records: nothing to set the exam from",
            spec.data.display()
        );
    }
    if split.manifest().counts.test == 0 {
        bail!(
            "{}: the test split is empty, so there is no interview: split again with a ratio that \
             keeps a test part (e.g. --ratio 8:1:1) and enough records for it",
            spec.data.display()
        );
    }
    let exam_idx = questions::sample(train.records.len(), spec.exam_size.max(1), spec.seed);
    let exam = questions::from_dataset(&train, Some(&exam_idx))?;
    let guard = questions::load_guard(&spec.guard)?;
    let replay = crate::train::replay::cached_prompts(&spec.data)?;
    crate::train::replay::check_blind(
        &replay,
        &spec
            .data
            .join(crate::train::replay::CACHE)
            .display()
            .to_string(),
        &guard.iter().map(|q| q.prompt.clone()).collect::<Vec<_>>(),
        &spec.guard.display().to_string(),
    )?;

    progress(Progress::Loading(&spec.model));
    let dev = device::pick(&spec.device)?;
    let mut model = Model::load(&spec.model, dev, &spec.template, false)
        .with_context(|| format!("loading model {}", spec.model.display()))?;
    let card = Card::prepare(&spec.tuned, &mut model)?;

    let reason = match &spec.run {
        Some(id) => format!("interview of run {id}"),
        None => format!("interview of {}", spec.tuned.dir().display()),
    };
    let test = split.unseal_test(&reason)?;
    let log = split.dir().join(crate::data::split_dir::UNSEALED_LOG);
    progress(Progress::Unsealed {
        reason: &reason,
        log: &log,
    });
    let interview = questions::from_dataset(&test, None)?;
    let parts: Parts = vec![
        (Part::Exam, exam),
        (Part::Interview, interview),
        (Part::Guard, guard),
    ];

    let start = Instant::now();
    let (model, [base, tuned], counter) =
        answer_both(model, card, &parts, spec, format.as_ref(), cancel, progress)?;
    let total = counter.total;
    let seconds = start.elapsed().as_secs_f64();

    let results: Vec<_> = parts
        .into_iter()
        .zip(base.into_iter().zip(tuned))
        .map(|((part, qs), (b, a))| {
            let items = items(qs, b, a);
            let marks = &spec.goal.pass_marks;
            let mark = match part {
                Part::Exam => marks.exam,
                Part::Interview => marks.interview,
                Part::Guard => marks.guard,
            };
            verdict::judge(part, mark, items)
        })
        .collect();
    Ok(EvalReport {
        version: VERSION,
        created: utc_now(),
        run: spec.run.clone(),
        model: spec.model.display().to_string(),
        adapter: spec.tuned.dir().display().to_string(),
        data: spec.data.display().to_string(),
        guard: spec.guard.display().to_string(),
        format: format.as_ref().map(|f| f.pattern().to_string()),
        settings: Settings {
            template: model.tokenizer.template.name().to_string(),
            max_new_tokens: spec.max_new_tokens,
            temperature: spec.temperature,
            top_p: spec.top_p,
            seed: spec.seed,
            exam_size: exam_idx.len(),
            device: device::describe(dev),
        },
        unsealed: Unsealing {
            reason,
            log: log.display().to_string(),
            test_sha256: split.manifest().sha256.test.clone(),
        },
        graduated: verdict::graduated(&results),
        parts: results,
        timing: Timing {
            seconds,
            answers: total,
            answers_per_minute: total as f64 * 60.0 / seconds.max(1e-9),
            tokens_per_second: counter.tokens as f64 / seconds.max(1e-9),
        },
        blind: None,
        blind_earlier: Vec::new(),
        rag: None,
    })
}

/// Runs the evaluation and writes its report to `out` (a run's `eval.json`) atomically: the
/// one path `tunedeck eval` and the cockpit's Eval pane share.
pub fn evaluate_to(
    spec: &EvalSpec,
    out: &Path,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<EvalReport> {
    let report = evaluate(spec, cancel, progress)?;
    report.save(out)?;
    Ok(report)
}

/// What turns the base model into the tuned one after the base model's answers.
pub(super) enum Card<'a> {
    /// The adapter's LoRA branches.
    Adapter(Unplugged),
    /// A fully fine-tuned model to load.
    Model(&'a Path),
}

impl<'a> Card<'a> {
    /// Readies `tuned` on `model`, the base model just loaded: an adapter is attached and
    /// unplugged at once (so the base answers first); a full fine-tune is only checked, and
    /// loaded after the base model's answers.
    pub(super) fn prepare(tuned: &'a Tuned, model: &mut Model) -> Result<Card<'a>> {
        Ok(match tuned {
            Tuned::Adapter(dir) => {
                crate::lora::attach_saved(model, dir)?;
                Card::Adapter(unplug(model))
            }
            Tuned::Model(dir) => {
                crate::model::ModelConfig::load(dir)?;
                Card::Model(dir)
            }
        })
    }

    /// The tuned model: `model` with the adapter plugged back in (folded into float32
    /// weights, [`crate::lora::merge_for_answering`]), or the fine-tuned model
    /// loaded in its place (the base one is dropped first, so both never share memory).
    pub(super) fn apply(
        self,
        mut model: Model,
        spec: &EvalSpec,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Model> {
        match self {
            Card::Adapter(branches) => {
                plug(&mut model, branches);
                // Only answers follow, so over a float32 base the adapter is folded in.
                crate::lora::merge_for_answering(&mut model);
                Ok(model)
            }
            Card::Model(dir) => {
                progress(Progress::Loading(dir));
                let dev = model.device;
                drop(model);
                Model::load(dir, dev, &spec.template, false)
                    .with_context(|| format!("loading model {}", dir.display()))
            }
        }
    }
}

/// Each question with its two answers.
pub(super) fn items(qs: Vec<Question>, base: Vec<Answer>, adapter: Vec<Answer>) -> Vec<Item> {
    qs.into_iter()
        .zip(base.into_iter().zip(adapter))
        .map(|(q, (base, adapter))| Item {
            agreement: rouge_l(&adapter.text, &base.text),
            source: q.source,
            prompt: q.prompt,
            reference: q.reference,
            must_include: q.keywords,
            base,
            adapter,
        })
        .collect()
}

/// Answers counted across both sides, for progress and speed.
pub(super) struct Counter {
    pub done: usize,
    pub total: usize,
    pub tokens: usize,
}

/// The base model's answers to `parts`, then the tuned model's (`card` turns one into the
/// other in between), counted together. Returns the tuned model, `[base, tuned]` and the count.
pub(super) fn answer_both(
    model: Model,
    card: Card<'_>,
    parts: &Parts,
    spec: &EvalSpec,
    format: Option<&FormatCheck>,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Model, [Answers; 2], Counter)> {
    let mut counter = Counter {
        done: 0,
        total: 2 * parts.iter().map(|(_, q)| q.len()).sum::<usize>(),
        tokens: 0,
    };
    let answer =
        |model: &Model, side: Side, counter: &mut Counter, progress: &mut dyn FnMut(Progress)| {
            answer_all(model, parts, side, spec, format, cancel, counter, progress)
        };
    let base = answer(&model, Side::Base, &mut counter, progress)?;
    let model = card.apply(model, spec, progress)?;
    let tuned = answer(&model, Side::Adapter, &mut counter, progress)?;
    Ok((model, [base, tuned], counter))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn answer_all(
    model: &Model,
    parts: &Parts,
    side: Side,
    spec: &EvalSpec,
    format: Option<&FormatCheck>,
    cancel: &AtomicBool,
    counter: &mut Counter,
    progress: &mut dyn FnMut(Progress),
) -> Result<Answers> {
    let tok = &model.tokenizer;
    // Question i (counted across the parts) samples with seed + i, so an answer does not
    // depend on those answered before it.
    let opts = GenerateOptions {
        max_new_tokens: spec.max_new_tokens,
        temperature: spec.temperature,
        top_p: spec.top_p,
        seed: spec.seed,
        stop_ids: tok.stop_ids.clone(),
    };
    let runaway = |ids: &[u32]| {
        tok.decode(ids)
            .is_ok_and(|text| Repetition::of(&text, false).looping())
    };
    // Every part's questions in one queue: a batch refilled from all of them stays full
    // where one batch per part would run its last few answers nearly alone.
    let mut prompts = Vec::new();
    let mut owner = Vec::new(); // prompt -> (part, question)
    for (p, (_, qs)) in parts.iter().enumerate() {
        for (i, q) in qs.iter().enumerate() {
            let text = tok
                .template
                .prompt(q.system.as_deref(), &q.history, &q.prompt);
            prompts.push(tok.encode(&text)?);
            owner.push((p, i));
        }
    }
    let mut answers: Vec<Vec<Option<Answer>>> =
        parts.iter().map(|(_, qs)| vec![None; qs.len()]).collect();
    let failed = RefCell::new(None);
    generate_batch_with(
        &model.decoder,
        &prompts,
        &opts,
        spec.batch_size,
        &mut || !cancel.load(Ordering::Relaxed) && failed.borrow().is_none(),
        &runaway,
        &mut |n, new, stop| {
            if stop == StopReason::Cancelled {
                return;
            }
            let (p, i) = owner[n];
            let (part, qs) = &parts[p];
            let q = &qs[i];
            let text = match tok.decode(new) {
                Ok(text) => text,
                Err(e) => {
                    failed.borrow_mut().get_or_insert(e);
                    return;
                }
            };
            let ended = stop == StopReason::EndOfTurn;
            let mut scores = verdict::score(*part, &text, ended, &q.reference, &q.keywords, format);
            scores.cut = stop == StopReason::Runaway;
            counter.done += 1;
            counter.tokens += new.len();
            progress(Progress::Answered {
                at: Position {
                    part: *part,
                    side,
                    done: counter.done,
                    total: counter.total,
                    item: i,
                    items: qs.len(),
                },
                text: &text,
            });
            answers[p][i] = Some(Answer {
                text,
                tokens: new.len(),
                ended,
                scores,
            });
        },
    );
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(Cancelled.into());
    }
    let mut out = Vec::new();
    let mut first = 0;
    for ((part, qs), answers) in parts.iter().zip(answers) {
        let mut answers = answers
            .into_iter()
            .collect::<Option<Vec<Answer>>>()
            .ok_or(Cancelled)?;
        if *part == Part::Guard {
            let ids = &prompts[first..first + qs.len()];
            let shared = SharedPrefix::of(&model.decoder, ids);
            for ((q, ids), a) in qs.iter().zip(ids).zip(&mut answers) {
                a.scores.perplexity =
                    reference_perplexity(model, shared.as_ref(), ids, &q.reference)?;
            }
        }
        first += qs.len();
        out.push(answers);
    }
    Ok(out)
}

/// Perplexity of the reference answer (with the turn end, which training also teaches)
/// after the prompt `prompt_ids` (whose beginning `shared` may hold already).
fn reference_perplexity(
    model: &Model,
    shared: Option<&SharedPrefix>,
    prompt_ids: &[u32],
    reference: &str,
) -> Result<Option<f64>> {
    let tok = &model.tokenizer;
    let answer = tok.encode(&format!("{reference}{}", tok.template.turn_end()))?;
    let ids: Vec<u32> = prompt_ids.iter().chain(&answer).copied().collect();
    if prompt_ids.is_empty() || answer.is_empty() {
        return Ok(None);
    }
    let lps = token_logprobs_after(&model.decoder, shared, &ids, prompt_ids.len());
    Ok(perplexity(&lps))
}
