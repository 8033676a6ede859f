//! `report.md`, the retrospective that closes the two-week plan: goal, data, preset, loss
//! curve, the three-part scores with examples, what worked and what did not, and the next
//! step. Pure: the caller gathers the inputs (and the loss verdict, which the cockpit owns).

use super::advice::next_steps;
use super::loss_log::LossLog;
use super::results::{EvalReport, Item, Part, PartResult, Side};
use crate::data::{CheckReport, SplitManifest};
use crate::experiment::{Goal, Language, Purpose};
use crate::preset::{Choice, Preset};
use std::fmt::Write;

/// Longest prompt or answer quoted in the examples, in characters.
const QUOTE_CHARS: usize = 700;

/// The loss curve's health verdict, as the cockpit words it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveVerdict {
    /// A few words, e.g. "smooth descent".
    pub title: String,
    /// What it means and what to do.
    pub advice: String,
    /// False when the curve calls for fixing the run first.
    pub healthy: bool,
}

/// Everything the report says.
#[derive(Debug, Clone)]
pub struct ReportInputs<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// When the report is written, e.g. `2025-03-07`.
    pub date: &'a str,
    /// The experiment's goal.
    pub goal: &'a Goal,
    /// The records file's check, when it could be read.
    pub dataset: Option<&'a CheckReport>,
    /// The split, when there is one.
    pub split: Option<&'a SplitManifest>,
    /// Times the sealed test split has been unsealed.
    pub unsealings: usize,
    /// The preset that trained the run, and where it came from.
    pub preset: &'a Preset,
    /// Where the preset came from.
    pub preset_origin: &'a str,
    /// `(key, this preset, the starter)` for every key that differs from the starter.
    pub starter_diff: &'a [(String, String, String)],
    /// The loss log.
    pub loss: &'a LossLog,
    /// The loss verdict.
    pub curve: &'a CurveVerdict,
    /// The three-part test, when it has run.
    pub eval: Option<&'a EvalReport>,
    /// The plot's file name beside the report, when it was drawn.
    pub plot: Option<&'a str>,
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// `text` in a fenced block whose fence is longer than any backtick run inside it.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", clip(text, QUOTE_CHARS))
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Renders the report.
pub fn render(r: &ReportInputs) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Retrospective: {}\n", r.run_id);
    let _ = writeln!(
        md,
        "_Written by tunedeck on {}; `tunedeck report` or `w` in the cockpit's Eval pane \
         writes it again._\n",
        r.date
    );
    verdict_section(&mut md, r);
    goal_section(&mut md, r.goal);
    data_section(&mut md, r);
    preset_section(&mut md, r);
    loss_section(&mut md, r);
    eval_section(&mut md, r.eval);
    let _ = writeln!(md, "## Next step\n");
    for (i, step) in next_steps(r.eval, r.curve.healthy).iter().enumerate() {
        let lead = if i == 0 { "**Next:** " } else { "Also: " };
        let _ = writeln!(
            md,
            "- {lead}{} — {}",
            step.title(Language::En),
            step.advice()
        );
    }
    md
}

fn verdict_section(md: &mut String, r: &ReportInputs) {
    let _ = writeln!(md, "## Verdict\n");
    match r.eval {
        None => {
            let _ = writeln!(md, "Not evaluated yet: the three-part test has not run.\n");
        }
        Some(e) => {
            let word = if e.graduated {
                "**Graduated**"
            } else {
                "**Not graduated**"
            };
            let _ = writeln!(md, "{word}: exam, interview and guard must all pass.\n");
            for p in &e.parts {
                let mark = if p.passed { "passed" } else { "failed" };
                let _ = writeln!(md, "- {} {mark} — {}", p.part.name(), p.part.question());
            }
            let _ = writeln!(md);
            let (worked, failed): (Vec<_>, Vec<_>) = e.parts.iter().partition(|p| p.passed);
            let list =
                |ps: &[&PartResult]| ps.iter().map(|p| outcome(p)).collect::<Vec<_>>().join("; ");
            if !worked.is_empty() {
                let _ = writeln!(md, "What worked: {}.", list(&worked));
            }
            if !failed.is_empty() {
                let _ = writeln!(md, "What did not: {}.", list(&failed));
            }
            let _ = writeln!(md);
        }
    }
}

