//! An experiment's runs side by side, for `tunedeck runs` and the cockpit: what each run
//! changed against the one before, how far it trained, its best step, how far the forgetting
//! probe drifted, and what the three-part test said. Reads run folders only: no tch, no
//! terminal.

use super::loss_log::LossLog;
use super::results::{EvalReport, Part};
use crate::data::run_dir;
use crate::experiment::{runs_dir, Experiment, Language};
use crate::preset::Preset;
use anyhow::{bail, Result};
use serde::Serialize;
use std::path::Path;

/// The runs table's change column: a preset key changed against the run before.
pub use super::next_run::Change;
use super::next_run::Origin;

/// A forgetting probe this far above its first value means the model is starting to forget.
pub const FORGETTING_DRIFT: f64 = 0.10;

/// The best validation loss and where it was.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Best {
    /// The step (the run's `adapter/` holds its weights).
    pub step: u64,
    /// Its validation loss.
    pub eval_loss: f64,
}

/// The forgetting probe's first and latest perplexity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Probe {
    /// At the first evaluation (step 0 when the run starts from scratch).
    pub first: f64,
    /// At the latest evaluation.
    pub last: f64,
    /// The latest evaluation's step.
    pub step: u64,
    /// `last / first - 1`: 0.12 = up 12 %.
    pub drift: f64,
}

impl Probe {
    /// The probe's points as the log holds them; `None` without a finite first value.
    pub fn of(points: &[(f64, f64)]) -> Option<Probe> {
        let first = points.iter().find(|p| p.1.is_finite() && p.1 > 0.0)?;
        let last = points.last()?;
        Some(Probe {
            first: first.1,
            last: last.1,
            step: last.0 as u64,
            drift: last.1 / first.1 - 1.0,
        })
    }

    /// Up by more than [`FORGETTING_DRIFT`].
    pub fn forgetting(&self) -> bool {
        self.drift > FORGETTING_DRIFT
    }
}

/// One part's right answers by the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PartCount {
    /// Which part.
    pub part: Part,
    /// Right answers by base + adapter.
    pub correct: usize,
    /// Questions asked.
    pub items: usize,
    /// The part passed.
    pub passed: bool,
}

/// Reference-answer perplexity of the guard, base model and base + adapter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Perplexity {
    /// Under the base model.
    pub base: f64,
    /// Under base + adapter.
    pub adapter: f64,
}

/// What `eval.json` says, in brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tested {
    /// Exam, interview and guard.
    pub parts: Vec<PartCount>,
    /// The adapter's mean guard score as a share of the base model's (1 = kept all).
    pub guard_kept: Option<f64>,
    /// The guard's reference-answer perplexity.
    pub guard_perplexity: Option<Perplexity>,
    /// Runaway answers by base + adapter, over all parts.
    pub runaways: usize,
    /// All three parts passed.
    pub graduated: bool,
}

impl Tested {
    fn of(r: &EvalReport) -> Tested {
        let guard = r.part(Part::Guard);
        Tested {
            parts: r
                .parts
                .iter()
                .map(|p| PartCount {
                    part: p.part,
                    correct: p.adapter.correct,
                    items: p.items.len(),
                    passed: p.passed,
                })
                .collect(),
            guard_kept: guard
                .filter(|g| g.base.mean_score > 0.0)
                .map(|g| g.adapter.mean_score / g.base.mean_score),
            guard_perplexity: guard.and_then(|g| {
                Some(Perplexity {
                    base: g.base.perplexity?,
                    adapter: g.adapter.perplexity?,
                })
            }),
            runaways: r.parts.iter().map(|p| p.adapter.runaway).sum(),
            graduated: r.graduated,
        }
    }

    /// The counts of one part.
    pub fn part(&self, part: Part) -> Option<&PartCount> {
        self.parts.iter().find(|p| p.part == part)
    }
}

/// What the three-part test decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// All three parts passed.
    Graduated,
    /// Some part failed.
    NotGraduated {
        /// The parts that failed.
        failed: Vec<Part>,
    },
    /// No `eval.json` yet.
    NotTested,
}

