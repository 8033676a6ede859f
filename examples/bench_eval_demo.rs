//! Three-part test throughput: the whole evaluation of one run, answered one at a time
//! (`--batch-size 1`) and then batched (automatic size), in one process. Prints answers/min
//! of both, the ratio, and whether every answer, cut and verdict is identical (and how many
//! answers and verdicts agree with the run's saved eval.json, an earlier build's). Used by
//! `just bench-eval-demo EXP RUN`; nothing is written into the run (the test split's
//! unsealing log gets its two entries).
//!
//! cargo run --release --example bench_eval_demo -- EXPERIMENT_DIR [RUN]
//! Environment: BENCH_EXAM_SIZE, BENCH_MAX_NEW_TOKENS (defaults: those of `tunedeck eval`),
//! BENCH_SIZES (the batch sizes to compare, default `1,0`: one at a time, then automatic;
//! the first is the baseline).

use std::sync::atomic::AtomicBool;
use tunedeck::eval::locate::RunContext;
use tunedeck::eval::{evaluate, EvalReport, Progress};

fn env(name: &str) -> anyhow::Result<Option<usize>> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().map_err(|e| anyhow::anyhow!("{name}={v}: {e}")))
        .transpose()
}

/// Every answer's text and cut flag, and every part's verdict, in order.
fn outcome(r: &EvalReport) -> (Vec<(String, bool)>, Vec<bool>, bool) {
    let answers = r
        .parts
        .iter()
        .flat_map(|p| &p.items)
        .flat_map(|i| [&i.base, &i.adapter])
        .map(|a| (a.text.clone(), a.scores.cut))
        .collect();
    let verdicts = r.parts.iter().map(|p| p.passed).collect();
    (answers, verdicts, r.graduated)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, run) = match &args[..] {
        [dir] => (dir, None),
        [dir, run] => (dir, Some(run.as_str())),
        _ => anyhow::bail!("usage: bench_eval_demo EXPERIMENT_DIR [RUN]"),
    };
    let ctx = RunContext::open(dir.as_ref(), run)?;
    let mut spec = ctx.eval_spec();
    if let Some(n) = env("BENCH_EXAM_SIZE")? {
        spec.exam_size = n;
    }
    if let Some(n) = env("BENCH_MAX_NEW_TOKENS")? {
        spec.max_new_tokens = n;
    }
    let cancel = AtomicBool::new(false);
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "1,0".into())
        .split(',')
        .map(|v| v.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("BENCH_SIZES: {e}"))?;
    if sizes.len() < 2 {
        anyhow::bail!("BENCH_SIZES needs at least two batch sizes to compare");
    }
    let mut results = Vec::new();
    for &size in &sizes {
        spec.batch_size = size;
        let report = evaluate(&spec, &cancel, &mut |p| {
            if let Progress::Answered { at, .. } = p {
                eprint!("\rbatch size {size}: {}/{} answers", at.done, at.total);
            }
        })?;
        eprintln!();
        let t = &report.timing;
        let cut: usize = report
            .parts
            .iter()
            .map(|p| p.base.cut + p.adapter.cut)
            .sum();
        println!(
            "batch size {}: {} answers in {:.1} s, {:.1} answers/min, {:.1} tokens/s, {cut} cut",
            if size == 0 {
                "auto".into()
            } else {
                size.to_string()
            },
            t.answers,
            t.seconds,
            t.answers_per_minute,
            t.tokens_per_second
        );
        results.push(report);
    }
    let one = &results[0];
    let (a1, v1, g1) = outcome(one);
    for (batched, size) in results.iter().zip(&sizes).skip(1) {
        let (a2, v2, g2) = outcome(batched);
        let differ = a1.iter().zip(&a2).filter(|(x, y)| x != y).count();
        println!(
            "batch size {size} against {}: speed-up {:.2}x; answers identical: {} ({differ} of {} differ); verdicts identical: {}",
            sizes[0],
            batched.timing.answers_per_minute / one.timing.answers_per_minute.max(1e-9),
            differ == 0 && a1.len() == a2.len(),
            a1.len(),
            v1 == v2 && g1 == g2
        );
    }
    // The run's own eval.json, made by an earlier build: did anything change what it says?
    let saved = ctx.run.file(tunedeck::data::run_dir::EVAL);
    if let Ok(earlier) = EvalReport::load(&saved) {
        let (a0, v0, g0) = outcome(&earlier);
        let same = a0.iter().zip(&a1).filter(|(x, y)| x == y).count();
        println!(
            "against the run's saved eval.json ({}): {same} of {} answers identical; verdicts identical: {}",
            earlier.created,
            a0.len(),
            v0 == v1 && g0 == g1
        );
    }
    Ok(())
}