/// A part's outcome in a few words: right answers, or for the guard the share of the base
/// model's score that survived.
fn outcome(p: &PartResult) -> String {
    match p.part {
        Part::Guard => format!(
            "guard (score {:.2} against the base model's {:.2}, {} runaway against {})",
            p.adapter.mean_score, p.base.mean_score, p.adapter.runaway, p.base.runaway
        ),
        _ => format!(
            "{} ({}/{} right, base model {}/{})",
            p.part.name(),
            p.adapter.correct,
            p.items.len(),
            p.base.correct,
            p.items.len()
        ),
    }
}

fn goal_section(md: &mut String, g: &Goal) {
    let _ = writeln!(md, "## Goal\n");
    let _ = writeln!(md, "> {}\n", g.statement.trim().replace('\n', "\n> "));
    if let Some(p) = g.purpose {
        let purpose = match p {
            Purpose::PrivateKnowledge => "private knowledge",
            Purpose::SpecialisedTask => "a specialised task with a fixed output format",
            Purpose::CostSovereignty => "cost and data sovereignty",
        };
        let _ = writeln!(md, "- Purpose: {purpose}");
    }
    if !g.target_behaviour.trim().is_empty() {
        let _ = writeln!(md, "- Target behaviour: {}", g.target_behaviour.trim());
    }
    if !g.output_format.trim().is_empty() {
        let _ = writeln!(
            md,
            "- Output format: `{}`",
            g.output_format.trim().replace('\n', "\\n")
        );
    }
    let m = &g.pass_marks;
    let _ = writeln!(
        md,
        "- Pass marks: exam {:.0}%, interview {:.0}%, guard {:.0}%\n",
        100.0 * m.exam,
        100.0 * m.interview,
        100.0 * m.guard
    );
}

