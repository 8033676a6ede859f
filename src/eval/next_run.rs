//! The next run: the report's recommended step and the method's levers (one epoch fewer, a
//! lower learning rate, a lower rank, replay, better data) as concrete preset changes, and
//! `origin.json`, which records in the new run where it came from, what changed and why.
//!
//! `tunedeck train --from RUN --change key=value` and the cockpit's next-run menu both apply
//! their changes through [`apply`], so a change means the same from either.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::advice::{next_steps, NextStep};
use super::loss_log::LossLog;
use super::results::EvalReport;
use crate::data::RunDir;
use crate::experiment::Language;
use crate::preset::Preset;

/// What "replay on" sets: general records mixed in per training record (the recommended
/// value of `replay_ratio`).
pub const REPLAY_ON: f64 = 0.75;

/// One preset key changed against the run a new run came from (or, in the runs table, against
/// the run before), values as a user reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Change {
    /// The preset key.
    pub key: String,
    /// Its value in the earlier run.
    pub from: String,
    /// Its value in the new run.
    pub to: String,
}

impl std::fmt::Display for Change {
    /// `learning_rate 5e-5 → 2.5e-5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} → {}", self.key, self.from, self.to)
    }
}

/// Changes as one line: `lora_rank 32 → 16, lora_alpha 64 → 32`.
pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(Change::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `runs/<id>/origin.json`: the run this one started from, what changed and why. Read
/// leniently (a key left out of a hand-written file is empty), since the runs table reads
/// every run's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Origin {
    /// The earlier run's folder name (`run-2`).
    pub from: String,
    /// The preset keys that differ from it, in preset file order.
    pub changes: Vec<Change>,
    /// Why, in the user's words or the lever's ("lower the learning rate").
    pub why: String,
}

impl Origin {
    /// Writes `<run_dir>/origin.json` atomically.
    pub fn save(&self, run_dir: &Path) -> Result<()> {
        crate::atomic::write_json(&RunDir::new(run_dir).origin(), self)
    }

    /// Reads `<run_dir>/origin.json`.
    pub fn load(run_dir: &Path) -> Result<Origin> {
        let path = RunDir::new(run_dir).origin();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a run origin (from, changes, why)", path.display()))
    }
}

/// `KEY=VALUE` split at the first `=` and trimmed; `flag` names the option in the error.
pub fn assignment(kv: &str, flag: &str) -> Result<(String, String)> {
    match kv.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().into(), v.trim().into())),
        _ => bail!("{flag} {kv}: expected KEY=VALUE, e.g. {flag} learning_rate=1e-4"),
    }
}

/// `base` with every `(key, value)` applied in order, then validated; and what changed, in
/// preset file order (a value set to what it was is no change). Errors are one line naming
/// the key.
pub fn apply(base: &Preset, sets: &[(String, String)]) -> Result<(Preset, Vec<Change>)> {
    let mut preset = base.clone();
    for (key, value) in sets {
        preset.set(key, value)?;
    }
    if let Err(problems) = preset.validate() {
        bail!("{}", problems.join("; "));
    }
    let changes = preset
        .diff(base)
        .into_iter()
        .map(|(key, to, from)| Change { key, from, to })
        .collect();
    Ok((preset, changes))
}

/// One of the method's levers for the next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    /// Train one epoch fewer (and, when `max_steps` caps the run, proportionally fewer steps).
    FewerEpochs,
    /// Halve the learning rate.
    LowerLearningRate,
    /// Halve the LoRA rank, alpha kept at twice the rank.
    LowerRank,
    /// Switch replay of general records on (at [`REPLAY_ON`]) or off.
    Replay,
    /// Improve the data before training again: no new run.
    ImproveData,
}

/// What choosing a lever does.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Train a new run with `preset`, which differs from the base by `changes`.
    Train {
        /// The new run's preset.
        preset: Box<Preset>,
        /// What differs from the run it starts from.
        changes: Vec<Change>,
    },
    /// Work on the records first; nothing is trained.
    ImproveData,
}

impl Lever {
    /// Every lever, in the order the menu lists them.
    pub const ALL: [Lever; 5] = [
        Lever::FewerEpochs,
        Lever::LowerLearningRate,
        Lever::LowerRank,
        Lever::Replay,
        Lever::ImproveData,
    ];

