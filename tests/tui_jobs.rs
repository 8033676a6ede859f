//! The Eval and Chat panes end to end on the real jobs thread and the tiny fixture model:
//! the cockpit's commands go to `worker::jobs`, which loads the model, unseals the test
//! split, generates and streams, and its events come back into the cockpit's state. What the
//! pane writes and shows is checked against `tunedeck eval` and `tunedeck chat`.
//!
//! Only the answer length is cut (the tiny model rarely ends a turn, and this machine is
//! small); every other setting is the one the cockpit sends.

#[path = "tui_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::*;
use tunedeck::data::inspect::Stage;
use tunedeck::eval::{EvalReport, Side};
use tunedeck::experiment::{ItemStatus, Step, PLAN};
use tunedeck::preset::{Device, Preset, Template};
use tunedeck::tui::app::{DataWork, DatasetState, ReplyState};
use tunedeck::tui::loss::Mood;
use tunedeck::tui::{Action, App, Pane};
use tunedeck::worker::jobs::{self, JobCommand, JobEvent, JobsHandle};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// A demo experiment turned into a tiny one: the fixture split and guard set as its data,
/// and `runs/run-1` trained on the tiny Llama (the PEFT fixture adapter, the run's preset).
fn tiny_experiment(parent: &Path) -> PathBuf {
    let dir = demo_experiment(parent);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for f in ["train.jsonl", "val.jsonl", "test.jsonl", "split.toml"] {
        std::fs::copy(fixtures().join("eval/split").join(f), data.join(f)).unwrap();
    }
    std::fs::copy(
        fixtures().join("eval/guard.jsonl"),
        data.join("guard.jsonl"),
    )
    .unwrap();
    finished_run(&dir, "run-1");
    let run = dir.join("runs/run-1");
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(
            fixtures().join("peft-tiny-llama").join(f),
            run.join("adapter").join(f),
        )
        .unwrap();
    }
    let mut preset = Preset::builtin("smollm2-cpu").unwrap();
    preset.model = fixtures().join("tiny-llama").display().to_string();
    preset.template = Template::Auto;
    preset.device = Device::Cpu;
    preset.save(&run.join("preset.toml")).unwrap();
    dir
}

/// The real jobs thread, its events on a channel.
fn start_jobs() -> (JobsHandle, Receiver<JobEvent>) {
    let (tx, rx) = channel();
    let handle = jobs::spawn(Box::new(move |e| tx.send(e).is_ok())).unwrap();
    (handle, rx)
}

/// Feeds the thread's events into the app until `done`; returns them.
fn pump(app: &mut App, rx: &Receiver<JobEvent>, done: impl Fn(&App) -> bool) -> Vec<JobEvent> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut seen = Vec::new();
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no end after {seen:#?}"));
        seen.push(e.clone());
        app.on_job(e);
    }
    seen
}

fn tunedeck(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tunedeck"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn answers(r: &EvalReport) -> Vec<(String, String, String)> {
    r.parts
        .iter()
        .flat_map(|p| &p.items)
        .map(|i| {
            (
                i.prompt.clone(),
                i.base.text.clone(),
                i.adapter.text.clone(),
            )
        })
        .collect()
}

