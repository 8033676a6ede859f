//! `tunedeck eval`: the three-part blind test of a run (or of explicit model, adapter and
//! data paths), with a progress bar, a summary table and `eval.json`.

use super::say;
use crate::data::run_dir::EVAL;
use crate::eval::locate::{
    self, RunContext, DEFAULT_EXAM_SIZE, DEFAULT_MAX_NEW_TOKENS, DEFAULT_TOP_P,
};
use crate::eval::{
    evaluate_to, EvalReport, EvalSpec, Part, PartResult, Position, Progress, Side, Tuned,
};
use crate::experiment::{Experiment, Goal};
use anyhow::{bail, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Args)]
pub struct EvalArgs {
    /// An experiment folder: evaluates one of its runs with its goal, split and preset.
    #[arg(conflicts_with_all = ["model", "adapter", "data", "goal"])]
    experiment: Option<PathBuf>,
    /// The run under EXPERIMENT/runs/ (default: the most recently trained).
    #[arg(long, requires = "experiment")]
    run: Option<String>,
    /// Base model directory (instead of an experiment).
    #[arg(long, requires_all = ["adapter", "data"])]
    model: Option<PathBuf>,
    /// PEFT LoRA adapter directory.
    #[arg(long, requires = "model")]
    adapter: Option<PathBuf>,
    /// Split directory made by `tunedeck data split`; its test part is unsealed.
    #[arg(long, requires = "model")]
    data: Option<PathBuf>,
    /// Guard set (default: the experiment's data/guard.jsonl, else the bundled one).
    #[arg(long, value_name = "FILE")]
    guard: Option<PathBuf>,
    /// An experiment.toml (or its folder) whose goal gives the pass marks and the format.
    #[arg(long, value_name = "FILE", requires = "model")]
    goal: Option<PathBuf>,
    /// Chat template (default: the run's preset's; `auto` with --model).
    #[arg(long)]
    template: Option<String>,
    /// Training records asked in the exam.
    #[arg(long, default_value_t = DEFAULT_EXAM_SIZE)]
    exam_size: usize,
    /// Token limit per answer.
    #[arg(long, default_value_t = DEFAULT_MAX_NEW_TOKENS)]
    max_new_tokens: usize,
    /// 0 = greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    #[arg(long, default_value_t = DEFAULT_TOP_P)]
    top_p: f64,
    /// Seed of the exam sample and of sampling (default: the preset's seed, else 42).
    #[arg(long)]
    seed: Option<u64>,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Answers generated at once: 0 = automatic (from the prompt lengths and memory), 1 = one
    /// at a time.
    #[arg(long, default_value_t = 0)]
    batch_size: usize,
    /// Where to write the results (default: eval.json in the run folder).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The RAG card's 2×2: answer the interview without and with the knowledge base's chunks,
    /// for base and adapter, and add the table to the results (run the plain test first).
    #[arg(long)]
    rag: bool,
    /// The experiment whose knowledge base --rag uses (default: EXPERIMENT).
    #[arg(long, value_name = "EXPERIMENT", requires = "rag")]
    knowledge_base: Option<PathBuf>,
    /// Chunks put before each question with --rag (default: the knowledge base's
    /// experiment.toml `[rag] top_k`, else 3).
    #[arg(long, requires = "rag")]
    top_k: Option<usize>,
    /// The most characters of chunk text before each question with --rag, 0 = no limit
    /// (default: `[rag] max_context_chars`, else 0).
    #[arg(long, requires = "rag")]
    max_context_chars: Option<usize>,
}

/// The retrieval settings for --rag: the knowledge base's experiment's `[rag]` table (the
/// defaults when that folder has no experiment.toml), then the flags.
fn rag_settings(args: &EvalArgs, kb: &Path) -> Result<crate::rag::Settings> {
    let mut settings = Experiment::rag_settings(kb)?;
    if let Some(k) = args.top_k {
        settings.top_k = k;
    }
    if let Some(n) = args.max_context_chars {
        settings.max_context_chars = n;
    }
    if settings.top_k == 0 {
        bail!(
            "--top-k (or [rag] top_k in {}) must be at least 1",
            kb.display()
        );
    }
    Ok(settings)
}

