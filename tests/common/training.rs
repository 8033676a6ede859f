//! `tunedeck train` set-ups on the tiny Llama fixture, shared by the training tests.

use super::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A preset for the tiny model; `overrides` ("key = value" lines) replace the defaults.
pub fn preset(dir: &Path, overrides: &str) -> PathBuf {
    let model = fixtures().join("tiny-llama");
    let mut lines: Vec<String> = format!(
        "model = {:?}\ntemplate = \"chatml\"\nlora_rank = 4\nlora_alpha = 8\nlora_dropout = 0.0\nlora_target = \"all\"\n\
         learning_rate = 0.01\nper_device_train_batch_size = 2\ncutoff_len = 128\nlogging_steps = 1\n\
         eval_steps = 5\nsave_steps = 5\ndevice = \"cpu\"\ndtype = \"float32\"\nseed = 7",
        path_str(&model)
    )
    .lines()
    .map(String::from)
    .collect();
    for o in overrides.lines() {
        let key = o.split('=').next().unwrap().trim();
        lines.retain(|l| l.split('=').next().unwrap().trim() != key);
        lines.push(o.to_string());
    }
    let p = dir.join("tiny.toml");
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

/// The 20-record fixture split 8:1:1 into `dir/data`.
pub fn split(dir: &Path) -> PathBuf {
    let out = dir.join("data");
    let run = tunedeck(&[
        "data",
        "split",
        path_str(&fixtures().join("data/good.jsonl")),
        "--out",
        path_str(&out),
    ]);
    succeeded(&run);
    out
}

/// The run's `trainer_log.jsonl` entries.
pub fn log(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("trainer_log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The validation losses a run logged, in order.
pub fn eval_losses(run: &Path) -> Vec<f64> {
    log(run)
        .iter()
        .filter_map(|e| e["eval_loss"].as_f64())
        .collect()
}

/// One `tunedeck train` set-up: a preset, the split fixture and a run folder in `dir`.
pub struct Training {
    pub preset: PathBuf,
    pub data: PathBuf,
    pub run: PathBuf,
}

impl Training {
    pub fn new(dir: &Path, overrides: &str) -> Self {
        Training {
            preset: preset(dir, overrides),
            data: split(dir),
            run: dir.join("run"),
        }
    }

    /// `train --preset … --data … --out …` followed by `extra`.
    pub fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "train",
            "--preset",
            path_str(&self.preset),
            "--data",
            path_str(&self.data),
            "--out",
            path_str(&self.run),
        ];
        args.extend_from_slice(extra);
        args
    }

    /// Trains to the end and fails the test with tunedeck's stderr if it does not.
    pub fn train(&self) {
        succeeded(&tunedeck(&self.args(&[])));
    }

    /// The same training into another run folder.
    pub fn train_into(&self, run: &Path) {
        let args: Vec<&str> = self
            .args(&[])
            .into_iter()
            .map(|a| {
                if a == path_str(&self.run) {
                    path_str(run)
                } else {
                    a
                }
            })
            .collect();
        succeeded(&tunedeck(&args));
    }
}
