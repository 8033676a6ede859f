//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The demo model that `just setup` imports; tests that need it say so when it is missing.
pub fn smollm2() -> PathBuf {
    let dir = root().join("models/smollm2-135m-instruct");
    assert!(
        dir.join("model.safetensors").exists(),
        "{} is missing: run `just setup` first",
        dir.display()
    );
    dir
}

pub fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures().join("reference.json"))
        .expect("tests/fixtures/reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

/// Run the tunedeck binary.
pub fn tunedeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunedeck"))
        .args(args)
        .output()
        .expect("tunedeck runs")
}

/// Run tunedeck and expect a clean failure: non-zero exit, one `error:` line naming
/// `mentions`, and no panic.
pub fn expect_error(args: &[&str], mentions: &[&str]) -> String {
    let out = tunedeck(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "{args:?} should fail; stderr: {stderr}"
    );
    assert!(
        stderr.starts_with("error: "),
        "{args:?}: stderr should start with `error: `: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    for m in mentions {
        assert!(
            stderr.contains(m),
            "{args:?}: error should mention {m:?}: {stderr}"
        );
    }
    stderr
}

/// Fails the test with the command's stderr unless it succeeded.
pub fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn json_stdout(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
/// Largest |difference| between tunedeck's log-probs and the reference's for every text.
pub fn worst_logprob_diff(model: &tunedeck::model::Model, cases: &Value) -> f64 {
    let mut worst = 0.0f64;
    for case in cases.as_array().unwrap() {
        let ids: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let got = tunedeck::model::generate::token_logprobs(&model.decoder, &ids);
        for (g, w) in got.iter().zip(case["logprobs"].as_array().unwrap()).skip(1) {
            worst = worst.max((g.unwrap() as f64 - w.as_f64().unwrap()).abs());
        }
    }
    worst
}

pub mod go_template;
pub mod training;

/// `<experiment>/runs/run-1` holding the eval fixture's trainer log and, with `adapter`, the
/// PEFT adapter of tiny-llama: a finished run without training one.
pub fn fixture_run(experiment: &Path, adapter: bool) -> PathBuf {
    let run = experiment.join("runs/run-1");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(
        fixtures().join("eval/trainer_log.jsonl"),
        run.join("trainer_log.jsonl"),
    )
    .unwrap();
    if adapter {
        std::fs::create_dir_all(run.join("adapter")).unwrap();
        for f in ["adapter_config.json", "adapter_model.safetensors"] {
            std::fs::copy(
                fixtures().join("peft-tiny-llama").join(f),
                run.join("adapter").join(f),
            )
            .unwrap();
        }
    }
    run
}

/// A copy of tiny-llama in `dir` whose config.json has `from` replaced by `to`.
pub fn tiny_llama_with(dir: &Path, from: &str, to: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for f in [
        "tokenizer.json",
        "tokenizer_config.json",
        "model.safetensors",
    ] {
        std::fs::copy(fixtures().join("tiny-llama").join(f), dir.join(f)).unwrap();
    }
    let cfg = std::fs::read_to_string(fixtures().join("tiny-llama/config.json")).unwrap();
    assert!(cfg.contains(from), "tiny-llama's config.json has no {from}");
    std::fs::write(dir.join("config.json"), cfg.replace(from, to)).unwrap();
    dir.to_path_buf()
}
