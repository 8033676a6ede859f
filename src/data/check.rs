//! `data check`: is this dataset ready for a first experiment?
//!
//! Errors are records that cannot train (unreadable, empty instruction or output). Warnings
//! are things worth a look: too few records, duplicates, near duplicates, records longer
//! than the cutoff. The report also gives token-length statistics and diversity figures.

use super::load::{load_lenient, plural, Dataset, Format, Loaded};
use super::record::{Example, Location};
use super::similar::{best_matches, normalise, shingles, words, NEAR_DUPLICATE};
use super::tokens::{record_tokens, TokenCounter};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// The method's guidance for a first experiment: 50–200 high-quality records.
pub const RECOMMENDED_RECORDS: (usize, usize) = (50, 200);

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The record cannot train as it is; `data check` fails.
    Error,
    /// Worth a look; `data check` still passes.
    Warning,
}

/// What kind of problem an issue is, for programs reading `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The record could not be read (bad JSON, wrong type, missing field).
    Unreadable,
    /// Empty or whitespace-only instruction.
    EmptyInstruction,
    /// Empty or whitespace-only output.
    EmptyOutput,
    /// Same record as an earlier one after normalisation.
    Duplicate,
    /// Prompt nearly the same as an earlier record's.
    NearDuplicate,
    /// Longer than the cutoff; training would truncate it.
    TooLong,
    /// Fewer records than a first experiment needs.
    FewRecords,
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// Machine-readable kind.
    pub kind: IssueKind,
    /// The record; `None` for the dataset as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Location>,
    /// The other record of a (near) duplicate pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<Location>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.at {
            Some(at) => write!(f, "{severity}: {at}: {}", self.message),
            None => write!(f, "{severity}: {}", self.message),
        }
    }
}

/// Where the record count stands against [`RECOMMENDED_RECORDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeVerdict {
    /// Fewer than 50.
    Below,
    /// 50 to 200.
    Within,
    /// More than 200: fine, but quality matters more than quantity.
    Above,
}

/// Record count against the guidance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeAdvice {
    /// Records that loaded.
    pub records: usize,
    /// Below, within or above 50–200.
    pub verdict: SizeVerdict,
    /// One sentence for the user.
    pub message: String,
}

/// Token lengths of whole records (all messages plus template overhead).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenStats {
    /// How tokens were counted ([`TokenCounter::describe`]).
    pub counted_by: String,
    /// Whether counts come from the model's tokenizer.
    pub exact: bool,
    /// Median record length.
    pub p50: usize,
    /// 95th percentile (nearest rank).
    pub p95: usize,
    /// Longest record.
    pub max: usize,
    /// Where the longest record is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longest: Option<Location>,
    /// The cutoff length compared against.
    pub cutoff: usize,
    /// Records longer than `cutoff`.
    pub truncated: usize,
}

/// How varied the instructions are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diversity {
    /// Distinct word bigrams over all instructions.
    pub distinct_bigrams: usize,
    /// All word bigrams over all instructions.
    pub total_bigrams: usize,
    /// `distinct_bigrams / total_bigrams` (1.0 when there are none): near 1 is varied,
    /// low values mean the same phrasing again and again.
    pub bigram_ratio: f64,
    /// Distinct first-three-words openings of instructions.
    pub distinct_openings: usize,
    /// The most frequent openings used more than once, most frequent first (at most 3).
    pub common_openings: Vec<Opening>,
}

/// An instruction opening and how many records use it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opening {
    /// The first three normalised words.
    pub words: String,
    /// Records starting with them.
    pub count: usize,
}

/// Everything `data check` found; `--json` prints it as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// What the user named.
    pub source: String,
    /// The file the locations refer to.
    pub file: String,
    /// Layout and schema.
    pub format: Format,
    /// Records that loaded.
    pub records: usize,
    /// Records that could not be read (each is also an error issue).
    pub unreadable: usize,
    /// Record count against the 50–200 guidance.
    pub size: SizeAdvice,
    /// Token-length statistics.
    pub tokens: TokenStats,
    /// Variety of instructions.
    pub diversity: Diversity,
    /// Error issues.
    pub errors: usize,
    /// Warning issues.
    pub warnings: usize,
    /// Every issue: dataset-wide first, then by position in the file.
    pub issues: Vec<Issue>,
}

