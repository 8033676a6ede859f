//! Adapters travel between tunedeck and PEFT, merging is exact, and one training step gives
//! PEFT's loss and gradients (references in tests/fixtures, made by `just fixtures`).

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Tensor};
use tunedeck::model::Model;
use tunedeck::train::{encode::Sequence, loss};

fn tiny_llama() -> Model {
    Model::load(&fixtures().join("tiny-llama"), Device::Cpu, "auto", false).unwrap()
}

#[test]
fn peft_adapter_loads_in_tunedeck_with_peft_logprobs() {
    let mut m = tiny_llama();
    tunedeck::lora::attach_saved(&mut m, &fixtures().join("peft-tiny-llama")).unwrap();
    let worst = worst_logprob_diff(&m, &reference()["peft-tiny-llama"]);
    assert!(worst < 1e-4, "worst log-prob difference {worst}");
    // The adapter really changes the model (so the comparison above is not vacuous).
    let base = worst_logprob_diff(&tiny_llama(), &reference()["peft-tiny-llama"]);
    assert!(base > 1e-2, "base and adapted models should differ: {base}");
}

#[test]
fn tunedeck_adapter_loads_in_peft_with_the_same_logprobs() {
    let dir = fixtures().join("tunedeck-adapter");
    let cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["peft_type"], "LORA");
    assert_eq!(cfg["task_type"], "CAUSAL_LM");
    let mut m = tiny_llama();
    tunedeck::lora::attach_saved(&mut m, &dir).unwrap();
    let worst = worst_logprob_diff(&m, &reference()["tunedeck-adapter-peft"]);
    assert!(worst < 1e-4, "worst log-prob difference {worst}");
}

#[test]
fn merged_weights_give_the_logits_of_base_plus_adapter() {
    let out = tempfile::tempdir().unwrap();
    let run = tunedeck(&[
        "adapter",
        "merge",
        "--model",
        path_str(&fixtures().join("tiny-llama")),
        "--adapter",
        path_str(&fixtures().join("peft-tiny-llama")),
        "--out",
        path_str(out.path()),
    ]);
    succeeded(&run);
    let merged = Model::load(out.path(), Device::Cpu, "auto", false).unwrap();
    let worst = worst_logprob_diff(&merged, &reference()["peft-tiny-llama"]);
    assert!(worst < 1e-4, "worst log-prob difference {worst}");
}

fn read_grads(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn one_training_step_matches_peft() {
    let text = std::fs::read_to_string(fixtures().join("peft-step/batch.json")).unwrap();
    let batch: Value = serde_json::from_str(&text).unwrap();
    let rows = |k: &str| -> Vec<Vec<i64>> {
        batch[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect()
            })
            .collect()
    };
    let seqs: Vec<Sequence> = rows("input_ids")
        .into_iter()
        .zip(rows("labels"))
        .map(|(ids, labels)| Sequence {
            ids,
            labels,
            teacher: None,
        })
        .collect();
    let mut m = tiny_llama();
    let adapter =
        tunedeck::lora::attach_saved(&mut m, &fixtures().join("peft-tiny-llama")).unwrap();
    let b = tunedeck::train::encode::collate(&seqs.iter().collect::<Vec<_>>(), 2);
    // The trainer's own path: the head a chunk at a time, then the decoder's backward.
    let labels: usize = seqs.iter().map(|s| s.label_tokens()).sum();
    let hidden = m.decoder.hidden(&b.ids, None, true);
    let (got_loss, n) = loss::backward_at_labels(&m.decoder, &hidden, &b, labels as f64);
    assert_eq!(n, labels);
    let want_loss = batch["loss"].as_f64().unwrap();
    assert!(
        ((got_loss - want_loss) / want_loss).abs() < 1e-4,
        "loss {got_loss} vs PEFT {want_loss}"
    );
    let want = read_grads(&fixtures().join("peft-step/grads.safetensors"));
    let vars = adapter.vs.variables();
    assert_eq!(vars.len(), want.len());
    for (name, w) in &want {
        let g = vars[name].grad();
        let rel = (&g - w).norm().double_value(&[]) / w.norm().double_value(&[]).max(1e-12);
        assert!(rel < 1e-4, "{name}: relative gradient error {rel}");
    }
}
