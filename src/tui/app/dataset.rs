//! Dataset pane state: the records with their check issues, the search, and the split.
//!
//! Records are checked with the approximate token counter: no tokenizer is loaded. Once the
//! cockpit runs, reloading and splitting happen on the jobs thread, so a file of thousands of
//! records never freezes the screen; the pane shows how far the job is. The sealed test part
//! is only ever described by its manifest (count and sha256).

use std::path::Path;

use super::input::PromptKind;
use super::App;
use crate::data::inspect::{self, inspect, Inspection, Stage};
use crate::data::{CheckReport, Dataset, Ratio, Severity, SplitManifest, SplitOutcome};
use crate::experiment::{data_dir, Experiment, Language};
use crate::preset::Preset;
use crate::tui::action::Action;
use crate::tui::loss::Mood;
use crate::tui::text::one_line;
use crate::worker::jobs::{JobCommand, JobEvent, JobId, SplitFailure};

/// The split's seed, the same default as `tunedeck data split`.
pub const SPLIT_SEED: u64 = 42;

/// One line of the record list: a record, or a line that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line in the records file.
    pub line: usize,
    /// The instruction on one line (or why the line could not be read).
    pub title: String,
    /// Index into the dataset's records; `None` for an unreadable line.
    pub record: Option<usize>,
    /// The worst issue on this row.
    pub severity: Option<Severity>,
    /// The check's messages for this row.
    pub issues: Vec<String>,
    /// The record went into the sealed test part: its text is never shown.
    pub sealed: bool,
}

/// What the jobs thread is doing for the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataWork {
    /// Reloading and checking the records, at this stage.
    Checking(Stage),
    /// Writing the split.
    Splitting,
}

/// The pane's job on the jobs thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataJob {
    /// The job.
    pub job: JobId,
    /// What it is doing.
    pub work: DataWork,
}

/// Everything the dataset pane shows.
#[derive(Debug, Clone, Default)]
pub struct DatasetState {
    /// The records file as `experiment.toml` names it.
    pub file: String,
    /// The records, if the file loaded.
    pub dataset: Option<Dataset>,
    /// The check's report.
    pub report: Option<CheckReport>,
    /// Why the file did not load.
    pub error: Option<String>,
    /// List rows in file order.
    pub rows: Vec<Row>,
    /// Each record's approximate token count, uncut.
    pub tokens: Vec<usize>,
    /// Selected row.
    pub selected: usize,
    /// Detail view scroll, in lines.
    pub scroll: u16,
    /// The search text.
    pub query: String,
    /// Rows matching the search.
    pub matches: Vec<usize>,
    /// The split on disk.
    pub split: Option<SplitManifest>,
    /// Notes on the split: stale, leaks, problems.
    pub split_notes: Vec<String>,
    /// The reload or split running on the jobs thread.
    pub job: Option<DataJob>,
    source_sha256: Option<String>,
}

impl DatasetState {
    /// Loads and checks the experiment's records and reads its split manifest, here and now
    /// (opening the cockpit, before it draws).
    pub fn load(exp: &Experiment, dir: &Path, preset: &Preset) -> DatasetState {
        let (path, split_dir, cutoff) = sources(exp, dir, preset);
        DatasetState::shown(
            &exp.dataset,
            inspect(&path, &split_dir, cutoff, &mut |_| {}),
        )
    }

    /// The pane's state for `file` (as `experiment.toml` names it) from its inspection.
    pub fn shown(file: &str, inspection: Inspection) -> DatasetState {
        let mut s = DatasetState {
            file: file.to_string(),
            source_sha256: inspection.source_sha256,
            split: inspection.split,
            ..DatasetState::default()
        };
        match inspection.records {
            Ok(checked) => {
                s.rows = rows(
                    &checked.loaded.dataset,
                    &checked.loaded.rejected,
                    &checked.report,
                );
                s.tokens = checked.tokens;
                s.report = Some(checked.report);
                s.dataset = Some(checked.loaded.dataset);
            }
            Err(e) => s.error = Some(e),
        }
        s.seal(&inspection.sealed);
        s
    }

    /// Hides the records on `lines` (the sealed test part) from the list and the search.
    fn seal(&mut self, lines: &[usize]) {
        for row in &mut self.rows {
            row.sealed = lines.contains(&row.line);
        }
    }

