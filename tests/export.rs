//! `tunedeck export` read back by tunedeck's own GGUF importer: the merged model's
//! log-probabilities after a round trip (F32 exact, F16 within its rounding, Q8_0 within a
//! measured bound), the `--lora-only` layout, Q8_0 against gguf-py, the Modelfile's TEMPLATE
//! executed as Ollama does, and the errors for bad input.

mod common;

use common::go_template::{render, Message};
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};
use tunedeck::export::{export, ExportOptions, Exported, Quant};
use tunedeck::gguf::layout::unpermute;
use tunedeck::gguf::quantize::quantize;
use tunedeck::gguf::{self, GgmlType, GgufFile, ImportOptions, OutDtype, Value};
use tunedeck::model::template::ChatTemplate;
use tunedeck::model::{generate, Model};

/// Worst log-probability drift of a Q8_0 round trip on the tiny random models (measured 0.100
/// for tiny-llama and 0.113 for tiny-qwen2).
const Q8_0_TINY_BOUND: f64 = 0.15;

/// Exports `source` (with `model` as the base) into `to`.
fn run(source: &Path, model: &Path, to: &Path, quant: Quant, lora_only: bool) -> Exported {
    let opts = ExportOptions {
        source: source.to_path_buf(),
        to: to.to_path_buf(),
        model: Some(model.to_path_buf()),
        quant,
        lora_only,
        force: false,
    };
    export(&opts, &mut |_, _, _| {}).expect("export succeeds")
}

/// `model import-gguf` of `file` into `out`, float32.
fn import(file: &Path, out: &Path) -> Model {
    let opts = ImportOptions {
        dtype: OutDtype::Float32,
    };
    gguf::import(file, out, &opts, &mut |_, _, _| {}).expect("the export imports");
    load(out)
}

fn load(dir: &Path) -> Model {
    Model::load(dir, tch::Device::Cpu, "auto", false).expect("model loads")
}

/// The base model with the adapter merged, as `tunedeck adapter merge` computes it.
fn merged(base: &Path, adapter: &Path) -> Model {
    let mut m = load(base);
    tunedeck::lora::attach_saved(&mut m, adapter).expect("adapter loads");
    tunedeck::lora::merge_into(&mut m);
    m
}

fn weights(m: &Model) -> BTreeMap<String, Tensor> {
    m.vs.variables().into_iter().collect()
}

/// Rounds every matrix of `m` through `kind`: what a float16 GGUF keeps (vectors, the norms,
/// stay float32 as llama.cpp keeps them).
fn round_weights(m: &Model, kind: Kind) {
    tch::no_grad(|| {
        for (_, mut v) in m.vs.variables().into_iter().filter(|(_, v)| v.dim() == 2) {
            let r = v.to_kind(kind).to_kind(Kind::Float);
            v.copy_(&r);
        }
    });
}

/// The largest |a - b| over all weights (the same names in both).
fn worst_weight_diff(a: &Model, b: &Model) -> f64 {
    let (wa, wb) = (weights(a), weights(b));
    assert_eq!(wa.keys().collect::<Vec<_>>(), wb.keys().collect::<Vec<_>>());
    wa.iter()
        .map(|(n, t)| (t - &wb[n]).abs().max().double_value(&[]))
        .fold(0.0, f64::max)
}

/// The largest log-probability difference over the reference texts; token ids must agree.
fn worst_logprob_diff(a: &Model, b: &Model) -> f64 {
    let mut worst = 0.0f64;
    for text in reference()["texts"].as_array().unwrap() {
        let text = text.as_str().unwrap();
        let ids = a.tokenizer.encode(text).unwrap();
        assert_eq!(
            ids,
            b.tokenizer.encode(text).unwrap(),
            "token ids differ for {text:?}"
        );
        let (la, lb) = (
            generate::token_logprobs(&a.decoder, &ids),
            generate::token_logprobs(&b.decoder, &ids),
        );
        for (x, y) in la.iter().zip(&lb) {
            if let (Some(x), Some(y)) = (x, y) {
                worst = worst.max((x - y).abs() as f64);
            }
        }
    }
    worst
}

/// A copy of the tunedeck-adapter fixture whose config names no base model found here, so
/// only its shapes can tell whether it fits.
fn anonymous_adapter(dir: &Path) -> PathBuf {
    let out = dir.join("adapter");
    std::fs::create_dir_all(&out).unwrap();
    let src = fixtures().join("tunedeck-adapter");
    std::fs::copy(
        src.join("adapter_model.safetensors"),
        out.join("adapter_model.safetensors"),
    )
    .unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("adapter_config.json")).unwrap())
            .unwrap();
    cfg["base_model_name_or_path"] = "org/some-hub-model".into();
    std::fs::write(out.join("adapter_config.json"), cfg.to_string()).unwrap();
    out
}