/// The spec and the default results file for the arguments.
fn spec_of(args: &EvalArgs) -> Result<(EvalSpec, PathBuf)> {
    let (mut spec, out) = match (&args.experiment, &args.model) {
        (Some(dir), _) => {
            let ctx = RunContext::open(dir, args.run.as_deref())?;
            (ctx.eval_spec(), ctx.run.eval())
        }
        (None, Some(model)) => {
            // clap's `requires` guarantees these with --model.
            let (Some(adapter), Some(data)) = (&args.adapter, &args.data) else {
                bail!("--model needs --adapter and --data");
            };
            let goal = match &args.goal {
                Some(path) => goal_from(path)?,
                None => Goal::default(),
            };
            let out = match adapter.file_name().and_then(|n| n.to_str()) {
                // A run's adapter: keep the results beside it, as an experiment run does.
                Some("adapter") => adapter.parent().unwrap_or(Path::new(".")).join(EVAL),
                _ => PathBuf::from(EVAL),
            };
            let spec = EvalSpec {
                model: model.clone(),
                tuned: Tuned::Adapter(adapter.clone()),
                template: "auto".into(),
                data: data.clone(),
                guard: crate::paths::home().join(locate::BUNDLED_GUARD),
                goal,
                run: None,
                exam_size: DEFAULT_EXAM_SIZE,
                max_new_tokens: DEFAULT_MAX_NEW_TOKENS,
                temperature: 0.0,
                top_p: DEFAULT_TOP_P,
                seed: 42,
                device: "auto".into(),
                batch_size: 0,
            };
            (spec, out)
        }
        (None, None) => bail!(
            "name an experiment folder (tunedeck eval EXPERIMENT_DIR) or give --model, --adapter \
             and --data"
        ),
    };
    if args.exam_size == 0 || args.max_new_tokens == 0 {
        bail!("--exam-size and --max-new-tokens must be at least 1");
    }
    if let Some(g) = &args.guard {
        spec.guard = g.clone();
    }
    if let Some(t) = &args.template {
        spec.template = t.clone();
    }
    if let Some(s) = args.seed {
        spec.seed = s;
    }
    spec.exam_size = args.exam_size;
    spec.batch_size = args.batch_size;
    spec.max_new_tokens = args.max_new_tokens;
    spec.temperature = args.temperature;
    spec.top_p = args.top_p;
    spec.device = args.device.clone();
    Ok((spec, args.out.clone().unwrap_or(out)))
}

/// The goal of an `experiment.toml`, named directly or by its folder.
fn goal_from(path: &Path) -> Result<Goal> {
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    if path.is_file() && path.file_name() != Some(crate::experiment::FILE_NAME.as_ref()) {
        bail!(
            "--goal {}: expected an {} (or the experiment folder)",
            path.display(),
            crate::experiment::FILE_NAME
        );
    }
    Ok(Experiment::load(dir)?.goal)
}

pub fn run(args: EvalArgs) -> Result<()> {
    let (spec, out) = spec_of(&args)?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} answers [{bar:30}] {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let cancel = AtomicBool::new(false);
    let mut progress = progress_lines(&bar);
    if args.rag {
        let Some(kb) = args.knowledge_base.as_ref().or(args.experiment.as_ref()) else {
            bail!("--rag with --model needs --knowledge-base EXPERIMENT (the folder with rag/)");
        };
        let settings = rag_settings(&args, kb)?;
        let table =
            crate::eval::rag::evaluate_rag(&spec, kb, &settings, &out, &cancel, &mut progress);
        bar.finish_and_clear();
        let (table, dropped) = table?;
        if dropped > 0 {
            eprintln!(
                "note: {dropped} blind A/B judgements of the earlier retrieval answers were \
                 dropped: those answers are replaced, so the judgements no longer apply"
            );
        }
        println!(
            "the interview four ways ({} before each question with RAG):",
            settings.describe()
        );
        for line in table.lines() {
            println!("  {line}");
        }
        println!("results: {}", out.display());
        return Ok(());
    }
    let report = evaluate_to(&spec, &out, &cancel, &mut progress);
    bar.finish_and_clear();
    let report = report?;
    for line in summary(&report) {
        println!("{line}");
    }
    println!("results: {}", out.display());
    Ok(())
}