    /// Records without an error: what the plan counts.
    pub fn valid_records(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.record.is_some() && r.severity != Some(Severity::Error))
            .count()
    }

    /// Mean tokens per record as training sees them (cut at `cutoff`).
    pub fn mean_tokens(&self, cutoff: u32) -> f64 {
        let cut = cutoff as usize;
        let sum: usize = self.tokens.iter().map(|&t| t.min(cut)).sum();
        sum as f64 / self.tokens.len().max(1) as f64
    }

    /// Sequences in the training part: the split's count, or what 8:1:1 would give.
    pub fn train_sequences(&self) -> usize {
        match &self.split {
            Some(m) => m.counts.train,
            None => Ratio::default().counts(self.valid_records())[0],
        }
    }

    /// True when the records changed after the split was made.
    pub fn split_is_stale(&self) -> bool {
        inspect::stale(self.split.as_ref(), self.source_sha256.as_deref())
    }
}

/// The records file, the split folder and the cutoff the pane checks with.
fn sources(
    exp: &Experiment,
    dir: &Path,
    preset: &Preset,
) -> (std::path::PathBuf, std::path::PathBuf, usize) {
    (
        exp.dataset_path(dir),
        data_dir(dir),
        preset.cutoff_len as usize,
    )
}

/// List rows: records and unreadable lines, in file order, with their issues.
fn rows(ds: &Dataset, rejected: &[crate::data::Rejected], report: &CheckReport) -> Vec<Row> {
    let mut rows: Vec<Row> = ds
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| Row {
            line: r.at.line,
            title: one_line(&r.example.instruction),
            record: Some(i),
            severity: None,
            issues: Vec::new(),
            sealed: false,
        })
        .chain(rejected.iter().map(|r| Row {
            line: r.at.line,
            title: one_line(&r.message),
            record: None,
            severity: None,
            issues: Vec::new(),
            sealed: false,
        }))
        .collect();
    rows.sort_by_key(|r| r.line);
    for issue in &report.issues {
        let Some(at) = issue.at else { continue };
        if let Ok(i) = rows.binary_search_by_key(&at.line, |r| r.line) {
            let row = &mut rows[i];
            row.severity = Some(
                row.severity
                    .map_or(issue.severity, |s| s.min(issue.severity)),
            );
            row.issues.push(issue.message.clone());
        }
    }
    rows
}

impl App {
    pub(super) fn dataset_action(&mut self, action: Action) {
        let d = &mut self.data;
        match action {
            nav if nav.is_navigation() => {
                d.selected = super::moved(d.selected, d.rows.len(), action, 10);
                d.scroll = 0;
            }
            Action::DetailDown => d.scroll = d.scroll.saturating_add(3),
            Action::DetailUp => d.scroll = d.scroll.saturating_sub(3),
            Action::Search => {
                let q = d.query.clone();
                self.open_prompt(PromptKind::Search, &q);
            }
            Action::NextMatch | Action::PrevMatch => self.jump(action == Action::NextMatch),
            Action::Split => self.split_records(false),
            Action::ForceSplit => self.split_records(true),
            Action::Reload => self.reload_records(),
            _ => {}
        }
    }

    /// Finds `query` (case-insensitive) in every record and selects the first match from
    /// the selection on.
    pub(super) fn search(&mut self, query: &str) {
        let d = &mut self.data;
        d.query = query.to_string();
        let q = query.to_lowercase();
        d.matches = if q.is_empty() {
            Vec::new()
        } else {
            let ds = d.dataset.as_ref();
            d.rows
                .iter()
                .enumerate()
                .filter(|(_, row)| !row.sealed)
                .filter(|(_, row)| {
                    let text = match (row.record, ds) {
                        (Some(i), Some(ds)) => {
                            let e = &ds.records[i].example;
                            format!("{}\n{}\n{}", e.instruction, e.input, e.output)
                        }
                        _ => row.title.clone(),
                    };
                    text.to_lowercase().contains(&q)
                })
                .map(|(i, _)| i)
                .collect()
        };
        if let Some(&first) = d
            .matches
            .iter()
            .find(|&&i| i >= d.selected)
            .or(d.matches.first())
        {
            d.selected = first;
            d.scroll = 0;
        }
    }

    fn jump(&mut self, forward: bool) {
        let d = &mut self.data;
        let next = if forward {
            d.matches
                .iter()
                .find(|&&i| i > d.selected)
                .or(d.matches.first())
        } else {
            d.matches
                .iter()
                .rev()
                .find(|&&i| i < d.selected)
                .or(d.matches.last())
        };
        match next.copied() {
            Some(i) => {
                d.selected = i;
                d.scroll = 0;
            }
            None => {
                let msg = self
                    .lang()
                    .pick("No matches: press / to search.", "没有匹配：按 / 搜索。");
                self.tell(msg, Mood::Neutral);
            }
        }
    }