impl CheckReport {
    /// The first error, if any: what a one-line failure message should name.
    pub fn first_error(&self) -> Option<&Issue> {
        self.issues.iter().find(|i| i.severity == Severity::Error)
    }
}

/// Loads `path` leniently and checks it.
pub fn check_path(path: &Path, counter: &dyn TokenCounter, cutoff: usize) -> Result<CheckReport> {
    check(&load_lenient(path)?, counter, cutoff)
}

/// Checks a loaded dataset; `cutoff` is the training sequence length in tokens.
pub fn check(loaded: &Loaded, counter: &dyn TokenCounter, cutoff: usize) -> Result<CheckReport> {
    let ds = &loaded.dataset;
    let mut issues: Vec<Issue> = loaded
        .rejected
        .iter()
        .map(|r| Issue {
            severity: Severity::Error,
            kind: IssueKind::Unreadable,
            at: Some(r.at),
            other: None,
            message: r.message.clone(),
        })
        .collect();
    let size = size_advice(ds.records.len());
    if size.verdict == SizeVerdict::Below {
        issues.push(Issue {
            severity: Severity::Warning,
            kind: IssueKind::FewRecords,
            at: None,
            other: None,
            message: size.message.clone(),
        });
    }
    issues.extend(empty_fields(ds));
    issues.extend(duplicates(ds));
    let tokens = token_stats(ds, counter, cutoff, &mut issues)?;
    // Dataset-wide issues first, then file order; errors before warnings on one record.
    issues.sort_by_key(|i| (i.at.map(|a| a.line), i.severity));
    let errors = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    Ok(CheckReport {
        source: ds.source.clone(),
        file: ds.file.display().to_string(),
        format: ds.format,
        records: ds.records.len(),
        unreadable: loaded.rejected.len(),
        size,
        tokens,
        diversity: diversity(ds.examples()),
        errors,
        warnings: issues.len() - errors,
        issues,
    })
}

fn size_advice(records: usize) -> SizeAdvice {
    let (low, high) = RECOMMENDED_RECORDS;
    let (verdict, message) = if records < low {
        (
            SizeVerdict::Below,
            format!(
                "{records} record{}: fewer than the {low}–{high} a first experiment needs; add \
                 varied, high-quality records (10 diverse good ones beat 1000 repetitive ones)",
                plural(records)
            ),
        )
    } else if records <= high {
        (
            SizeVerdict::Within,
            format!("{records} records: within the {low}–{high} a first experiment needs"),
        )
    } else {
        (
            SizeVerdict::Above,
            format!(
                "{records} records: more than the {low}–{high} a first experiment needs; fine, \
                 but quality beats quantity, so mind the duplicates and diversity"
            ),
        )
    };
    SizeAdvice {
        records,
        verdict,
        message,
    }
}

fn record_issue(severity: Severity, kind: IssueKind, at: Location, message: String) -> Issue {
    Issue {
        severity,
        kind,
        at: Some(at),
        other: None,
        message,
    }
}

fn empty_fields(ds: &Dataset) -> Vec<Issue> {
    let mut issues = Vec::new();
    for r in &ds.records {
        if r.example.instruction.trim().is_empty() {
            issues.push(record_issue(
                Severity::Error,
                IssueKind::EmptyInstruction,
                r.at,
                "empty instruction: write the task the model is asked to do".into(),
            ));
        }
        if r.example.output.trim().is_empty() {
            issues.push(record_issue(
                Severity::Error,
                IssueKind::EmptyOutput,
                r.at,
                "empty output: write the answer the model should learn".into(),
            ));
        }
    }
    issues
}

