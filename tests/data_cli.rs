//! `tunedeck data check|split` as a user runs them: the built binary on fixture files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/data");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn tunedeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunedeck"))
        .args(args)
        .output()
        .expect("the tunedeck binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure as the CLI contract wants it: non-zero exit, `error:` first, no panic, and
/// every `needle` (file name, line or record) in the message.
fn assert_clean_failure(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure, got success\n{err}");
    assert!(
        err.starts_with("error: "),
        "stderr must start with `error:`:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

#[test]
fn bad_inputs_fail_with_one_error_line_naming_file_and_place() {
    let cases: [(&str, &[&str]); 8] = [
        (
            "malformed.jsonl",
            &["malformed.jsonl:3:", "not valid JSON", "column 40"],
        ),
        (
            "malformed.json",
            &[
                "malformed.json:4:3:",
                "not valid JSON",
                "expected `,` or `]`",
            ],
        ),
        (
            "wrong_type.jsonl",
            &["wrong_type.jsonl:2:", "`output` is a number (256)"],
        ),
        (
            "missing_field.json",
            &["missing_field.json:7: record 2:", "no `output` field"],
        ),
        ("empty.jsonl", &["empty.jsonl is empty"]),
        (
            "not_utf8.jsonl",
            &["not_utf8.jsonl:2:18:", "not UTF-8", "byte offset 229"],
        ),
        (
            "unknown_format.csv",
            &["unknown_format.csv:1: unknown format", "JSON Lines"],
        ),
        ("nope.jsonl", &["nope.jsonl: no such file"]),
    ];
    let out = tempfile::tempdir().unwrap();
    for (name, needles) in cases {
        let file = fixture(name);
        let check = tunedeck(&["data", "check", &file]);
        assert_clean_failure(&check, needles);
        let split_dir = out.path().join(name);
        let split = tunedeck(&["data", "split", &file, "--out", split_dir.to_str().unwrap()]);
        assert_clean_failure(&split, needles);
        assert!(
            !split_dir.exists(),
            "{name}: a failed split must write nothing"
        );
    }
}

#[test]
fn check_errors_on_records_that_load_but_cannot_train() {
    let o = tunedeck(&["data", "check", &fixture("empty_output.jsonl")]);
    assert_clean_failure(&o, &["1 error in", "empty_output.jsonl:2: empty output"]);
    // The full report is still printed, so every problem is visible at once.
    assert!(
        stdout(&o).contains("error: line 2: empty output"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn good_files_check_cleanly_in_every_format() {
    for file in [
        fixture("good.jsonl"),
        fixture("sharegpt.json"),
        fixture("dataset_info.json#review"),
        format!("{FIXTURES}#chat"),
    ] {
        let o = tunedeck(&["data", "check", &file]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("0 errors, 1 warning"), "{file}:\n{text}");
        assert!(text.contains("fewer than the 50–200"), "{file}:\n{text}");
    }
}

#[test]
fn check_json_reports_counts_tokens_and_diversity() {
    let o = tunedeck(&[
        "data",
        "check",
        &fixture("good.jsonl"),
        "--json",
        "--cutoff",
        "45",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["records"], 20);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["format"]["schema"], "alpaca");
    assert_eq!(report["size"]["verdict"], "below");
    assert_eq!(report["tokens"]["exact"], false);
    assert_eq!(report["tokens"]["cutoff"], 45);
    let truncated = report["tokens"]["truncated"].as_u64().unwrap();
    assert!(truncated > 0);
    let too_long = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "too_long")
        .count();
    assert_eq!(too_long as u64, truncated);
    assert!(report["diversity"]["bigram_ratio"].as_f64().unwrap() > 0.9);
}

#[test]
fn check_counts_tokens_with_a_model_tokenizer() {
    // The fixture tokenizer has truncation to 4 tokens switched on; counts must ignore it.
    let o = tunedeck(&[
        "data",
        "check",
        &fixture("good.jsonl"),
        "--model",
        &fixture("tiny-model"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["tokens"]["exact"], true);
    assert!(report["tokens"]["counted_by"]
        .as_str()
        .unwrap()
        .contains("tiny-model/tokenizer.json"));
    assert!(report["tokens"]["p50"].as_u64().unwrap() > 20);

    let o = tunedeck(&["data", "check", &fixture("good.jsonl"), "--model", FIXTURES]);
    assert_clean_failure(&o, &["no tokenizer.json"]);
}

fn split(file: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["data", "split", file, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    tunedeck(&args)
}

fn manifest(dir: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(dir.join("split.toml")).unwrap()).unwrap()
}

fn hashes(dir: &Path) -> toml::Value {
    manifest(dir)["sha256"].clone()
}

#[test]
fn split_is_deterministic_by_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let [a, b, c]: [PathBuf; 3] = ["a", "b", "c"].map(|d| tmp.path().join(d));
    let good = fixture("good.jsonl");
    for (dir, seed) in [(&a, "42"), (&b, "42"), (&c, "7")] {
        let o = split(&good, dir, &["--seed", seed]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(hashes(&a), hashes(&b));
    assert_ne!(hashes(&a)["test"], hashes(&c)["test"]);
    for part in ["train.jsonl", "val.jsonl", "test.jsonl"] {
        assert_eq!(
            std::fs::read(a.join(part)).unwrap(),
            std::fs::read(b.join(part)).unwrap()
        );
    }
    // The default seed is 42, and the output names counts and hashes.
    let d = tmp.path().join("d");
    let o = split(&good, &d, &[]);
    assert_eq!(hashes(&d), hashes(&a));
    let text = stdout(&o);
    let m = manifest(&a);
    assert_eq!(m["seed"].as_integer(), Some(42));
    assert_eq!(m["ratio"].as_str(), Some("8:1:1"));
    assert_eq!(
        [
            m["counts"]["train"].clone(),
            m["counts"]["val"].clone(),
            m["counts"]["test"].clone()
        ],
        [16, 2, 2].map(toml::Value::from)
    );
    assert!(text.contains("16 records"), "{text}");
    assert!(
        text.contains(m["sha256"]["test"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("(sealed)"), "{text}");
    // Written files are Alpaca JSON Lines that `data check` accepts.
    let o = tunedeck(&["data", "check", a.join("train.jsonl").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn split_refuses_to_replace_a_different_split_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let good = fixture("good.jsonl");
    assert!(split(&good, &dir, &[]).status.success());
    let again = split(&good, &dir, &[]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("nothing changed"));
    let other = split(&good, &dir, &["--seed", "3"]);
    assert_clean_failure(
        &other,
        &["already holds a different split (seed 42", "--force"],
    );
    assert_eq!(manifest(&dir)["seed"].as_integer(), Some(42));
    assert!(split(&good, &dir, &["--seed", "3", "--force"])
        .status
        .success());
    assert_eq!(manifest(&dir)["seed"].as_integer(), Some(3));
}

#[test]
fn split_warns_about_test_records_that_repeat_training_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let o = split(&fixture("leaky.jsonl"), &tmp.path().join("s"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("warning: "), "{err}");
    assert!(err.contains("leaky.jsonl:"), "{err}");
    assert!(err.contains("which is in train"), "{err}");
}

#[test]
fn ratio_is_parsed_strictly() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["8:1", "0.8:0.1:0.1", "8:1:x", "0:1:1"] {
        let o = split(
            &fixture("good.jsonl"),
            &tmp.path().join("s"),
            &["--ratio", bad],
        );
        assert_clean_failure(&o, &[&format!("ratio `{bad}`"), "like 8:1:1"]);
    }
    let o = split(
        &fixture("good.jsonl"),
        &tmp.path().join("s"),
        &["--ratio", "9:1:0"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the test part is empty"),
        "{}",
        stderr(&o)
    );
}
