//! The experiment on disk: goal, data, preset choice and plan state, in one
//! `experiment.toml` beside `data/` and `runs/`.
//!
//! - [`goal`]: the goal statement and its lint;
//! - [`decide`]: which card to play (LoRA, RAG, LoRA+RAG, full);
//! - [`plan`]: the two-week plan and what ticks it;
//! - [`date`]: calendar dates for the plan (a leaf module, re-exported).

pub use crate::date;
pub mod decide;
mod edit;
pub mod goal;
pub mod plan;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::run_dir::{self, RunDir};
use crate::preset::{file, Preset};
pub use date::Date;
pub use decide::{recommend, Answers, Card, Recommendation};
pub use goal::{lint, passes, Goal, LintFinding, PassMarks, Purpose, Severity};
pub use plan::{detect, ExperimentFacts, ItemStatus, PlanItem, PlanState, Step, PLAN};

/// The file that makes a folder an experiment.
pub const FILE_NAME: &str = "experiment.toml";
/// The preset a new experiment uses: the CPU demo preset, the one that runs anywhere.
pub const DEFAULT_PRESET: &str = "smollm2-cpu";
/// Where a new experiment expects its records, relative to the experiment folder.
pub const DEFAULT_DATASET: &str = "data/records.jsonl";

/// The contents of `experiment.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Experiment {
    /// Language of the cockpit's messages.
    pub language: Language,
    /// The records file, relative to the experiment folder.
    pub dataset: String,
    /// What the fine-tune is for and how it will be judged.
    pub goal: Goal,
    /// Which preset trains it, and the keys changed from it.
    pub preset: PresetChoice,
    /// The two-week plan's start and manual ticks.
    pub plan: PlanState,
    /// How much of the knowledge base goes before a question (the RAG card); written only
    /// when changed from the defaults.
    #[serde(skip_serializing_if = "crate::rag::Settings::is_default")]
    pub rag: crate::rag::Settings,
}

/// User-facing language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Chinese.
    Zh,
}

impl Language {
    /// The text for this language out of an English/Chinese pair.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Language::En => en,
            Language::Zh => zh,
        }
    }
}

/// A preset by name (built-in or `presets/<name>.toml`) or path, plus per-experiment changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresetChoice {
    /// A built-in name, a name under `<experiment>/presets/`, or a `.toml` path relative to
    /// the experiment folder (see [`Preset::resolve`]).
    pub name: String,
    /// Keys changed from that preset, e.g. `learning_rate = 1e-4`.
    pub overrides: toml::Table,
}

impl Default for PresetChoice {
    fn default() -> Self {
        PresetChoice {
            name: DEFAULT_PRESET.into(),
            overrides: toml::Table::new(),
        }
    }
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            language: Language::En,
            dataset: DEFAULT_DATASET.into(),
            goal: Goal::default(),
            preset: PresetChoice::default(),
            plan: PlanState::default(),
            rag: crate::rag::Settings::default(),
        }
    }
}

impl Experiment {
    /// A new experiment whose plan starts on `start`; `demo` fills in the demo's goal.
    pub fn new(demo: bool, start: Date) -> Experiment {
        Experiment {
            goal: if demo { Goal::demo() } else { Goal::default() },
            plan: PlanState::starting(start),
            rag: if demo {
                crate::rag::Settings::DEMO
            } else {
                crate::rag::Settings::default()
            },
            ..Experiment::default()
        }
    }

