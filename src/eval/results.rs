//! What an evaluation found, as stored in `runs/<id>/eval.json`: settings, the unsealing of
//! the test split, every answer with its scores, each part's verdict and the blind judging.

use super::blind::BlindSession;
use super::metrics::Repetition;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the `eval.json` layout; bumped when a field changes meaning.
pub const VERSION: u32 = 1;

/// The three parts of the graduation test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Questions from the training records: did it learn the book?
    Exam,
    /// The sealed test split: does it generalise to unseen in-domain questions?
    Interview,
    /// Everyday questions unrelated to the task: has it kept its general knowledge?
    Guard,
}

impl Part {
    /// The parts in the order they run and are shown.
    pub const ALL: [Part; 3] = [Part::Exam, Part::Interview, Part::Guard];

    /// `exam`, `interview` or `guard`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Exam => "exam",
            Part::Interview => "interview",
            Part::Guard => "guard",
        }
    }

    /// Its name in the interface language.
    pub fn label(self, lang: crate::experiment::Language) -> &'static str {
        match self {
            Part::Exam => lang.pick("exam", "笔试"),
            Part::Interview => lang.pick("interview", "面试"),
            Part::Guard => lang.pick("guard", "常识"),
        }
    }

    /// The question the part answers.
    pub fn question(self) -> &'static str {
        match self {
            Part::Exam => "did it learn the material?",
            Part::Interview => "does it generalise to unseen in-domain questions?",
            Part::Guard => "has it kept its general knowledge?",
        }
    }
}

/// Which model answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The base model alone.
    Base,
    /// The base model with the adapter plugged in (or the fully fine-tuned model).
    Adapter,
}

/// Scores of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// ROUGE-L F1 against the reference.
    pub rouge_l: f64,
    /// Equal to the reference up to whitespace and case.
    pub exact: bool,
    /// Share of the record's `must_include` keywords present; absent when it lists none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<f64>,
    /// Matches the goal's format regex; absent when the goal sets none or for the guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_ok: Option<bool>,
    /// The runaway detector's measurements.
    pub repetition: Repetition,
    /// Looping or never closing its turn.
    pub runaway: bool,
    /// Generation was cut once the repetition detector saw the answer loop (so `runaway`).
    #[serde(default)]
    pub cut: bool,
    /// The item's score in [0, 1]: the keyword share when keywords are listed, else ROUGE-L.
    pub score: f64,
    /// Counts as a right answer under the part's rule (see `verdict::is_correct`).
    pub correct: bool,
    /// Perplexity of the reference answer under this model (guard only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perplexity: Option<f64>,
}

/// One model's answer to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The generated text.
    pub text: String,
    /// Tokens generated (without the end-of-turn token).
    pub tokens: usize,
    /// Generation closed its turn before the token limit.
    pub ended: bool,
    /// Its scores.
    pub scores: Scores,
}

/// One question with both answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Where the record is, e.g. `train.jsonl:12`.
    pub source: String,
    /// The user's turn as the models saw it.
    pub prompt: String,
    /// The reference answer.
    pub reference: String,
    /// The record's keyword rubric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must_include: Vec<String>,
    /// The base model's answer.
    pub base: Answer,
    /// The adapter's answer.
    pub adapter: Answer,
    /// ROUGE-L F1 of the adapter's answer against the base model's: 1 = unchanged.
    pub agreement: f64,
}

impl Item {
    /// The answer of one side.
    pub fn answer(&self, side: Side) -> &Answer {
        match side {
            Side::Base => &self.base,
            Side::Adapter => &self.adapter,
        }
    }
}

/// One side's totals over a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideSummary {
    /// Mean item score.
    pub mean_score: f64,
    /// Items answered correctly.
    pub correct: usize,
    /// `correct` / items.
    pub correct_rate: f64,
    /// Mean ROUGE-L F1.
    pub rouge_l: f64,
    /// Exact matches.
    pub exact: usize,
    /// Answers in the goal's format, when the part checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_ok: Option<usize>,
    /// Runaway answers.
    pub runaway: usize,
    /// Of those, answers cut short as soon as they looped.
    #[serde(default)]
    pub cut: usize,
    /// Geometric mean of the references' perplexities (guard only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perplexity: Option<f64>,
}