/// The whole record, normalised: equal keys mean duplicates.
fn duplicate_key(e: &Example) -> String {
    let mut parts = vec![normalise(e.system.as_deref().unwrap_or(""))];
    for (q, a) in &e.history {
        parts.push(normalise(q));
        parts.push(normalise(a));
    }
    parts.extend([&e.instruction, &e.input, &e.output].map(|t| normalise(t)));
    parts.join("\n")
}

/// Exact duplicates of whole records, then near duplicates of prompts among the rest; each
/// record is reported once, against the earliest record it repeats.
fn duplicates(ds: &Dataset) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut first_with_key: HashMap<String, usize> = HashMap::new();
    let mut repeated = vec![false; ds.records.len()];
    for (i, r) in ds.records.iter().enumerate() {
        let j = *first_with_key.entry(duplicate_key(&r.example)).or_insert(i);
        if j != i {
            repeated[i] = true;
            issues.push(Issue {
                other: Some(ds.records[j].at),
                ..record_issue(
                    Severity::Warning,
                    IssueKind::Duplicate,
                    r.at,
                    format!(
                        "duplicate of {} (ignoring case, spacing and punctuation): remove one",
                        ds.records[j].at
                    ),
                )
            });
        }
    }
    let prompts: Vec<String> = ds.examples().map(|e| normalise(&e.prompt())).collect();
    let sets: Vec<Vec<u64>> = prompts.iter().map(|p| shingles(p)).collect();
    let matches = best_matches(&sets, &sets, NEAR_DUPLICATE, |q, r| {
        r < q && !repeated[q] && !repeated[r]
    });
    for (i, m) in matches.into_iter().enumerate() {
        let Some((j, similarity)) = m else { continue };
        let (at, other) = (ds.records[i].at, ds.records[j].at);
        let message = if prompts[i] == prompts[j] {
            format!(
                "same prompt as {other} with a different answer: keep the better answer, or \
                 ask something different"
            )
        } else {
            format!(
                "near duplicate of {other} (prompts {:.0}% similar): rewrite one to cover \
                 something new, or remove it",
                100.0 * similarity
            )
        };
        issues.push(Issue {
            other: Some(other),
            ..record_issue(Severity::Warning, IssueKind::NearDuplicate, at, message)
        });
    }
    issues
}

fn token_stats(
    ds: &Dataset,
    counter: &dyn TokenCounter,
    cutoff: usize,
    issues: &mut Vec<Issue>,
) -> Result<TokenStats> {
    let about = if counter.exact() { "" } else { "about " };
    let mut lengths = Vec::with_capacity(ds.records.len());
    for r in &ds.records {
        let n = record_tokens(&r.example, counter)
            .with_context(|| format!("{}: cannot count tokens", ds.at(&r.at)))?;
        if n > cutoff {
            issues.push(record_issue(
                Severity::Warning,
                IssueKind::TooLong,
                r.at,
                format!(
                    "{about}{n} tokens, over the cutoff of {cutoff}: training would cut off the \
                     end of the answer; shorten the record or raise cutoff_len"
                ),
            ));
        }
        lengths.push((n, r.at));
    }
    let longest = lengths
        .iter()
        .max_by_key(|(n, at)| (*n, std::cmp::Reverse(at.line)));
    let mut sorted: Vec<usize> = lengths.iter().map(|(n, _)| *n).collect();
    sorted.sort_unstable();
    Ok(TokenStats {
        counted_by: counter.describe(),
        exact: counter.exact(),
        p50: percentile(&sorted, 50),
        p95: percentile(&sorted, 95),
        max: sorted.last().copied().unwrap_or(0),
        longest: longest.map(|(_, at)| *at),
        cutoff,
        truncated: sorted.iter().filter(|&&n| n > cutoff).count(),
    })
}

