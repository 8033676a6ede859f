//! A split on disk: `train.jsonl`, `val.jsonl`, `test.jsonl` and `split.toml` (seed, ratio,
//! source, counts and the sha256 of each file).
//!
//! The test part is sealed: [`SplitDir`] has readers for train and validation only, and the
//! test records come out through [`SplitDir::unseal_test`], which logs who needed them and
//! why in `unsealed.log`. A test set looked at while tuning stops measuring generalisation.

use super::load::{load_bytes, strict, Dataset, Format, Layout};
use super::record::Record;
use super::schema::SchemaKind;
use super::split::{leakage, split, Leak, Ratio, Split};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest file of a split folder.
pub const MANIFEST: &str = "split.toml";
/// The log of every unsealing of the test part.
pub const UNSEALED_LOG: &str = "unsealed.log";

/// One value per part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parts<T> {
    /// Training part.
    pub train: T,
    /// Validation part.
    pub val: T,
    /// Sealed test part.
    pub test: T,
}

/// The three parts with their file names, in file order.
const PART_NAMES: [&str; 3] = ["train", "val", "test"];

impl<T> Parts<T> {
    fn get(&self, part: &str) -> &T {
        match part {
            "train" => &self.train,
            "val" => &self.val,
            _ => &self.test,
        }
    }
}

/// The contents of `split.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitManifest {
    /// Seed of the shuffle.
    pub seed: u64,
    /// Relative part sizes.
    pub ratio: Ratio,
    /// What was split, as the user named it.
    pub source: String,
    /// sha256 (hex) of the source file when it was split.
    pub source_sha256: String,
    /// Records per part.
    pub counts: Parts<usize>,
    /// sha256 (hex) of each part's file.
    pub sha256: Parts<String>,
}

/// What [`split_to_dir`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitOutcome {
    /// What `split.toml` now says.
    pub manifest: SplitManifest,
    /// The parts, with locations in the source file.
    pub split: Split,
    /// Test records that repeat a training record's prompt (indices into `split`).
    pub leaks: Vec<Leak>,
    /// The folder already held this very split; nothing changed.
    pub unchanged: bool,
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JSON Lines text of a part: one Alpaca object per line.
fn part_text(records: &[Record]) -> Result<String> {
    let mut text = String::new();
    for r in records {
        text += &serde_json::to_string(&r.example).context("cannot serialise a record")?;
        text.push('\n');
    }
    Ok(text)
}

/// Why [`split_to_dir`] left a folder alone: it holds another split (or a manifest that
/// cannot be read), and replacing it would deal a new sealed test set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldsAnotherSplit {
    /// The split folder.
    pub dir: PathBuf,
    /// What it holds, in words.
    pub what: String,
}

impl std::fmt::Display for HoldsAnotherSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} already holds {}: splitting again deals a new sealed test set; pass --force to \
             replace it, or choose another --out folder",
            self.dir.display(),
            self.what
        )
    }
}

impl std::error::Error for HoldsAnotherSplit {}

