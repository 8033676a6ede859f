//! `tunedeck train` end to end on the tiny Llama fixture: it learns, checkpoints, survives
//! `kill -9` and resumes to the same final step, and refuses bad input cleanly.

mod common;

use common::training::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

/// An experiment in `dir/exp` whose run-1 trained 2 steps on the split fixture.
fn experiment_with_a_run(dir: &Path) -> PathBuf {
    let exp = dir.join("exp");
    succeeded(&tunedeck(&["init", path_str(&exp)]));
    let t = Training {
        preset: preset(dir, "max_steps = 2\neval_steps = 2\nsave_steps = 2"),
        data: split(&exp),
        run: exp.join("runs/run-1"),
    };
    t.train();
    exp
}

#[test]
fn from_a_run_trains_the_next_one_with_the_change_and_records_its_origin() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment_with_a_run(tmp.path());
    let run1 = exp.join("runs/run-1");
    let out = tunedeck(&[
        "train",
        "--from",
        path_str(&run1),
        "--change",
        "learning_rate=0.005",
        "--change",
        "lora_rank = 2",
        "--why",
        "calmer steps",
    ]);
    succeeded(&out);
    let run2 = exp.join("runs/run-2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().next().unwrap(),
        format!("run: {}", run2.canonicalize().unwrap().display())
    );
    let origin: Value =
        serde_json::from_str(&std::fs::read_to_string(run2.join("origin.json")).unwrap()).unwrap();
    assert_eq!(
        origin,
        serde_json::json!({
            "from": "run-1",
            "changes": [
                {"key": "lora_rank", "from": "4", "to": "2"},
                {"key": "learning_rate", "from": "0.01", "to": "0.005"}
            ],
            "why": "calmer steps"
        })
    );
    // Trained on the experiment's split with run-1's preset plus the changes.
    let kept = std::fs::read_to_string(run2.join("preset.toml")).unwrap();
    assert!(kept.contains("learning_rate = 0.005"), "{kept}");
    assert!(kept.contains("lora_rank = 2"), "{kept}");
    assert!(kept.contains("max_steps = 2"), "{kept}");
    assert!(run2.join("adapter/adapter_model.safetensors").exists());
    assert_eq!(log(&run2).last().unwrap()["current_steps"], 2);
}

#[test]
fn from_refuses_what_is_not_a_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment_with_a_run(tmp.path());
    let run1 = exp.join("runs/run-1");
    let from = path_str(&run1);
    // Bad changes: one line naming the key, and no run folder is left behind.
    expect_error(
        &["train", "--from", from, "--change", "learnin_rate=1e-3"],
        &[
            "unknown preset key `learnin_rate`",
            "did you mean `learning_rate`",
        ],
    );
    expect_error(
        &["train", "--from", from, "--change", "lora_rank=0"],
        &["lora_rank"],
    );
    expect_error(
        &["train", "--from", from, "--change", "learning_rate=fast"],
        &["learning_rate = fast"],
    );
    expect_error(
        &["train", "--from", from, "--change", "lora_rank"],
        &["KEY=VALUE"],
    );
    expect_error(
        &["train", "--from", from, "--change", "lora_rank=4"],
        &["nothing differs from run-1's preset"],
    );
    assert!(!exp.join("runs/run-2").exists());
    // --from stands for --preset and --out, and needs a change.
    for extra in [["--preset", "starter"], ["--out", "elsewhere"]] {
        let mut args = vec!["train", "--from", from, "--change", "seed=1"];
        args.extend(extra);
        let out = tunedeck(&args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
    let out = tunedeck(&["train", "--from", from]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(!out.status.success());
    // Folders that are not runs of an experiment.
    let stray = tmp.path().join("stray");
    std::fs::create_dir_all(&stray).unwrap();
    expect_error(
        &["train", "--from", path_str(&stray), "--change", "seed=1"],
        &["no preset.toml"],
    );
    std::fs::copy(run1.join("preset.toml"), stray.join("preset.toml")).unwrap();
    expect_error(
        &["train", "--from", path_str(&stray), "--change", "seed=1"],
        &["not inside an experiment's runs/ folder"],
    );
    expect_error(
        &[
            "train",
            "--from",
            path_str(&tmp.path().join("nope")),
            "--change",
            "seed=1",
        ],
        &["no such run folder"],
    );
}