    /// Why the pane cannot start another reload or split now, if one is running.
    fn data_busy(&self) -> Option<&'static str> {
        let lang = self.lang();
        Some(match self.data.job?.work {
            DataWork::Checking(_) => lang.pick(
                "The records are being checked; a moment.",
                "正在检查数据，请稍候。",
            ),
            DataWork::Splitting => lang.pick(
                "The records are being split; a moment.",
                "正在分割数据，请稍候。",
            ),
        })
    }

    /// r: reads and checks the records again on the jobs thread.
    fn reload_records(&mut self) {
        if let Some(busy) = self.data_busy() {
            return self.tell(busy, Mood::Neutral);
        }
        let (path, split_dir, cutoff) = sources(&self.exp, &self.dir, &self.preset.current);
        let (job, _) = self.jobs.next();
        self.jobs.send(JobCommand::CheckDataset {
            job,
            path,
            split_dir,
            cutoff,
        });
        self.data.job = Some(DataJob {
            job,
            work: DataWork::Checking(Stage::Reading),
        });
    }

    /// s / S: writes the split on the jobs thread; `replace` lets it overwrite another split.
    fn split_records(&mut self, replace: bool) {
        let lang = self.lang();
        if let Some(busy) = self.data_busy() {
            return self.tell(busy, Mood::Neutral);
        }
        let errors = self.data.report.as_ref().map_or(0, |r| r.errors);
        let Some(ds) = self.data.dataset.as_ref().filter(|_| errors == 0) else {
            let msg = match lang {
                Language::En => {
                    format!("Fix the {errors} record errors before splitting (marked ✗).")
                }
                Language::Zh => format!("分割前请先修复 {errors} 个记录错误（标记为 ✗）。"),
            };
            self.tell(&msg, Mood::Bad);
            return;
        };
        let dataset = Box::new(ds.clone());
        let (job, _) = self.jobs.next();
        self.jobs.send(JobCommand::SplitDataset {
            job,
            dataset,
            ratio: Ratio::default(),
            seed: SPLIT_SEED,
            out: data_dir(&self.dir),
            replace,
        });
        self.data.job = Some(DataJob {
            job,
            work: DataWork::Splitting,
        });
    }

    /// An event of the pane's reload or split.
    pub(super) fn on_dataset_event(&mut self, event: JobEvent) {
        let lang = self.lang();
        match event {
            JobEvent::Inspecting { stage, .. } => {
                if let Some(j) = &mut self.data.job {
                    j.work = DataWork::Checking(stage);
                }
            }
            JobEvent::Inspected { inspection, .. } => {
                self.data = DatasetState::shown(&self.exp.dataset, *inspection);
                self.refresh_facts();
                let msg = lang.pick("Records reloaded and checked.", "已重新加载并检查数据。");
                self.tell(msg, Mood::Neutral);
            }
            JobEvent::Split { result, .. } => {
                self.data.job = None;
                match result {
                    Ok(outcome) => self.split_written(*outcome),
                    Err(SplitFailure::HoldsAnother(_)) => {
                        let msg = lang.pick(
                            "data/ holds a different split: S replaces it (and deals a new sealed test set).",
                            "data/ 中已有不同的分割：按 S 替换（会重新生成封存的测试集）。",
                        );
                        self.tell(msg, Mood::Bad);
                    }
                    Err(SplitFailure::Failed(e)) => self.tell(&e, Mood::Bad),
                }
            }
            JobEvent::Failed { error, .. } => {
                self.data.job = None;
                self.tell(&error, Mood::Bad);
            }
            _ => {}
        }
    }

    /// Shows a split the jobs thread wrote: its notes, the sealed records, the plan's facts.
    fn split_written(&mut self, outcome: SplitOutcome) {
        let lang = self.lang();
        let leaked: Vec<String> = outcome
            .leaks
            .iter()
            .map(|l| outcome.split.test[l.test].at.line.to_string())
            .collect();
        self.data.split_notes = if leaked.is_empty() {
            Vec::new()
        } else {
            vec![match lang {
                Language::En => format!("Test records on lines {} repeat a training prompt: rewrite or remove them and split again.", leaked.join(", ")),
                Language::Zh => format!("第 {} 行的测试记录与训练集提示词重复：请改写或删除后重新分割。", leaked.join("、")),
            }]
        };
        let msg = if outcome.unchanged {
            lang.pick(
                "Already split this way: nothing changed.",
                "已按此方式分割，无需改动。",
            )
        } else {
            lang.pick(
                "Split 8:1:1 written to data/ (test part sealed).",
                "已按 8:1:1 分割到 data/（测试集已封存）。",
            )
        };
        let sealed: Vec<usize> = outcome.split.test.iter().map(|r| r.at.line).collect();
        self.data.seal(&sealed);
        self.data.split = Some(outcome.manifest);
        self.data.source_sha256 = self.data.split.as_ref().map(|m| m.source_sha256.clone());
        self.tell(msg, Mood::Good);
        self.refresh_facts();
    }
}