/// One run in the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// The folder name under `runs/`.
    pub id: String,
    /// The run before it; `None` for the first.
    pub previous: Option<String>,
    /// Preset keys changed against the run before; `None` when either lacks `preset.toml`.
    pub changes: Option<Vec<Change>>,
    /// The run it was made from, when `origin.json` names one.
    pub from: Option<String>,
    /// Why, when `origin.json` says.
    pub why: Option<String>,
    /// The last logged step.
    pub steps_done: u64,
    /// Steps planned.
    pub steps_planned: u64,
    /// Early stopping ended it.
    pub early_stopped: bool,
    /// The best validation loss.
    pub best: Option<Best>,
    /// The forgetting probe; `None` when replay was off.
    pub probe: Option<Probe>,
    /// The three-part test, once run.
    pub tested: Option<Tested>,
    /// Its verdict.
    pub verdict: Verdict,
}

/// A run's row and its whole loss history (the cockpit draws the curves).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The table row.
    pub row: RunRow,
    /// `trainer_log.jsonl` as read.
    pub log: LossLog,
}

/// The runs of the experiment at `dir`, in run order (`run-1`, `run-2`, … by number; other
/// names after them, by name). Errors name the folder or file that is wrong.
pub fn read(dir: &Path) -> Result<Vec<Run>> {
    if !dir.is_dir() {
        bail!("{}: no such folder", dir.display());
    }
    Experiment::load(dir)?;
    let found = run_dir::list(&runs_dir(dir));
    let mut runs: Vec<Run> = Vec::with_capacity(found.len());
    let mut previous: Option<(String, Option<Preset>)> = None;
    for run in found {
        let id = run.id();
        let preset_path = run.preset();
        let preset = match preset_path.is_file() {
            true => Some(Preset::load(&preset_path)?),
            false => None,
        };
        let origin = match run.origin().is_file() {
            true => Some(Origin::load(run.path())?),
            false => None,
        };
        let eval_path = run.eval();
        let tested = match eval_path.is_file() {
            true => Some(Tested::of(&EvalReport::load(&eval_path)?)),
            false => None,
        };
        let log = match run.log().is_file() {
            true => LossLog::read(&run.log())?,
            false => LossLog::default(),
        };
        let changes = match (&previous, &preset) {
            (Some((_, Some(before))), Some(now)) => Some(
                now.diff(before)
                    .into_iter()
                    .map(|(key, to, from)| Change { key, from, to })
                    .collect(),
            ),
            (None, _) => Some(Vec::new()),
            _ => None,
        };
        let (steps_done, steps_planned) = log.steps.unwrap_or((0, 0));
        let verdict = match &tested {
            None => Verdict::NotTested,
            Some(t) if t.graduated => Verdict::Graduated,
            Some(t) => Verdict::NotGraduated {
                failed: t
                    .parts
                    .iter()
                    .filter(|p| !p.passed)
                    .map(|p| p.part)
                    .collect(),
            },
        };
        let row = RunRow {
            id: id.clone(),
            previous: previous.as_ref().map(|p| p.0.clone()),
            changes,
            from: origin
                .as_ref()
                .map(|o| o.from.clone())
                .filter(|f| !f.is_empty()),
            why: origin.map(|o| o.why).filter(|w| !w.is_empty()),
            steps_done,
            steps_planned,
            early_stopped: log.early_stopped,
            best: log.best().map(|(step, eval_loss)| Best { step, eval_loss }),
            probe: Probe::of(&log.probe),
            tested,
            verdict,
        };
        runs.push(Run { row, log });
        previous = Some((id, preset));
    }
    Ok(runs)
}