/// Splits `dataset` with `ratio` and `seed` and writes the parts and `split.toml` into `dir`
/// (created if needed), each file atomically, `split.toml` last.
///
/// A folder that already holds a different split is left alone unless `replace` is set,
/// because writing a new split there deals a new sealed test set.
pub fn split_to_dir(
    dataset: &Dataset,
    ratio: Ratio,
    seed: u64,
    dir: &Path,
    replace: bool,
) -> Result<SplitOutcome> {
    if i64::try_from(seed).is_err() {
        bail!("seed {seed} is too large to record in {MANIFEST}: use a seed below 2^63");
    }
    let source_bytes = std::fs::read(&dataset.file)
        .with_context(|| format!("{}: cannot read the file", dataset.file.display()))?;
    let parts = split(&dataset.records, ratio, seed);
    let texts = [
        part_text(&parts.train)?,
        part_text(&parts.val)?,
        part_text(&parts.test)?,
    ];
    let [h_train, h_val, h_test] = texts.each_ref().map(|t| sha256_hex(t.as_bytes()));
    let manifest = SplitManifest {
        seed,
        ratio,
        source: dataset.source.clone(),
        source_sha256: sha256_hex(&source_bytes),
        counts: Parts {
            train: parts.train.len(),
            val: parts.val.len(),
            test: parts.test.len(),
        },
        sha256: Parts {
            train: h_train,
            val: h_val,
            test: h_test,
        },
    };
    let leaks = {
        let examples = |p: &[Record]| p.iter().map(|r| r.example.clone()).collect::<Vec<_>>();
        leakage(&examples(&parts.train), &examples(&parts.test))
    };
    let manifest_path = dir.join(MANIFEST);
    if manifest_path.exists() {
        let existing = read_manifest(&manifest_path).ok();
        let same_files = existing
            .as_ref()
            .is_some_and(|m| m.sha256 == manifest.sha256 && m.counts == manifest.counts);
        if same_files
            && PART_NAMES
                .iter()
                .all(|p| dir.join(format!("{p}.jsonl")).is_file())
        {
            return Ok(SplitOutcome {
                manifest,
                split: parts,
                leaks,
                unchanged: true,
            });
        }
        if !replace {
            let what = match &existing {
                Some(m) => format!(
                    "a different split (seed {}, ratio {}, of {})",
                    m.seed, m.ratio, m.source
                ),
                None => format!("a {MANIFEST} that cannot be read"),
            };
            return Err(HoldsAnotherSplit {
                dir: dir.to_path_buf(),
                what,
            }
            .into());
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    for (name, text) in PART_NAMES.iter().zip(&texts) {
        crate::atomic::write(&dir.join(format!("{name}.jsonl")), text.as_bytes())?;
    }
    let toml = toml::to_string(&manifest).context("cannot serialise split.toml")?;
    let header = "# Written by `tunedeck data split`. The sha256s guard the split files: fix the \
                  source and split again rather than editing them.\n";
    crate::atomic::write(&manifest_path, format!("{header}{toml}").as_bytes())?;
    Ok(SplitOutcome {
        manifest,
        split: parts,
        leaks,
        unchanged: false,
    })
}

fn read_manifest(path: &Path) -> Result<SplitManifest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the file", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .map(|n| format!(":{n}"))
            .unwrap_or_default();
        anyhow!(
            "{}{line}: {}: split.toml is written by `tunedeck data split`; run it again \
             rather than editing the file",
            path.display(),
            e.message().trim()
        )
    })
}

/// A verified split folder. Opening checks every part's sha256 against `split.toml`.
#[derive(Debug, Clone)]
pub struct SplitDir {
    dir: PathBuf,
    manifest: SplitManifest,
}

impl SplitDir {
    /// Opens `dir`, checking that the parts exist and match the sha256s in `split.toml`.
    pub fn open(dir: &Path) -> Result<SplitDir> {
        let again = format!(
            "run `tunedeck data split FILE --out {}` first",
            dir.display()
        );
        if !dir.join("train.jsonl").is_file() {
            bail!("{} has no train.jsonl: {again}", dir.display());
        }
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            bail!(
                "{} has no {MANIFEST}, so its files cannot be verified: {again}",
                dir.display()
            );
        }
        let split = SplitDir {
            dir: dir.to_path_buf(),
            manifest: read_manifest(&manifest_path)?,
        };
        for part in PART_NAMES {
            split.verified_bytes(part)?;
        }
        Ok(split)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What `split.toml` says.
    pub fn manifest(&self) -> &SplitManifest {
        &self.manifest
    }

    /// The training records.
    pub fn train(&self) -> Result<Dataset> {
        self.read("train")
    }

    /// The validation records.
    pub fn val(&self) -> Result<Dataset> {
        self.read("val")
    }

