//! Bad models and GGUF files give one `error:` line naming the file and the problem, never a
//! panic.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn import(file: &Path, mentions: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let mut all = vec![path_str(file)];
    all.extend(mentions);
    expect_error(
        &[
            "model",
            "import-gguf",
            path_str(file),
            "--out",
            path_str(out.path()),
        ],
        &all,
    );
}

/// A copy of the tiny GGUF with `edit` applied to its bytes.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(fixtures().join("gguf/tiny-llama.gguf")).unwrap();
    edit(&mut bytes);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn truncated_gguf() {
    let tmp = tempfile::tempdir().unwrap();
    let f = edited(tmp.path(), "cut.gguf", |b| b.truncate(b.len() / 2));
    import(&f, &["truncated"]);
    let f = edited(tmp.path(), "header.gguf", |b| b.truncate(30));
    import(&f, &["truncated"]);
}

#[test]
fn wrong_magic() {
    let tmp = tempfile::tempdir().unwrap();
    let f = edited(tmp.path(), "magic.gguf", |b| {
        b[..4].copy_from_slice(b"GGML")
    });
    import(&f, &["not a GGUF file"]);
}

#[test]
fn unsupported_tensor_type() {
    import(
        &fixtures().join("gguf/bad/unsupported-type.gguf"),
        &["Q2_K", "unsupported tensor type"],
    );
}

#[test]
fn unsupported_architecture() {
    import(
        &fixtures().join("gguf/bad/unsupported-arch.gguf"),
        &["mamba", "not supported"],
    );
}

#[test]
fn gguf_tokenizer_that_does_not_match_the_vocabulary() {
    import(
        &fixtures().join("gguf/bad/vocab-mismatch.gguf"),
        &["tokenizer does not match the vocabulary", "6 tokens"],
    );
}

#[test]
fn model_directory_without_config() {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(fixtures().join("tiny-llama").join(f), tmp.path().join(f)).unwrap();
    }
    expect_error(
        &[
            "model",
            "logprobs",
            "--model",
            path_str(tmp.path()),
            "--text",
            "hi",
        ],
        &["config.json"],
    );
    expect_error(
        &["chat", "--model", path_str(tmp.path()), "--prompt", "hi"],
        &["config.json"],
    );
}

#[test]
fn hf_tokenizer_that_does_not_match_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(fixtures().join("tiny-llama").join(f), tmp.path().join(f)).unwrap();
    }
    let cfg = std::fs::read_to_string(fixtures().join("tiny-llama/config.json")).unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        cfg.replace("\"vocab_size\": 420", "\"vocab_size\": 300"),
    )
    .unwrap();
    expect_error(
        &[
            "model",
            "logprobs",
            "--model",
            path_str(tmp.path()),
            "--text",
            "hi",
        ],
        &["tokenizer.json", "does not match"],
    );
}

#[test]
fn missing_files_are_named() {
    import(Path::new("/nonexistent/model.gguf"), &["cannot open"]);
    expect_error(
        &["model", "tokenize", "--model", "/nonexistent", "hi"],
        &["tokenizer.json"],
    );
}

#[test]
fn a_checkpoint_that_does_not_fit_its_config_names_the_file_the_tensor_and_both_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    // The tiny Llama with one config.json key changed, and `model logprobs`'s error on it.
    let load = |name: &str, from: &str, to: &str| {
        let dir = tiny_llama_with(&tmp.path().join(name), from, to);
        let args = [
            "model",
            "logprobs",
            "--model",
            path_str(&dir),
            "--text",
            "hi",
        ];
        let err = expect_error(&args, &[]);
        (dir, err)
    };
    let (wide, err) = load(
        "wide",
        "\"intermediate_size\": 256",
        "\"intermediate_size\": 128",
    );
    let said = format!(
        "{}: tensor model.layers.0.mlp.gate_proj.weight has shape [256, 64], config.json implies [128, 64]",
        wide.join("model.safetensors").display()
    );
    assert!(err.contains(&said), "{err}");
    let (deep, err) = load(
        "deep",
        "\"num_hidden_layers\": 2",
        "\"num_hidden_layers\": 3",
    );
    let said = format!(
        "{}: tensor model.layers.2.input_layernorm.weight is missing from the weights",
        deep.display()
    );
    assert!(err.contains(&said), "{err}");
}
