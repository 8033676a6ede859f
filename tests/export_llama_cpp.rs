//! The real consumer: llama.cpp (through llama-cpp-python, `just fixtures-export`) loaded
//! tunedeck's F16 export of SmolLM2 + the committed adapter, merged and `--lora-only`, and
//! recorded its token ids and greedy answers in tests/fixtures/export/llama_cpp.json. Here
//! the same export is made again and read back by tunedeck: the files must be the bytes
//! llama.cpp read, and tunedeck's tokens and greedy answers must equal llama.cpp's.
//! Needs SmolLM2 from `just setup`; about 80 s in `just test` on a quiet 2-core machine.

mod common;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use tunedeck::export::{export, ExportOptions, Quant};
use tunedeck::gguf::{self, ImportOptions, OutDtype};
use tunedeck::model::generate::{generate, GenerateOptions};
use tunedeck::model::Model;

fn recorded() -> Value {
    let path = fixtures().join("export/llama_cpp.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Greedy answers to the recorded prompts, compared token for token.
fn check_answers(m: &Model, rec: &Value, side: &str) {
    let max = rec["max_tokens"].as_u64().unwrap() as usize;
    for answer in rec[side].as_array().unwrap() {
        let prompt = answer["prompt"].as_str().unwrap();
        let text = m.tokenizer.template.prompt(None, &[], prompt);
        let input = m.tokenizer.encode(&text).unwrap();
        let opts = GenerateOptions {
            max_new_tokens: max,
            stop_ids: m.tokenizer.stop_ids.clone(),
            ..GenerateOptions::default()
        };
        let (got, _) = generate(&m.decoder, &input, &opts, &mut |_| true);
        assert_eq!(
            got,
            ids(&answer["ids"]),
            "{side}: {prompt:?}: tunedeck answered {:?}, llama.cpp {:?}",
            m.tokenizer.decode(&got).unwrap(),
            answer["text"]
        );
    }
}

fn import(file: &Path, out: &Path) -> Model {
    let opts = ImportOptions {
        dtype: OutDtype::Float32,
    };
    gguf::import(file, out, &opts, &mut |_, _, _| {}).unwrap();
    Model::load(out, tch::Device::Cpu, "auto", false).unwrap()
}

#[test]
fn llama_cpp_reads_the_export_as_tunedeck_does() {
    let rec = recorded();
    let tmp = tempfile::tempdir().unwrap();
    let adapter = fixtures().join("export/smollm2-adapter");
    let export_to = |dir: &str, lora_only: bool| {
        let opts = ExportOptions {
            source: adapter.clone(),
            to: tmp.path().join(dir),
            model: Some(smollm2()),
            quant: Quant::F16,
            lora_only,
            force: false,
        };
        export(&opts, &mut |_, _, _| {}).unwrap()
    };
    let merged = export_to("merged", false);
    let merged_file = tmp.path().join("merged").join(&merged.model_file);
    let split = export_to("lora", true);
    let base_file = tmp.path().join("lora").join(&split.model_file);
    let lora_file = tmp.path().join("lora").join(split.adapter_file.unwrap());
    let regenerate = "the export changed since the fixture was made: run `just fixtures-export`";
    for (file, key) in [
        (&merged_file, "merged"),
        (&base_file, "base"),
        (&lora_file, "lora"),
    ] {
        assert_eq!(sha256(file), rec["sha256"][key], "{key}: {regenerate}");
    }

    let m = import(&merged_file, &tmp.path().join("merged-imported"));
    for (text, want) in rec["texts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rec["tokens"].as_array().unwrap())
    {
        let text = text.as_str().unwrap();
        assert_eq!(
            m.tokenizer.encode(text).unwrap(),
            ids(want),
            "tokens of {text:?}"
        );
    }
    // llama.cpp's Jinja rendering of the exported chat template is tunedeck's prompt.
    let history = [("Capital of France?".to_string(), "Paris.".to_string())];
    let t = &m.tokenizer.template;
    assert_eq!(
        rec["jinja"]["with_system"],
        t.prompt(Some("You answer in one word."), &history, "And of Italy?")
    );
    assert_eq!(
        rec["jinja"]["default_system"],
        t.prompt(None, &history, "And of Italy?")
    );
    check_answers(&m, &rec, "merged");
    drop(m);

    let mut base = import(&base_file, &tmp.path().join("base-imported"));
    check_answers(&base, &rec, "base");
    tunedeck::lora::attach_saved(&mut base, &adapter).unwrap();
    check_answers(&base, &rec, "lora");
}
