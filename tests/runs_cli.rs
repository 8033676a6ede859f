//! `tunedeck runs` on an experiment with three runs: the table, its JSON, and the one-line
//! errors for a missing folder, a folder that is not an experiment and a broken `eval.json`.

mod common;
#[allow(dead_code)]
#[path = "tui_support/graduation.rs"]
mod graduation;

use common::{expect_error, json_stdout, path_str, succeeded, tunedeck};
use std::path::{Path, PathBuf};
use tunedeck::preset::Preset;

/// `runs/<id>` with its preset, a 40-step log (probe climbing by `probe_step` per
/// evaluation) and, when given, an `eval.json` and an `origin.json`.
fn run(
    dir: &Path,
    id: &str,
    preset: &Preset,
    probe_step: f64,
    graduated: Option<bool>,
    origin: Option<&str>,
) {
    let run = dir.join("runs").join(id);
    std::fs::create_dir_all(&run).unwrap();
    preset.save(&run.join("preset.toml")).unwrap();
    let log: String = (0..=4)
        .map(|i| {
            let s = i * 10;
            format!(
                "{{\"current_steps\":{s},\"total_steps\":40,\"loss\":{},\"eval_loss\":{},\"probe_ppl\":{},\"best_step\":{s}}}\n",
                2.0 - 0.2 * i as f64,
                2.5 - 0.25 * i as f64,
                7.0 + probe_step * i as f64
            )
        })
        .collect();
    std::fs::write(run.join("trainer_log.jsonl"), log).unwrap();
    if let Some(passes) = graduated {
        graduation::write_report(dir, id, &graduation::sample_report(id, passes));
    }
    if let Some(o) = origin {
        std::fs::write(run.join("origin.json"), o).unwrap();
    }
}

fn three_runs(tmp: &Path) -> PathBuf {
    let dir = tmp.join("exp");
    succeeded(&tunedeck(&["init", path_str(&dir), "--demo"]));
    let first = Preset::default();
    let mut second = first.clone();
    second.learning_rate = 2.5e-5;
    let mut third = second.clone();
    third.replay_ratio = 0.5;
    run(&dir, "run-1", &first, 0.5, Some(false), None);
    run(
        &dir,
        "run-2",
        &second,
        0.3,
        Some(false),
        Some(
            r#"{"from":"run-1","changes":[{"key":"learning_rate","from":"5e-5","to":"2.5e-5"}],"why":"lower the learning rate"}"#,
        ),
    );
    run(&dir, "run-3", &third, 0.05, None, None);
    dir
}

#[test]
fn the_table_lists_three_runs_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = three_runs(tmp.path());
    let out = tunedeck(&["runs", path_str(&dir)]);
    succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("run    change"), "{text}");
    assert!(lines[1].starts_with("run-1  first run"), "{text}");
    assert!(
        lines[2].contains("learning_rate 5e-5→2.5e-5 · lower the learning rate"),
        "{text}"
    );
    assert!(lines[3].contains("replay_ratio 0→0.5"), "{text}");
    for (line, want) in lines[1..].iter().zip(["+29%", "+17%", "+3%"]) {
        assert!(line.contains(want), "{want} in {line}");
    }
    assert!(
        lines[1].contains("2/2") && lines[1].ends_with("✗ guard"),
        "{text}"
    );
    assert!(lines[3].ends_with("not tested"), "{text}");
    // Columns line up: every row's verdict starts where the heading's does.
    let at = |l: &str| {
        tunedeck::tui::text::width(
            &l[..l
                .find("verdict")
                .or_else(|| l.find('✗'))
                .or_else(|| l.find("not tested"))
                .unwrap()],
        )
    };
    assert!(lines.iter().all(|l| at(l) == at(lines[0])), "{text}");
}

#[test]
fn json_has_one_object_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = three_runs(tmp.path());
    let v = json_stdout(&tunedeck(&["runs", path_str(&dir), "--json"]));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["previous"], serde_json::Value::Null);
    assert_eq!(runs[1]["why"], "lower the learning rate");
    assert_eq!(runs[1]["changes"][0]["key"], "learning_rate");
    assert_eq!(runs[1]["best"]["step"], 40);
    assert_eq!(runs[0]["verdict"]["status"], "not_graduated");
    assert_eq!(runs[0]["verdict"]["failed"][0], "guard");
    assert_eq!(runs[0]["tested"]["parts"][0]["correct"], 2);
    assert_eq!(runs[2]["verdict"]["status"], "not_tested");
    assert_eq!(
        (
            runs[2]["steps_done"].as_u64(),
            runs[2]["steps_planned"].as_u64()
        ),
        (Some(40), Some(40))
    );
}

#[test]
fn bad_input_is_one_error_line_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    expect_error(
        &["runs", path_str(&missing)],
        &["nowhere", "no such folder"],
    );
    expect_error(&["runs", path_str(tmp.path())], &["experiment.toml"]);
    let dir = three_runs(tmp.path());
    std::fs::write(dir.join("runs/run-2/eval.json"), "{\"version\":").unwrap();
    expect_error(&["runs", path_str(&dir)], &["run-2/eval.json"]);
}
