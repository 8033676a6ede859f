//! The blind test learns the second card: the interview answered four ways — base and
//! adapter, each without and with the knowledge base's chunks before the question — and
//! judged like the interview of [`super::evaluate`], so the 2×2 table shows whether
//! retrieval or the adapter did the work. The table is kept in the run's `eval.json`.

use super::questions::{self, Question};
use super::results::{EvalReport, Part, PartResult, Side};
use super::runner::{answer_both, items, Card, EvalSpec, Progress};
use super::{metrics::FormatCheck, verdict};
use crate::data::SplitDir;
use crate::model::{device, Model};
use crate::rag::{citation, KnowledgeBase, Settings};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// The interview without and with retrieval, each judged base against adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RagComparison {
    /// The knowledge base's experiment folder.
    pub knowledge_base: String,
    /// Chunks put before each question.
    pub k: usize,
    /// The most characters of chunk text before each question (0 = no limit).
    #[serde(default)]
    pub max_context_chars: usize,
    pub without: PartResult,
    pub with: PartResult,
    /// Per question, the sources retrieved for it (`file:start-end`).
    pub sources: Vec<Vec<String>>,
}

impl RagComparison {
    /// Interview questions passed: `[[base, base + RAG], [adapter, adapter + RAG]]`, out of
    /// [`RagComparison::questions`].
    pub fn table(&self) -> [[usize; 2]; 2] {
        let c = |r: &PartResult, s| r.summary(s).correct;
        [
            [c(&self.without, Side::Base), c(&self.with, Side::Base)],
            [
                c(&self.without, Side::Adapter),
                c(&self.with, Side::Adapter),
            ],
        ]
    }

    /// The retrieval settings the table was measured with.
    pub fn settings(&self) -> Settings {
        Settings {
            top_k: self.k,
            max_context_chars: self.max_context_chars,
        }
    }

    pub fn questions(&self) -> usize {
        self.without.items.len()
    }

    /// The table as text lines, for the terminal and the report.
    pub fn lines(&self) -> Vec<String> {
        let t = self.table();
        let n = self.questions();
        vec![
            format!(
                "interview right   {:>12}  {:>12}",
                "without RAG", "with RAG"
            ),
            format!(
                "base              {:>12}  {:>12}",
                format!("{}/{n}", t[0][0]),
                format!("{}/{n}", t[0][1])
            ),
            format!(
                "adapter (LoRA)    {:>12}  {:>12}",
                format!("{}/{n}", t[1][0]),
                format!("{}/{n}", t[1][1])
            ),
        ]
    }
}

/// The two halves (without, with retrieval) of what was answered as one list.
fn two<T>(v: Vec<T>) -> Result<[T; 2]> {
    v.try_into()
        .map_err(|_| anyhow::anyhow!("the RAG interview lost a part"))
}

/// `q` with the best chunks for its prompt put before it in the card's prompt format.
fn with_sources(
    q: &Question,
    kb: &KnowledgeBase,
    settings: &Settings,
) -> Result<(Question, Vec<String>)> {
    let hits = kb.context(&q.prompt, settings)?;
    let mut out = q.clone();
    out.prompt = citation::prompt(&q.prompt, &hits);
    Ok((out, hits.iter().map(|h| h.location()).collect()))
}