/// Nearest-rank percentile of sorted values; 0 for none.
fn percentile(sorted: &[usize], p: usize) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Diversity figures of the instructions.
pub fn diversity<'a>(examples: impl Iterator<Item = &'a Example>) -> Diversity {
    let mut bigrams: HashSet<(String, String)> = HashSet::new();
    let mut total_bigrams = 0;
    let mut openings: HashMap<String, usize> = HashMap::new();
    for e in examples {
        let w = words(&e.instruction);
        for pair in w.windows(2) {
            total_bigrams += 1;
            bigrams.insert((pair[0].clone(), pair[1].clone()));
        }
        if !w.is_empty() {
            *openings.entry(w[..w.len().min(3)].join(" ")).or_default() += 1;
        }
    }
    let mut common: Vec<Opening> = openings
        .iter()
        .filter(|(_, &count)| count > 1)
        .map(|(words, &count)| Opening {
            words: words.clone(),
            count,
        })
        .collect();
    common.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.words.cmp(&b.words)));
    common.truncate(3);
    Diversity {
        distinct_bigrams: bigrams.len(),
        total_bigrams,
        bigram_ratio: if total_bigrams == 0 {
            1.0
        } else {
            bigrams.len() as f64 / total_bigrams as f64
        },
        distinct_openings: openings.len(),
        common_openings: common,
    }
}