#[test]
fn the_eval_pane_runs_the_real_test_and_writes_what_the_cli_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tiny_experiment(tmp.path());
    let mut app = App::open(&dir, date(TODAY)).unwrap();
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::StartEval);
    let JobCommand::Eval {
        job,
        mut spec,
        out,
        cancel,
    } = one_job(&mut app)
    else {
        panic!("expected an eval job")
    };
    (spec.exam_size, spec.max_new_tokens) = (3, 8);
    let (jobs, rx) = start_jobs();
    assert!(jobs.send(JobCommand::Eval {
        job,
        spec,
        out: out.clone(),
        cancel
    }));
    let seen = pump(&mut app, &rx, |a| a.eval.active.is_none());

    assert!(matches!(&seen[0], JobEvent::Loading { path, .. } if path.ends_with("tiny-llama")));
    assert!(seen.iter().any(|e| matches!(e, JobEvent::Unsealed { .. })));
    let progress: Vec<(usize, usize)> = seen
        .iter()
        .filter_map(|e| match e {
            JobEvent::Answered { at, .. } => Some((at.done, at.total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress.len(), 14, "(3 exam + 1 interview + 3 guard) x 2");
    assert_eq!(progress.last(), Some(&(14, 14)));
    assert!(matches!(seen.last(), Some(JobEvent::Evaluated { .. })));

    // What the pane shows is what it wrote, in the place the CLI writes it.
    assert_eq!(out, dir.join("runs/run-1/eval.json"));
    let shown = app.eval.report.clone().expect("the report is shown");
    let written = std::fs::read(&out).unwrap();
    let again = tmp.path().join("shown.json");
    shown.save(&again).unwrap();
    assert_eq!(
        written,
        std::fs::read(&again).unwrap(),
        "the file holds what is shown"
    );
    let sizes: Vec<usize> = shown.parts.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [3, 1, 3]);
    let log = std::fs::read_to_string(dir.join("data/unsealed.log")).unwrap();
    assert!(log.contains("interview of run run-1"), "{log}");
    let i = PLAN
        .iter()
        .position(|p| p.step == Step::ThreePartTest)
        .unwrap();
    assert_eq!(
        app.exp.plan.statuses(&app.facts, app.today)[i],
        ItemStatus::DoneAuto
    );
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("Not graduated"), "{screen}");

    // `tunedeck eval` with the same settings gives the same answers and verdicts.
    let cli_out = tmp.path().join("cli.json");
    tunedeck(&[
        "eval",
        dir.to_str().unwrap(),
        "--run",
        "run-1",
        "--exam-size",
        "3",
        "--max-new-tokens",
        "8",
        "--out",
        cli_out.to_str().unwrap(),
    ]);
    let cli = EvalReport::load(&cli_out).unwrap();
    assert_eq!(answers(&cli), answers(&shown));
    let verdicts = |r: &EvalReport| {
        r.parts
            .iter()
            .map(|p| (p.passed, p.rule.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&cli), verdicts(&shown));
    assert_eq!(
        (cli.settings, cli.graduated),
        (shown.settings.clone(), shown.graduated)
    );

    // Cancelling stops the next test at its next token and leaves eval.json alone.
    app.update(Action::StartEval);
    let cmd = one_job(&mut app);
    assert!(jobs.send(cmd));
    pump(&mut app, &rx, |a| {
        a.eval.active.as_ref().is_some_and(|t| t.unsealed)
    });
    app.update(Action::CancelJob);
    let seen = pump(&mut app, &rx, |a| a.eval.active.is_none());
    assert!(
        matches!(seen.last(), Some(JobEvent::Cancelled { .. })),
        "{seen:?}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), written, "eval.json untouched");
    jobs.shutdown();
}

#[test]
fn the_chat_pane_streams_real_answers_with_and_without_the_skill_card() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tiny_experiment(tmp.path());
    let mut app = App::open(&dir, date(TODAY)).unwrap();
    app.update(Action::Focus(Pane::Chat));
    app.update(Action::ToggleCompare);
    let prompt = "What is the capital of France?";
    app.update(Action::Edit);
    type_text(&mut app, prompt);
    app.update(Action::Submit);
    let JobCommand::Chat {
        job,
        mut request,
        cancel,
    } = one_job(&mut app)
    else {
        panic!("expected a chat job")
    };
    request.sampling.max_new_tokens = 16;
    let (jobs, rx) = start_jobs();
    assert!(jobs.send(JobCommand::Chat {
        job,
        request,
        cancel
    }));
    let seen = pump(&mut app, &rx, |a| a.chat.active.is_none());

    // The model and then the adapter are read once; each answer arrives in pieces.
    let loads: Vec<&Path> = seen
        .iter()
        .filter_map(|e| match e {
            JobEvent::Loading { path, .. } => Some(path.as_path()),
            _ => None,
        })
        .collect();
    assert_eq!(loads.len(), 2, "{loads:?}");
    assert!(loads[0].ends_with("tiny-llama") && loads[1].ends_with("run-1/adapter"));
    for side in [Side::Base, Side::Adapter] {
        let pieces = seen
            .iter()
            .filter(|e| matches!(e, JobEvent::Token { side: s, .. } if *s == side))
            .count();
        assert!(pieces >= 2, "{side:?} streamed {pieces} pieces");
    }
    let replies = &app.chat.exchanges[0].replies;
    assert_eq!(replies[0].side, Side::Base);
    assert_eq!(replies[1].side, Side::Adapter);
    assert!(replies
        .iter()
        .all(|r| r.state == ReplyState::HitLimit && r.tokens == 16));

    // The same answers as `tunedeck chat`, base and with the adapter plugged in.
    let model = fixtures().join("tiny-llama");
    let adapter = dir.join("runs/run-1/adapter");
    let base_args = [
        "chat",
        "--model",
        model.to_str().unwrap(),
        "--prompt",
        prompt,
        "--max-new-tokens",
        "16",
    ];
    let cli_base = tunedeck(&base_args);
    let mut with_card = base_args.to_vec();
    with_card.extend(["--adapter", adapter.to_str().unwrap()]);
    let cli_adapter = tunedeck(&with_card);
    assert_eq!(cli_base.strip_suffix('\n'), Some(replies[0].text.as_str()));
    assert_eq!(
        cli_adapter.strip_suffix('\n'),
        Some(replies[1].text.as_str())
    );
    assert_ne!(
        replies[0].text, replies[1].text,
        "the skill card changes the answer"
    );

    // The model stays loaded; Esc stops a long answer at its next token.
    app.update(Action::ToggleCompare);
    app.update(Action::Edit);
    type_text(&mut app, "Tell me more.");
    app.update(Action::Submit);
    let JobCommand::Chat {
        job,
        mut request,
        cancel,
    } = one_job(&mut app)
    else {
        panic!()
    };
    request.sampling.max_new_tokens = 4096;
    assert!(jobs.send(JobCommand::Chat {
        job,
        request,
        cancel: cancel.clone()
    }));
    pump(&mut app, &rx, |a| {
        a.chat.exchanges[1].replies[0].state == ReplyState::Streaming
    });
    app.update(Action::CancelJob);
    assert!(cancel.load(Ordering::Relaxed));
    let seen = pump(&mut app, &rx, |a| a.chat.active.is_none());
    assert!(
        !seen.iter().any(|e| matches!(e, JobEvent::Loading { .. })),
        "no reload"
    );
    assert!(
        matches!(seen.last(), Some(JobEvent::Cancelled { .. })),
        "{seen:?}"
    );
    let stopped = &app.chat.exchanges[1].replies[0];
    assert_eq!(stopped.state, ReplyState::Stopped);
    assert!(!stopped.text.is_empty());
    jobs.shutdown();
}

/// Presses `w` in the Eval pane and lets the real jobs thread write the report.
fn write_report_key(app: &mut App, jobs: &JobsHandle, rx: &Receiver<JobEvent>) {
    app.on_key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE));
    for cmd in app.take_jobs() {
        assert!(jobs.send(cmd));
    }
    pump(app, rx, |a| a.eval.report_job.is_none());
}

