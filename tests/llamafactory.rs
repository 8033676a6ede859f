//! LLaMA-Factory as the scale-out engine, checked against what LLaMA-Factory 0.9.5 itself did
//! (tests/fixtures/llamafactory, made by `just fixtures-llamafactory`): its parser accepted
//! exactly the export tunedeck writes today, the starter's 8-GPU ZeRO-3 YAML uses only its
//! documented keys, its trainer_log.jsonl becomes the Loss pane's state with the same verdict,
//! a half-written last line waits, and the adapter it trained scores as in PEFT. Plus the
//! failures: no `llamafactory-cli` on PATH, and a child that crashes (LLaMA-Factory's own
//! recorded output, replayed).

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::Device;
use tunedeck::engine::llamafactory::follow::{LogFollower, TRAINER_LOG};
use tunedeck::eval::curve::Health;
use tunedeck::eval::loss_log::LossLog;
use tunedeck::model::Model;
use tunedeck::tui::loss::LossHistory;

fn lf_fixtures() -> PathBuf {
    fixtures().join("llamafactory")
}

fn parser_record() -> Value {
    let text = std::fs::read_to_string(lf_fixtures().join("parser.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn tiny_llama() -> PathBuf {
    fixtures().join("tiny-llama").canonicalize().unwrap()
}

/// The generator's experiment: the eval fixture's records split 8:1:1 with the default seed,
/// trained with `preset` (a built-in name, or "tiny" for the generator's tiny preset).
fn experiment(dir: &Path, preset: &str) {
    succeeded(&tunedeck(&["init", path_str(dir)]));
    let records = dir.join("data/records.jsonl");
    std::fs::copy(fixtures().join("eval/records.jsonl"), &records).unwrap();
    let out = dir.join("data");
    succeeded(&tunedeck(&[
        "data",
        "split",
        path_str(&records),
        "--out",
        path_str(&out),
    ]));
    if preset == "tiny" {
        let text = std::fs::read_to_string(lf_fixtures().join("tiny-preset.toml")).unwrap();
        std::fs::create_dir_all(dir.join("presets")).unwrap();
        let text = text.replace("{MODEL}", path_str(&tiny_llama()));
        std::fs::write(dir.join("presets/tiny.toml"), text).unwrap();
    }
    let toml = dir.join("experiment.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace("name = \"smollm2-cpu\"", &format!("name = \"{preset}\""));
    std::fs::write(toml, text).unwrap();
}

/// `export llamafactory` of a fresh experiment with `preset`; returns the export folder.
fn export(tmp: &Path, preset: &str, extra: &[&str]) -> PathBuf {
    let exp = tmp.join(format!("{preset}-exp"));
    experiment(&exp, preset);
    let out = tmp.join(format!("{preset}-lf"));
    let mut args = vec![
        "export",
        "llamafactory",
        path_str(&exp),
        "--out",
        path_str(&out),
    ];
    args.extend_from_slice(extra);
    succeeded(&tunedeck(&args));
    out
}

/// `key: value` lines of a train.yaml (comments and headings skipped), values as JSON.
fn yaml_pairs(yaml: &str) -> Vec<(String, Value)> {
    yaml.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("not key: value: {l}"));
            let v = serde_json::from_str(v).unwrap_or_else(|_| panic!("not a JSON scalar: {l}"));
            (k.to_string(), v)
        })
        .collect()
}

/// The export today is byte for byte the one LLaMA-Factory's parser accepted, and every value
/// in it is the value the parser ended up holding.
fn assert_accepted(name: &str, yaml: &str) {
    let rec = &parser_record()["exports"][name];
    assert_eq!(
        yaml,
        rec["train_yaml"].as_str().unwrap(),
        "{name}: the export changed since LLaMA-Factory's parser accepted it: run `just fixtures-llamafactory`"
    );
    let accepted = rec["accepted"].as_object().unwrap();
    for (key, value) in yaml_pairs(yaml) {
        let got = accepted
            .get(&key)
            .unwrap_or_else(|| panic!("{name}: LLaMA-Factory did not take `{key}`"));
        match (&value, got) {
            // List-valued fields come back as Python's repr of the list, e.g. "['all']".
            (Value::String(s), Value::String(g)) if g.starts_with('[') => {
                assert!(
                    g.contains(&format!("'{s}'")) || s == "none",
                    "{key}: {g} vs {s}"
                )
            }
            (Value::Number(a), Value::Number(b)) => {
                assert_eq!(a.as_f64(), b.as_f64(), "{name}: {key}")
            }
            _ => assert_eq!(&value, got, "{name}: {key}"),
        }
    }
}

