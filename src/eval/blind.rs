//! Blind A/B judging: questions, each with two contenders' answers under the labels A and B
//! in a seeded random order, judged by a person before the labels are revealed. The pair is
//! the base model against the adapter by default (interview and guard questions); once
//! `tunedeck eval --rag` has run, any two of the four — base, base + RAG, LoRA, LoRA + RAG —
//! on the interview. Pure state for the cockpit's Eval pane; it lives in `eval.json` beside
//! the answers it points to.

use super::results::{EvalReport, Part};
use crate::experiment::Language;
use crate::rng::SplitMix64;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// A label shown to the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Label {
    /// Shown first.
    A,
    /// Shown second.
    B,
}

/// The judge's verdict on one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// A is better.
    A,
    /// B is better.
    B,
    /// Neither is better.
    Tie,
}

/// Who wrote an answer: the model with or without the adapter, with or without the
/// knowledge base's chunks before the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Contender {
    #[serde(rename = "base")]
    Base,
    #[serde(rename = "base+rag")]
    BaseRag,
    #[serde(rename = "lora")]
    Lora,
    #[serde(rename = "lora+rag")]
    LoraRag,
}

impl Contender {
    /// The four, in the 2×2 table's order.
    pub const ALL: [Contender; 4] = [
        Contender::Base,
        Contender::BaseRag,
        Contender::Lora,
        Contender::LoraRag,
    ];

    pub fn name(self, lang: Language) -> &'static str {
        match self {
            Contender::Base => lang.pick("base model", "基础模型"),
            Contender::BaseRag => lang.pick("base model + RAG", "基础模型 + RAG"),
            Contender::Lora => lang.pick("adapter", "适配器"),
            Contender::LoraRag => lang.pick("adapter + RAG", "适配器 + RAG"),
        }
    }

    fn retrieves(self) -> bool {
        matches!(self, Contender::BaseRag | Contender::LoraRag)
    }

    /// Its answer to question `index` of `part`, if `report` has it.
    fn answer(self, report: &EvalReport, part: Part, index: usize) -> Option<&str> {
        let items = match self.retrieves() {
            true if part == Part::Interview => &report.rag.as_ref()?.with.items,
            true => return None,
            false => &report.part(part)?.items,
        };
        let item = items.get(index)?;
        Some(match self {
            Contender::Base | Contender::BaseRag => &item.base.text,
            Contender::Lora | Contender::LoraRag => &item.adapter.text,
        })
    }
}

/// The two contenders judged against each other: the first is the one measured against
/// (the base model by default), the second the challenger (the adapter by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair(pub [Contender; 2]);

impl Default for Pair {
    fn default() -> Self {
        Pair([Contender::Base, Contender::Lora])
    }
}