    /// The sealed test records, for the graduation exam. Each call appends a line to
    /// `unsealed.log` (time, reason, the test file's sha256) before anything is read, so
    /// every look at the test set is on record; `reason` must say why.
    pub fn unseal_test(&self, reason: &str) -> Result<Dataset> {
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.is_empty() {
            bail!(
                "unsealing the test set of {} needs a reason: it is written to {UNSEALED_LOG}",
                self.dir.display()
            );
        }
        let bytes = self.verified_bytes("test")?;
        let log = self.dir.join(UNSEALED_LOG);
        let line = format!(
            "{}\t{reason}\ttest.jsonl sha256 {}\n",
            crate::date::utc_timestamp(std::time::SystemTime::now()),
            self.manifest.sha256.test
        );
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .with_context(|| {
                format!(
                    "{}: cannot log the unsealing, so the test set stays sealed",
                    log.display()
                )
            })?;
        self.parse("test", bytes)
    }

    fn read(&self, part: &str) -> Result<Dataset> {
        let bytes = self.verified_bytes(part)?;
        self.parse(part, bytes)
    }

    fn parse(&self, part: &str, bytes: Vec<u8>) -> Result<Dataset> {
        let file = self.dir.join(format!("{part}.jsonl"));
        if *self.manifest.counts.get(part) == 0 {
            // An empty part is a legitimate outcome (a 9:1:0 ratio, a tiny dataset), unlike
            // an empty file handed to `data check`.
            return Ok(Dataset {
                source: file.display().to_string(),
                file,
                format: Format {
                    layout: Layout::JsonLines,
                    schema: SchemaKind::Alpaca,
                },
                records: Vec::new(),
            });
        }
        strict(load_bytes(bytes, &file)?)
    }

    /// A part's bytes, after checking them against `split.toml`.
    fn verified_bytes(&self, part: &str) -> Result<Vec<u8>> {
        let file = self.dir.join(format!("{part}.jsonl"));
        let bytes = std::fs::read(&file).with_context(|| {
            format!(
                "{}: cannot read the file: run `tunedeck data split` again to rewrite the split",
                file.display()
            )
        })?;
        let (actual, recorded) = (sha256_hex(&bytes), self.manifest.sha256.get(part));
        if &actual != recorded {
            bail!(
                "{} changed after the split (sha256 {actual}, {MANIFEST} records {recorded}): \
                 fix the source and run `tunedeck data split` again rather than editing split \
                 files",
                file.display()
            );
        }
        Ok(bytes)
    }
}

