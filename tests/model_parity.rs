//! Token ids and log-probabilities against Hugging Face transformers (tests/fixtures, made by
//! `just fixtures`): tiny random Llama and Qwen2 models, the same models imported from GGUF
//! with mixed quantisation, and the real SmolLM2-135M-Instruct.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use tunedeck::gguf::{self, GgufFile, ImportOptions, OutDtype};
use tunedeck::model::{generate, Model};

const TOLERANCE: f64 = 1e-3;

/// Compare tunedeck's ids and log-probs for every reference text.
fn check_model(dir: &Path, cases: &Value) {
    let model = Model::load(dir, tch::Device::Cpu, "auto", false).expect("model loads");
    let mut worst = 0.0f64;
    for case in cases.as_array().expect("cases") {
        let text = case["text"].as_str().unwrap();
        let ids = model.tokenizer.encode(text).unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(
            ids,
            want,
            "{}: token ids differ for {text:?}",
            dir.display()
        );
        let got = generate::token_logprobs(&model.decoder, &ids);
        for (i, (g, w)) in got
            .iter()
            .zip(case["logprobs"].as_array().unwrap())
            .enumerate()
        {
            match (g, w.as_f64()) {
                (None, None) => {}
                (Some(g), Some(w)) => {
                    let d = (*g as f64 - w).abs();
                    worst = worst.max(d);
                    assert!(
                        d < TOLERANCE,
                        "{}: {text:?} token {i}: {g} vs reference {w}",
                        dir.display()
                    );
                }
                other => panic!("position {i}: {other:?}"),
            }
        }
        // Scoring only an answer's positions (the guard's perplexity) agrees with the
        // reference too.
        let from = ids.len() / 2;
        let tail = generate::token_logprobs_from(&model.decoder, &ids, from);
        assert_eq!(tail.len(), ids.len() - from.max(1), "{text:?}");
        for (j, g) in tail.iter().enumerate() {
            let w = case["logprobs"][from.max(1) + j].as_f64().unwrap();
            assert!(
                (*g as f64 - w).abs() < TOLERANCE,
                "{}: {text:?} scored from {from}, token {}: {g} vs reference {w}",
                dir.display(),
                from.max(1) + j
            );
        }
    }
    eprintln!("{}: worst log-prob difference {worst:.2e}", dir.display());
}

#[test]
fn tiny_llama_matches_transformers() {
    check_model(&fixtures().join("tiny-llama"), &reference()["tiny-llama"]);
}

#[test]
fn tiny_qwen2_matches_transformers() {
    check_model(&fixtures().join("tiny-qwen2"), &reference()["tiny-qwen2"]);
}

fn import_tiny(name: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let file = fixtures().join(format!("gguf/{name}.gguf"));
    gguf::import(
        &file,
        out.path(),
        &ImportOptions {
            dtype: OutDtype::Float32,
        },
        &mut |_, _, _| {},
    )
    .unwrap();
    out
}

#[test]
fn gguf_import_of_quantised_llama_matches_transformers() {
    let dir = import_tiny("tiny-llama");
    check_model(dir.path(), &reference()["tiny-llama-gguf"]);
}

#[test]
fn gguf_import_of_quantised_qwen2_matches_transformers() {
    let dir = import_tiny("tiny-qwen2");
    check_model(dir.path(), &reference()["tiny-qwen2-gguf"]);
}

#[test]
fn every_quant_type_dequantises_like_gguf_py() {
    let g = GgufFile::open(&fixtures().join("gguf/quants.gguf")).unwrap();
    let text = std::fs::read_to_string(fixtures().join("gguf/quants.json")).unwrap();
    let want: Value = serde_json::from_str(&text).unwrap();
    let mut seen = Vec::new();
    for t in &g.tensors {
        let got = g.dequantize(t).unwrap();
        let w: Vec<f64> = want[&t.name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), w.len(), "{}", t.name);
        for (i, (a, b)) in got.iter().zip(&w).enumerate() {
            assert!(
                (*a as f64 - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{} [{i}]: {a} vs {b}",
                t.name
            );
        }
        seen.push(t.name.clone());
    }
    seen.sort();
    assert_eq!(
        seen,
        ["bf16", "f16", "f32", "q4_0", "q4_1", "q4_k", "q5_k", "q6_k", "q8_0"]
    );
}

#[test]
fn smollm2_matches_transformers() {
    check_model(&smollm2(), &reference()["smollm2"]);
}

#[test]
fn smollm2_digits_are_single_pieces() {
    let out = tunedeck(&[
        "model",
        "tokenize",
        "--model",
        path_str(&smollm2()),
        "year 2026: 1234567",
    ]);
    let ids = json_stdout(&out)["ids"].as_array().unwrap().len();
    // "year", " ", then 4 digits, ":", " ", then 7 digits.
    assert_eq!(ids, 1 + 1 + 4 + 1 + 1 + 7);
}

#[test]
fn smollm2_knows_the_capital_of_france() {
    let out = tunedeck(&[
        "chat",
        "--model",
        path_str(&smollm2()),
        "--prompt",
        "What is the capital of France?",
        "--max-new-tokens",
        "24",
        "--device",
        "cpu",
    ]);
    succeeded(&out);
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(answer.contains("Paris"), "answer: {answer}");
}

#[test]
fn logprobs_cli_prints_the_contract_shape() {
    let dir = fixtures().join("tiny-llama");
    let out = tunedeck(&[
        "model",
        "logprobs",
        "--model",
        path_str(&dir),
        "--text",
        "Hello, world!",
    ]);
    let v = json_stdout(&out);
    let ids = v["ids"].as_array().unwrap();
    let lps = v["logprobs"].as_array().unwrap();
    assert_eq!(ids.len(), lps.len());
    assert!(lps[0].is_null());
    assert!(lps[1..]
        .iter()
        .all(|x| x.as_f64().is_some_and(|x| x <= 0.0)));
}