/// `7/20 right, score 0.41` for the exam and interview; the mean score for the guard.
fn cell(p: &PartResult, side: Side) -> String {
    let s = p.summary(side);
    let runaway = match (s.runaway, s.cut) {
        (0, _) => String::new(),
        (n, 0) => format!(", {n} runaway"),
        (n, c) => format!(", {n} runaway ({c} cut)"),
    };
    format!(
        "{}/{} right, score {:.2}{runaway}",
        s.correct,
        p.items.len(),
        s.mean_score
    )
}

/// The summary table and the verdict, as printed after an evaluation.
pub fn summary(r: &EvalReport) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<10} {:>5}  {:<34} {:<34} {}",
        "part", "mark", "base", "adapter", "verdict"
    )];
    for p in &r.parts {
        lines.push(format!(
            "{:<10} {:>4.0}%  {:<34} {:<34} {}",
            p.part.name(),
            100.0 * p.mark,
            cell(p, Side::Base),
            cell(p, Side::Adapter),
            if p.passed { "pass" } else { "FAIL" }
        ));
    }
    if let Some(rag) = &r.rag {
        lines.extend(rag.lines());
    }
    if r.parts
        .iter()
        .any(|p| p.base.runaway + p.adapter.runaway > 0)
    {
        lines.push(format!(
            "runaway = looping, or still going at --max-new-tokens {}",
            r.settings.max_new_tokens
        ));
        let cut: usize = r.parts.iter().map(|p| p.base.cut + p.adapter.cut).sum();
        if cut > 0 {
            lines.push(format!(
                "cut = {cut} answers stopped as soon as they looped (counted wrong, as any \
                 runaway)"
            ));
        }
    }
    if let Some(g) = r.part(Part::Guard) {
        if let (Some(b), Some(a)) = (g.base.perplexity, g.adapter.perplexity) {
            lines.push(format!(
                "guard: perplexity of the reference answers {b:.2} -> {a:.2}; the adapter's \
                 answers keep {:.0}% of the base model's words in order (ROUGE-L)",
                100.0 * g.agreement
            ));
        }
    }
    let failed: Vec<&str> = r.failed_parts().into_iter().map(Part::name).collect();
    lines.push(if r.graduated {
        "graduated: yes, all three parts passed".into()
    } else {
        format!("graduated: no ({} failed)", failed.join(", "))
    });
    lines.push(format!(
        "{} answers in {:.0} s ({:.1} answers/min, {:.1} tokens/s); test split unsealed: {}",
        r.timing.answers,
        r.timing.seconds,
        r.timing.answers_per_minute,
        r.timing.tokens_per_second,
        r.unsealed.log
    ));
    lines
}

/// Prints where a long evaluation is: a line per part and side, so a log without the bar
/// (stderr not a terminal) still shows it.
fn progress_lines(bar: &ProgressBar) -> impl FnMut(Progress) + '_ {
    let mut segment = None;
    move |p| match p {
        // Only the spinner shows loading: a failing load leaves its one `error:` line alone.
        Progress::Loading(dir) => bar.set_message(format!("loading {}", dir.display())),
        Progress::Unsealed { reason, log } => say(
            bar,
            format!(
                "  unsealed the test split for the {reason} (logged in {})",
                log.display()
            ),
        ),
        Progress::Answered {
            at:
                Position {
                    part,
                    side,
                    done,
                    total,
                    ..
                },
            ..
        } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            let who = match side {
                Side::Base => "base",
                Side::Adapter => "adapter",
            };
            if segment != Some((part, side)) {
                segment = Some((part, side));
                say(
                    bar,
                    format!("  {} · {who} ({done}/{total} answers done)", part.name()),
                );
            }
            bar.set_message(format!("{} · {who}", part.name()));
        }
    }
}
