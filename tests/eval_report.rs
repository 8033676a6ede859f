//! `tunedeck eval` and `tunedeck report` on an experiment folder: the run's files, the
//! report's contents and the errors for runs that cannot be evaluated or reported.

mod common;

use common::{expect_error, fixture_run, fixtures, path_str, tunedeck};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// An experiment folder whose preset trains the tiny model, with one run that has a log
/// and, when `adapter` is set, the PEFT fixture as its adapter.
fn tiny_experiment(tmp: &Path, adapter: bool) -> PathBuf {
    let dir = tmp.join("exp");
    assert!(tunedeck(&["init", path_str(&dir), "--demo"])
        .status
        .success());
    let data = dir.join("data");
    for f in ["train.jsonl", "val.jsonl", "test.jsonl", "split.toml"] {
        std::fs::copy(fixtures().join("eval/split").join(f), data.join(f)).unwrap();
    }
    std::fs::create_dir_all(dir.join("presets")).unwrap();
    let preset = format!(
        "model = {:?}\ntemplate = \"chatml\"\nlora_rank = 4\nlora_alpha = 8\ndevice = \"cpu\"\ndtype = \"float32\"\n",
        path_str(&fixtures().join("tiny-llama"))
    );
    std::fs::write(dir.join("presets/tiny.toml"), preset).unwrap();
    let toml = std::fs::read_to_string(dir.join("experiment.toml")).unwrap();
    let toml = toml.replace("name = \"smollm2-cpu\"", "name = \"tiny\"");
    std::fs::write(dir.join("experiment.toml"), toml).unwrap();
    fixture_run(&dir, adapter);
    // The experiment's own guard set (three questions keep the test fast).
    std::fs::copy(
        fixtures().join("eval/guard.jsonl"),
        data.join("guard.jsonl"),
    )
    .unwrap();
    dir
}

#[test]
fn a_run_without_an_adapter_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), false);
    expect_error(
        &["eval", path_str(&exp)],
        &[
            "runs/run-1/adapter",
            "no adapter here",
            "adapter_model.safetensors",
        ],
    );
    expect_error(
        &["eval", path_str(&exp), "--run", "run-9"],
        &["no run named \"run-9\"", "runs: run-1"],
    );
    assert!(!exp.join("data/unsealed.log").exists());
}

#[test]
fn an_experiment_run_is_evaluated_into_its_folder_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), true);
    let run = tunedeck(&[
        "eval",
        path_str(&exp),
        "--max-new-tokens",
        "4",
        "--exam-size",
        "2",
        "--device",
        "cpu",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("runs/run-1/eval.json")).unwrap())
            .unwrap();
    assert_eq!(eval["run"], "run-1");
    assert_eq!(
        eval["settings"]["template"], "chatml",
        "the preset's template"
    );
    assert_eq!(eval["unsealed"]["reason"], "interview of run run-1");
    // The demo goal's format regex is checked on exam answers.
    assert!(eval["format"].as_str().unwrap().starts_with("^Severity"));
    assert!(eval["parts"][0]["items"][0]["adapter"]["scores"]["format_ok"].is_boolean());
    // The experiment's own guard set wins over the bundled one.
    assert!(eval["guard"]
        .as_str()
        .unwrap()
        .ends_with("data/guard.jsonl"));

    let rep = tunedeck(&["report", path_str(&exp)]);
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    let md = std::fs::read_to_string(exp.join("runs/run-1/report.md")).unwrap();
    for heading in [
        "# Retrospective: run-1",
        "## Verdict",
        "**Not graduated**",
        "## Goal",
        "security code reviewer",
        "## Data",
        "Records: 200",
        "Split 8:1:1 (seed 7): 8 train, 1 validation, 1 sealed test; test set unsealed 1 time",
        "## Preset",
        "| lora_rank | 4 | 8 |",
        "## Loss curve",
        "![Training and validation loss](loss.png)",
        "Health: **",
        "## Three-part test",
        "| exam | 80% |",
        "### Examples",
        "## Next step",
        "**Next:** fix the data and the task definition",
    ] {
        assert!(
            md.contains(heading),
            "{heading:?} missing from report.md:\n{md}"
        );
    }
    let png = std::fs::read(exp.join("runs/run-1/loss.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 2000);
}

#[test]
fn a_report_before_evaluation_says_so_and_points_to_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), true);
    let out = tunedeck(&["report", path_str(&exp), "--run", "run-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("next step: run the three-part test"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(exp.join("runs/run-1/report.md")).unwrap();
    assert!(md.contains("Not evaluated yet"), "{md}");
    assert!(
        md.contains("Training loss: 6.8211 at step 1 -> 4.6623 at step 40"),
        "{md}"
    );
    assert!(
        md.contains("Validation loss: 6.6758 at step 0 -> 5.4680 at step 40"),
        "{md}"
    );
    assert!(md.contains("**Next:** run the three-part test"), "{md}");
    assert!(!md.contains("### Examples"));
}

#[test]
fn report_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), true);
    std::fs::write(exp.join("runs/run-1/eval.json"), "{\"version\": 1}").unwrap();
    expect_error(
        &["report", path_str(&exp)],
        &["eval.json: not an eval.json", "tunedeck eval"],
    );
    std::fs::remove_dir_all(exp.join("runs")).unwrap();
    expect_error(&["report", path_str(&exp)], &["no runs yet"]);
    std::fs::create_dir_all(exp.join("runs/run-2")).unwrap();
    expect_error(
        &["report", path_str(&exp)],
        &["trainer_log.jsonl", "has this run started?"],
    );
}