#[test]
fn the_tiny_export_is_what_llamafactory_s_parser_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let out = export(tmp.path(), "tiny", &[]);
    let yaml = std::fs::read_to_string(out.join("train.yaml")).unwrap();
    assert_accepted("tiny", &yaml.replace(path_str(&tiny_llama()), "{MODEL}"));
    // Train and validation only: the sealed test split never leaves the experiment.
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("data/dataset_info.json")).unwrap())
            .unwrap();
    let files: Vec<&str> = info
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["train.jsonl", "val.jsonl"]);
    let test = std::fs::read_to_string(tmp.path().join("tiny-exp/data/test.jsonl")).unwrap();
    for f in ["train.jsonl", "val.jsonl"] {
        let part = std::fs::read_to_string(out.join("data").join(f)).unwrap();
        assert!(
            !part.contains(test.trim()),
            "{f} holds the sealed test record"
        );
    }
}

#[test]
fn the_starter_on_8_gpus_with_zero3_uses_only_documented_keys_and_is_in_readme() {
    let tmp = tempfile::tempdir().unwrap();
    let out = export(
        tmp.path(),
        "starter",
        &["--gpus", "8", "--sharding", "zero3"],
    );
    let yaml = std::fs::read_to_string(out.join("train.yaml")).unwrap();
    assert_accepted("starter_8gpu_zero3", &yaml);
    let rec = parser_record();
    let documented: Vec<&str> = rec["documented_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        documented.len() > 100,
        "the record lists LLaMA-Factory's arguments"
    );
    for (key, _) in yaml_pairs(&yaml) {
        assert!(
            documented.contains(&key.as_str()),
            "`{key}` is not a LLaMA-Factory argument"
        );
    }
    let ds: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ds_z3_config.json")).unwrap())
            .unwrap();
    assert_eq!(ds["zero_optimization"]["stage"], 3);
    let launch = std::fs::read_to_string(out.join("launch.sh")).unwrap();
    assert!(launch.contains("NPROC_PER_NODE=\"${NPROC_PER_NODE:-8}\""));
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&yaml),
        "README's starter YAML differs from the export: paste train.yaml of \
         `tunedeck export llamafactory EXP --out DIR --gpus 8 --sharding zero3` into it"
    );
}

#[test]
fn a_dry_run_lists_the_files_and_writes_none() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("exp");
    experiment(&exp, "starter");
    let out = tmp.path().join("lf");
    let run = tunedeck(&[
        "export",
        "llamafactory",
        path_str(&exp),
        "--out",
        path_str(&out),
        "--sharding",
        "fsdp2",
        "--gpus",
        "4",
        "--nodes",
        "2",
        "--dry-run",
    ]);
    succeeded(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    for f in [
        "train.yaml",
        "accelerate_fsdp2.yaml",
        "launch.sh",
        "data/dataset_info.json",
    ] {
        assert!(stdout.contains(f), "{f} missing from the dry run: {stdout}");
    }
    assert!(!out.exists());
}

fn fixture_log() -> LossLog {
    LossLog::read(&lf_fixtures().join(TRAINER_LOG)).unwrap()
}

#[test]
fn llamafactory_s_log_becomes_the_loss_pane_s_state_with_the_same_verdict() {
    let log = fixture_log();
    assert_eq!((log.train.len(), log.val.len(), log.skipped), (12, 3, 0));
    assert_eq!(log.steps, Some((12, 12)));
    let mut pane = LossHistory::default();
    for &(s, l) in &log.train {
        pane.push_train(s as u64, l);
    }
    for &(s, l) in &log.val {
        pane.push_val(s as u64, l);
    }
    assert_ne!(pane.health(), Health::Waiting);
    assert_eq!(pane.health(), log.health());
    // The follower that feeds the pane live reads the same.
    let mut f = LogFollower::in_dir(&lf_fixtures());
    assert_eq!(f.poll().unwrap(), 16);
    assert_eq!(f.log(), &log);
}

