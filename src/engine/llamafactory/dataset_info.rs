//! `data/dataset_info.json` and the data files it names: the experiment's train and
//! validation splits as Alpaca JSON Lines. The sealed test split is never exported: it stays
//! in the experiment for the graduation exam, so no engine can train or tune on it.

use super::yaml::{TRAIN_DATASET, VAL_DATASET};
use super::File;
use crate::data::{Dataset, SplitDir};
use anyhow::{Context, Result};
use serde_json::json;

/// The data files and `dataset_info.json`, under `data/`.
pub fn files(split: &SplitDir) -> Result<Vec<File>> {
    let (train, val) = (split.train()?, split.val()?);
    let info = json!({
        TRAIN_DATASET: entry("train.jsonl", &train),
        VAL_DATASET: entry("val.jsonl", &val),
    });
    let (train, val) = (jsonl(&train)?, jsonl(&val)?);
    let mut info = serde_json::to_string_pretty(&info).context("dataset_info.json")?;
    info.push('\n');
    Ok(vec![
        File {
            name: "data/train.jsonl".into(),
            bytes: train.into_bytes(),
        },
        File {
            name: "data/val.jsonl".into(),
            bytes: val.into_bytes(),
        },
        File {
            name: "data/dataset_info.json".into(),
            bytes: info.into_bytes(),
        },
    ])
}

/// One `dataset_info.json` entry. The Alpaca columns are spelled out so nothing depends on
/// LLaMA-Factory's defaults; `system` and `history` only when a record has them, because
/// LLaMA-Factory's converter looks a named column up in every record.
fn entry(file: &str, dataset: &Dataset) -> serde_json::Value {
    let mut columns = json!({"prompt": "instruction", "query": "input", "response": "output"});
    let examples = || dataset.records.iter().map(|r| &r.example);
    if examples().any(|e| e.system.is_some()) {
        columns["system"] = json!("system");
    }
    if examples().any(|e| !e.history.is_empty()) {
        columns["history"] = json!("history");
    }
    json!({"file_name": file, "formatting": "alpaca", "columns": columns})
}

/// The records in Alpaca form without tunedeck's extra fields (`category`, ...), which
/// LLaMA-Factory has no column for and which could give a file mixed column types.
fn jsonl(dataset: &Dataset) -> Result<String> {
    let mut out = String::new();
    for r in &dataset.records {
        let mut e = r.example.clone();
        e.extra.clear();
        out += &serde_json::to_string(&e).context("cannot serialise a record")?;
        out.push('\n');
    }
    Ok(out)
}