impl Pair {
    /// Every pair `report` has answers for, the default first: only base against adapter
    /// until `tunedeck eval --rag` has run, then all six of the four.
    pub fn available(report: &EvalReport) -> Vec<Pair> {
        let mut out = vec![Pair::default()];
        if report.rag.is_some() {
            for (i, &a) in Contender::ALL.iter().enumerate() {
                for &b in &Contender::ALL[i + 1..] {
                    let p = Pair([a, b]);
                    if p != Pair::default() {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    /// `base model vs adapter`.
    pub fn name(self, lang: Language) -> String {
        let vs = lang.pick("vs", "对");
        format!("{} {vs} {}", self.0[0].name(lang), self.0[1].name(lang))
    }

    /// Whether either contender answered with the knowledge base's chunks.
    pub fn retrieves(self) -> bool {
        self.0.iter().any(|c| c.retrieves())
    }

    /// The parts both contenders answered: with retrieval, the interview only.
    fn parts(self) -> &'static [Part] {
        match self.retrieves() {
            true => &[Part::Interview],
            false => &[Part::Interview, Part::Guard],
        }
    }
}

/// One question to judge: which answer of which part, and which label hides the pair's
/// second contender (the adapter, for the default pair).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindItem {
    /// Interview or guard.
    pub part: Part,
    /// Index into that part's items.
    pub index: usize,
    /// The label the second contender's answer carries.
    #[serde(rename = "adapter_is")]
    pub second_is: Label,
    /// The judge's choice, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
}

/// Counts of outcomes. The file keeps the names of the default pair (`adapter`, `base`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Questions judged.
    pub judged: usize,
    /// The second contender's answer was preferred (the adapter's, by default).
    #[serde(rename = "adapter")]
    pub second: usize,
    /// The first contender's answer was preferred (the base model's, by default).
    #[serde(rename = "base")]
    pub first: usize,
    /// Ties.
    pub tie: usize,
}

impl Tally {
    fn add(&mut self, winner: Option<Winner>) {
        self.judged += 1;
        match winner {
            Some(Winner::Second) => self.second += 1,
            Some(Winner::First) => self.first += 1,
            None => self.tie += 1,
        }
    }

    /// Share of judged questions the second contender won (0 when none are judged).
    pub fn second_rate(&self) -> f64 {
        self.second as f64 / self.judged.max(1) as f64
    }

    /// Share the first contender won.
    pub fn first_rate(&self) -> f64 {
        self.first as f64 / self.judged.max(1) as f64
    }

    /// Share of ties.
    pub fn tie_rate(&self) -> f64 {
        self.tie as f64 / self.judged.max(1) as f64
    }
}

/// Win rates after the reveal: overall and per part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinRates {
    /// All judged questions.
    pub all: Tally,
    /// Interview questions.
    pub interview: Tally,
    /// Guard questions.
    pub guard: Tally,
}

/// Which contender's answer won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// The pair's first (the base model, by default).
    First,
    /// The pair's second (the adapter, by default).
    Second,
}

/// What the judge sees of one question: no hint of which answer is which.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlindView<'a> {
    /// Interview or guard.
    pub part: Part,
    /// The question.
    pub prompt: &'a str,
    /// The answer labelled A.
    pub a: &'a str,
    /// The answer labelled B.
    pub b: &'a str,
    /// The choice made so far.
    pub choice: Option<Choice>,
}

/// A judging session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlindSession {
    /// Who is judged against whom (base model against adapter in files from before pairs).
    #[serde(default)]
    pub pair: Pair,
    /// Seed of the order and the labels.
    pub seed: u64,
    /// Questions in the order they are shown.
    pub items: Vec<BlindItem>,
    /// Win rates, set by [`BlindSession::reveal`]; until then the labels stay hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub win_rates: Option<WinRates>,
}