fn data_section(md: &mut String, r: &ReportInputs) {
    let _ = writeln!(md, "## Data\n");
    match r.dataset {
        Some(d) => {
            let _ = writeln!(
                md,
                "- Records: {} in `{}` ({})",
                d.records, d.source, d.format
            );
            let t = &d.tokens;
            let _ = writeln!(
                md,
                "- Length in tokens ({}): median {}, 95th percentile {}, longest {}; {} over the cutoff of {}",
                if t.exact { "exact" } else { "estimated" },
                t.p50, t.p95, t.max, t.truncated, t.cutoff
            );
            let _ = writeln!(
                md,
                "- Variety: {:.0}% distinct instruction bigrams, {} distinct openings",
                100.0 * d.diversity.bigram_ratio,
                d.diversity.distinct_openings
            );
            let _ = writeln!(md, "- Check: {} errors, {} warnings", d.errors, d.warnings);
        }
        None => {
            let _ = writeln!(md, "- The records file could not be checked.");
        }
    }
    if let Some(s) = r.split {
        let c = &s.counts;
        let _ = writeln!(
            md,
            "- Split {} (seed {}): {} train, {} validation, {} sealed test; test set unsealed {} time{}",
            s.ratio, s.seed, c.train, c.val, c.test, r.unsealings,
            if r.unsealings == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(md);
}

fn preset_section(md: &mut String, r: &ReportInputs) {
    let p = r.preset;
    let _ = writeln!(md, "## Preset\n");
    let _ = writeln!(
        md,
        "From {}: `{}`, {} (template {}), rank {}, alpha {}, learning rate {:e}, {} epochs, batch {} × {}, cutoff {}.\n",
        r.preset_origin, p.model, p.finetuning_type.name(), p.template.name(), p.lora_rank,
        p.lora_alpha, p.learning_rate, p.num_train_epochs, p.per_device_train_batch_size,
        p.gradient_accumulation_steps, p.cutoff_len
    );
    if r.starter_diff.is_empty() {
        let _ = writeln!(md, "Identical to the starter preset.\n");
        return;
    }
    let _ = writeln!(md, "Differences from the starter preset:\n");
    let _ = writeln!(md, "| key | this run | starter |\n| --- | --- | --- |");
    for (k, mine, starter) in r.starter_diff {
        let _ = writeln!(md, "| {k} | {} | {} |", cell(mine), cell(starter));
    }
    let _ = writeln!(md);
}

fn loss_section(md: &mut String, r: &ReportInputs) {
    let l = r.loss;
    let _ = writeln!(md, "## Loss curve\n");
    if let Some(plot) = r.plot {
        let _ = writeln!(md, "![Training and validation loss]({plot})\n");
    }
    if let Some((step, total)) = l.steps {
        let time = match l.elapsed_s {
            Some(s) if s < 120.0 => format!(" in {s:.0} s"),
            Some(s) => format!(" in {:.0} min", s / 60.0),
            None => String::new(),
        };
        let _ = writeln!(md, "- Steps: {step} of {total}{time}");
    }
    let first_last = |pts: &[(f64, f64)]| match (pts.first(), pts.last()) {
        (Some(a), Some(b)) => format!("{:.4} at step {} -> {:.4} at step {}", a.1, a.0, b.1, b.0),
        _ => "not logged".into(),
    };
    let _ = writeln!(md, "- Training loss: {}", first_last(&l.train));
    let _ = writeln!(md, "- Validation loss: {}", first_last(&l.val));
    let _ = writeln!(md, "- Health: **{}** — {}", r.curve.title, r.curve.advice);
    let _ = writeln!(md, "\nA good curve is a process metric, never proof of a good model: the three-part test decides.\n");
}

fn eval_section(md: &mut String, eval: Option<&EvalReport>) {
    let _ = writeln!(md, "## Three-part test\n");
    let Some(e) = eval else {
        let _ = writeln!(md, "Not run yet.\n");
        return;
    };
    let s = &e.settings;
    let _ = writeln!(
        md,
        "{} on {}: {} exam questions, max {} new tokens, {}; {} answers at {:.1} per minute. The test split was unsealed for it (\"{}\").\n",
        e.created, s.device, s.exam_size, s.max_new_tokens,
        if s.temperature > 0.0 { format!("temperature {} (seed {})", s.temperature, s.seed) } else { "greedy".into() },
        e.timing.answers, e.timing.answers_per_minute, e.unsealed.reason
    );
    let _ = writeln!(md, "| part | mark | base right | adapter right | base score | adapter score | adapter runaway | verdict |");
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for p in &e.parts {
        let n = p.items.len();
        let _ = writeln!(
            md,
            "| {} | {:.0}% | {}/{n} | {}/{n} | {:.2} | {:.2} | {} | {} |",
            p.part.name(),
            100.0 * p.mark,
            p.base.correct,
            p.adapter.correct,
            p.base.mean_score,
            p.adapter.mean_score,
            p.adapter.runaway,
            if p.passed { "pass" } else { "**fail**" }
        );
    }
    let cut: usize = e.parts.iter().map(|p| p.base.cut + p.adapter.cut).sum();
    if cut > 0 {
        let _ = writeln!(
            md,
            "\n{cut} answers were cut as soon as the repetition detector saw them loop; they count as runaway (wrong)."
        );
    }
    let _ = writeln!(md, "\nRules:\n");
    for p in &e.parts {
        let _ = writeln!(md, "- {}: {}", p.part.name(), p.rule);
    }
    if let Some(g) = e.part(Part::Guard) {
        if let (Some(b), Some(a)) = (g.base.perplexity, g.adapter.perplexity) {
            let _ = writeln!(
                md,
                "\nGuard drift: perplexity of the reference answers {b:.2} (base) -> {a:.2} (adapter); the adapter's everyday answers share {:.0}% of the base model's words in order (ROUGE-L).",
                100.0 * g.agreement
            );
        }
    }
    for b in e.blind.iter().chain(&e.blind_earlier) {
        let Some(w) = b.win_rates else { continue };
        let t = w.all;
        let [first, second] = b.pair.0.map(|c| c.name(crate::experiment::Language::En));
        let _ = writeln!(
            md,
            "\nBlind A/B judging ({} questions): {second} preferred {:.0}%, {first} {:.0}%, ties {:.0}%.",
            t.judged, 100.0 * t.second_rate(), 100.0 * t.first_rate(), 100.0 * t.tie_rate()
        );
    }
    if let Some(rag) = &e.rag {
        let t = rag.table();
        let n = rag.questions();
        let _ = writeln!(
            md,
            "\nThe RAG card (`tunedeck eval --rag`, {} of {} before each question), interview answers right:\n\n| | without RAG | with RAG |\n| --- | --- | --- |\n| base | {}/{n} | {}/{n} |\n| adapter (LoRA) | {}/{n} | {}/{n} |",
            rag.settings().describe(), rag.knowledge_base, t[0][0], t[0][1], t[1][0], t[1][1]
        );
    }
    let _ = writeln!(md, "\n### Examples\n");
    for p in &e.parts {
        if let Some(item) = telling(&p.items) {
            let _ = writeln!(md, "**{}** — `{}`\n", p.part.name(), item.source);
            let _ = write!(
                md,
                "Question:\n\n{}\nReference:\n\n{}\n",
                fenced(&item.prompt),
                fenced(&item.reference)
            );
            for (side, label) in [(Side::Base, "Base model"), (Side::Adapter, "Adapter")] {
                let a = item.answer(side);
                let verdict = if a.scores.correct { "right" } else { "wrong" };
                let _ = write!(
                    md,
                    "{label} ({verdict}, score {:.2}):\n\n{}\n",
                    a.scores.score,
                    fenced(&a.text)
                );
            }
            let _ = writeln!(md);
        }
    }
}

/// The example that says most: one where the two models disagree on being right, else the
/// one where the adapter's score moved most.
fn telling(items: &[Item]) -> Option<&Item> {
    items
        .iter()
        .find(|i| i.base.scores.correct != i.adapter.scores.correct)
        .or_else(|| {
            items.iter().max_by(|a, b| {
                let d = |i: &Item| (i.adapter.scores.score - i.base.scores.score).abs();
                d(a).total_cmp(&d(b))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::report_with;

    #[test]
    fn quotes_survive_backticks_and_are_clipped() {
        let f = fenced("a ```rust``` block");
        assert!(
            f.starts_with("````text\n") && f.ends_with("\n````\n"),
            "{f}"
        );
        let long = "é".repeat(QUOTE_CHARS + 5);
        assert_eq!(clip(&long, QUOTE_CHARS).chars().count(), QUOTE_CHARS + 1);
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn the_report_shows_scores_rules_examples_and_win_rates() {
        let mut eval = report_with(2, 2);
        let mut blind = crate::eval::BlindSession::new(&eval, Default::default(), 1);
        blind.choose(0, crate::eval::Choice::Tie).unwrap();
        blind.reveal();
        eval.blind = Some(blind);
        let goal = Goal::demo();
        let preset = Preset::builtin("smollm2-cpu").unwrap();
        let loss = LossLog::parse("{\"current_steps\":1,\"total_steps\":1,\"loss\":2.0}\n");
        let curve = CurveVerdict {
            title: "too early to tell".into(),
            advice: "Wait.".into(),
            healthy: true,
        };
        let md = render(&ReportInputs {
            run_id: "run-1",
            date: "2025-03-07",
            goal: &goal,
            dataset: None,
            split: None,
            unsealings: 0,
            preset: &preset,
            preset_origin: "built-in preset smollm2-cpu",
            starter_diff: &[("lora_rank".into(), "16".into(), "8".into())],
            loss: &loss,
            curve: &curve,
            eval: Some(&eval),
            plot: None,
        });
        for s in [
            "**Graduated**",
            "| interview | 60% | 0/2 | 2/2 |",
            "- guard: passes when the adapter keeps at least 60%",
            "Blind A/B judging (1 questions): adapter preferred 0%, base model 0%, ties 100%.",
            "**exam** — `exam.jsonl:1`",
            "| lora_rank | 16 | 8 |",
            "**Next:** integration trial",
        ] {
            assert!(md.contains(s), "{s:?} missing:\n{md}");
        }
        assert!(!md.contains("loss.png"), "no plot, no image link");
    }
}