#[test]
fn a_full_fine_tune_gets_the_rag_table_with_the_experiments_retrieval_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tiny_experiment(tmp.path(), false);
    // A full fine-tune's run holds a whole model: the tiny model stands in for it.
    let model = exp.join("runs/run-1/model");
    std::fs::create_dir_all(&model).unwrap();
    for f in std::fs::read_dir(fixtures().join("tiny-llama")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), model.join(f.file_name())).unwrap();
    }
    let quick = [
        "--max-new-tokens",
        "2",
        "--exam-size",
        "1",
        "--device",
        "cpu",
    ];
    let mut args = vec!["eval", path_str(&exp)];
    args.extend(quick);
    assert!(tunedeck(&args).status.success());
    let kb = exp.join("knowledge");
    assert!(tunedeck(&["rag", "index", path_str(&exp), path_str(&kb)])
        .status
        .success());
    // The demo's experiment says one chunk of at most 600 characters; make it 200.
    let toml = std::fs::read_to_string(exp.join("experiment.toml")).unwrap();
    assert!(
        toml.contains("[rag]\ntop_k = 1\nmax_context_chars = 600"),
        "{toml}"
    );
    let toml = toml.replace("max_context_chars = 600", "max_context_chars = 200");
    std::fs::write(exp.join("experiment.toml"), toml).unwrap();
    args.push("--rag");
    let run = tunedeck(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("top 1 chunks, at most 200 characters"),
        "{stdout}"
    );
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("runs/run-1/eval.json")).unwrap())
            .unwrap();
    let rag = &eval["rag"];
    assert_eq!(
        (rag["k"].as_u64(), rag["max_context_chars"].as_u64()),
        (Some(1), Some(200))
    );
    for (i, sources) in rag["sources"].as_array().unwrap().iter().enumerate() {
        assert_eq!(sources.as_array().unwrap().len(), 1, "question {i}");
        let prompt = rag["with"]["items"][i]["prompt"].as_str().unwrap();
        let plain = rag["without"]["items"][i]["prompt"].as_str().unwrap();
        // Preamble, one source line, the question: the chunk text itself stays under 200.
        let chunk = prompt
            .split_once(")\n")
            .map(|(_, rest)| rest)
            .and_then(|rest| rest.split_once("\n\nQuestion: "))
            .map(|(chunk, _)| chunk)
            .unwrap_or_else(|| panic!("no chunk in {prompt:?}"));
        assert!(chunk.chars().count() <= 200, "{chunk:?}");
        assert!(prompt.ends_with(plain));
    }
    // A flag overrides the experiment for one run.
    args.extend(["--top-k", "2", "--max-context-chars", "0"]);
    assert!(tunedeck(&args).status.success());
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("runs/run-1/eval.json")).unwrap())
            .unwrap();
    assert_eq!(eval["rag"]["sources"][0].as_array().unwrap().len(), 2);
}