#[test]
fn merged_tiny_llama_round_trips_in_f32_f16_and_q8_0() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, adapter) = (
        fixtures().join("tiny-llama"),
        fixtures().join("tunedeck-adapter"),
    );
    let want = merged(&base, &adapter);
    let rounded = merged(&base, &adapter);
    round_weights(&rounded, Kind::Half);
    for quant in [Quant::F32, Quant::F16, Quant::Q8_0] {
        let out = tmp.path().join(quant.name());
        let done = run(&adapter, &base, &out, quant, false);
        let file = out.join(&done.model_file);
        let g = GgufFile::open(&file).unwrap();
        assert_eq!(g.require_str("tokenizer.ggml.pre").unwrap(), "smollm");
        assert_eq!(g.require_u64("tokenizer.ggml.eos_token_id").unwrap(), 2);
        assert!(g.tensors.iter().any(|t| t.name == "output.weight"));
        let got = import(
            &file,
            &tmp.path().join(format!("{}-imported", quant.name())),
        );
        assert_eq!(got.tokenizer.template, want.tokenizer.template);
        let (w, lp) = match quant {
            Quant::F32 => (
                worst_weight_diff(&got, &want),
                worst_logprob_diff(&got, &want),
            ),
            // Exactly the merged weights rounded to float16, and so their log-probabilities.
            Quant::F16 => (
                worst_weight_diff(&got, &rounded),
                worst_logprob_diff(&got, &rounded),
            ),
            Quant::Q8_0 => (
                worst_weight_diff(&got, &want),
                worst_logprob_diff(&got, &want),
            ),
        };
        eprintln!(
            "tiny-llama {}: worst weight difference {w:.2e}, worst log-prob difference {lp:.2e} (against float32: {:.2e})",
            quant.name(),
            worst_logprob_diff(&got, &want)
        );
        match quant {
            Quant::F32 | Quant::F16 => {
                assert_eq!(w, 0.0, "{}: weights differ", quant.name());
                assert!(lp < 1e-4, "{}: {lp}", quant.name());
            }
            // Half a Q8_0 step of weights up to ~0.7 (std 0.15) is ~3e-3 (measured 2.6e-3).
            // These random tiny models have very sharp logits: measured worst log-prob drift
            // 0.100 here and 0.113 for tiny-qwen2 (SmolLM2: see its test).
            Quant::Q8_0 => {
                assert!(w < 4e-3, "q8_0 weights: {w}");
                assert!(lp < Q8_0_TINY_BOUND, "q8_0 log-probs: {lp}");
            }
        }
    }
}

/// A random adapter (B not zero) for the tiny Qwen2 model, saved in PEFT layout.
fn qwen2_adapter(dir: &Path) -> PathBuf {
    let base = fixtures().join("tiny-qwen2");
    let mut m = load(&base);
    let targets: Vec<String> = tunedeck::lora::TARGETS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cfg =
        tunedeck::lora::AdapterConfig::new(4, 8.0, 0.0, &targets, false, base.to_str().unwrap());
    let a = tunedeck::lora::attach_new(&mut m, cfg).unwrap();
    // Values from a local generator: the global torch seed is shared with the tests running
    // beside this one, so its draws would change from run to run.
    let mut rng = tunedeck::rng::SplitMix64::new(5);
    let mut vars: Vec<(String, tch::Tensor)> = a.vs.variables().into_iter().collect();
    vars.sort_by(|x, y| x.0.cmp(&y.0));
    tch::no_grad(|| {
        for (_, mut v) in vars {
            let n = v.numel();
            let r: Vec<f32> = (0..n)
                .map(|_| (rng.next_f64() as f32 - 0.5) * 0.35)
                .collect();
            let r = tch::Tensor::from_slice(&r)
                .view(v.size().as_slice())
                .to_kind(v.kind());
            v.copy_(&r);
        }
    });
    let out = dir.join("qwen2-adapter");
    a.save(&out).unwrap();
    out
}

