//! The rules: when an answer is right, when a part passes, when an adapter graduates.
//!
//! Pass marks are "fractions of questions right" (see [`crate::experiment::PassMarks`]).
//! The exam and the interview count right answers of the adapter. The guard asks a relative
//! question — did general ability survive? — so it compares the adapter with the base model
//! on the same everyday questions instead of against an absolute bar the base model itself
//! might not reach.

use super::metrics::{exact_match, keyword_score, rouge_l, FormatCheck, Repetition};
use super::results::{Item, Part, PartResult, Scores, Side, SideSummary};

/// ROUGE-L F1 at which an answer to a record without a keyword rubric counts as right:
/// half the reference's words in order, the usual level of a faithful paraphrase.
pub const ROUGE_PASS: f64 = 0.5;

/// Slack for comparing averages with marks, so 0.8 of 5 answers passes a 0.8 mark.
const EPS: f64 = 1e-9;

/// Scores one answer. `ended` says whether generation closed its turn; `format` is the
/// goal's format check, applied to exam and interview answers only (everyday questions are
/// not asked in the task's format).
pub fn score(
    part: Part,
    answer: &str,
    ended: bool,
    reference: &str,
    keywords: &[String],
    format: Option<&FormatCheck>,
) -> Scores {
    let rouge = rouge_l(answer, reference);
    let exact = exact_match(answer, reference);
    let keywords = keyword_score(answer, keywords);
    let format_ok = match part {
        Part::Guard => None,
        Part::Exam | Part::Interview => format.map(|f| f.check(answer)),
    };
    let repetition = Repetition::of(answer, !ended);
    let runaway = repetition.runaway();
    Scores {
        rouge_l: rouge,
        exact,
        keywords,
        format_ok,
        repetition,
        runaway,
        cut: false,
        score: keywords.unwrap_or(rouge),
        correct: is_correct(exact, rouge, keywords, format_ok, runaway),
        perplexity: None,
    }
}

/// An answer is right when it equals the reference, or when it is in the goal's format,
/// does not run away, and has every `must_include` keyword — or, for records without
/// keywords, reaches [`ROUGE_PASS`] against the reference.
pub fn is_correct(
    exact: bool,
    rouge: f64,
    keywords: Option<f64>,
    format_ok: Option<bool>,
    runaway: bool,
) -> bool {
    let content = match keywords {
        Some(k) => k >= 1.0 - EPS,
        None => rouge >= ROUGE_PASS - EPS,
    };
    exact || (format_ok != Some(false) && !runaway && content)
}

/// One side's totals over the items of a part.
pub fn summarise(items: &[Item], side: Side) -> SideSummary {
    let n = items.len().max(1) as f64;
    let scores: Vec<&Scores> = items.iter().map(|i| &i.answer(side).scores).collect();
    let correct = scores.iter().filter(|s| s.correct).count();
    let formats: Vec<bool> = scores.iter().filter_map(|s| s.format_ok).collect();
    let ppl: Vec<f64> = scores.iter().filter_map(|s| s.perplexity).collect();
    SideSummary {
        mean_score: scores.iter().map(|s| s.score).sum::<f64>() / n,
        correct,
        correct_rate: correct as f64 / n,
        rouge_l: scores.iter().map(|s| s.rouge_l).sum::<f64>() / n,
        exact: scores.iter().filter(|s| s.exact).count(),
        format_ok: (!formats.is_empty()).then(|| formats.iter().filter(|&&ok| ok).count()),
        runaway: scores.iter().filter(|s| s.runaway).count(),
        cut: scores.iter().filter(|s| s.cut).count(),
        // Geometric mean: perplexities multiply, and one odd question should not dominate.
        perplexity: (!ppl.is_empty())
            .then(|| (ppl.iter().map(|p| p.ln()).sum::<f64>() / ppl.len() as f64).exp()),
    }
}

/// The pass rule of a part, in words, with its mark.
pub fn rule(part: Part, mark: f64) -> String {
    let pct = 100.0 * mark;
    match part {
        Part::Exam | Part::Interview => format!(
            "passes when at least {pct:.0}% of the adapter's answers are right (right = equal \
             to the reference, or in the goal's format, not running away, and with every \
             must_include keyword, or ROUGE-L F1 >= {ROUGE_PASS} where a record lists none)"
        ),
        Part::Guard => format!(
            "passes when the adapter keeps at least {pct:.0}% of the base model's mean score \
             (keyword share, or ROUGE-L F1 where a question lists no keywords) and runs away \
             on no more questions than the base model"
        ),
    }
}

/// Whether the adapter passes a part with `mark`.
pub fn passes(part: Part, mark: f64, base: &SideSummary, adapter: &SideSummary) -> bool {
    match part {
        Part::Exam | Part::Interview => adapter.correct_rate >= mark - EPS,
        Part::Guard => {
            adapter.mean_score >= mark * base.mean_score - EPS && adapter.runaway <= base.runaway
        }
    }
}

/// A part's results from its answered items.
pub fn judge(part: Part, mark: f64, items: Vec<Item>) -> PartResult {
    let base = summarise(&items, Side::Base);
    let adapter = summarise(&items, Side::Adapter);
    let agreement = items.iter().map(|i| i.agreement).sum::<f64>() / items.len().max(1) as f64;
    PartResult {
        part,
        mark,
        rule: rule(part, mark),
        passed: !items.is_empty() && passes(part, mark, &base, &adapter),
        base,
        adapter,
        agreement,
        items,
    }
}

