//! A small synthetic [`EvalReport`] for unit tests of the pure modules.

use super::results::{Answer, EvalReport, Item, Part, Settings, Timing, Unsealing, VERSION};
use super::verdict;

fn answer(part: Part, text: &str, reference: &str, kw: &[String]) -> Answer {
    Answer {
        text: text.into(),
        tokens: text.split_whitespace().count(),
        ended: true,
        scores: verdict::score(part, text, true, reference, kw, None),
    }
}

fn items(part: Part, n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let reference = format!("reference answer number {i} for the {}", part.name());
            let kw = match part {
                Part::Guard => vec![format!("number {i}")],
                _ => Vec::new(),
            };
            let base = format!("base says something else {i}");
            Item {
                source: format!("{}.jsonl:{}", part.name(), i + 1),
                prompt: format!("question {i} of the {}", part.name()),
                base: answer(part, &base, &reference, &kw),
                adapter: answer(part, &reference, &reference, &kw),
                agreement: super::metrics::rouge_l(&reference, &base),
                reference,
                must_include: kw,
            }
        })
        .collect()
}

/// A report with 3 exam questions, `interview` interview and `guard` guard questions; the
/// adapter repeats every reference, the base model does not.
pub fn report_with(interview: usize, guard: usize) -> EvalReport {
    let parts: Vec<_> = [
        (Part::Exam, 3),
        (Part::Interview, interview),
        (Part::Guard, guard),
    ]
    .into_iter()
    .map(|(p, n)| verdict::judge(p, 0.6, items(p, n)))
    .collect();
    EvalReport {
        version: VERSION,
        created: "2025-03-06T14:02:11Z".into(),
        run: Some("run-1".into()),
        model: "models/m".into(),
        adapter: "runs/run-1/adapter".into(),
        data: "data".into(),
        guard: "guard.jsonl".into(),
        format: None,
        settings: Settings {
            template: "chatml".into(),
            max_new_tokens: 64,
            temperature: 0.0,
            top_p: 1.0,
            seed: 42,
            exam_size: 3,
            device: "cpu".into(),
        },
        unsealed: Unsealing {
            reason: "interview of run run-1".into(),
            log: "data/unsealed.log".into(),
            test_sha256: "00".into(),
        },
        graduated: verdict::graduated(&parts),
        parts,
        timing: Timing {
            seconds: 60.0,
            answers: 2 * (3 + interview + guard),
            answers_per_minute: (2 * (3 + interview + guard)) as f64,
            tokens_per_second: 10.0,
        },
        blind: None,
        blind_earlier: Vec::new(),
        rag: None,
    }
}

/// [`report_with`] plus a RAG 2×2 whose with-retrieval answers are marked `+rag`.
pub fn report_with_rag(interview: usize, guard: usize) -> EvalReport {
    let mut r = report_with(interview, guard);
    let without = r.part(Part::Interview).cloned().expect("an interview");
    let mut with = without.clone();
    for it in &mut with.items {
        it.base.text.push_str(" +rag");
        it.adapter.text.push_str(" +rag");
    }
    r.rag = Some(super::rag::RagComparison {
        knowledge_base: "kb".into(),
        k: 3,
        max_context_chars: 0,
        without,
        with,
        sources: vec![Vec::new(); interview],
    });
    r
}