#[test]
fn merged_tiny_qwen2_round_trips_without_an_output_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let base = fixtures().join("tiny-qwen2");
    let adapter = qwen2_adapter(tmp.path());
    let want = merged(&base, &adapter);
    for quant in [Quant::F32, Quant::Q8_0] {
        let out = tmp.path().join(quant.name());
        let done = run(&adapter, &base, &out, quant, false);
        let g = GgufFile::open(&out.join(&done.model_file)).unwrap();
        assert_eq!(g.require_str("general.architecture").unwrap(), "qwen2");
        assert_eq!(g.require_str("tokenizer.ggml.pre").unwrap(), "qwen2");
        assert!(
            !g.tensors.iter().any(|t| t.name == "output.weight"),
            "tied embeddings: llama.cpp reuses token_embd"
        );
        assert!(g.tensors.iter().any(|t| t.name == "blk.0.attn_q.bias"));
        let got = import(
            &out.join(&done.model_file),
            &tmp.path().join(quant.name()).join("imp"),
        );
        let lp = worst_logprob_diff(&got, &want);
        eprintln!(
            "tiny-qwen2 {}: worst log-prob difference {lp:.2e}",
            quant.name()
        );
        match quant {
            Quant::F32 => {
                assert_eq!(worst_weight_diff(&got, &want), 0.0);
                assert!(lp < 1e-4, "{lp}");
            }
            _ => assert!(lp < Q8_0_TINY_BOUND, "q8_0: {lp}"),
        }
    }
}