fn notice(app: &App) -> (String, Mood) {
    let n = app.notice.as_ref().expect("a notice");
    (n.text.clone(), n.mood)
}

fn retrospective(app: &App) -> ItemStatus {
    let i = PLAN
        .iter()
        .position(|p| p.step == Step::Retrospective)
        .unwrap();
    app.exp.plan.statuses(&app.facts, app.today)[i]
}

#[test]
fn w_writes_the_selected_run_s_report_as_tunedeck_report_does_and_ticks_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    // run-1 was tested (the guard failed); run-2, the latest, was not.
    finished_run(&dir, "run-1");
    write_report(&dir, "run-1", &sample_report("run-1", false));
    std::thread::sleep(Duration::from_millis(20));
    finished_run(&dir, "run-2");
    let mut app = App::open(&dir, date(TODAY)).unwrap();
    assert_ne!(retrospective(&app), ItemStatus::DoneAuto);
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::Decrease);
    assert_eq!(app.eval.selected_run(), Some("run-1"));
    let (jobs, rx) = start_jobs();

    write_report_key(&mut app, &jobs, &rx);
    let (said, mood) = notice(&app);
    let report = dir.join("runs/run-1/report.md");
    let md = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{said}: {e}"));
    assert!(md.starts_with("# Retrospective: run-1\n"), "{md}");
    assert!(md.contains("**Not graduated**"), "{md}");
    let png = std::fs::read(dir.join("runs/run-1/loss.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(
        !dir.join("runs/run-2/report.md").exists(),
        "only the selected run"
    );
    // The notice names the file and the report's own next step.
    assert_eq!(mood, Mood::Good);
    assert!(
        said.starts_with("Wrote runs/run-1/report.md and loss.png"),
        "{said}"
    );
    let (_, next) = said.split_once("next step: ").expect("a next step");
    assert!(
        md.contains(&format!("**Next:** {next} — ")),
        "{next:?} in\n{md}"
    );
    assert_eq!(retrospective(&app), ItemStatus::DoneAuto);

    // One code path: `tunedeck report` writes the same report.
    let kept = tmp.path().join("cockpit.md");
    std::fs::rename(&report, &kept).unwrap();
    tunedeck(&["report", dir.to_str().unwrap(), "--run", "run-1"]);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), md);

    // In Chinese, for the untested run: the report says to run the test first.
    app.update(Action::ToggleLanguage);
    app.update(Action::Increase);
    write_report_key(&mut app, &jobs, &rx);
    assert_eq!(
        notice(&app).0,
        "已写出 runs/run-2/report.md 和 loss.png · 下一步：运行三维盲测"
    );
    let md = std::fs::read_to_string(dir.join("runs/run-2/report.md")).unwrap();
    assert!(md.contains("Not evaluated yet"), "{md}");
    jobs.shutdown();
}

