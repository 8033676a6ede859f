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
    let train = jsonl(&split.train()?)?;
    let val = jsonl(&split.val()?)?;
    // Alpaca columns, spelled out so nothing depends on LLaMA-Factory's defaults.
    let columns = json!({
        "prompt": "instruction",
        "query": "input",
        "response": "output",
        "system": "system",
        "history": "history"
    });
    let entry = |file: &str| json!({"file_name": file, "formatting": "alpaca", "columns": columns});
    let info = json!({
        TRAIN_DATASET: entry("train.jsonl"),
        VAL_DATASET: entry("val.jsonl"),
    });
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
