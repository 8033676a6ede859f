//! A records file as the cockpit's Dataset pane shows it: read leniently, checked with the
//! approximate token counter (no tokenizer), each record's token count, and which records
//! its split sealed. Pure and self-contained, so the cockpit can run it off the UI thread.

use std::path::Path;

use super::split_dir::sha256_hex;
use super::{
    check, load_lenient, record_tokens, split, ApproxCounter, CheckReport, Loaded, SplitDir,
    SplitManifest,
};

/// How far an inspection is, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading and parsing the file.
    Reading,
    /// Checking this many records.
    Checking(usize),
    /// Finding which records the split sealed.
    MatchingSplit,
}

/// The records that loaded, with their check.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The records, and the lines that could not be read.
    pub loaded: Loaded,
    /// The check's report.
    pub report: CheckReport,
    /// Each record's approximate token count, uncut.
    pub tokens: Vec<usize>,
}

/// Everything the Dataset pane shows about a records file and its split.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// sha256 of the file as read, if it could be read.
    pub source_sha256: Option<String>,
    /// The records and their check, or why the file did not load (with its context).
    pub records: Result<Checked, String>,
    /// The split on disk, if there is one.
    pub split: Option<SplitManifest>,
    /// The lines of the records in the sealed test part; empty when there is no split or it
    /// was made from other records.
    pub sealed: Vec<usize>,
}

impl Inspection {
    /// True when the records changed after the split was made.
    pub fn split_is_stale(&self) -> bool {
        stale(self.split.as_ref(), self.source_sha256.as_deref())
    }
}

/// Whether `split` was made from other records than the file whose sha256 is `now`; what is
/// not known counts as fresh.
pub fn stale(split: Option<&SplitManifest>, now: Option<&str>) -> bool {
    match (split, now) {
        (Some(m), Some(now)) => m.source_sha256 != now,
        _ => false,
    }
}

/// Reads and checks the records at `path` (training cuts at `cutoff` tokens) and matches
/// them with the split in `split_dir`, telling `progress` each stage.
pub fn inspect(
    path: &Path,
    split_dir: &Path,
    cutoff: usize,
    progress: &mut dyn FnMut(Stage),
) -> Inspection {
    progress(Stage::Reading);
    let source_sha256 = std::fs::read(path).ok().map(|b| sha256_hex(&b));
    let records = load_lenient(path)
        .and_then(|loaded| {
            progress(Stage::Checking(loaded.dataset.records.len()));
            let report = check(&loaded, &ApproxCounter, cutoff.max(1))?;
            let tokens = loaded
                .dataset
                .examples()
                .map(|e| record_tokens(e, &ApproxCounter).unwrap_or(0))
                .collect();
            Ok(Checked {
                loaded,
                report,
                tokens,
            })
        })
        .map_err(|e| format!("{e:#}"));
    let split_manifest = SplitDir::open(split_dir).ok().map(|s| s.manifest().clone());
    let mut sealed = Vec::new();
    // The split is a pure function of the records, ratio and seed: redoing it in memory
    // finds which records the sealed part holds, as long as the records are unchanged.
    if let (Some(m), Ok(c)) = (&split_manifest, &records) {
        if !stale(Some(m), source_sha256.as_deref()) {
            progress(Stage::MatchingSplit);
            let test = split(&c.loaded.dataset.records, m.ratio, m.seed).test;
            sealed = test.iter().map(|r| r.at.line).collect();
        }
    }
    Inspection {
        source_sha256,
        records,
        split: split_manifest,
        sealed,
    }
}
