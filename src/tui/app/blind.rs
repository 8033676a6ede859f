//! Blind A/B judging in the Eval pane: the session is made on first use, each question shows
//! the two answers as A and B, and the labels are revealed once the judge asks (or every
//! question is judged).

use super::App;
use crate::eval::blind::Pair;
use crate::eval::{BlindSession, Choice, Tally};
use crate::experiment::Language;
use crate::tui::action::Action;
use crate::tui::loss::Mood;

/// What Enter or p says before there is anything to judge.
const NO_RESULTS: &str = "No test results to judge yet: s runs the three-part test.";
const NO_RESULTS_ZH: &str = "还没有可评判的测试结果：按 s 运行三维盲测。";

/// A seed nobody can guess from the screen, so the labels stay blind.
fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.as_secs().rotate_left(32) ^ u64::from(t.subsec_nanos()) ^ u64::from(std::process::id())
}

impl App {
    /// Enter in the Eval pane: judge the interview and guard answers blind. The session is
    /// made (and saved) on first use, with labels in an order nobody chose.
    pub(super) fn open_judging(&mut self) {
        let lang = self.lang();
        let Some(report) = self.eval.report.as_mut() else {
            return self.tell(lang.pick(NO_RESULTS, NO_RESULTS_ZH), Mood::Neutral);
        };
        let made = report.blind.is_none();
        if made {
            report.blind = Some(BlindSession::new(report, Pair::default(), fresh_seed()));
        }
        let session = report.blind.as_ref().expect("set above");
        if session.is_empty() {
            let msg = lang.pick(
                "Nothing to judge: no interview or guard answers.",
                "没有可评判的面试或常识题答案。",
            );
            return self.tell(msg, Mood::Neutral);
        }
        self.eval.item = session.next_unjudged().unwrap_or(0);
        self.eval.judging = true;
        self.eval.scroll = 0;
        if made {
            self.save_eval();
        }
    }

    /// p in the Eval pane: judge the next pair of the four (base, base + RAG, LoRA,
    /// LoRA + RAG) once `tunedeck eval --rag` has run. The session being left is kept in
    /// `eval.json` when anything in it was judged, and picked up again when its pair comes
    /// back round.
    pub(super) fn next_pair(&mut self) {
        let lang = self.lang();
        let Some(report) = self.eval.report.as_mut() else {
            return self.tell(lang.pick(NO_RESULTS, NO_RESULTS_ZH), Mood::Neutral);
        };
        let pairs = Pair::available(report);
        if pairs.len() < 2 {
            let msg = lang.pick(
                "Only base against adapter so far: `tunedeck eval --rag` adds the retrieval answers, then p picks any two of the four.",
                "目前只能比较基础模型与适配器：运行 `tunedeck eval --rag` 加入检索答案后，按 p 可任选四者中的两个比较。",
            );
            return self.tell(msg, Mood::Neutral);
        }
        let now = report.blind.as_ref().map(|b| b.pair).unwrap_or_default();
        let at = pairs.iter().position(|&p| p == now).unwrap_or(0);
        let next = pairs[(at + 1) % pairs.len()];
        if let Some(left) = report.blind.take() {
            if left.judged() > 0 {
                report.blind_earlier.push(left);
            }
        }
        let kept = report.blind_earlier.iter().position(|b| b.pair == next);
        report.blind = Some(match kept {
            Some(i) => report.blind_earlier.remove(i),
            None => BlindSession::new(report, next, fresh_seed()),
        });
        let msg = match lang {
            Language::En => format!("Blind A/B now judges {}. Enter starts.", next.name(lang)),
            Language::Zh => format!("A/B 盲评改为比较{}。按 Enter 开始。", next.name(lang)),
        };
        self.save_eval();
        self.eval.item = 0;
        self.tell(&msg, Mood::Neutral);
    }

    pub(super) fn judge_action(&mut self, action: Action) {
        let Some(session) = self.eval.blind() else {
            self.eval.judging = false;
            return;
        };
        let last = session.len().saturating_sub(1);
        match action {
            Action::PickA => self.pick(Choice::A),
            Action::PickB => self.pick(Choice::B),
            Action::PickTie => self.pick(Choice::Tie),
            Action::Reveal => self.reveal(),
            Action::Increase | Action::Down => self.show_item((self.eval.item + 1).min(last)),
            Action::Decrease | Action::Up => self.show_item(self.eval.item.saturating_sub(1)),
            Action::Top => self.show_item(0),
            Action::Bottom => self.show_item(last),
            Action::Judge => self.eval.judging = false,
            Action::DetailDown => self.eval.scroll = self.eval.scroll.saturating_add(3),
            Action::DetailUp => self.eval.scroll = self.eval.scroll.saturating_sub(3),
            _ => {}
        }
    }

    fn show_item(&mut self, item: usize) {
        if item != self.eval.item {
            self.eval.item = item;
            self.eval.scroll = 0;
        }
    }

    /// Records a choice for the question shown, then moves to the next unjudged one; the
    /// labels are revealed once every question is judged.
    fn pick(&mut self, choice: Choice) {
        let item = self.eval.item;
        let Some(session) = self.eval.report.as_mut().and_then(|r| r.blind.as_mut()) else {
            return;
        };
        if let Err(e) = session.choose(item, choice) {
            let msg = match self.lang() {
                Language::En => format!("{e}"),
                Language::Zh => "标签已揭晓：再评判就不是盲评了。".to_string(),
            };
            return self.tell(&msg, Mood::Neutral);
        }
        match session.next_unjudged() {
            Some(next) => self.show_item(next),
            None => return self.reveal(),
        }
        self.save_eval();
    }

    /// Reveals the labels and counts the wins (after at least one judgement).
    fn reveal(&mut self) {
        let lang = self.lang();
        let Some(session) = self.eval.report.as_mut().and_then(|r| r.blind.as_mut()) else {
            return;
        };
        if session.revealed() {
            return;
        }
        if session.judged() == 0 {
            let msg = lang.pick(
                "Judge at least one question before revealing the labels.",
                "请至少评判一题再揭晓标签。",
            );
            return self.tell(msg, Mood::Neutral);
        }
        let msg = revealed_sentence(&session.reveal().all, session.pair, lang);
        self.save_eval();
        self.tell(&msg, Mood::Good);
    }
}

/// The revealed win rates in one sentence, as the pane shows them and the reveal says them.
pub fn revealed_sentence(t: &Tally, pair: Pair, lang: Language) -> String {
    let n = t.judged;
    let [second, first, tie] = [t.second_rate(), t.first_rate(), t.tie_rate()].map(|x| 100.0 * x);
    let [a, b] = pair.0.map(|c| c.name(lang));
    match lang {
        Language::En => format!(
            "Blind A/B (revealed, {n} judged): {b} won {second:.0}%, {a} {first:.0}%, ties {tie:.0}%."
        ),
        Language::Zh => format!(
            "A/B 盲评（已揭晓，共 {n} 题）：{b}胜 {second:.0}%，{a}胜 {first:.0}%，平局 {tie:.0}%。"
        ),
    }
}