/// Graduated: exam, interview and guard all present and passed.
pub fn graduated(parts: &[PartResult]) -> bool {
    Part::ALL
        .iter()
        .all(|&p| parts.iter().any(|r| r.part == p && r.passed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::results::Answer;

    fn answer(part: Part, text: &str, reference: &str, keywords: &[&str]) -> Answer {
        let kw: Vec<String> = keywords.iter().map(|s| s.to_string()).collect();
        Answer {
            text: text.into(),
            tokens: 1,
            ended: true,
            scores: score(part, text, true, reference, &kw, None),
        }
    }

    fn item(part: Part, base: &str, adapter: &str, reference: &str, kw: &[&str]) -> Item {
        Item {
            source: "x.jsonl:1".into(),
            prompt: "q".into(),
            reference: reference.into(),
            must_include: kw.iter().map(|s| s.to_string()).collect(),
            base: answer(part, base, reference, kw),
            adapter: answer(part, adapter, reference, kw),
            agreement: rouge_l(adapter, base),
        }
    }

    #[test]
    fn cut_answers_count_and_old_records_without_cut_load() {
        let mut items = vec![item(Part::Guard, "Paris", "Paris", "Paris", &[])];
        items[0].adapter.scores.cut = true;
        let s = summarise(&items, Side::Adapter);
        assert_eq!((s.cut, summarise(&items, Side::Base).cut), (1, 0));
        // eval.json written before answers could be cut has no `cut` keys.
        let mut json = serde_json::to_value(&items[0].base.scores).unwrap();
        json.as_object_mut().unwrap().remove("cut");
        let back: Scores = serde_json::from_value(json).unwrap();
        assert!(!back.cut);
        let mut json = serde_json::to_value(&s).unwrap();
        json.as_object_mut().unwrap().remove("cut");
        assert_eq!(serde_json::from_value::<SideSummary>(json).unwrap().cut, 0);
    }

    #[test]
    fn an_answer_is_right_by_exact_match_keywords_or_rouge() {
        assert!(is_correct(true, 0.0, Some(0.0), Some(false), true));
        assert!(is_correct(false, 0.1, Some(1.0), None, false));
        assert!(!is_correct(false, 0.9, Some(0.5), None, false));
        assert!(is_correct(false, 0.5, None, Some(true), false));
        assert!(!is_correct(false, 0.49, None, Some(true), false));
        assert!(!is_correct(false, 0.9, None, Some(false), false));
        assert!(!is_correct(false, 0.9, None, None, true));
    }

    #[test]
    fn the_format_is_checked_in_exam_and_interview_but_not_in_the_guard() {
        let f = FormatCheck::new("^Severity: ").unwrap();
        let s = score(Part::Exam, "Paris", true, "Paris", &[], Some(&f));
        assert_eq!((s.format_ok, s.correct), (Some(false), true)); // exact still wins
        let s = score(Part::Interview, "It is Paris", true, "Paris", &[], Some(&f));
        assert_eq!((s.format_ok, s.correct), (Some(false), false));
        let s = score(Part::Guard, "It is Paris", true, "Paris", &[], Some(&f));
        assert_eq!(s.format_ok, None);
        let cut = score(
            Part::Guard,
            "It is Paris",
            false,
            "Paris",
            &["paris".into()],
            None,
        );
        assert!(cut.runaway && !cut.correct && cut.score == 1.0);
    }

    #[test]
    fn exam_passes_on_the_share_of_right_answers() {
        let items: Vec<Item> = (0..5)
            .map(|i| {
                let adapter = if i < 4 {
                    "the right answer"
                } else {
                    "nonsense"
                };
                item(Part::Exam, "nonsense", adapter, "the right answer", &[])
            })
            .collect();
        let r = judge(Part::Exam, 0.8, items.clone());
        assert_eq!((r.adapter.correct, r.base.correct), (4, 0));
        assert!(r.passed, "4 of 5 meets a 0.8 mark");
        assert!(!judge(Part::Exam, 0.81, items).passed);
        assert!(r.rule.contains("at least 80%"), "{}", r.rule);
        assert!(
            !judge(Part::Interview, 0.5, Vec::new()).passed,
            "no questions, no pass"
        );
    }

    #[test]
    fn guard_compares_the_adapter_with_the_base_model() {
        let kw = ["egg", "tomato"];
        let r = "Scramble the egg, add tomato.";
        // Base finds both keywords twice; the adapter one of two, then both: mean 0.75 of 1.0.
        let items = vec![
            item(Part::Guard, "egg and tomato", "egg only", r, &kw),
            item(Part::Guard, "egg and tomato", "tomato and egg", r, &kw),
        ];
        let p = judge(Part::Guard, 0.75, items.clone());
        assert!((p.adapter.mean_score - 0.75).abs() < 1e-12 && p.passed);
        assert!(!judge(Part::Guard, 0.9, items.clone()).passed);
        // A new runaway answer fails the guard even when keywords survive.
        let mut runaway = items;
        runaway[1].adapter.scores.runaway = true;
        assert!(!judge(Part::Guard, 0.5, runaway).passed);
    }

    #[test]
    fn graduation_needs_all_three_parts() {
        let pass = |part| {
            let mut p = judge(part, 0.5, vec![item(part, "a", "b c", "b c", &[])]);
            p.passed = true;
            p
        };
        let mut parts: Vec<PartResult> = Part::ALL.iter().map(|&p| pass(p)).collect();
        assert!(graduated(&parts));
        parts[2].passed = false;
        assert!(!graduated(&parts));
        assert!(!graduated(&parts[..2]));
    }
}
