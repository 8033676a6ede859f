//! The recommended next step, from the evidence: the method's rule that poor results point
//! at the data and the task definition before the hyperparameters, and that only a
//! graduated adapter moves on to an integration trial.

use super::results::{EvalReport, Part};
use crate::experiment::Language;

/// What to do next, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// No evaluation yet.
    Evaluate,
    /// The loss curve itself is unhealthy.
    FixTraining,
    /// The exam failed: it did not learn the material.
    FixData,
    /// Exam passed, interview failed: it memorised rather than generalised.
    MoreDiverseData,
    /// The guard failed: general ability was damaged.
    ProtectGeneralAbility,
    /// All three passed.
    IntegrationTrial,
}

impl NextStep {
    /// A short heading (the report's is English; the cockpit's notice speaks its language).
    pub fn title(self, lang: Language) -> &'static str {
        let (en, zh) = match self {
            NextStep::Evaluate => ("run the three-part test", "运行三维盲测"),
            NextStep::FixTraining => ("fix the training run", "先修好训练"),
            NextStep::FixData => ("fix the data and the task definition", "修正数据与任务定义"),
            NextStep::MoreDiverseData => ("write more diverse data", "补充更多样的数据"),
            NextStep::ProtectGeneralAbility => ("protect general ability", "保护通用能力"),
            NextStep::IntegrationTrial => ("integration trial", "集成试用"),
        };
        lang.pick(en, zh)
    }

    /// What to do and why.
    pub fn advice(self) -> &'static str {
        match self {
            NextStep::Evaluate => {
                "Run `tunedeck eval` on this run: a good loss curve is a process metric, never \
                 proof of a good model."
            }
            NextStep::FixTraining => {
                "The loss curve is unhealthy (see its verdict above): fix the run before reading \
                 much into the scores."
            }
            NextStep::FixData => {
                "The adapter did not learn its own training material. Suspect the data and the \
                 task definition first: are the answers consistent and in one format, are there \
                 50-200 clean records? Only then train longer or with a higher learning rate."
            }
            NextStep::MoreDiverseData => {
                "It learned the training records but does not generalise to unseen questions: \
                 write more diverse records (new cases, phrasings, languages, edge cases) rather \
                 than training for more epochs; 10 diverse records beat 1000 repetitive ones."
            }
            NextStep::ProtectGeneralAbility => {
                "The specialisation damaged everyday answers (catastrophic forgetting or runaway \
                 output): train fewer epochs, lower the learning rate, or mix general-purpose \
                 records into the training data, then evaluate again."
            }
            NextStep::IntegrationTrial => {
                "Graduated: plug the adapter into the real workflow for an integration trial and \
                 measure the goal's own criterion with real users; keep the sealed test set for \
                 the next version."
            }
        }
    }
}

/// Every step the evidence calls for, most urgent first; never empty.
/// `curve_healthy` is the loss verdict (false for NaN, divergence, overfitting, ...).
pub fn next_steps(eval: Option<&EvalReport>, curve_healthy: bool) -> Vec<NextStep> {
    let mut out = Vec::new();
    if !curve_healthy {
        out.push(NextStep::FixTraining);
    }
    let Some(eval) = eval else {
        out.push(NextStep::Evaluate);
        return out;
    };
    let passed = |p: Part| eval.part(p).is_some_and(|r| r.passed);
    if !passed(Part::Exam) {
        out.push(NextStep::FixData);
    } else if !passed(Part::Interview) {
        out.push(NextStep::MoreDiverseData);
    }
    if !passed(Part::Guard) {
        out.push(NextStep::ProtectGeneralAbility);
    }
    if eval.graduated {
        out.push(NextStep::IntegrationTrial);
    }
    if out.is_empty() {
        // Every part passed yet not graduated: an eval.json edited by hand; evaluate again.
        out.push(NextStep::Evaluate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::report_with;

    fn with(exam: bool, interview: bool, guard: bool) -> EvalReport {
        let mut r = report_with(2, 2);
        for (p, ok) in r.parts.iter_mut().zip([exam, interview, guard]) {
            p.passed = ok;
        }
        r.graduated = exam && interview && guard;
        r
    }

    #[test]
    fn the_evidence_picks_the_step() {
        use NextStep::*;
        assert_eq!(next_steps(None, true), [Evaluate]);
        assert_eq!(next_steps(None, false), [FixTraining, Evaluate]);
        assert_eq!(
            next_steps(Some(&with(true, true, true)), true),
            [IntegrationTrial]
        );
        assert_eq!(
            next_steps(Some(&with(true, false, true)), true),
            [MoreDiverseData]
        );
        assert_eq!(next_steps(Some(&with(false, false, true)), true), [FixData]);
        assert_eq!(
            next_steps(Some(&with(true, true, false)), true),
            [ProtectGeneralAbility]
        );
        assert_eq!(
            next_steps(Some(&with(true, false, false)), false),
            [FixTraining, MoreDiverseData, ProtectGeneralAbility]
        );
    }
}