/// The table's columns, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The run's id.
    Run,
    /// What changed against the run before.
    Change,
    /// Steps done / planned.
    Steps,
    /// The best validation loss and its step.
    Best,
    /// The forgetting probe's drift.
    Forgetting,
    /// Exam right answers.
    Exam,
    /// Interview right answers.
    Interview,
    /// The adapter's guard score as a share of the base's.
    Guard,
    /// Guard reference-answer perplexity, base → adapter.
    Perplexity,
    /// Runaway answers.
    Runaways,
    /// Graduated, or which parts failed.
    Verdict,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 11] = [
        Column::Run,
        Column::Change,
        Column::Steps,
        Column::Best,
        Column::Forgetting,
        Column::Exam,
        Column::Interview,
        Column::Guard,
        Column::Perplexity,
        Column::Runaways,
        Column::Verdict,
    ];

    /// Its heading.
    pub fn title(self, lang: Language) -> &'static str {
        match self {
            Column::Run => lang.pick("run", "训练"),
            Column::Change => lang.pick("change", "改动"),
            Column::Steps => lang.pick("steps", "步数"),
            Column::Best => lang.pick("best val", "最佳验证"),
            Column::Forgetting => lang.pick("forget", "遗忘"),
            Column::Exam => Part::Exam.label(lang),
            Column::Interview => Part::Interview.label(lang),
            Column::Guard => Part::Guard.label(lang),
            Column::Perplexity => lang.pick("guard ppl", "常识困惑度"),
            Column::Runaways => lang.pick("runaway", "失控"),
            Column::Verdict => lang.pick("verdict", "结论"),
        }
    }
}

impl RunRow {
    /// One cell's text; `–` where there is nothing to show.
    pub fn cell(&self, column: Column, lang: Language) -> String {
        let none = || "–".to_string();
        let right = |part: Part| {
            self.tested
                .as_ref()
                .and_then(|t| t.part(part))
                .map_or_else(none, |p| format!("{}/{}", p.correct, p.items))
        };
        match column {
            Column::Run => self.id.clone(),
            Column::Change => self.change(lang),
            Column::Steps if self.steps_planned == 0 => none(),
            Column::Steps => {
                let early = match self.early_stopped {
                    true => lang.pick(" early", " 早停"),
                    false => "",
                };
                format!("{}/{}{early}", self.steps_done, self.steps_planned)
            }
            Column::Best => self
                .best
                .map_or_else(none, |b| format!("{:.3} @{}", b.eval_loss, b.step)),
            Column::Forgetting => self
                .probe
                .map_or_else(none, |p| format!("{:+.0}%", p.drift * 100.0)),
            Column::Exam => right(Part::Exam),
            Column::Interview => right(Part::Interview),
            Column::Guard => self
                .tested
                .as_ref()
                .and_then(|t| t.guard_kept)
                .map_or_else(none, |k| format!("{:.0}%", k * 100.0)),
            Column::Perplexity => self
                .tested
                .as_ref()
                .and_then(|t| t.guard_perplexity)
                .map_or_else(none, |p| format!("{:.2}→{:.2}", p.base, p.adapter)),
            Column::Runaways => self
                .tested
                .as_ref()
                .map_or_else(none, |t| t.runaways.to_string()),
            Column::Verdict => match &self.verdict {
                Verdict::Graduated => format!("✓ {}", lang.pick("graduated", "毕业")),
                Verdict::NotGraduated { failed } => {
                    let names: Vec<&str> = failed.iter().map(|p| p.label(lang)).collect();
                    format!("✗ {}", names.join(lang.pick(", ", "、")))
                }
                Verdict::NotTested => lang.pick("not tested", "未测试").to_string(),
            },
        }
    }