impl BlindSession {
    /// The questions of `report` both of `pair` answered (interview and guard, or the
    /// interview alone when one retrieves), shuffled and labelled with `seed`.
    pub fn new(report: &EvalReport, pair: Pair, seed: u64) -> BlindSession {
        let mut rng = SplitMix64::new(seed);
        let answered = |part: Part, index: usize| {
            pair.0
                .iter()
                .all(|c| c.answer(report, part, index).is_some())
        };
        let mut items: Vec<BlindItem> = pair
            .parts()
            .iter()
            .filter_map(|&p| report.part(p))
            .flat_map(|r| (0..r.items.len()).map(move |index| (r.part, index)))
            .filter(|&(part, index)| answered(part, index))
            .map(|(part, index)| BlindItem {
                part,
                index,
                second_is: if rng.next_u64() & 1 == 0 {
                    Label::A
                } else {
                    Label::B
                },
                choice: None,
            })
            .collect();
        // Fisher–Yates, so interview and guard questions mix and no position gives a part away.
        for i in (1..items.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
        BlindSession {
            pair,
            seed,
            items,
            win_rates: None,
        }
    }

    /// Questions in the session.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is nothing to judge.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the labels have been revealed.
    pub fn revealed(&self) -> bool {
        self.win_rates.is_some()
    }

    /// Questions judged so far.
    pub fn judged(&self) -> usize {
        self.items.iter().filter(|i| i.choice.is_some()).count()
    }

    /// The first question not yet judged.
    pub fn next_unjudged(&self) -> Option<usize> {
        self.items.iter().position(|i| i.choice.is_none())
    }

    /// Question `i` as the judge sees it; `None` when `i` is out of range or `report` is not
    /// the one the session was made from.
    pub fn view<'a>(&self, report: &'a EvalReport, i: usize) -> Option<BlindView<'a>> {
        let it = self.items.get(i)?;
        // The question as asked without sources: the judge weighs answers, not retrieval.
        let q = report.part(it.part)?.items.get(it.index)?;
        let [first, second] = self.pair.0.map(|c| c.answer(report, it.part, it.index));
        let (first, second) = (first?, second?);
        let (a, b) = match it.second_is {
            Label::A => (second, first),
            Label::B => (first, second),
        };
        Some(BlindView {
            part: it.part,
            prompt: &q.prompt,
            a,
            b,
            choice: it.choice,
        })
    }

    /// Records the judge's choice for question `i` (a later choice replaces an earlier one).
    /// Refused after the reveal: a choice made knowing the labels is not blind.
    pub fn choose(&mut self, i: usize, choice: Choice) -> Result<()> {
        if self.revealed() {
            bail!("the labels are revealed: judging again would not be blind");
        }
        let n = self.items.len();
        match self.items.get_mut(i) {
            Some(item) => item.choice = Some(choice),
            None => bail!("question {i} does not exist: the session has {n}"),
        }
        Ok(())
    }

    /// Who won question `i`; `None` before the reveal, when not judged, or for a tie.
    pub fn winner(&self, i: usize) -> Option<Winner> {
        if !self.revealed() {
            return None;
        }
        self.items.get(i).and_then(outcome)
    }

    /// Reveals the labels and computes the win rates over the judged questions.
    pub fn reveal(&mut self) -> WinRates {
        let mut rates = WinRates::default();
        for item in self.items.iter().filter(|i| i.choice.is_some()) {
            let w = outcome(item);
            rates.all.add(w);
            match item.part {
                Part::Interview => rates.interview.add(w),
                Part::Guard => rates.guard.add(w),
                Part::Exam => {}
            }
        }
        self.win_rates = Some(rates);
        rates
    }
}