#[test]
fn lora_only_writes_the_base_and_the_adapter_in_llama_cpp_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, adapter) = (
        fixtures().join("tiny-llama"),
        fixtures().join("tunedeck-adapter"),
    );
    let out = tmp.path().join("out");
    let done = run(&adapter, &base, &out, Quant::F32, true);
    assert_eq!(done.model_file, "tiny-llama.f32.gguf");
    let lora_file = out.join(done.adapter_file.as_deref().unwrap());
    // The base model, untouched.
    let got = import(&out.join(&done.model_file), &tmp.path().join("base"));
    assert_eq!(worst_weight_diff(&got, &load(&base)), 0.0);

    let g = GgufFile::open(&lora_file).unwrap();
    assert_eq!(g.require_str("general.type").unwrap(), "adapter");
    assert_eq!(g.require_str("adapter.type").unwrap(), "lora");
    assert_eq!(g.require_str("general.architecture").unwrap(), "llama");
    let cfg = tunedeck::lora::AdapterConfig::load(&adapter).unwrap();
    let alpha = g.require("adapter.lora.alpha").unwrap().as_f64().unwrap();
    assert!(
        (alpha / cfg.r as f64 - cfg.scale()).abs() < 1e-6,
        "llama.cpp's alpha / r is the scale"
    );
    let peft: BTreeMap<String, Tensor> =
        Tensor::read_safetensors(adapter.join("adapter_model.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(g.tensors.len(), peft.len());
    let (heads, kv_heads) = (4, 2);
    for t in &g.tensors {
        // blk.1.attn_k.weight.lora_b -> model.layers.1.self_attn.k_proj + lora_B
        let (module, half) = t.name.rsplit_once(".weight.").unwrap();
        let hf = tunedeck::gguf::layout::hf_name(&format!("{module}.weight")).unwrap();
        let key = format!(
            "base_model.model.{}.{}.weight",
            hf.trim_end_matches(".weight"),
            if half == "lora_a" { "lora_A" } else { "lora_B" }
        );
        let want = &peft[&key];
        let shape: Vec<usize> = want.size().iter().map(|&d| d as usize).collect();
        assert_eq!(t.shape, shape, "{}", t.name);
        let mut values = g.dequantize(t).unwrap();
        if half == "lora_b" && module.ends_with("attn_q") {
            values = unpermute(&values, heads, shape[1]);
        } else if half == "lora_b" && module.ends_with("attn_k") {
            values = unpermute(&values, kv_heads, shape[1]);
        }
        let want: Vec<f32> = Vec::try_from(want.to_kind(Kind::Float).flatten(0, -1)).unwrap();
        assert_eq!(values, want, "{}", t.name);
    }
    let modelfile = std::fs::read_to_string(out.join("Modelfile")).unwrap();
    assert!(
        modelfile.contains("FROM ./tiny-llama.f32.gguf\n"),
        "{modelfile}"
    );
    assert!(
        modelfile.contains("ADAPTER ./tunedeck-adapter.lora.gguf\n"),
        "{modelfile}"
    );
}

#[test]
fn q8_0_matches_gguf_py_bit_for_bit() {
    let text = std::fs::read_to_string(fixtures().join("gguf/quants.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let values: Vec<f32> = json["q8_0"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let g = GgufFile::open(&fixtures().join("gguf/quants.gguf")).unwrap();
    let t = g.tensors.iter().find(|t| t.name == "q8_0").unwrap();
    // gguf-py's values re-quantise to gguf-py's own bytes: scales and int8s alike.
    let raw = quantize(&values, GgmlType::Q8_0).unwrap();
    assert_eq!(raw, g.raw(t));
    assert_eq!(
        GgmlType::Q8_0.dequantize(&raw, values.len()).unwrap(),
        values
    );
}

/// TEMPLATE and SYSTEM of a Modelfile.
fn modelfile_parts(text: &str) -> (String, Option<String>) {
    let quoted = |key: &str| {
        let start = text.find(&format!("{key} \"\"\""))? + key.len() + 4;
        let end = text[start..].find("\"\"\"")? + start;
        Some(text[start..end].to_string())
    };
    (quoted("TEMPLATE").expect("a TEMPLATE"), quoted("SYSTEM"))
}

/// Renders a two-turn conversation with `template` as Ollama would and as tunedeck does.
fn check_template(template: &str, modelfile_system: Option<&str>, chat: &ChatTemplate) {
    let history = vec![(
        "What is SQL injection?".to_string(),
        "Untrusted input changes the query.".to_string(),
    )];
    let user = "And XSS?\nAnswer in one line.";
    let turns = |system: Option<&str>| -> Vec<Message<'static>> {
        let mut m = Vec::new();
        if let Some(s) = system {
            m.push(Message {
                role: "system",
                content: Box::leak(s.to_string().into_boxed_str()),
            });
        }
        m.push(Message {
            role: "user",
            content: "What is SQL injection?",
        });
        m.push(Message {
            role: "assistant",
            content: "Untrusted input changes the query.",
        });
        m.push(Message {
            role: "user",
            content: user,
        });
        m
    };
    // The request's own system prompt: Ollama collates it into .System.
    let sys = "You review code for security bugs.";
    assert_eq!(
        render(template, sys, &turns(Some(sys))),
        chat.prompt(Some(sys), &history, user)
    );
    // No system message: Ollama uses the Modelfile's SYSTEM.
    assert_eq!(
        render(template, modelfile_system.unwrap_or(""), &turns(None)),
        chat.prompt(None, &history, user)
    );
}

#[test]
fn modelfile_template_renders_tunedecks_prompt_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, adapter) = (
        fixtures().join("tiny-llama"),
        fixtures().join("tunedeck-adapter"),
    );
    let out = tmp.path().join("out");
    run(&adapter, &base, &out, Quant::F16, false);
    let text = std::fs::read_to_string(out.join("Modelfile")).unwrap();
    let (template, system) = modelfile_parts(&text);
    let chat = load(&base).tokenizer.template;
    assert_eq!(system.as_deref(), Some("You are a tiny test model."));
    assert!(text.contains("PARAMETER stop \"<|im_end|>\"\n"), "{text}");
    check_template(&template, system.as_deref(), &chat);
    // The other layouts tunedeck trains with.
    for chat in [
        ChatTemplate::by_name("chatml", "<|im_end|>").unwrap(),
        ChatTemplate::by_name("smollm2", "<|im_end|>").unwrap(),
        ChatTemplate::by_name("alpaca", "</s>").unwrap(),
    ] {
        let (template, system) = chat.ollama_template();
        check_template(&template, system.as_deref(), &chat);
    }
}

/// An experiment whose preset trains tiny-llama, with `runs/run-1` holding a trainer log and,
/// when `adapter`, the PEFT fixture.
fn tiny_experiment(tmp: &Path, adapter: bool) -> PathBuf {
    let dir = tmp.join("exp");
    succeeded(&tunedeck(&["init", path_str(&dir), "--demo"]));
    for f in ["train.jsonl", "val.jsonl", "test.jsonl", "split.toml"] {
        std::fs::copy(
            fixtures().join("eval/split").join(f),
            dir.join("data").join(f),
        )
        .unwrap();
    }
    // Three guard questions keep the test fast.
    std::fs::copy(
        fixtures().join("eval/guard.jsonl"),
        dir.join("data/guard.jsonl"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("presets")).unwrap();
    let preset = format!(
        "model = {:?}\ntemplate = \"chatml\"\nlora_rank = 4\nlora_alpha = 8\ndevice = \"cpu\"\ndtype = \"float32\"\n",
        path_str(&fixtures().join("tiny-llama"))
    );
    std::fs::write(dir.join("presets/tiny.toml"), preset).unwrap();
    let toml = std::fs::read_to_string(dir.join("experiment.toml")).unwrap();
    std::fs::write(
        dir.join("experiment.toml"),
        toml.replace("name = \"smollm2-cpu\"", "name = \"tiny\""),
    )
    .unwrap();
    fixture_run(&dir, adapter);
    dir
}

/// Nothing but `keep` in `dir`: no export folder, no temporary one.
fn only(dir: &Path, keep: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, keep, "{}", dir.display());
}