/// Runs the four interviews of `spec`'s run (a LoRA adapter or a full fine-tune, against its
/// base model) with `kb_dir`'s knowledge base under `settings`, and stores the comparison in
/// `eval_json` (the run's results, which must exist: the table sits beside the three-part
/// test it extends).
/// Returns the table and the blind judgements of the earlier table's retrieval answers that
/// replacing it dropped (see [`EvalReport::replace_rag`]).
pub fn evaluate_rag(
    spec: &EvalSpec,
    kb_dir: &Path,
    settings: &Settings,
    eval_json: &Path,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<(RagComparison, usize)> {
    spec.tuned.check()?;
    if !eval_json.is_file() {
        bail!(
            "{}: no results yet: run the three-part test first (tunedeck eval without --rag); --rag adds its 2×2 table to them",
            eval_json.display()
        );
    }
    let mut report = EvalReport::load(eval_json)?;
    let kb = KnowledgeBase::open(kb_dir)?;
    let format = spec.goal.output_regex().map(FormatCheck::new).transpose()?;
    let split = SplitDir::open(&spec.data)?;

    progress(Progress::Loading(&spec.model));
    let dev = device::pick(&spec.device)?;
    let mut model = Model::load(&spec.model, dev, &spec.template, false)
        .with_context(|| format!("loading model {}", spec.model.display()))?;
    let card = Card::prepare(&spec.tuned, &mut model)?;

    let reason = match &spec.run {
        Some(id) => format!("RAG interview of run {id}"),
        None => format!("RAG interview of {}", spec.tuned.dir().display()),
    };
    let test = split.unseal_test(&reason)?;
    let plain = questions::from_dataset(&test, None)?;
    let (retrieved, sources): (Vec<Question>, Vec<Vec<String>>) = plain
        .iter()
        .map(|q| with_sources(q, &kb, settings))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let parts = vec![(Part::Interview, plain), (Part::Interview, retrieved)];
    // The base model answers first, then the adapter's branches go back in (or the full
    // fine-tune is loaded in its place).
    let (_, [base, tuned], _) =
        answer_both(model, card, &parts, spec, format.as_ref(), cancel, progress)?;
    let [base_off, base_on] = two(base)?;
    let [tuned_off, tuned_on] = two(tuned)?;
    let mark = spec.goal.pass_marks.interview;
    let [(_, plain), (_, retrieved)] = two(parts)?;
    let without = verdict::judge(Part::Interview, mark, items(plain, base_off, tuned_off));
    let with = verdict::judge(Part::Interview, mark, items(retrieved, base_on, tuned_on));
    let comparison = RagComparison {
        knowledge_base: kb_dir.display().to_string(),
        k: settings.top_k,
        max_context_chars: settings.max_context_chars,
        without,
        with,
        sources,
    };
    let set_aside = report.replace_rag(comparison.clone());
    report.save(eval_json)?;
    Ok((comparison, set_aside))
}

impl EvalReport {
    /// Puts in a new 2×2. Blind sessions over the old table's retrieval answers judged
    /// answers that are gone, so they go too (a session of base against adapter stays);
    /// returns how many judgements that drops, for the caller to say.
    pub fn replace_rag(&mut self, comparison: RagComparison) -> usize {
        let mut dropped = 0;
        if self.blind.as_ref().is_some_and(|b| b.pair.retrieves()) {
            dropped += self.blind.take().map_or(0, |b| b.judged());
        }
        self.blind_earlier.retain(|b| {
            let over_old_answers = b.pair.retrieves();
            if over_old_answers {
                dropped += b.judged();
            }
            !over_old_answers
        });
        self.rag = Some(comparison);
        dropped
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::blind::{Contender, Pair};
    use crate::eval::testing::report_with_rag;
    use crate::eval::{BlindSession, Choice};

    #[test]
    fn a_new_table_drops_only_the_judgements_of_the_old_retrieval_answers() {
        let mut report = report_with_rag(3, 2);
        let judged = |pair, report: &crate::eval::EvalReport| {
            let mut s = BlindSession::new(report, pair, 1);
            s.choose(0, Choice::Tie).unwrap();
            s.choose(1, Choice::A).unwrap();
            s
        };
        let rag_pair = Pair([Contender::Lora, Contender::LoraRag]);
        report.blind_earlier = vec![judged(Pair::default(), &report)];
        report.blind = Some(judged(rag_pair, &report));
        let table = report.rag.clone().unwrap();
        assert_eq!(report.replace_rag(table.clone()), 2);
        assert!(report.blind.is_none());
        assert_eq!(report.blind_earlier.len(), 1, "base against adapter stays");
        assert_eq!(report.blind_earlier[0].pair, Pair::default());
        // The default pair as the current session is kept too.
        report.blind = report.blind_earlier.pop();
        assert_eq!(report.replace_rag(table), 0);
        assert_eq!(report.blind.as_ref().unwrap().judged(), 2);
    }
}