    /// Reads `<dir>/experiment.toml`; errors name the file, line and key.
    pub fn load(dir: &Path) -> Result<Experiment> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            bail!(
                "{}: no such file: create the experiment with `tunedeck init {}`",
                path.display(),
                dir.display()
            );
        }
        file::read_toml(&path)
    }

    /// The `[rag]` settings of the experiment in `dir`; the defaults when `dir` is a bare
    /// knowledge-base folder without an experiment.toml.
    pub fn rag_settings(dir: &Path) -> Result<crate::rag::Settings> {
        if dir.join(FILE_NAME).is_file() {
            Ok(Experiment::load(dir)?.rag)
        } else {
            Ok(crate::rag::Settings::default())
        }
    }

    /// Writes `<dir>/experiment.toml` atomically. The file is edited in place: the user's
    /// comments, blank lines and key order survive, and only changed values are rewritten
    /// (a file that no longer parses as TOML is replaced whole).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE_NAME);
        let body = toml::to_string(self).context("cannot serialize the experiment")?;
        let fresh = format!(
            "# A tunedeck experiment: edit by hand, or open the folder in the cockpit.\n\n{body}"
        );
        let old = std::fs::read_to_string(&path).ok();
        let text = match old.as_deref().map(str::parse::<toml_edit::DocumentMut>) {
            Some(Ok(mut doc)) => {
                let new: toml_edit::DocumentMut = body
                    .parse()
                    .context("the serialized experiment is not TOML")?;
                edit::update_table(doc.as_table_mut(), new.as_table());
                doc.to_string()
            }
            _ => fresh,
        };
        crate::atomic::write(&path, text.as_bytes())
    }

    /// Creates an experiment in `dir` (made if missing): `experiment.toml`, `data/`, `runs/`.
    /// `records`, when given, is copied to `data/records.jsonl` (the demo passes the bundled
    /// `datasets/security-review/records.jsonl`). The plan starts today (UTC).
    /// Refuses to touch a folder that already holds an experiment.
    pub fn init(dir: &Path, demo: bool, records: Option<&Path>) -> Result<Experiment> {
        let path = dir.join(FILE_NAME);
        if path.exists() {
            bail!(
                "{}: an experiment already exists here: open it with `tunedeck open {}`, or choose a new folder",
                path.display(),
                dir.display()
            );
        }
        for sub in [data_dir(dir), runs_dir(dir)] {
            std::fs::create_dir_all(&sub)
                .with_context(|| format!("{}: cannot create the folder", sub.display()))?;
        }
        let experiment = Experiment::new(demo, Date::today_utc());
        if let Some(source) = records {
            let target = experiment.dataset_path(dir);
            std::fs::copy(source, &target).with_context(|| {
                format!(
                    "{}: cannot copy the records to {}",
                    source.display(),
                    target.display()
                )
            })?;
        }
        // Written last: a failed copy leaves no experiment.toml, so init can simply be rerun.
        experiment.save(dir)?;
        Ok(experiment)
    }

    /// The records file.
    pub fn dataset_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.dataset)
    }

    /// The chosen preset with this experiment's overrides applied, validated, and where it
    /// came from (for messages and the run's record).
    pub fn resolve_preset(&self, dir: &Path) -> Result<(Preset, String)> {
        let file = dir.join(FILE_NAME);
        let (mut preset, from) = Preset::resolve(&self.preset.name, dir).with_context(|| {
            format!(
                "{}: [preset] name = \"{}\"",
                file.display(),
                self.preset.name
            )
        })?;
        preset
            .apply_overrides(&self.preset.overrides)
            .map_err(|e| anyhow::anyhow!("{} [preset.overrides]: {e}", file.display()))?;
        let origin = format!("{from} with the overrides in {}", file.display());
        Ok((preset.checked(&origin)?, from))
    }

    /// What the files under `dir` show, for the plan's automatic ticks. `record_count` comes
    /// from the dataset checker (this layer does not parse records). Missing folders simply
    /// mean "not yet".
    pub fn facts(&self, dir: &Path, record_count: usize) -> ExperimentFacts {
        let data = data_dir(dir);
        let runs = run_dir::list(&runs_dir(dir));
        let any_run_has = |file: &dyn Fn(&RunDir) -> PathBuf| runs.iter().any(|r| file(r).exists());
        ExperimentFacts {
            goal_passes_lint: passes(&self.goal),
            record_count,
            split_done: ["train.jsonl", "val.jsonl", "test.jsonl"]
                .iter()
                .all(|f| data.join(f).is_file()),
            run_started: any_run_has(&|run| run.log()),
            run_finished: any_run_has(&|run| run.adapter_weights()),
            eval_done: any_run_has(&|run| run.eval()),
            report_written: any_run_has(&|run| run.report()),
            knowledge_base_built: dir.join("rag/manifest.json").is_file(),
        }
    }
}