#[test]
fn w_without_a_run_or_a_training_log_says_why_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = App::open(&demo_experiment(tmp.path()), date(TODAY)).unwrap();
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::WriteReport);
    assert!(app.take_jobs().is_empty());
    assert!(notice(&app).0.contains("No finished run to report on"));

    let dir = demo_experiment(&tmp.path().join("b"));
    finished_run(&dir, "run-1");
    std::fs::remove_file(dir.join("runs/run-1/trainer_log.jsonl")).unwrap();
    let mut app = App::open(&dir, date(TODAY)).unwrap();
    app.update(Action::Focus(Pane::Eval));
    let (jobs, rx) = start_jobs();
    write_report_key(&mut app, &jobs, &rx);
    let (said, mood) = notice(&app);
    assert!(said.contains("trainer_log.jsonl"), "{said}");
    assert_eq!(mood, Mood::Bad);
    assert!(!dir.join("runs/run-1/report.md").exists());
    assert_ne!(retrospective(&app), ItemStatus::DoneAuto);

    // An eval.json that does not read is named, and neither file is half written.
    finished_run(&dir, "run-1");
    std::fs::write(dir.join("runs/run-1/eval.json"), "{ not json").unwrap();
    write_report_key(&mut app, &jobs, &rx);
    assert!(notice(&app).0.contains("eval.json"), "{:?}", notice(&app));
    assert!(!dir.join("runs/run-1/report.md").exists());
    assert!(!dir.join("runs/run-1/loss.png").exists());

    // While the test runs, the report waits for it (one job at a time).
    app.update(Action::StartEval);
    assert_eq!(app.take_jobs().len(), 1);
    app.update(Action::WriteReport);
    assert!(app.take_jobs().is_empty());
    assert!(notice(&app).0.contains("three-part test is running"));
    jobs.shutdown();
}

#[test]
fn e_exports_the_selected_run_after_saying_which_part_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tiny_experiment(tmp.path());
    write_report(&dir, "run-1", &sample_report("run-1", false));
    let mut app = App::open(&dir, date(TODAY)).unwrap();
    app.update(Action::Focus(Pane::Eval));
    assert_eq!(app.eval.selected_run(), Some("run-1"));
    let e = KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE);

    // Not graduated: the first e asks, naming the failed part, and exports nothing.
    app.on_key(e);
    let (said, mood) = notice(&app);
    assert_eq!(mood, Mood::Warn);
    assert!(said.contains("run-1 has not graduated"), "{said}");
    assert!(said.contains("guard failed"), "{said}");
    assert!(said.contains("Press e again"), "{said}");
    assert!(app.take_jobs().is_empty());

    // The second e exports, with progress, on the real jobs thread.
    app.on_key(e);
    let cmds = app.take_jobs();
    assert_eq!(cmds.len(), 1);
    assert!(matches!(cmds[0], JobCommand::Export { .. }));
    let (jobs, rx) = start_jobs();
    for cmd in cmds {
        assert!(jobs.send(cmd));
    }
    let seen = pump(&mut app, &rx, |a| a.eval.export_job.is_none());
    assert!(seen.iter().any(|e| matches!(e, JobEvent::Exporting { .. })));
    let (said, mood) = notice(&app);
    assert_eq!(mood, Mood::Good, "{said}");
    assert!(
        said.starts_with("Exported run-1: runs/run-1/export/run-1.f16.gguf, Modelfile, README.md"),
        "{said}"
    );
    let out = dir.join("runs/run-1/export");
    for f in ["run-1.f16.gguf", "Modelfile", "README.md"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("not graduated: guard failed"), "{readme}");
    jobs.shutdown();
}