#[test]
fn a_truncated_last_line_is_read_up_to_the_last_complete_line() {
    let text = std::fs::read_to_string(lf_fixtures().join(TRAINER_LOG)).unwrap();
    let cut = text.trim_end().rfind('\n').unwrap() + 20;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(TRAINER_LOG);
    std::fs::write(&path, &text[..cut]).unwrap();
    let mut f = LogFollower::new(&path);
    assert_eq!(f.poll().unwrap(), 15);
    assert_eq!((f.log().skipped, f.log().val.len()), (0, 3));
    std::fs::write(&path, &text).unwrap();
    assert_eq!(f.poll().unwrap(), 1);
    assert_eq!(f.log(), &fixture_log());
}

#[test]
fn the_adapter_llamafactory_trained_scores_as_in_peft() {
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(lf_fixtures().join("logprobs.json")).unwrap(),
    )
    .unwrap();
    let worst = |adapter: bool| {
        let mut m = Model::load(&tiny_llama(), Device::Cpu, "auto", false).unwrap();
        if adapter {
            tunedeck::lora::attach_saved(&mut m, &lf_fixtures().join("adapter")).unwrap();
        }
        worst_logprob_diff(&m, &cases)
    };
    let with = worst(true);
    assert!(with < 2e-5, "worst log-prob difference {with}");
    let without = worst(false);
    assert!(
        without > 1e-3,
        "the adapter should change the model: {without}"
    );
}

/// `<dir>/bin/llamafactory-cli`, a shell script standing in for LLaMA-Factory; returns the
/// `bin` folder to put on PATH.
fn stand_in(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let cli = bin.join("llamafactory-cli");
    std::fs::write(&cli, script).unwrap();
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `tunedeck train --engine llamafactory` of the tiny experiment with `path` as PATH.
fn train_with_path(tmp: &Path, path: &Path) -> (std::process::Output, PathBuf) {
    let exp = tmp.join("exp");
    experiment(&exp, "tiny");
    let run = tmp.join("run");
    let out = train_command(&exp, &run, path.as_os_str())
        .output()
        .unwrap();
    (out, run)
}

/// `tunedeck train --engine llamafactory` of the tiny experiment `exp` into `run`, with
/// `path` as PATH.
fn train_command(exp: &Path, run: &Path, path: &std::ffi::OsStr) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tunedeck"));
    cmd.args(["train", "--engine", "llamafactory", "--preset"])
        .arg(exp.join("presets/tiny.toml"))
        .arg("--data")
        .arg(exp.join("data"))
        .arg("--out")
        .arg(run)
        .env("PATH", path);
    cmd
}

#[test]
fn without_llamafactory_on_path_the_error_says_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let (out, run) = train_with_path(tmp.path(), &empty);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.starts_with("error: llamafactory-cli is not on PATH"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pip install llamafactory==0.9.5"),
        "{stderr}"
    );
    assert!(!run.exists(), "no run folder for a run that cannot start");
}

