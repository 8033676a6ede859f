//! `tunedeck train` end to end on the tiny Llama fixture: it learns, checkpoints, survives
//! `kill -9` and resumes to the same final step, and refuses bad input cleanly.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A preset for the tiny model; `overrides` ("key = value" lines) replace the defaults.
fn preset(dir: &Path, overrides: &str) -> PathBuf {
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

fn split(dir: &Path) -> PathBuf {
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

fn log(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("trainer_log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The validation losses a run logged, in order.
fn eval_losses(run: &Path) -> Vec<f64> {
    log(run)
        .iter()
        .filter_map(|e| e["eval_loss"].as_f64())
        .collect()
}

/// One `tunedeck train` set-up: a preset, the split fixture and a run folder in `dir`.
struct Training {
    preset: PathBuf,
    data: PathBuf,
    run: PathBuf,
}

impl Training {
    fn new(dir: &Path, overrides: &str) -> Self {
        Training {
            preset: preset(dir, overrides),
            data: split(dir),
            run: dir.join("run"),
        }
    }

    /// `train --preset … --data … --out …` followed by `extra`.
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
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
    fn train(&self) {
        succeeded(&tunedeck(&self.args(&[])));
    }
}

#[test]
fn trains_logs_checkpoints_and_writes_a_peft_adapter() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Training::new(tmp.path(), "max_steps = 20\n");
    t.train();
    let entries = log(&t.run);
    let last = entries.last().unwrap();
    for key in [
        "current_steps",
        "total_steps",
        "loss",
        "lr",
        "epoch",
        "elapsed_time",
        "throughput",
        "total_tokens",
    ] {
        assert!(
            last.get(key).is_some(),
            "trainer_log.jsonl lacks {key}: {last}"
        );
    }
    assert_eq!(last["current_steps"], 20);
    let evals = eval_losses(&t.run);
    assert!(evals.len() >= 4, "{evals:?}");
    assert!(
        evals.last().unwrap() < &evals[0],
        "validation loss should fall: {evals:?}"
    );
    assert!(t.run.join("adapter/adapter_model.safetensors").exists());
    assert!(t
        .run
        .join("checkpoints/checkpoint-20/optimizer.safetensors")
        .exists());
    // Older checkpoints are pruned to the last two.
    assert!(!t.run.join("checkpoints/checkpoint-5").exists());
    // The run folder keeps the preset it was trained with.
    let kept = std::fs::read_to_string(t.run.join("preset.toml")).unwrap();
    assert!(kept.contains("max_steps = 20"), "{kept}");
}

#[test]
fn lora_trains_over_a_bfloat16_base() {
    // The GPU path: base weights in bfloat16, the adapter (and its update) in float32 as in
    // PEFT. Runs on the CPU here with the tiny model.
    let tmp = tempfile::tempdir().unwrap();
    let t = Training::new(
        tmp.path(),
        "dtype = \"bfloat16\"\nmax_steps = 10\neval_steps = 10",
    );
    t.train();
    let evals = eval_losses(&t.run);
    assert!(
        evals.len() == 2 && evals[1] < evals[0],
        "validation loss should fall: {evals:?}"
    );
    succeeded(&tunedeck(&[
        "model",
        "logprobs",
        "--model",
        path_str(&fixtures().join("tiny-llama")),
        "--adapter",
        path_str(&t.run.join("adapter")),
        "--text",
        "Hello there",
    ]));
}

#[test]
fn a_killed_run_resumes_to_the_same_final_step() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Training::new(
        tmp.path(),
        "max_steps = 400\nsave_steps = 2\neval_steps = 0\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunedeck"))
        .args(t.args(&[]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !t.run.join("checkpoints/checkpoint-4").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let killed_at = log(&t.run).last().unwrap()["current_steps"]
        .as_u64()
        .unwrap();
    assert!(
        killed_at < 400,
        "the run finished before it could be killed"
    );
    let out = tunedeck(&t.args(&["--resume"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming from"), "{stderr}");
    let entries = log(&t.run);
    assert_eq!(entries.last().unwrap()["current_steps"], 400);
    // The log reads as one run: steps strictly increase.
    let steps: Vec<u64> = entries
        .iter()
        .filter(|e| e.get("loss").is_some())
        .map(|e| e["current_steps"].as_u64().unwrap())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
}

#[test]
fn a_second_run_into_the_same_directory_needs_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Training::new(tmp.path(), "max_steps = 2\n");
    t.train();
    expect_error(&t.args(&[]), &["already has checkpoints", "--resume"]);
    // Resuming with another adapter shape would not fit the checkpoint's weights.
    expect_error(
        &t.args(&["--resume", "--set", "lora_rank=8"]),
        &["cannot resume with lora_rank 4 → 8", "preset.toml"],
    );
}

#[test]
fn bad_presets_and_split_dirs_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let good = Training::new(tmp.path(), "max_steps = 1\n");
    // Each case swaps one piece of the good set-up for a bad one.
    let with_preset = |overrides: &str| Training {
        preset: preset(tmp.path(), overrides),
        data: good.data.clone(),
        run: good.run.clone(),
    };
    expect_error(
        &with_preset("learnin_rate = 0.1\n").args(&[]),
        &["learnin_rate", "tiny.toml"],
    );
    expect_error(
        &with_preset("lora_dropout = 1.5").args(&[]),
        &["lora_dropout"],
    );
    let good = with_preset("max_steps = 1\n");
    expect_error(&good.args(&["--set", "lora_rank=0"]), &["lora_rank"]);
    expect_error(&good.args(&["--set", "nope"]), &["KEY=VALUE"]);
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let no_split = Training {
        data: empty,
        ..good
    };
    expect_error(&no_split.args(&[]), &["train.jsonl"]);
}

#[test]
fn adapter_report_shows_the_update_per_projection() {
    let out = tunedeck(&[
        "adapter",
        "report",
        "--model",
        path_str(&fixtures().join("tiny-llama")),
        "--adapter",
        path_str(&fixtures().join("peft-tiny-llama")),
    ]);
    succeeded(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("model.layers.1.mlp.down_proj"), "{text}");
    assert!(text.contains("14 projections"), "{text}");
}

#[test]
fn full_fine_tuning_writes_a_loadable_model() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Training::new(
        tmp.path(),
        "finetuning_type = \"full\"\nmax_steps = 6\nlearning_rate = 0.001\neval_steps = 3",
    );
    t.train();
    let evals = eval_losses(&t.run);
    assert!(
        evals.last().unwrap() < &evals[0],
        "validation loss should fall: {evals:?}"
    );
    succeeded(&tunedeck(&[
        "model",
        "logprobs",
        "--model",
        path_str(&t.run.join("model")),
        "--text",
        "Hello there",
    ]));
}