    /// The menu's name for the lever on `base` (replay says whether it turns on or off).
    pub fn label(self, base: &Preset, lang: Language) -> &'static str {
        let (en, zh) = match self {
            Lever::FewerEpochs => ("one epoch fewer", "少训一轮"),
            Lever::LowerLearningRate => ("learning rate ÷ 2", "学习率减半"),
            Lever::LowerRank => ("rank ÷ 2", "秩减半"),
            Lever::Replay if replay_on(base) => ("replay off", "关闭回放"),
            Lever::Replay => ("replay on", "开启回放"),
            Lever::ImproveData => ("improve the data first", "先改进数据"),
        };
        lang.pick(en, zh)
    }

    /// Why, as `origin.json` records it (English, like the report).
    pub fn why(self, base: &Preset) -> &'static str {
        match self {
            Lever::FewerEpochs => "train one epoch fewer",
            Lever::LowerLearningRate => "lower the learning rate",
            Lever::LowerRank => "lower the LoRA rank",
            Lever::Replay if replay_on(base) => "switch replay off",
            Lever::Replay => "mix general records in (replay)",
            Lever::ImproveData => "improve the data first",
        }
    }

    /// The `key = value` settings the lever makes on `base`; `None` when it cannot apply
    /// (a single epoch left, rank 1) or trains nothing (better data).
    fn sets(self, base: &Preset) -> Option<Vec<(String, String)>> {
        let set = |k: &str, v: String| (k.to_string(), v);
        Some(match self {
            Lever::FewerEpochs => {
                let epochs = base.num_train_epochs;
                if epochs.is_nan() || epochs < 2.0 {
                    return None;
                }
                let mut out = vec![set("num_train_epochs", (epochs - 1.0).to_string())];
                // max_steps overrides the epochs: cut it by the same fraction, or nothing changes.
                if base.max_steps > 0 {
                    let steps = (base.max_steps as f64 * (epochs - 1.0) / epochs).round();
                    out.push(set("max_steps", (steps as u64).max(1).to_string()));
                }
                out
            }
            Lever::LowerLearningRate => {
                vec![set("learning_rate", (base.learning_rate / 2.0).to_string())]
            }
            Lever::LowerRank => {
                if base.lora_rank < 2 {
                    return None;
                }
                let rank = base.lora_rank / 2;
                vec![
                    set("lora_rank", rank.to_string()),
                    set("lora_alpha", (2 * rank).to_string()),
                ]
            }
            Lever::Replay => {
                let to = if replay_on(base) { 0.0 } else { REPLAY_ON };
                vec![set("replay_ratio", to.to_string())]
            }
            Lever::ImproveData => return None,
        })
    }

    /// What the lever does on `base`; `None` when it cannot apply there.
    pub fn outcome(self, base: &Preset) -> Option<Outcome> {
        if self == Lever::ImproveData {
            return Some(Outcome::ImproveData);
        }
        let (preset, changes) = apply(base, &self.sets(base)?).ok()?;
        (!changes.is_empty()).then(|| Outcome::Train {
            preset: Box::new(preset),
            changes,
        })
    }
}

fn replay_on(p: &Preset) -> bool {
    p.replay_ratio > 0.0
}

/// The lever the report's step calls for on `base`; `None` when it calls for no new run
/// (graduated: an integration trial; not evaluated yet: the test first).
pub fn recommended(step: NextStep, base: &Preset) -> Option<Lever> {
    let candidates: &[Lever] = match step {
        // Forgetting: replay first; with replay already on, train less.
        NextStep::ProtectGeneralAbility if replay_on(base) => {
            &[Lever::FewerEpochs, Lever::LowerLearningRate]
        }
        NextStep::ProtectGeneralAbility => &[Lever::Replay],
        NextStep::FixTraining => &[Lever::LowerLearningRate],
        NextStep::FixData | NextStep::MoreDiverseData => &[Lever::ImproveData],
        NextStep::IntegrationTrial | NextStep::Evaluate => &[],
    };
    candidates
        .iter()
        .copied()
        .find(|l| l.outcome(base).is_some())
}

