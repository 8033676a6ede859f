//! `tunedeck eval` end to end on the tiny test model, and its errors for bad input.

mod common;

use common::{expect_error, fixtures, path_str, succeeded, tunedeck};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of a fixture split: unsealing writes `unsealed.log` into the split folder.
fn split_copy(tmp: &Path, name: &str) -> PathBuf {
    let to = tmp.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for f in ["train.jsonl", "val.jsonl", "test.jsonl", "split.toml"] {
        std::fs::copy(fixtures().join("eval").join(name).join(f), to.join(f)).unwrap();
    }
    to
}

/// `eval` of the tiny model with `adapter` on `split` and `guard`, then `extra`.
fn eval_args(adapter: &Path, split: &Path, guard: &Path, extra: &[&str]) -> Vec<String> {
    let model = fixtures().join("tiny-llama");
    [
        "eval",
        "--model",
        path_str(&model),
        "--adapter",
        path_str(adapter),
        "--data",
        path_str(split),
        "--guard",
        path_str(guard),
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect()
}

/// `tunedeck eval ARGS`, expecting a clean error that mentions `mentions`.
fn expect_eval_error(args: &[String], mentions: &[&str]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_error(&args, mentions)
}

fn eval_explicit(split: &Path, guard: &Path, out: &Path) -> std::process::Output {
    eval_with(split, guard, out, &["--max-new-tokens", "8"])
}

fn eval_with(split: &Path, guard: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let adapter = fixtures().join("peft-tiny-llama");
    let mut rest = vec![
        "--exam-size",
        "3",
        "--device",
        "cpu",
        "--out",
        path_str(out),
    ];
    rest.extend_from_slice(extra);
    let args = eval_args(&adapter, split, guard, &rest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tunedeck(&args)
}

#[test]
fn eval_answers_scores_and_records_every_part() {
    let tmp = tempfile::tempdir().unwrap();
    let split = split_copy(tmp.path(), "split");
    let guard = fixtures().join("eval/guard.jsonl");
    let out = tmp.path().join("eval.json");
    let run = eval_explicit(&split, &guard, &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    succeeded(&run);
    for line in ["exam", "interview", "guard", "graduated: no", "results:"] {
        assert!(stdout.contains(line), "{line:?} missing from {stdout}");
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let parts = report["parts"].as_array().unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["part"].as_str().unwrap()).collect();
    assert_eq!(names, ["exam", "interview", "guard"]);
    let sizes: Vec<usize> = parts
        .iter()
        .map(|p| p["items"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        [3, 1, 3],
        "3 sampled exam questions, the test split, the guard"
    );
    for p in parts {
        assert!(p["rule"].as_str().unwrap().starts_with("passes when"));
        for item in p["items"].as_array().unwrap() {
            for side in ["base", "adapter"] {
                assert!(item[side]["tokens"].as_u64().unwrap() <= 8);
                assert!(item[side]["scores"]["score"].is_number());
            }
        }
    }
    // The guard scores keywords and the perplexity of its references on both sides.
    let guard_item = &parts[2]["items"][0];
    assert_eq!(guard_item["must_include"], serde_json::json!(["paris"]));
    assert!(guard_item["base"]["scores"]["keywords"].is_number());
    assert!(parts[2]["base"]["perplexity"].as_f64().unwrap() > 1.0);
    assert_ne!(
        parts[2]["base"]["perplexity"], parts[2]["adapter"]["perplexity"],
        "the adapter changes the model"
    );
    // The test split was unsealed, once, and the record says so.
    let log = std::fs::read_to_string(split.join("unsealed.log")).unwrap();
    assert_eq!(log.lines().count(), 1);
    assert!(log.contains("interview of"), "{log}");
    assert!(report["unsealed"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("interview of"));
    assert_eq!(report["settings"]["max_new_tokens"], 8);
    assert_eq!(report["graduated"], false);

    // Greedy decoding: a second evaluation gives the same answers.
    let again = tmp.path().join("again.json");
    assert!(eval_explicit(&split, &guard, &again).status.success());
    let second: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    let answers = |r: &Value| {
        r["parts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["items"].as_array().unwrap().clone())
            .map(|i| (i["base"]["text"].clone(), i["adapter"]["text"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(answers(&report), answers(&second));
}

#[test]
fn batched_and_one_at_a_time_evals_give_the_same_answers_and_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let split = split_copy(tmp.path(), "split");
    let guard = fixtures().join("eval/guard.jsonl");
    let run = |name: &str, size: &str| -> (Value, String) {
        let out = tmp.path().join(name);
        let r = eval_with(
            &split,
            &guard,
            &out,
            &["--max-new-tokens", "64", "--batch-size", size],
        );
        succeeded(&r);
        let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        (report, String::from_utf8_lossy(&r.stdout).into_owned())
    };
    let (one, _) = run("one.json", "1");
    let (batched, stdout) = run("batched.json", "0");
    let strip = |r: &Value| {
        let mut parts = r["parts"].clone();
        for p in parts.as_array_mut().unwrap() {
            for item in p["items"].as_array_mut().unwrap() {
                for side in ["base", "adapter"] {
                    // Perplexity is one forward pass either way; compare the generated parts.
                    item[side]["scores"]["perplexity"] = Value::Null;
                }
            }
            for side in ["base", "adapter"] {
                p[side]["perplexity"] = Value::Null;
            }
        }
        parts
    };
    assert_eq!(strip(&one), strip(&batched), "answers, scores and verdicts");
    // The tiny random model babbles without looping, so nothing is cut here (the generator's
    // tests cut loops); a cut answer would be a wrong runaway short of the limit.
    let cut: u64 = batched["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["base"]["cut"].as_u64().unwrap() + p["adapter"]["cut"].as_u64().unwrap())
        .sum();
    assert_eq!(cut > 0, stdout.contains("cut ="), "{stdout}");
    for item in batched["parts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap())
    {
        for side in ["base", "adapter"] {
            let a = &item[side];
            if a["scores"]["cut"] == true {
                assert!(a["scores"]["runaway"] == true && a["scores"]["correct"] == false);
                assert!(a["tokens"].as_u64().unwrap() < 64);
            }
        }
    }
}

#[test]
fn an_empty_test_split_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let split = split_copy(tmp.path(), "split-no-test");
    let guard = fixtures().join("eval/guard.jsonl");
    let adapter = fixtures().join("peft-tiny-llama");
    expect_eval_error(
        &eval_args(&adapter, &split, &guard, &[]),
        &["the test split is empty", "--ratio 8:1:1"],
    );
}

#[test]
fn guard_files_with_errors_are_clear_errors_and_unseal_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let split = split_copy(tmp.path(), "split");
    let adapter = fixtures().join("peft-tiny-llama");
    let cases: [(&str, &[&str]); 3] = [
        ("guard-broken.jsonl", &["guard set", "guard-broken.jsonl:2"]),
        (
            "guard-bad-keywords.jsonl",
            &[
                "guard-bad-keywords.jsonl:2",
                "must_include must be a list of keywords",
            ],
        ),
        ("no-such-guard.jsonl", &["guard set", "no-such-guard.jsonl"]),
    ];
    for (file, mentions) in cases {
        let guard = fixtures().join("eval").join(file);
        expect_eval_error(&eval_args(&adapter, &split, &guard, &[]), mentions);
    }
    assert!(
        !split.join("unsealed.log").exists(),
        "a failed start must not unseal the test split"
    );
}

#[test]
fn eval_needs_an_experiment_or_explicit_paths() {
    expect_error(&["eval"], &["name an experiment folder"]);
    let tmp = tempfile::tempdir().unwrap();
    expect_error(
        &["eval", path_str(tmp.path())],
        &["experiment.toml: no such file"],
    );
}

#[test]
fn a_broken_adapter_fails_before_any_answer_and_unseals_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let split = split_copy(tmp.path(), "split");
    let adapter = tmp.path().join("adapter");
    std::fs::create_dir_all(&adapter).unwrap();
    std::fs::copy(
        fixtures().join("peft-tiny-llama/adapter_config.json"),
        adapter.join("adapter_config.json"),
    )
    .unwrap();
    // A torch pickle (a zip) under the safetensors name, as an old trainer once wrote.
    std::fs::write(
        adapter.join("adapter_model.safetensors"),
        b"PK\x03\x04 not safetensors",
    )
    .unwrap();
    let guard = fixtures().join("eval/guard.jsonl");
    let stderr = expect_eval_error(
        &eval_args(&adapter, &split, &guard, &[]),
        &["adapter_model.safetensors", "cannot read safetensors"],
    );
    assert!(
        !stderr.contains("answers"),
        "no answer was generated: {stderr}"
    );
    assert!(!split.join("unsealed.log").exists());
}

#[test]
fn eval_rag_answers_the_interview_four_ways_and_keeps_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let split = split_copy(tmp.path(), "split");
    let guard = fixtures().join("eval/guard.jsonl");
    let out = tmp.path().join("eval.json");
    let kb = tmp.path().join("kb-experiment");
    let rag = [
        "--rag",
        "--knowledge-base",
        path_str(&kb),
        "--max-new-tokens",
        "4",
    ];
    // Without the three-part test's results there is nothing to add the table to.
    let args = eval_args(&fixtures().join("peft-tiny-llama"), &split, &guard, &rag);
    let mut args = args;
    args.extend(["--out".to_string(), path_str(&out).to_string()]);
    expect_eval_error(&args, &["no results yet", "without --rag"]);
    succeeded(&eval_explicit(&split, &guard, &out));
    // Without a knowledge base: how to build one.
    expect_eval_error(&args, &["no knowledge base", "tunedeck rag index"]);

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo-kb");
    succeeded(&tunedeck(&["rag", "index", path_str(&kb), path_str(&docs)]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = tunedeck(&args);
    succeeded(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    for line in ["without RAG", "with RAG", "base ", "adapter (LoRA)"] {
        assert!(stdout.contains(line), "{line:?} missing from {stdout}");
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        report["parts"].as_array().unwrap().len(),
        3,
        "the test is kept"
    );
    let rag = &report["rag"];
    assert_eq!(rag["k"], 3);
    let (without, with) = (&rag["without"]["items"][0], &rag["with"]["items"][0]);
    let plain = without["prompt"].as_str().unwrap();
    let retrieved = with["prompt"].as_str().unwrap();
    assert!(
        retrieved.starts_with("Use the numbered sources below"),
        "{retrieved}"
    );
    assert!(
        retrieved.ends_with(&format!("Question: {plain}")),
        "{retrieved}"
    );
    assert_eq!(rag["sources"][0].as_array().unwrap().len(), 3);
    for side in ["base", "adapter"] {
        assert!(without[side]["tokens"].as_u64().unwrap() <= 4);
        assert!(with[side]["scores"]["score"].is_number());
    }
    let log = std::fs::read_to_string(split.join("unsealed.log")).unwrap();
    assert!(log.contains("RAG interview of"), "{log}");
}
