//! Blind A/B judging: interview and guard questions, each with the base model's and the
//! adapter's answers under the labels A and B in a seeded random order, judged by a person
//! before the labels are revealed. Pure state for the cockpit's Eval pane; it lives in
//! `eval.json` beside the answers it points to.

use super::results::{EvalReport, Part};
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

/// One question to judge: which answer of which part, and which label hides the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindItem {
    /// Interview or guard.
    pub part: Part,
    /// Index into that part's items.
    pub index: usize,
    /// The label the adapter's answer carries.
    pub adapter_is: Label,
    /// The judge's choice, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Questions judged.
    pub judged: usize,
    /// The adapter's answer was preferred.
    pub adapter: usize,
    /// The base model's answer was preferred.
    pub base: usize,
    /// Ties.
    pub tie: usize,
}

impl Tally {
    fn add(&mut self, winner: Option<Winner>) {
        self.judged += 1;
        match winner {
            Some(Winner::Adapter) => self.adapter += 1,
            Some(Winner::Base) => self.base += 1,
            None => self.tie += 1,
        }
    }

    /// Share of judged questions the adapter won (0 when none are judged).
    pub fn adapter_rate(&self) -> f64 {
        self.adapter as f64 / self.judged.max(1) as f64
    }

    /// Share the base model won.
    pub fn base_rate(&self) -> f64 {
        self.base as f64 / self.judged.max(1) as f64
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

/// Which model's answer won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// The base model's.
    Base,
    /// The adapter's.
    Adapter,
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
    /// Seed of the order and the labels.
    pub seed: u64,
    /// Questions in the order they are shown.
    pub items: Vec<BlindItem>,
    /// Win rates, set by [`BlindSession::reveal`]; until then the labels stay hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub win_rates: Option<WinRates>,
}

impl BlindSession {
    /// The interview and guard questions of `report`, shuffled and labelled with `seed`.
    pub fn new(report: &EvalReport, seed: u64) -> BlindSession {
        let mut rng = SplitMix64::new(seed);
        let mut items: Vec<BlindItem> = [Part::Interview, Part::Guard]
            .iter()
            .filter_map(|&p| report.part(p))
            .flat_map(|r| (0..r.items.len()).map(move |index| (r.part, index)))
            .map(|(part, index)| BlindItem {
                part,
                index,
                adapter_is: if rng.next_u64() & 1 == 0 {
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
        let q = report.part(it.part)?.items.get(it.index)?;
        let (a, b) = match it.adapter_is {
            Label::A => (&q.adapter.text, &q.base.text),
            Label::B => (&q.base.text, &q.adapter.text),
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
    Some(if picked == item.adapter_is {
        Winner::Adapter
    } else {
        Winner::Base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::report_with;

    #[test]
    fn shuffling_is_deterministic_and_mixes_parts_and_labels() {
        let report = report_with(6, 6);
        let a = BlindSession::new(&report, 7);
        assert_eq!(a, BlindSession::new(&report, 7));
        assert_ne!(a.items, BlindSession::new(&report, 8).items);
        assert_eq!(a.len(), 12);
        // Every question appears once.
        let mut seen: Vec<(Part, usize)> = a.items.iter().map(|i| (i.part, i.index)).collect();
        seen.sort_by_key(|&(p, i)| (p.name(), i));
        seen.dedup();
        assert_eq!(seen.len(), 12);
        let on_a = a.items.iter().filter(|i| i.adapter_is == Label::A).count();
        assert!(on_a > 0 && on_a < 12, "labels are not all on one side");
        let order: Vec<Part> = a.items.iter().map(|i| i.part).collect();
        assert_ne!(order[..6], [Part::Interview; 6], "parts are mixed");
    }

    #[test]
    fn views_hide_labels_and_reveal_counts_wins() {
        let report = report_with(2, 1);
        let mut s = BlindSession::new(&report, 3);
        for i in 0..s.len() {
            let v = s.view(&report, i).unwrap();
            let it = &s.items[i];
            let q = &report.part(it.part).unwrap().items[it.index];
            let adapter_text = if it.adapter_is == Label::A { v.a } else { v.b };
            assert_eq!(adapter_text, q.adapter.text);
        }
        assert!(s.view(&report, 99).is_none());
        // Pick the adapter on the first, the base on the second, a tie on the third.
        let pick = |s: &BlindSession, i: usize, adapter: bool| {
            let on_a = s.items[i].adapter_is == Label::A;
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
                adapter: 1,
                base: 1,
                tie: 1
            }
        );
        assert_eq!(rates.interview.judged + rates.guard.judged, 3);
        assert!((rates.all.adapter_rate() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.winner(0), Some(Winner::Adapter));
        assert_eq!(s.winner(1), Some(Winner::Base));
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