/// One line per leak, naming both records in the source file, for `data split` to print.
pub fn describe_leaks(outcome: &SplitOutcome, dataset: &Dataset) -> Vec<String> {
    outcome
        .leaks
        .iter()
        .map(|leak| {
            let test = dataset.at(&outcome.split.test[leak.test].at);
            let train = outcome.split.train[leak.train].at;
            let how = if leak.exact {
                format!("has the same prompt as {train}")
            } else {
                format!(
                    "has a prompt {:.0}% similar to {train}'s",
                    100.0 * leak.similarity
                )
            };
            format!(
                "{test}: this test record {how}, which is in train: the sealed test would \
                 reward memorising; rewrite or remove one and split again"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load;
    use std::fs;

    fn source(dir: &Path, n: usize) -> Dataset {
        let path = dir.join("src.jsonl");
        let text: String = (0..n)
            .map(|i| {
                format!(
                    "{{\"instruction\": \"Question {i} about topic {}\", \"output\": \"Answer {i}\", \"category\": \"c{i}\"}}\n",
                    i * 37 % 101
                )
            })
            .collect();
        fs::write(&path, text).unwrap();
        load::load(&path).unwrap()
    }

    #[test]
    fn written_split_reopens_verifies_and_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let ds = source(tmp.path(), 20);
        let out = tmp.path().join("split");
        let outcome = split_to_dir(&ds, Ratio::default(), 42, &out, false).unwrap();
        assert_eq!(
            outcome.manifest.counts,
            Parts {
                train: 16,
                val: 2,
                test: 2
            }
        );
        assert!(!outcome.unchanged);
        let dir = SplitDir::open(&out).unwrap();
        assert_eq!(dir.manifest(), &outcome.manifest);
        let train = dir.train().unwrap();
        assert_eq!(train.records.len(), 16);
        let originals: Vec<_> = outcome.split.train.iter().map(|r| &r.example).collect();
        assert_eq!(train.examples().collect::<Vec<_>>(), originals);
        assert_eq!(dir.val().unwrap().records.len(), 2);
        // Splitting again into the same folder is a no-op; another seed needs --force.
        assert!(
            split_to_dir(&ds, Ratio::default(), 42, &out, false)
                .unwrap()
                .unchanged
        );
        let err = split_to_dir(&ds, Ratio::default(), 7, &out, false).unwrap_err();
        let held = err
            .downcast_ref::<HoldsAnotherSplit>()
            .expect("a typed error");
        assert_eq!(held.dir, out);
        let e = err.to_string();
        assert!(
            e.contains("already holds a different split (seed 42, ratio 8:1:1"),
            "{e}"
        );
        split_to_dir(&ds, Ratio::default(), 7, &out, true).unwrap();
        assert_eq!(SplitDir::open(&out).unwrap().manifest().seed, 7);
    }

    #[test]
    fn unsealing_needs_a_reason_and_is_logged() {
        let tmp = tempfile::tempdir().unwrap();
        let ds = source(tmp.path(), 10);
        let out = tmp.path().join("split");
        split_to_dir(&ds, Ratio::default(), 1, &out, false).unwrap();
        let dir = SplitDir::open(&out).unwrap();
        assert!(dir.unseal_test("  \n").is_err());
        assert!(!out.join(UNSEALED_LOG).exists());
        let test = dir.unseal_test("graduation\nexam").unwrap();
        assert_eq!(test.records.len(), 1);
        let log = fs::read_to_string(out.join(UNSEALED_LOG)).unwrap();
        let fields: Vec<&str> = log.trim_end().split('\t').collect();
        assert_eq!(fields.len(), 3, "{log}");
        assert_eq!(fields[0].len(), "2025-01-01T00:00:00Z".len());
        assert_eq!(fields[1], "graduation exam");
        assert_eq!(
            fields[2],
            format!("test.jsonl sha256 {}", dir.manifest().sha256.test)
        );
    }

    #[test]
    fn missing_or_edited_files_are_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let e = SplitDir::open(tmp.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{0} has no train.jsonl: run `tunedeck data split FILE --out {0}` first",
                tmp.path().display()
            )
        );
        let ds = source(tmp.path(), 10);
        let out = tmp.path().join("split");
        split_to_dir(&ds, Ratio::default(), 1, &out, false).unwrap();
        fs::write(out.join("test.jsonl"), "{}\n").unwrap();
        let e = SplitDir::open(&out).unwrap_err().to_string();
        assert!(
            e.contains("test.jsonl changed after the split (sha256"),
            "{e}"
        );
        fs::remove_file(out.join(MANIFEST)).unwrap();
        let e = SplitDir::open(&out).unwrap_err().to_string();
        assert!(e.contains("has no split.toml"), "{e}");
    }

    #[test]
    fn empty_parts_read_as_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let ds = source(tmp.path(), 2);
        let out = tmp.path().join("split");
        split_to_dir(&ds, Ratio::default(), 1, &out, false).unwrap();
        let dir = SplitDir::open(&out).unwrap();
        assert_eq!(dir.train().unwrap().records.len(), 2);
        assert_eq!(dir.val().unwrap().records.len(), 0);
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |secs| {
            crate::date::utc_timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        };
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
    }
}