/// The winner of a judged item (`None` for a tie or no choice).
fn outcome(item: &BlindItem) -> Option<Winner> {
    let picked = match item.choice? {
        Choice::A => Label::A,
        Choice::B => Label::B,
        Choice::Tie => return None,
    };
    Some(if picked == item.second_is {
        Winner::Second
    } else {
        Winner::First
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::{report_with, report_with_rag};

    #[test]
    fn any_two_of_the_four_once_the_rag_table_exists() {
        assert_eq!(Pair::available(&report_with(2, 2)), vec![Pair::default()]);
        let report = report_with_rag(4, 3);
        let pairs = Pair::available(&report);
        assert_eq!(pairs.len(), 6);
        assert_eq!(pairs[0], Pair::default());
        let lora_vs_rag = Pair([Contender::Lora, Contender::LoraRag]);
        assert!(pairs.contains(&lora_vs_rag));
        // With retrieval in the pair, only the interview is judged.
        let s = BlindSession::new(&report, lora_vs_rag, 5);
        assert_eq!(s.len(), 4);
        assert!(s.items.iter().all(|i| i.part == Part::Interview));
        for i in 0..s.len() {
            let v = s.view(&report, i).unwrap();
            let it = &s.items[i];
            let q = &report.part(Part::Interview).unwrap().items[it.index];
            let (second, first) = match it.second_is {
                Label::A => (v.a, v.b),
                Label::B => (v.b, v.a),
            };
            assert_eq!(first, q.adapter.text);
            assert_eq!(second, format!("{} +rag", q.adapter.text));
            assert_eq!(v.prompt, q.prompt, "the question as asked, without sources");
        }
        // The default pair still judges interview and guard.
        assert_eq!(BlindSession::new(&report, Pair::default(), 5).len(), 7);
    }

    #[test]
    fn a_session_from_before_pairs_reads_as_base_against_adapter() {
        let json = r#"{"seed":1,"items":[{"part":"interview","index":0,"adapter_is":"B","choice":"b"}],"win_rates":{"all":{"judged":1,"adapter":1,"base":0,"tie":0},"interview":{"judged":1,"adapter":1,"base":0,"tie":0},"guard":{"judged":0,"adapter":0,"base":0,"tie":0}}}"#;
        let s: BlindSession = serde_json::from_str(json).unwrap();
        assert_eq!(s.pair, Pair::default());
        assert_eq!(s.winner(0), Some(Winner::Second));
        assert_eq!(s.win_rates.unwrap().all.second, 1);
    }

    #[test]
    fn shuffling_is_deterministic_and_mixes_parts_and_labels() {
        let report = report_with(6, 6);
        let a = BlindSession::new(&report, Pair::default(), 7);
        assert_eq!(a, BlindSession::new(&report, Pair::default(), 7));
        assert_ne!(
            a.items,
            BlindSession::new(&report, Pair::default(), 8).items
        );
        assert_eq!(a.len(), 12);
        // Every question appears once.
        let mut seen: Vec<(Part, usize)> = a.items.iter().map(|i| (i.part, i.index)).collect();
        seen.sort_by_key(|&(p, i)| (p.name(), i));
        seen.dedup();
        assert_eq!(seen.len(), 12);
        let on_a = a.items.iter().filter(|i| i.second_is == Label::A).count();
        assert!(on_a > 0 && on_a < 12, "labels are not all on one side");
        let order: Vec<Part> = a.items.iter().map(|i| i.part).collect();
        assert_ne!(order[..6], [Part::Interview; 6], "parts are mixed");
    }

    #[test]
    fn views_hide_labels_and_reveal_counts_wins() {
        let report = report_with(2, 1);
        let mut s = BlindSession::new(&report, Pair::default(), 3);
        for i in 0..s.len() {
            let v = s.view(&report, i).unwrap();
            let it = &s.items[i];
            let q = &report.part(it.part).unwrap().items[it.index];
            let adapter_text = if it.second_is == Label::A { v.a } else { v.b };
            assert_eq!(adapter_text, q.adapter.text);
        }
        assert!(s.view(&report, 99).is_none());
        // Pick the adapter on the first, the base on the second, a tie on the third.
        let pick = |s: &BlindSession, i: usize, adapter: bool| {
            let on_a = s.items[i].second_is == Label::A;
            if on_a == adapter {
                Choice::A
            } else {
                Choice::B
            }
        };
        let c0 = pick(&s, 0, true);
        s.choose(0, c0).unwrap();
        assert_eq!(s.winner(0), None, "hidden before the reveal");
        let c1 = pick(&s, 1, false);
        s.choose(1, c1).unwrap();
        s.choose(2, Choice::Tie).unwrap();
        assert!(s.choose(3, Choice::A).is_err());
        assert_eq!(s.next_unjudged(), None);
        let rates = s.reveal();
        assert_eq!(
            rates.all,
            Tally {
                judged: 3,
                second: 1,
                first: 1,
                tie: 1
            }
        );
        assert_eq!(rates.interview.judged + rates.guard.judged, 3);
        assert!((rates.all.second_rate() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.winner(0), Some(Winner::Second));
        assert_eq!(s.winner(1), Some(Winner::First));
        assert_eq!(s.winner(2), None);
        assert!(
            s.choose(0, Choice::B).is_err(),
            "no judging after the reveal"
        );
        // The session survives a round trip through eval.json.
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<BlindSession>(&json).unwrap(), s);
    }
}