/// The readable report `data check` prints.
impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({})", self.source, self.format)?;
        match self.size.verdict {
            // The warning below says it, with what to do.
            SizeVerdict::Below => writeln!(
                f,
                "  records    {} (fewer than the {}–{} a first experiment needs)",
                self.records, RECOMMENDED_RECORDS.0, RECOMMENDED_RECORDS.1
            )?,
            _ => writeln!(f, "  records    {}", self.size.message)?,
        }
        if self.unreadable > 0 {
            writeln!(
                f,
                "             {} more could not be read (listed below)",
                self.unreadable
            )?;
        }
        let t = &self.tokens;
        let longest = t.longest.map(|a| format!(" at {a}")).unwrap_or_default();
        writeln!(
            f,
            "  tokens     p50 {}, p95 {}, max {}{longest}; {} over the cutoff of {}",
            t.p50, t.p95, t.max, t.truncated, t.cutoff
        )?;
        writeln!(f, "             counted by {}", t.counted_by)?;
        let d = &self.diversity;
        write!(
            f,
            "  diversity  {:.2} distinct instruction bigrams ({} of {}); {} distinct openings",
            d.bigram_ratio, d.distinct_bigrams, d.total_bigrams, d.distinct_openings
        )?;
        let common: Vec<String> = d
            .common_openings
            .iter()
            .map(|o| format!("\"{}\" ×{}", o.words, o.count))
            .collect();
        if !common.is_empty() {
            write!(f, "; most used: {}", common.join(", "))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  issues     {} error{}, {} warning{}",
            self.errors,
            plural(self.errors),
            self.warnings,
            plural(self.warnings)
        )?;
        for issue in &self.issues {
            writeln!(f, "    {issue}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::record::Record;
    use crate::data::schema::SchemaKind;
    use crate::data::ApproxCounter;

    fn dataset(rows: &[(&str, &str, &str)]) -> Loaded {
        let records = rows
            .iter()
            .enumerate()
            .map(|(i, (instruction, input, output))| Record {
                at: Location {
                    line: i + 1,
                    record: None,
                },
                example: Example {
                    instruction: instruction.to_string(),
                    input: input.to_string(),
                    output: output.to_string(),
                    ..Example::default()
                },
            })
            .collect();
        Loaded {
            dataset: Dataset {
                source: "d.jsonl".into(),
                file: "d.jsonl".into(),
                format: Format {
                    layout: crate::data::Layout::JsonLines,
                    schema: SchemaKind::Alpaca,
                },
                records,
            },
            rejected: Vec::new(),
        }
    }

    fn kinds(report: &CheckReport) -> Vec<(Option<usize>, IssueKind, Option<usize>)> {
        report
            .issues
            .iter()
            .map(|i| (i.at.map(|a| a.line), i.kind, i.other.map(|a| a.line)))
            .collect()
    }

    #[test]
    fn empty_fields_are_errors_and_duplicates_warnings() {
        let loaded = dataset(&[
            ("Review this Java method for SQL injection and say how to fix it with a prepared statement.", "", "Use prepared statements."),
            ("  ", "", "x"),
            ("Explain cross-site scripting.", "", " \n"),
            ("review this java method for SQL injection, and say how to fix it with a prepared statement", "", "use prepared statements"),
            ("Review this Java method for SQL injection and say how to fix it with a prepared statement!", "", "Escape quotes."),
            ("Review this Java method for SQL injection and say how to fix it using a prepared statement.", "", "Bind parameters."),
        ]);
        let report = check(&loaded, &ApproxCounter, 2048).unwrap();
        assert_eq!(
            kinds(&report),
            [
                (None, IssueKind::FewRecords, None),
                (Some(2), IssueKind::EmptyInstruction, None),
                (Some(3), IssueKind::EmptyOutput, None),
                (Some(4), IssueKind::Duplicate, Some(1)),
                (Some(5), IssueKind::NearDuplicate, Some(1)),
                (Some(6), IssueKind::NearDuplicate, Some(1)),
            ]
        );
        assert_eq!((report.errors, report.warnings), (2, 4));
        assert!(report.issues[4]
            .message
            .starts_with("same prompt as line 1"));
        assert!(report.issues[5]
            .message
            .starts_with("near duplicate of line 1 (prompts"));
        assert_eq!(
            report.first_error().unwrap().kind,
            IssueKind::EmptyInstruction
        );
    }

    #[test]
    fn token_stats_use_the_counter_and_flag_long_records() {
        let long = "x".repeat(400); // 100 approximate tokens
        let loaded = dataset(&[("a", "", "b"), ("c", "", &long), ("写一个函数", "", "好")]);
        let report = check(&loaded, &ApproxCounter, 50).unwrap();
        // 2 messages × 5 template tokens + content tokens.
        assert_eq!((report.tokens.p50, report.tokens.max), (16, 111));
        assert_eq!(report.tokens.p95, 111);
        assert_eq!(report.tokens.truncated, 1);
        assert_eq!(report.tokens.longest.unwrap().line, 2);
        assert!(!report.tokens.exact);
        assert!(report.issues.iter().any(|i| i.kind == IssueKind::TooLong
            && i.message
                .starts_with("about 111 tokens, over the cutoff of 50")));
    }

    #[test]
    fn size_guidance_is_a_warning_only_below_fifty() {
        assert_eq!(size_advice(49).verdict, SizeVerdict::Below);
        assert_eq!(size_advice(50).verdict, SizeVerdict::Within);
        assert_eq!(size_advice(200).verdict, SizeVerdict::Within);
        assert_eq!(size_advice(201).verdict, SizeVerdict::Above);
    }

    #[test]
    fn diversity_counts_bigrams_and_openings() {
        let loaded = dataset(&[
            ("Write a unit test for parse", "", "o"),
            ("Write a unit test for split", "", "o"),
            ("Explain the bug", "", "o"),
        ]);
        let d = diversity(loaded.dataset.examples());
        // 5 + 5 + 2 bigrams; "write a", "a unit", "unit test", "test for" repeat.
        assert_eq!((d.distinct_bigrams, d.total_bigrams), (8, 12));
        assert_eq!(d.distinct_openings, 2);
        assert_eq!(
            d.common_openings,
            [Opening {
                words: "write a unit".into(),
                count: 2
            }]
        );
    }

    #[test]
    fn percentile_is_nearest_rank() {
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), 2);
        let hundred: Vec<usize> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 95), 95);
    }

    #[test]
    fn report_serialises_for_json_output() {
        let report = check(&dataset(&[("a", "", "")]), &ApproxCounter, 2048).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["issues"][1]["severity"], "error");
        assert_eq!(json["issues"][1]["kind"], "empty_output");
        assert_eq!(json["issues"][1]["at"]["line"], 1);
        assert_eq!(json["format"]["schema"], "alpaca");
        assert!(report.to_string().contains("1 error, 1 warning"));
    }
}