/// The report's recommended step for the run in `run_dir`, from its training log and
/// `eval.json` as `report.md` decides it.
pub fn recommended_step(run_dir: &Path) -> NextStep {
    // An unreadable log says nothing against the curve; the report would refuse to be
    // written, and the eval decides.
    let run = RunDir::new(run_dir);
    let healthy = LossLog::read(&run.log()).map_or(true, |log| log.health().healthy());
    let eval = EvalReport::load(&run.eval()).ok();
    next_steps(eval.as_ref(), healthy)
        .first()
        .copied()
        .unwrap_or(NextStep::Evaluate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Preset {
        Preset {
            learning_rate: 2e-3,
            num_train_epochs: 2.0,
            lora_rank: 32,
            lora_alpha: 64,
            replay_ratio: 0.0,
            ..Preset::default()
        }
    }

    fn changes(lever: Lever, p: &Preset) -> String {
        match lever.outcome(p) {
            Some(Outcome::Train { changes, .. }) => describe(&changes),
            other => panic!("{lever:?}: {other:?}"),
        }
    }

    #[test]
    fn the_report_step_becomes_a_concrete_change() {
        use NextStep::*;
        let p = base();
        assert_eq!(recommended(ProtectGeneralAbility, &p), Some(Lever::Replay));
        assert_eq!(changes(Lever::Replay, &p), "replay_ratio 0 → 0.75");
        let replaying = Preset {
            replay_ratio: 0.75,
            ..base()
        };
        assert_eq!(
            recommended(ProtectGeneralAbility, &replaying),
            Some(Lever::FewerEpochs)
        );
        assert_eq!(recommended(FixTraining, &p), Some(Lever::LowerLearningRate));
        assert_eq!(recommended(FixData, &p), Some(Lever::ImproveData));
        assert_eq!(recommended(MoreDiverseData, &p), Some(Lever::ImproveData));
        assert_eq!(recommended(IntegrationTrial, &p), None);
        assert_eq!(recommended(Evaluate, &p), None);
        // With replay on and a single epoch left, training less means a lower learning rate.
        let one_epoch = Preset {
            num_train_epochs: 1.0,
            ..replaying
        };
        assert_eq!(
            recommended(ProtectGeneralAbility, &one_epoch),
            Some(Lever::LowerLearningRate)
        );
    }

    #[test]
    fn each_lever_names_its_exact_change() {
        let p = base();
        assert_eq!(changes(Lever::FewerEpochs, &p), "num_train_epochs 2 → 1");
        assert_eq!(
            changes(Lever::LowerLearningRate, &p),
            "learning_rate 0.002 → 0.001"
        );
        assert_eq!(
            changes(Lever::LowerRank, &p),
            "lora_rank 32 → 16, lora_alpha 64 → 32"
        );
        let on = Preset {
            replay_ratio: 0.5,
            ..base()
        };
        assert_eq!(changes(Lever::Replay, &on), "replay_ratio 0.5 → 0");
        assert_eq!(Lever::Replay.label(&on, Language::En), "replay off");
        assert_eq!(Lever::ImproveData.outcome(&p), Some(Outcome::ImproveData));
        // max_steps caps the run: one epoch fewer cuts it by the same fraction.
        let capped = Preset {
            num_train_epochs: 3.0,
            max_steps: 90,
            ..base()
        };
        assert_eq!(
            changes(Lever::FewerEpochs, &capped),
            "num_train_epochs 3 → 2, max_steps 90 → 60"
        );
        // Levers that cannot apply are not offered.
        let small = Preset {
            num_train_epochs: 1.0,
            lora_rank: 1,
            lora_alpha: 2,
            ..base()
        };
        assert_eq!(Lever::FewerEpochs.outcome(&small), None);
        assert_eq!(Lever::LowerRank.outcome(&small), None);
    }

    #[test]
    fn apply_validates_and_names_the_key() {
        let p = base();
        let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let e = apply(&p, &set("learnin_rate", "1e-3")).unwrap_err();
        assert!(format!("{e:#}").contains("`learnin_rate`"), "{e:#}");
        let e = apply(&p, &set("lora_rank", "0")).unwrap_err();
        assert!(format!("{e:#}").starts_with("lora_rank"), "{e:#}");
        assert!(!format!("{e:#}").contains('\n'));
        let (_, none) = apply(&p, &set("lora_rank", "32")).unwrap();
        assert!(none.is_empty());
        assert!(assignment("nope", "--change").is_err());
        assert_eq!(
            assignment(" lora_rank = 8", "--change").unwrap(),
            ("lora_rank".into(), "8".into())
        );
    }

    #[test]
    fn origin_json_has_the_shape_the_runs_table_reads() {
        let tmp = tempfile::tempdir().unwrap();
        let origin = Origin {
            from: "run-2".into(),
            changes: vec![Change {
                key: "learning_rate".into(),
                from: "2e-3".into(),
                to: "1e-3".into(),
            }],
            why: "lower the learning rate".into(),
        };
        origin.save(tmp.path()).unwrap();
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(RunDir::new(tmp.path()).origin()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"from": "run-2", "changes": [{"key": "learning_rate", "from": "2e-3", "to": "1e-3"}], "why": "lower the learning rate"})
        );
        assert_eq!(Origin::load(tmp.path()).unwrap(), origin);
    }
}