#[test]
fn a_run_exports_with_its_preset_and_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), true);
    let run_dir = exp.join("runs/run-1");
    let out = tmp.path().join("out");
    let args = [
        "export",
        path_str(&run_dir),
        "--to",
        path_str(&out),
        "--quant",
        "q8_0",
    ];
    let stdout = String::from_utf8(tunedeck(&args).stdout).unwrap();
    assert!(stdout.contains("run-1.q8_0.gguf"), "{stdout}");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("not tested"), "{readme}");
    assert!(
        readme.contains("ollama create run-1 -f Modelfile"),
        "{readme}"
    );
    assert!(readme.contains("llama-cli -m run-1.q8_0.gguf"), "{readme}");
    // After the three-part test the README carries its verdict.
    succeeded(&tunedeck(&["eval", path_str(&exp), "--run", "run-1"]));
    let verdict = tunedeck::export::Verdict::of_run(&run_dir);
    assert!(!matches!(verdict, tunedeck::export::Verdict::NotTested(_)));
    let out2 = tmp.path().join("out2");
    succeeded(&tunedeck(&[
        "export",
        path_str(&run_dir),
        "--to",
        path_str(&out2),
    ]));
    let readme = std::fs::read_to_string(out2.join("README.md")).unwrap();
    assert!(readme.contains(&verdict.line()), "{readme}");
}

#[test]
fn a_run_without_an_adapter_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), false);
    let out = tmp.path().join("out");
    expect_error(
        &[
            "export",
            path_str(&exp.join("runs/run-1")),
            "--to",
            path_str(&out),
        ],
        &["runs/run-1/adapter", "no adapter here"],
    );
    only(tmp.path(), &["exp"]);
}

#[test]
fn an_adapter_of_another_base_model_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Same shapes, another model: the config the adapter names tells them apart.
    expect_error(
        &[
            "export",
            path_str(&fixtures().join("peft-tiny-llama")),
            "--model",
            path_str(&fixtures().join("tiny-qwen2")),
            "--to",
            path_str(&out),
        ],
        &[
            "peft-tiny-llama",
            "does not fit the base model",
            "tiny-qwen2",
            "--model",
        ],
    );
    // Other shapes.
    let small = tiny_llama_with(
        &tmp.path().join("small"),
        "\"intermediate_size\": 256",
        "\"intermediate_size\": 128",
    );
    let adapter = anonymous_adapter(tmp.path());
    expect_error(
        &[
            "export",
            path_str(&adapter),
            "--model",
            path_str(&small),
            "--to",
            path_str(&out),
        ],
        &[
            "adapter",
            "does not fit the base model",
            "mlp.down_proj",
            "org/some-hub-model",
        ],
    );
    only(tmp.path(), &["adapter", "small"]);
}

#[test]
fn a_non_empty_folder_needs_force_and_force_keeps_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let (adapter, base) = (
        fixtures().join("tunedeck-adapter"),
        fixtures().join("tiny-llama"),
    );
    let mut args = vec![
        "export",
        path_str(&adapter),
        "--model",
        path_str(&base),
        "--to",
        path_str(&out),
    ];
    expect_error(&args, &["out", "not empty", "--force"]);
    only(&out, &["notes.txt"]);
    only(tmp.path(), &["out"]);
    args.push("--force");
    succeeded(&tunedeck(&args));
    only(
        &out,
        &[
            "Modelfile",
            "README.md",
            "notes.txt",
            "tunedeck-adapter.f16.gguf",
        ],
    );
    only(tmp.path(), &["out"]);
}

#[test]
fn an_unwritable_destination_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let export_to = |to: &Path, mentions: &[&str]| {
        expect_error(
            &[
                "export",
                path_str(&fixtures().join("tunedeck-adapter")),
                "--model",
                path_str(&fixtures().join("tiny-llama")),
                "--to",
                path_str(to),
            ],
            mentions,
        );
    };
    export_to(&file, &["file", "not a folder"]);
    export_to(&file.join("out"), &["file", "--to you can write"]);
    only(tmp.path(), &["file"]);
}

