//! The questions of the three parts, read from a split directory and a guard file: the
//! exam's seeded sample of training records, the test split, and the guard set with its
//! `must_include` keyword rubric. No model here, so bad input fails before any loading.

use crate::data::{Dataset, Example};
use crate::rng::SplitMix64;
use anyhow::{bail, Result};
use std::path::Path;

/// One question with its reference answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Where the record is, e.g. `train.jsonl:12`.
    pub source: String,
    /// The record's system prompt, if it sets one.
    pub system: Option<String>,
    /// Earlier turns of the conversation.
    pub history: Vec<(String, String)>,
    /// The user's turn.
    pub prompt: String,
    /// The reference answer.
    pub reference: String,
    /// The record's `must_include` keywords (empty when it lists none).
    pub keywords: Vec<String>,
}

/// A record's optional `must_include`: a list of keyword strings.
pub fn keywords(e: &Example) -> Result<Vec<String>, String> {
    let Some(value) = e.extra.get("must_include") else {
        return Ok(Vec::new());
    };
    let bad = || {
        format!("must_include must be a list of keywords, like [\"egg\", \"tomato\"], not {value}")
    };
    let list = value.as_array().ok_or_else(bad)?;
    list.iter()
        .map(|k| match k.as_str().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(bad()),
        })
        .collect()
}

/// The questions of `ds` at `indices` (all records when `None`), in that order.
pub fn from_dataset(ds: &Dataset, indices: Option<&[usize]>) -> Result<Vec<Question>> {
    let name = ds
        .file
        .file_name()
        .map_or_else(|| ds.source.clone(), |n| n.to_string_lossy().into_owned());
    let all: Vec<usize> = (0..ds.records.len()).collect();
    indices
        .unwrap_or(&all)
        .iter()
        .filter_map(|&i| ds.records.get(i))
        .map(|r| {
            let e = &r.example;
            let keywords = keywords(e).map_err(|m| anyhow::anyhow!("{}: {m}", ds.at(&r.at)))?;
            Ok(Question {
                source: r.at.prefix(&name),
                system: e.system.clone(),
                history: e.history.clone(),
                prompt: e.prompt(),
                reference: e.output.clone(),
                keywords,
            })
        })
        .collect()
}

/// `k` of the indices `0..n` (all when `k >= n`), drawn with `seed`, in ascending order so the
/// exam reads in file order.
pub fn sample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    let mut rng = SplitMix64::new(seed);
    // A partial Fisher–Yates: the first k slots end up a uniform sample.
    for i in 0..k {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

/// The guard set: every record must load and carry well-formed keywords, and there must be
/// at least one question.
pub fn load_guard(path: &Path) -> Result<Vec<Question>> {
    let ds = crate::data::load(path)
        .map_err(|e| anyhow::anyhow!("guard set {}: {e:#}", path.display()))?;
    if ds.records.is_empty() {
        bail!(
            "guard set {}: no questions: the guard needs everyday questions with reference \
             answers (see datasets/guard/general.jsonl)",
            path.display()
        );
    }
    from_dataset(&ds, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_seeded_sorted_and_complete_when_small() {
        let a = sample(100, 20, 42);
        assert_eq!(a, sample(100, 20, 42));
        assert_ne!(a, sample(100, 20, 43));
        assert_eq!(a.len(), 20);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample(5, 20, 1), vec![0, 1, 2, 3, 4]);
        assert!(sample(0, 3, 1).is_empty());
    }

    #[test]
    fn keywords_must_be_a_list_of_strings() {
        let mut e = Example::default();
        assert_eq!(keywords(&e).unwrap(), Vec::<String>::new());
        e.extra.insert(
            "must_include".into(),
            serde_json::json!(["egg", " tomato "]),
        );
        assert_eq!(keywords(&e).unwrap(), ["egg", "tomato"]);
        e.extra
            .insert("must_include".into(), serde_json::json!("egg"));
        assert!(keywords(&e)
            .unwrap_err()
            .contains("must be a list of keywords"));
        e.extra
            .insert("must_include".into(), serde_json::json!([1]));
        assert!(keywords(&e).is_err());
    }

    #[test]
    fn the_bundled_guard_set_loads_with_keywords() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/guard/general.jsonl");
        let guard = load_guard(&path).unwrap();
        assert!(guard.len() >= 20);
        assert!(guard.iter().all(|q| !q.keywords.is_empty()));
        assert_eq!(guard[0].source, "general.jsonl:1");
    }
}