/// `<dir>/data`: the records and their split.
pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// `<dir>/runs`: one folder per training run.
pub fn runs_dir(dir: &Path) -> PathBuf {
    dir.join("runs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_creates_the_layout_and_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("exp");
        let records = tmp.path().join("records.jsonl");
        std::fs::write(&records, "{\"instruction\":\"a\",\"output\":\"b\"}\n").unwrap();
        let made = Experiment::init(&dir, true, Some(&records)).unwrap();
        assert!(dir.join("data").is_dir() && dir.join("runs").is_dir());
        assert_eq!(
            std::fs::read(dir.join("data/records.jsonl")).unwrap(),
            std::fs::read(&records).unwrap()
        );
        assert_eq!(made.preset.name, "smollm2-cpu");
        assert!(passes(&made.goal));
        assert_eq!(Experiment::load(&dir).unwrap(), made);

        let e = Experiment::init(&dir, false, None).unwrap_err().to_string();
        assert!(
            e.contains("experiment.toml: an experiment already exists here"),
            "{e}"
        );
        assert_eq!(Experiment::load(&dir).unwrap(), made);
    }

    #[test]
    fn init_without_demo_leaves_the_goal_to_write() {
        let tmp = tempfile::tempdir().unwrap();
        let made = Experiment::init(tmp.path(), false, None).unwrap();
        assert_eq!(made.goal, Goal::default());
        assert!(!passes(&made.goal));
        assert!(made.plan.start.is_some());
    }

    #[test]
    fn a_failed_copy_names_the_source_and_leaves_no_experiment() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope.jsonl");
        let e = Experiment::init(tmp.path(), true, Some(&missing))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.jsonl: cannot copy the records"), "{e}");
        assert!(!tmp.path().join(FILE_NAME).exists());
    }

    #[test]
    fn load_errors_say_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Experiment::load(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("no such file: create the experiment with `tunedeck init"),
            "{e}"
        );
        std::fs::write(
            tmp.path().join(FILE_NAME),
            "language = \"en\"\n[goal]\nstatment = \"x\"\n",
        )
        .unwrap();
        let e = Experiment::load(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("experiment.toml:3: unknown field `statment`"),
            "{e}"
        );
        assert!(e.contains("did you mean `statement`?"), "{e}");
        std::fs::write(tmp.path().join(FILE_NAME), "language = \"fr\"\n").unwrap();
        let e = Experiment::load(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("unknown variant `fr`, expected `en` or `zh`"),
            "{e}"
        );
    }

    #[test]
    fn hand_written_file_with_overrides_resolves_the_preset() {
        let tmp = tempfile::tempdir().unwrap();
        let text = r#"
language = "zh"
dataset = "data/mine.jsonl"

[goal]
statement = "客服回复助手：按公司话术回答退货问题，测试集上 90% 的回答格式正确"
purpose = "specialised_task"
output_format = "先一句结论，再列出步骤"

[preset]
name = "starter"
[preset.overrides]
learning_rate = 1e-4
num_train_epochs = 2

[plan]
start = 2025-03-24
ticks = ["goal"]
"#;
        std::fs::write(tmp.path().join(FILE_NAME), text).unwrap();
        let exp = Experiment::load(tmp.path()).unwrap();
        assert_eq!(exp.language, Language::Zh);
        assert!(passes(&exp.goal));
        assert_eq!(
            exp.dataset_path(tmp.path()),
            tmp.path().join("data/mine.jsonl")
        );
        let (preset, from) = exp.resolve_preset(tmp.path()).unwrap();
        assert_eq!(from, "built-in preset starter");
        assert_eq!((preset.learning_rate, preset.num_train_epochs), (1e-4, 2.0));
        assert_eq!(preset.lora_rank, 8);
        // Written before the decision helper's answers were saved: all "no".
        assert_eq!(exp.goal.decision, Answers::default());

        exp.save(tmp.path()).unwrap();
        assert_eq!(Experiment::load(tmp.path()).unwrap(), exp);
    }

    #[test]
    fn decision_answers_are_kept_in_the_goal_section() {
        let tmp = tempfile::tempdir().unwrap();
        let mut exp = Experiment::new(true, Date::parse("2025-03-24").unwrap());
        exp.goal.decision.fresh_facts = true;
        exp.goal.decision.fixed_behaviour = true;
        exp.save(tmp.path()).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(FILE_NAME)).unwrap();
        assert!(
            text.contains("[goal.decision]\nfresh_facts = true\nfixed_behaviour = true\n"),
            "{text}"
        );
        let back = Experiment::load(tmp.path()).unwrap();
        assert_eq!(recommend(&back.goal.decision).card, Card::LoraRag);

        let typo = text.replace("fresh_facts", "fresh_fact");
        std::fs::write(tmp.path().join(FILE_NAME), typo).unwrap();
        let e = Experiment::load(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("unknown field `fresh_fact`"), "{e}");
    }

    #[test]
    fn bad_overrides_name_the_experiment_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut exp = Experiment::new(true, Date::parse("2025-03-24").unwrap());
        exp.preset
            .overrides
            .insert("learning_rate".into(), toml::Value::Float(-1.0));
        let e = exp.resolve_preset(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("built-in preset smollm2-cpu with the overrides in"),
            "{e}"
        );
        assert!(e.contains("learning_rate = -1 must be > 0"), "{e}");
        exp.preset.overrides.clear();
        exp.preset
            .overrides
            .insert("lr".into(), toml::Value::Float(1e-4));
        let e = exp.resolve_preset(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("experiment.toml [preset.overrides]: unknown preset key `lr`"),
            "{e}"
        );
        exp.preset = PresetChoice {
            name: "nope".into(),
            ..PresetChoice::default()
        };
        let e = format!("{:#}", exp.resolve_preset(tmp.path()).unwrap_err());
        assert!(
            e.contains("[preset] name = \"nope\": no built-in preset `nope`"),
            "{e}"
        );
    }

    #[test]
    fn facts_follow_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let exp = Experiment::init(dir, true, None).unwrap();
        let facts = exp.facts(dir, 12);
        assert!(facts.goal_passes_lint && !facts.split_done && !facts.run_started);
        assert_eq!(facts.record_count, 12);
        for f in ["train.jsonl", "val.jsonl", "test.jsonl"] {
            std::fs::write(dir.join("data").join(f), "").unwrap();
        }
        let run = dir.join("runs/run-1");
        std::fs::create_dir_all(run.join("adapter")).unwrap();
        std::fs::write(run.join("trainer_log.jsonl"), "").unwrap();
        let facts = exp.facts(dir, 12);
        assert!(facts.split_done && facts.run_started && !facts.run_finished);
        std::fs::write(run.join("adapter/adapter_model.safetensors"), "").unwrap();
        std::fs::write(run.join("eval.json"), "{}").unwrap();
        std::fs::write(run.join("report.md"), "").unwrap();
        let facts = exp.facts(dir, 12);
        assert!(facts.run_finished && facts.eval_done && facts.report_written);
    }

    #[test]
    fn language_picks_the_text() {
        assert_eq!(Language::Zh.pick("hello", "你好"), "你好");
        assert_eq!(Language::default().pick("hello", "你好"), "hello");
    }
}