/// `n` varied Alpaca records as JSON Lines; every 500th has an empty output, an error the
/// check must find.
fn generated_records(n: usize) -> String {
    const VERBS: [&str; 6] = ["Review", "Audit", "Check", "Explain", "Fix", "Harden"];
    const THINGS: [&str; 7] = [
        "login handler",
        "file upload",
        "SQL query builder",
        "session cookie",
        "template renderer",
        "password reset",
        "shell wrapper",
    ];
    const LANGS: [&str; 5] = ["Python", "Go", "Rust", "Java", "PHP"];
    (0..n)
        .map(|i| {
            let (v, t, l) = (VERBS[i % 6], THINGS[(i / 6) % 7], LANGS[(i / 42) % 5]);
            let output = if i % 500 == 499 {
                String::new()
            } else {
                format!("Severity: medium. The {t} in request {i} trusts its input; validate it and use the {l} standard library's escaping.")
            };
            serde_json::json!({
                "instruction": format!("{v} this {l} {t} (ticket {i})."),
                "input": format!("def handle_{i}(req):\n    return run(req.args['q{}'])", i * 7919 % 10007),
                "output": output,
            })
            .to_string()
                + "\n"
        })
        .collect()
}

#[test]
fn r_checks_ten_thousand_records_on_the_jobs_thread_while_keys_redraw_fast() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    // The records grow after the cockpit opened: the reload is what must not freeze it.
    let records = app.exp.dataset_path(&dir);
    std::fs::write(&records, generated_records(10_000)).unwrap();
    let (jobs, rx) = start_jobs();
    app.update(Action::Focus(Pane::Dataset));
    app.update(Action::Reload);
    for cmd in app.take_jobs() {
        assert!(jobs.send(cmd));
    }

    // As the event loop does: take what the jobs thread sent, then a key, then a redraw.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut latencies = Vec::new();
    let mut stages = Vec::new();
    let keys = [KeyCode::Down, KeyCode::Down, KeyCode::Up];
    loop {
        assert!(Instant::now() < deadline, "the check never ended");
        for event in rx.try_iter() {
            app.on_job(event);
        }
        let Some(job) = app.data.job else { break };
        stages.push(job.work);
        let key = keys[latencies.len() % keys.len()];
        let start = Instant::now();
        app.on_key(KeyEvent::new(key, KeyModifiers::NONE));
        let screen = render(&app, 100, 30);
        latencies.push(start.elapsed());
        assert!(text(&screen).contains("Reloading"), "{}", text(&screen));
        std::thread::sleep(Duration::from_millis(15));
    }
    jobs.shutdown();
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    eprintln!(
        "key-to-redraw during the check of 10,000 records: median {median:?}, max {:?}, {} keys",
        latencies.last().unwrap(),
        latencies.len()
    );
    assert!(
        latencies.len() >= 5,
        "the check ended before the keys could be timed"
    );
    assert!(median < Duration::from_millis(50), "median {median:?}");
    assert!(
        stages.contains(&DataWork::Checking(Stage::Checking(10_000))),
        "{stages:?}"
    );

    // The pane shows what the check on the UI thread showed before.
    assert_eq!(notice(&app).0, "Records reloaded and checked.");
    let here = DatasetState::load(&app.exp, &dir, &app.preset.current);
    assert_eq!(app.data.report, here.report);
    assert_eq!(app.data.rows, here.rows);
    assert_eq!(app.data.tokens, here.tokens);
    let report = app.data.report.as_ref().unwrap();
    assert_eq!((report.records, report.errors), (10_000, 20));
}

#[test]
fn s_splits_on_the_jobs_thread_and_says_when_another_split_is_there() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    split(&mut app);
    assert_eq!(
        notice(&app).0,
        "Split 8:1:1 written to data/ (test part sealed)."
    );
    assert_eq!(app.data.split.as_ref().unwrap().counts.test, 20);

    // Other records: the split on disk is not theirs, and s does not replace it.
    let records = app.exp.dataset_path(&dir);
    let fewer: String = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .take(150)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&records, fewer).unwrap();
    app.update(Action::Reload);
    app.update(Action::Split);
    assert_eq!(
        notice(&app).0,
        "The records are being checked; a moment.",
        "one dataset job at a time"
    );
    finish_data_job(&mut app);
    assert!(app.data.split_is_stale());
    app.update(Action::Split);
    finish_data_job(&mut app);
    let (said, mood) = notice(&app);
    assert_eq!(
        said,
        "data/ holds a different split: S replaces it (and deals a new sealed test set)."
    );
    assert_eq!(mood, Mood::Bad);
    assert_eq!(app.data.split.as_ref().unwrap().counts.test, 20, "kept");

    app.update(Action::ForceSplit);
    finish_data_job(&mut app);
    assert_eq!(app.data.split.as_ref().unwrap().counts.test, 15);
    assert!(!app.data.split_is_stale());
}