#[test]
fn a_crashing_child_shows_its_last_lines_and_marks_the_run_failed() {
    let tmp = tempfile::tempdir().unwrap();
    // LLaMA-Factory's own failure, recorded by the generator (its training data file gone):
    // a stand-in replays what `llamafactory-cli train` printed and exits as it did.
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(lf_fixtures().join("crash.json")).unwrap())
            .unwrap();
    let log = lf_fixtures().join("crash.log");
    let bin = stand_in(
        tmp.path(),
        &format!(
            "#!/bin/sh\n/bin/cat '{}' >&2\nexit {}\n",
            log.display(),
            record["exit_code"]
        ),
    );
    let recorded = std::fs::read_to_string(&log).unwrap();
    let last_line = "ValueError: File data/train.jsonl not found.";
    assert_eq!(
        recorded.lines().last(),
        Some(last_line),
        "what the generator recorded"
    );
    let (out, run) = train_with_path(tmp.path(), &bin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("llamafactory-cli train failed"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The last lines the child printed, as they were, in the error and in FAILED.
    let failed = std::fs::read_to_string(run.join("FAILED")).unwrap();
    let tail: Vec<&str> = recorded.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in &tail[tail.len() - 12..] {
        assert!(
            stderr.contains(line.trim_end()),
            "{line} missing:\n{stderr}"
        );
        assert!(
            failed.contains(line.trim_end()),
            "{line} missing from FAILED"
        );
    }
    // Nothing else lost: the exported config, the preset and the child's whole output stay.
    for kept in ["llamafactory/train.yaml", "preset.toml", "llamafactory.log"] {
        assert!(run.join(kept).is_file(), "{kept} missing");
    }
    let whole = std::fs::read_to_string(run.join("llamafactory.log")).unwrap();
    assert_eq!(whole, recorded);
}

/// The state letter of process `pid` (`T` when stopped), from /proc.
fn proc_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // "pid (comm) S ...": the state follows the command's closing parenthesis.
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// Waits up to 20 s for `ok`.
fn wait_for(what: &str, ok: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn ctrl_z_pauses_the_child_s_group_with_tunedeck_and_fg_resumes_both() {
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in that logs a step every 50 ms into the output_dir of the exported train.yaml
    // (its `sleep`s are children in its process group, as torchrun's workers are), then
    // leaves an adapter. Only the signals are under test here; the real engine's log and
    // adapter are the fixtures above.
    let bin = stand_in(
        tmp.path(),
        "#!/bin/sh\nout=$(sed -n 's/^output_dir: \"\\(.*\\)\"$/\\1/p' \"$2\")\necho $$ > \"$out/child.pid\"\n\
         i=1\nwhile [ $i -le 40 ]; do\n  echo \"{\\\"current_steps\\\": $i, \\\"total_steps\\\": 40, \\\"loss\\\": 2.0}\" >> \"$out/trainer_log.jsonl\"\n\
         sleep 0.05\n  i=$((i+1))\ndone\necho '{}' > \"$out/adapter_config.json\"\necho x > \"$out/adapter_model.safetensors\"\n",
    );
    let exp = tmp.path().join("exp");
    experiment(&exp, "tiny");
    let run = tmp.path().join("run");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let child = train_command(&exp, &run, path.as_ref())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tunedeck = child.id() as i32;
    let log = run.join(TRAINER_LOG);
    let lines = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    wait_for("the first steps", || lines() >= 3);
    let engine: i32 = std::fs::read_to_string(run.join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill only sends a signal to the process this test started.
    unsafe { libc::kill(tunedeck, libc::SIGTSTP) };
    wait_for("tunedeck to stop itself", || proc_state(tunedeck) == 'T');
    assert_eq!(proc_state(engine), 'T', "the engine is paused too");
    let paused_at = lines();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(lines(), paused_at, "no step while paused");
    assert!(paused_at < 40, "paused before the end");
    // What the shell's `fg` sends.
    // SAFETY: as above.
    unsafe { libc::kill(tunedeck, libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("paused LLaMA-Factory"), "{stderr}");
    assert!(stderr.contains("`fg` resumes"), "{stderr}");
    assert!(stderr.contains("resumed LLaMA-Factory"), "{stderr}");
    assert_eq!(lines(), 40);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("finished after 40 steps"), "{stdout}");
    assert!(run.join("adapter/adapter_model.safetensors").is_file());
}

/// The whole screen at 160×48 as text.
fn screen(app: &tunedeck::tui::App) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
    terminal
        .draw(|f| tunedeck::tui::ui::render(f, app))
        .unwrap();
    let buffer = terminal.backend().buffer();
    buffer
        .content
        .chunks(buffer.area.width as usize)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect()
}

/// Feeds the worker's events into the cockpit until the run ends; returns the last event.
fn until_ended(
    app: &mut tunedeck::tui::App,
    rx: &std::sync::mpsc::Receiver<tunedeck::worker::WorkerEvent>,
) -> tunedeck::worker::WorkerEvent {
    use tunedeck::worker::WorkerEvent;
    loop {
        let e = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the worker reports the run");
        app.on_worker(e.clone());
        if matches!(e, WorkerEvent::Finished { .. } | WorkerEvent::Failed { .. }) {
            return e;
        }
    }
}

#[test]
fn the_cockpit_s_engine_row_runs_llamafactory_on_the_worker_and_its_log_fills_the_loss_pane() {
    use tunedeck::preset::Engine;
    use tunedeck::tui::app::Phase;
    use tunedeck::tui::{Action, App, Pane};
    use tunedeck::worker::{WorkerCommand, WorkerEvent};
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("exp");
    experiment(&exp, "tiny");
    let today = tunedeck::experiment::Date::parse("2025-03-26").unwrap();
    let mut app = App::open(&exp, today).unwrap();
    app.update(Action::Focus(Pane::Preset));
    app.update(Action::Top);
    app.update(Action::Increase);
    assert_eq!(app.preset.key(), "engine");
    assert_eq!(app.preset.current.engine, Engine::Llamafactory);
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = tunedeck::worker::spawn(Box::new(move |e| tx.send(e).is_ok()));
    let start = |app: &mut App| {
        app.update(Action::Focus(Pane::Loss));
        app.update(Action::StartRun);
        for cmd in app.take_commands() {
            if let WorkerCommand::Start { spec, .. } = &cmd {
                assert_eq!(spec.preset.engine, Engine::Llamafactory);
            }
            worker.send(cmd);
        }
    };
    // The process's PATH is what the worker's child gets; the other tests here give their
    // children a PATH of their own.
    let system = "/usr/bin:/bin";
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::env::set_var("PATH", format!("{}:{system}", empty.display()));
    start(&mut app);
    let WorkerEvent::Failed { error, .. } = until_ended(&mut app, &rx) else {
        panic!("a run without llamafactory-cli fails")
    };
    assert!(error.contains("pip install llamafactory==0.9.5"), "{error}");
    assert_eq!(app.run.phase, Phase::Failed);
    assert!(screen(&app).contains("llamafactory-cli is not on PATH"));
    // A stand-in that writes LLaMA-Factory's own log, line by line, into the output_dir of the
    // train.yaml tunedeck exported, then leaves the adapter LLaMA-Factory trained.
    let f = lf_fixtures();
    let bin = stand_in(
        tmp.path(),
        &format!(
            "#!/bin/sh\nout=$(sed -n 's/^output_dir: \"\\(.*\\)\"$/\\1/p' \"$2\")\n\
             while IFS= read -r line; do echo \"$line\" >> \"$out/trainer_log.jsonl\"; sleep 0.05; done < '{log}'\n\
             cp '{a}/adapter_config.json' '{a}/adapter_model.safetensors' \"$out/\"\n",
            log = f.join(TRAINER_LOG).display(),
            a = f.join("adapter").display()
        ),
    );
    std::env::set_var("PATH", format!("{}:{system}", bin.display()));
    start(&mut app);
    let ended = until_ended(&mut app, &rx);
    worker.shutdown();
    let WorkerEvent::Finished { summary, .. } = ended else {
        panic!("the run finishes: {ended:?}")
    };
    assert!(!summary.stopped);
    let log = fixture_log();
    assert_eq!(app.run.phase, Phase::Finished);
    assert_eq!(app.run.history.train().len(), log.train.len());
    assert_eq!(app.run.history.val().len(), log.val.len());
    assert_eq!(app.run.history.health(), log.health());
    let run = exp.join("runs").join(&app.run.name);
    assert_eq!(
        std::fs::read(run.join("adapter/adapter_model.safetensors")).unwrap(),
        std::fs::read(f.join("adapter/adapter_model.safetensors")).unwrap()
    );
    assert!(run.join("llamafactory/train.yaml").is_file());
    let text = screen(&app);
    assert!(text.contains("step 12/12"), "{text}");
    let verdict = log.health().title(tunedeck::experiment::Language::En);
    assert!(text.contains(verdict), "{verdict}:\n{text}");
}