    /// "first run", or the keys changed (`learning_rate 2e-3→1e-3`) and why.
    fn change(&self, lang: Language) -> String {
        let mut parts = Vec::new();
        if let Some(from) = self
            .from
            .as_ref()
            .filter(|f| Some(*f) != self.previous.as_ref())
        {
            parts.push(match lang {
                Language::En => format!("from {from}:"),
                Language::Zh => format!("基于 {from}："),
            });
        }
        parts.push(match (&self.previous, &self.changes) {
            (None, _) => lang.pick("first run", "首次训练").to_string(),
            (Some(_), None) => lang.pick("preset unknown", "参数未知").to_string(),
            (Some(_), Some(c)) if c.is_empty() => lang.pick("no change", "无改动").to_string(),
            (Some(_), Some(c)) => c
                .iter()
                .map(|c| format!("{} {}→{}", c.key, c.from, c.to))
                .collect::<Vec<_>>()
                .join(", "),
        });
        if let Some(why) = &self.why {
            parts.push(format!("· {why}"));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::results::SideSummary;

    fn side(correct: usize, mean_score: f64, runaway: usize, ppl: Option<f64>) -> SideSummary {
        SideSummary {
            mean_score,
            correct,
            correct_rate: correct as f64 / 20.0,
            rouge_l: mean_score,
            exact: 0,
            format_ok: None,
            runaway,
            cut: 0,
            perplexity: ppl,
        }
    }

    /// An `eval.json` with 20 questions a part, the adapter right `exam` and `interview`
    /// times, keeping `guard_kept` of the base's guard score, with guard perplexity
    /// 6.97 → `ppl`; it passes the parts the demo's marks would pass.
    fn report(exam: usize, interview: usize, guard_kept: f64, ppl: f64) -> EvalReport {
        let mut r = crate::eval::testing::report_with(20, 20);
        for p in &mut r.parts {
            let first = p.items[0].clone();
            p.items.resize(20, first);
            let (correct, passed, base, mean) = match p.part {
                Part::Exam => (exam, exam >= 16, None, 0.6),
                Part::Interview => (interview, interview >= 12, None, 0.5),
                Part::Guard => (18, guard_kept >= 0.9, Some(6.97), 0.8 * guard_kept),
            };
            p.passed = passed;
            p.base = side(0, 0.8, 0, base);
            p.adapter = side(correct, mean, usize::from(p.part != Part::Interview), None);
            if p.part == Part::Guard {
                p.adapter.perplexity = Some(ppl);
                p.adapter.runaway = 2;
            }
        }
        r.graduated = r.parts.iter().all(|p| p.passed);
        r
    }

    /// `runs/<id>` with a preset, a log of `total` steps evaluated every 10 with the probe
    /// climbing by `probe_step` each time, and optionally an `eval.json` and `origin.json`.
    fn write_run(
        dir: &Path,
        id: &str,
        preset: &Preset,
        total: u64,
        probe_step: Option<f64>,
        eval: Option<&EvalReport>,
        origin: Option<&str>,
    ) {
        let run = runs_dir(dir).join(id);
        std::fs::create_dir_all(&run).unwrap();
        preset.save(&run.join(run_dir::PRESET)).unwrap();
        let mut log = String::new();
        for s in (0..=total).step_by(10) {
            let val = 3.0 - s as f64 / 100.0 + if s > 40 { 0.5 } else { 0.0 };
            let best = s.min(40);
            let probe = probe_step.map_or(String::new(), |d| {
                format!(",\"probe_ppl\":{}", 7.0 + d * (s / 10) as f64)
            });
            log.push_str(&format!(
                "{{\"current_steps\":{s},\"total_steps\":{total},\"loss\":2.0,\"eval_loss\":{val},\"best_step\":{best}{probe}}}\n"
            ));
        }
        std::fs::write(run.join(run_dir::LOG), log).unwrap();
        if let Some(r) = eval {
            r.save(&run.join(run_dir::EVAL)).unwrap();
        }
        if let Some(o) = origin {
            std::fs::write(run.join(run_dir::ORIGIN), o).unwrap();
        }
    }

    fn experiment(dir: &Path) {
        Experiment::init(dir, true, None).unwrap();
    }

    #[test]
    fn rows_in_run_order_with_changes_best_step_probe_and_verdict() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        experiment(dir);
        let first = Preset::default();
        let mut second = first.clone();
        second.learning_rate = 2.5e-5;
        let mut tenth = second.clone();
        tenth.lora_rank = 4;
        // run-10 is written first: the order comes from the numbers, not the file system.
        write_run(dir, "run-10", &tenth, 30, None, None, None);
        write_run(
            dir,
            "run-1",
            &first,
            60,
            Some(0.5),
            Some(&report(12, 9, 0.7, 14.76)),
            None,
        );
        write_run(
            dir,
            "run-2",
            &second,
            60,
            Some(0.05),
            Some(&report(17, 13, 0.95, 7.4)),
            Some(r#"{"from": "run-1", "changes": [], "why": "lower the learning rate"}"#),
        );
        let runs = read(dir).unwrap();
        let ids: Vec<&str> = runs.iter().map(|r| r.row.id.as_str()).collect();
        assert_eq!(ids, ["run-1", "run-2", "run-10"]);
        let cells = |i: usize| -> Vec<String> {
            Column::ALL
                .iter()
                .map(|&c| runs[i].row.cell(c, Language::En))
                .collect()
        };
        assert_eq!(
            cells(0),
            [
                "run-1",
                "first run",
                "60/60",
                "2.600 @40",
                "+43%",
                "12/20",
                "9/20",
                "70%",
                "6.97→14.76",
                "3",
                "✗ exam, interview, guard"
            ]
        );
        assert_eq!(
            cells(1),
            [
                "run-2",
                "learning_rate 5e-5→2.5e-5 · lower the learning rate",
                "60/60",
                "2.600 @40",
                "+4%",
                "17/20",
                "13/20",
                "95%",
                "6.97→7.40",
                "3",
                "✓ graduated"
            ]
        );
        assert_eq!(cells(2)[1], "lora_rank 8→4");
        assert_eq!(cells(2)[3], "2.700 @30");
        assert_eq!(cells(2)[4], "–");
        assert_eq!(cells(2)[10], "not tested");
        assert!(runs[0].row.probe.unwrap().forgetting());
        assert!(!runs[1].row.probe.unwrap().forgetting());
        assert_eq!(runs[0].log.probe.len(), 7);
        assert_eq!(
            runs[0].row.cell(Column::Verdict, Language::Zh),
            "✗ 笔试、面试、常识"
        );
        assert_eq!(runs[2].row.cell(Column::Verdict, Language::Zh), "未测试");
    }

    #[test]
    fn origin_from_another_run_missing_presets_and_early_stops_are_said() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        experiment(dir);
        let p = Preset::default();
        write_run(dir, "run-1", &p, 20, None, None, None);
        write_run(dir, "run-2", &p, 20, None, None, None);
        write_run(
            dir,
            "run-3",
            &p,
            20,
            None,
            None,
            Some(r#"{"from": "run-1"}"#),
        );
        std::fs::remove_file(runs_dir(dir).join("run-2").join(run_dir::PRESET)).unwrap();
        let log = runs_dir(dir).join("run-1").join(run_dir::LOG);
        let mut text = std::fs::read_to_string(&log).unwrap();
        text.push_str("{\"current_steps\":20,\"total_steps\":60,\"early_stopped\":true}\n");
        std::fs::write(&log, text).unwrap();
        let runs = read(dir).unwrap();
        assert_eq!(runs[0].row.cell(Column::Steps, Language::En), "20/60 early");
        assert_eq!(runs[0].row.cell(Column::Steps, Language::Zh), "20/60 早停");
        assert_eq!(
            runs[1].row.cell(Column::Change, Language::En),
            "preset unknown"
        );
        assert_eq!(
            runs[2].row.cell(Column::Change, Language::En),
            "from run-1: preset unknown"
        );
        assert_eq!(runs[0].row.cell(Column::Exam, Language::En), "–");
    }

    #[test]
    fn bad_input_names_the_folder_or_file() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = format!("{:#}", read(&missing).unwrap_err());
        assert!(err.contains("nope: no such folder"), "{err}");
        let err = format!("{:#}", read(tmp.path()).unwrap_err());
        assert!(err.contains("experiment.toml"), "{err}");
        experiment(tmp.path());
        assert!(read(tmp.path()).unwrap().is_empty());
        write_run(
            tmp.path(),
            "run-1",
            &Preset::default(),
            10,
            None,
            None,
            None,
        );
        let eval = runs_dir(tmp.path()).join("run-1").join(run_dir::EVAL);
        std::fs::write(&eval, "{\"version\": 1").unwrap();
        let err = format!("{:#}", read(tmp.path()).unwrap_err());
        assert!(err.contains("run-1/eval.json"), "{err}");
        std::fs::remove_file(&eval).unwrap();
        let origin = runs_dir(tmp.path()).join("run-1").join(run_dir::ORIGIN);
        std::fs::write(&origin, "[1]").unwrap();
        let err = format!("{:#}", read(tmp.path()).unwrap_err());
        assert!(err.contains("run-1/origin.json"), "{err}");
    }
}
