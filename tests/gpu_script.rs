//! bench/gpu.sh, the device benchmark, is run only when a session has a GPU; its tunedeck
//! half runs here on the CPU with a tiny Qwen2 shape so that the script cannot rot.

mod common;

use common::*;
use std::process::Command;

#[test]
fn the_gpu_benchmark_runs_its_tunedeck_half_on_a_tiny_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("bench/gpu.sh"))
        .arg("--tiny")
        .env("BIN", env!("CARGO_BIN_EXE_tunedeck"))
        .env("TOKENIZER", fixtures().join("tiny-llama"))
        .env("WORK", tmp.path())
        .output()
        .expect("bash runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("tunedeck "))
        .unwrap_or_else(|| panic!("no tunedeck line:\n{stdout}\n{stderr}"));
    let tps: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(tps > 0.0, "{line}");
    assert!(stdout.contains("gradient checkpointing"), "{stdout}");
    // A real run: the random Qwen2 model has q/k/v biases, and the adapter was written.
    let config = std::fs::read_to_string(tmp.path().join("model/config.json")).unwrap();
    assert!(config.contains("Qwen2ForCausalLM"), "{config}");
    assert!(tmp
        .path()
        .join("run/adapter/adapter_model.safetensors")
        .exists());
}