/// One part's results and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartResult {
    /// Which part.
    pub part: Part,
    /// The goal's pass mark for it.
    pub mark: f64,
    /// The pass rule, in words, with the mark filled in.
    pub rule: String,
    /// Whether the adapter passed.
    pub passed: bool,
    /// The base model's totals.
    pub base: SideSummary,
    /// The adapter's totals.
    pub adapter: SideSummary,
    /// Mean [`Item::agreement`]: how much the adapter's answers still resemble the base's.
    pub agreement: f64,
    /// Every question.
    pub items: Vec<Item>,
}

impl PartResult {
    /// One side's totals.
    pub fn summary(&self, side: Side) -> &SideSummary {
        match side {
            Side::Base => &self.base,
            Side::Adapter => &self.adapter,
        }
    }
}

/// How the answers were generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Chat template name.
    pub template: String,
    /// Token limit per answer.
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    /// Nucleus mass when sampling.
    pub top_p: f64,
    /// Seed of sampling and of the exam's sample of training records.
    pub seed: u64,
    /// Training records asked in the exam.
    pub exam_size: usize,
    /// Device the models ran on.
    pub device: String,
}

/// The record that the sealed test split was opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unsealing {
    /// The reason written to the log.
    pub reason: String,
    /// The log that holds the line.
    pub log: String,
    /// sha256 of the test file that was read.
    pub test_sha256: String,
}

/// Wall-clock figures of the evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds from the first answer to the last (model loading excluded).
    pub seconds: f64,
    /// Answers generated (both sides).
    pub answers: usize,
    /// Answers per minute.
    pub answers_per_minute: f64,
    /// Generated tokens per second.
    pub tokens_per_second: f64,
}

/// The whole `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// [`VERSION`].
    pub version: u32,
    /// When it ran, UTC, e.g. `2025-03-06T14:02:11Z`.
    pub created: String,
    /// The run evaluated, when it came from an experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Base model directory.
    pub model: String,
    /// Adapter (or fine-tuned model) directory.
    pub adapter: String,
    /// Split directory.
    pub data: String,
    /// Guard set file.
    pub guard: String,
    /// The goal's format regex, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Generation settings.
    pub settings: Settings,
    /// The test split's unsealing.
    pub unsealed: Unsealing,
    /// Exam, interview and guard, in that order.
    pub parts: Vec<PartResult>,
    /// All three parts passed.
    pub graduated: bool,
    /// Speed.
    pub timing: Timing,
    /// Blind A/B judging, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind: Option<BlindSession>,
    /// Earlier judging sessions of other pairs, kept when the judge switched pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_earlier: Vec<BlindSession>,
    /// The RAG card's 2×2 interview (`tunedeck eval --rag`), once run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rag: Option<super::rag::RagComparison>,
}

impl EvalReport {
    /// One part's results.
    pub fn part(&self, part: Part) -> Option<&PartResult> {
        self.parts.iter().find(|p| p.part == part)
    }

    /// The parts that did not pass, in report order.
    pub fn failed_parts(&self) -> Vec<Part> {
        self.parts
            .iter()
            .filter(|p| !p.passed)
            .map(|p| p.part)
            .collect()
    }

    /// Reads an `eval.json`.
    pub fn load(path: &Path) -> Result<EvalReport> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not an eval.json this tunedeck can read: run `tunedeck eval` again",
                path.display()
            )
        })
    }

    /// Writes it atomically (e.g. after blind judging).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::atomic::write_json(path, self)
    }
}

/// `2025-03-06T14:02:11Z` for the current time.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let date = crate::experiment::Date::from_unix_seconds(secs, 0);
    let t = secs.rem_euclid(86_400);
    format!("{date}T{:02}:{:02}:{:02}Z", t / 3600, t % 3600 / 60, t % 60)
}