#[test]
fn a_failure_while_writing_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    // A base whose config promises a third layer its weights lack: found only mid-export.
    let broken = tiny_llama_with(
        &tmp.path().join("broken"),
        "\"num_hidden_layers\": 2",
        "\"num_hidden_layers\": 3",
    );
    let adapter = anonymous_adapter(tmp.path());
    expect_error(
        &[
            "export",
            path_str(&adapter),
            "--model",
            path_str(&broken),
            "--to",
            path_str(&tmp.path().join("out")),
        ],
        &["model.layers.2", "missing"],
    );
    only(tmp.path(), &["adapter", "broken"]);
}

#[test]
fn gguf_metadata_carries_what_llama_cpp_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let done = run(
        &fixtures().join("tunedeck-adapter"),
        &fixtures().join("tiny-llama"),
        &out,
        Quant::F16,
        false,
    );
    let g = GgufFile::open(&out.join(&done.model_file)).unwrap();
    for (key, want) in [
        ("llama.context_length", 512),
        ("llama.embedding_length", 64),
        ("llama.block_count", 2),
        ("llama.feed_forward_length", 256),
        ("llama.attention.head_count", 4),
        ("llama.attention.head_count_kv", 2),
        ("llama.rope.dimension_count", 16),
        ("tokenizer.ggml.bos_token_id", 1),
        ("tokenizer.ggml.padding_token_id", 2),
    ] {
        assert_eq!(g.require_u64(key).unwrap(), want, "{key}");
    }
    assert_eq!(
        g.get("llama.rope.freq_base").and_then(Value::as_f64),
        Some(10000.0)
    );
    let n = g
        .get("tokenizer.ggml.tokens")
        .and_then(Value::as_array)
        .unwrap()
        .len();
    assert_eq!(g.require_u64("llama.vocab_size").unwrap() as usize, n);
    assert_eq!(
        g.get("tokenizer.ggml.add_bos_token"),
        Some(&Value::Bool(false))
    );
    let jinja = g.require_str("tokenizer.chat_template").unwrap();
    assert_eq!(
        ChatTemplate::detect(Some(jinja), "<|im_end|>"),
        load(&fixtures().join("tiny-llama")).tokenizer.template
    );
}

/// SmolLM2-135M-Instruct with the committed rank-2 adapter: F16 within float16 rounding of the
/// merged weights, Q8_0 within the measured bound. About two minutes in a debug build:
/// `just test-export-smollm2`.
#[test]
#[ignore = "about two minutes in a debug build: just test-export-smollm2"]
fn smollm2_with_an_adapter_round_trips_in_f16_and_q8_0() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, adapter) = (smollm2(), fixtures().join("export/smollm2-adapter"));
    let want = merged(&base, &adapter);
    for quant in [Quant::F16, Quant::Q8_0] {
        let out = tmp.path().join(quant.name());
        let done = run(&adapter, &base, &out, quant, false);
        let file = out.join(&done.model_file);
        let g = GgufFile::open(&file).unwrap();
        assert_eq!(g.require_str("tokenizer.ggml.pre").unwrap(), "smollm");
        assert!(!g.tensors.iter().any(|t| t.name == "output.weight"));
        let got = import(&file, &tmp.path().join(quant.name()).join("imp"));
        let lp = worst_logprob_diff(&got, &want);
        eprintln!(
            "smollm2 {}: worst log-prob difference {lp:.2e}",
            quant.name()
        );
        if quant == Quant::F16 {
            std::fs::remove_dir_all(tmp.path().join(quant.name())).unwrap();
            round_weights(&want, Kind::Half);
            let exact = worst_logprob_diff(&got, &want);
            eprintln!("smollm2 f16 against the float16-rounded merge: {exact:.2e}");
            assert!(exact < 1e-4, "{exact}");
            // Back to float32 for the Q8_0 comparison.
            let fresh = merged(&base, &adapter);
            tch::no_grad(|| {
                for (n, mut v) in want.vs.variables() {
                    v.copy_(&fresh.vs.variables()[&n]);
                }
            });
        } else {
            assert!(lp < Q8_0_SMOLLM2_BOUND, "q8_0: {lp}");
        }
    }
}

/// Worst log-probability drift of SmolLM2 + adapter through Q8_0 over the reference texts
/// (measured 0.249; F16 against float32 measured 0.0107).
const Q8_0_SMOLLM2_BOUND: f64 = 0.35;
