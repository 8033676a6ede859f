//! App-flow tests of runs: scripted worker events replayed into the cockpit's state,
//! checking the loss pane, the plan, the commands sent to the worker and the quit dialog
//! (while training, while the three-part test runs, and both).
//! Editing flows are in `tui_editing.rs`.

#[path = "tui_support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::*;
use tunedeck::eval::{Part, Position, Side};
use tunedeck::experiment::{Experiment, ItemStatus, Language, Step, PLAN};
use tunedeck::lora::AdapterConfig;
use tunedeck::train::checkpoint::{self, TrainerState};
use tunedeck::tui::app::{Overlay, Phase, ResumePoint};
use tunedeck::tui::loss::Health;
use tunedeck::tui::{Action, Pane};
use tunedeck::worker::jobs::{Cancel, JobCommand, JobEvent};
use tunedeck::worker::{RunSpec, WorkerCommand, WorkerEvent};

fn status(app: &tunedeck::tui::App, step: Step) -> ItemStatus {
    let i = PLAN.iter().position(|p| p.step == step).unwrap();
    app.exp.plan.statuses(&app.facts, app.today)[i]
}

#[test]
fn a_run_updates_the_loss_pane_and_ticks_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    assert_eq!(status(&app, Step::FirstRun), ItemStatus::Upcoming);
    let id = split_and_start(&mut app);
    assert_eq!(id, 1);
    assert_eq!(app.run.phase, Phase::Starting);
    assert_eq!(status(&app, Step::Split), ItemStatus::DoneAuto);

    assert!(app.on_worker(loaded(id)));
    assert_eq!(app.run.phase, Phase::Running);
    feed_steps(&mut app, id, 1..=30);
    let last = app.run.last.as_ref().unwrap();
    assert_eq!((last.step, last.total_steps), (30, TOTAL_STEPS));
    assert_eq!(app.run.history.train().len(), 30);
    assert_eq!(app.run.history.health(), Health::SmoothDescent);
    assert!(app.run.eta_s().unwrap() > 0.0);
    assert_eq!(status(&app, Step::FirstRun), ItemStatus::DoneAuto);
    assert_eq!(status(&app, Step::WatchLoss), ItemStatus::Upcoming);

    assert!(app.on_worker(WorkerEvent::Eval {
        run_id: id,
        step: 30,
        eval_loss: 0.9,
        probe_ppl: None,
        best_step: 30,
    }));
    assert_eq!(app.run.history.val(), [(30.0, 0.9)]);
    let path = "runs/run-1/checkpoints/step-30".into();
    assert!(app.on_worker(WorkerEvent::Checkpoint {
        run_id: id,
        step: 30,
        path
    }));
    assert_eq!(app.run.checkpoint, Some(30));
    assert!(app.notice.as_ref().unwrap().text.contains("step 30"));

    assert!(app.on_worker(finished(id, false)));
    assert_eq!(app.run.phase, Phase::Finished);
    assert_eq!(status(&app, Step::WatchLoss), ItemStatus::DoneAuto);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("step 30/75"), "{screen}");
    assert!(screen.contains("✓ finished 30/75"), "{screen}");
}

fn feed_steps(app: &mut tunedeck::tui::App, id: u64, steps: std::ops::RangeInclusive<u64>) {
    for s in steps {
        assert!(app.on_worker(step(id, s, loss_at(s))));
    }
}

#[test]
fn stale_run_ids_are_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    assert!(!app.on_worker(step(1, 1, 2.0)), "no run yet");
    let id = split_and_start(&mut app);
    feed_steps(&mut app, id, 1..=3);
    app.on_worker(finished(id, true));
    assert_eq!(app.run.phase, Phase::Finished);

    // A second run: events of the first one still in the queue must not touch it.
    app.update(Action::StartRun);
    let second = match app.take_commands().as_slice() {
        [WorkerCommand::Start { run_id, .. }] => *run_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(second, id + 1);
    assert!(!app.on_worker(step(id, 4, 9.0)));
    assert!(!app.on_worker(WorkerEvent::Failed {
        run_id: id,
        error: "old".into()
    }));
    assert!(app.run.history.train().is_empty());
    assert_eq!(app.run.phase, Phase::Starting);
    assert!(app.on_worker(step(second, 1, 2.0)));
    assert_eq!(app.run.phase, Phase::Running);
}

#[test]
fn run_keys_send_commands_only_when_they_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    press(&mut app, &[Action::Focus(Pane::Loss), Action::StartRun]);
    assert!(app.take_commands().is_empty(), "no split yet");
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("Split the records first"));
    press(&mut app, &[Action::PauseResume, Action::StopRun]);
    assert!(app.take_commands().is_empty());

    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    press(&mut app, &[Action::PauseResume]);
    app.on_worker(WorkerEvent::Paused { run_id: id });
    assert_eq!(app.run.phase, Phase::Paused);
    press(&mut app, &[Action::PauseResume, Action::SaveNow]);
    app.on_worker(WorkerEvent::Resumed { run_id: id });
    press(&mut app, &[Action::StartRun, Action::StopRun]);
    let sent: Vec<String> = app
        .take_commands()
        .iter()
        .map(|c| format!("{c:?}"))
        .collect();
    assert_eq!(sent, ["Pause", "Resume", "SaveNow", "Stop"]);
    assert_eq!(app.run.phase, Phase::Stopping);
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// The quit dialog's question as drawn: its rows up to "What now?", joined.
fn dialog(app: &tunedeck::tui::App) -> String {
    let buffer = render(app, 80, 24);
    let (x, y) = *find(&buffer, "┌ Quit?")
        .first()
        .or(find(&buffer, "┌ 退出？").first())
        .unwrap_or_else(|| panic!("no quit dialog:\n{}", text(&buffer)));
    let mut rows = Vec::new();
    for row in y + 1..buffer.area.height {
        // The dialog's inside, a wide character's hidden cell skipped.
        let mut line = String::new();
        let mut skip = 0;
        for col in x + 1..(x + 63).min(buffer.area.width) {
            let symbol = buffer[(col, row)].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            skip = tunedeck::tui::text::width(symbol).saturating_sub(1);
            line.push_str(symbol);
        }
        let line = line.trim().to_string();
        let last = line.ends_with("What now?") || line.ends_with("要怎么做？");
        rows.push(line);
        if last {
            return rows.join(" ");
        }
    }
    panic!("no question in the quit dialog:\n{}", text(&buffer))
}

#[test]
fn quitting_asks_while_a_run_is_active() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    feed_steps(&mut app, id, 1..=12);

    app.on_key(key('q'));
    assert_eq!(app.overlay, Overlay::Quit);
    assert!(!app.should_quit);
    let screen = dialog(&app);
    assert!(
        screen.contains("run-1 is training (12/75). What now?"),
        "{screen}"
    );
    assert!(!screen.contains("three-part test"), "{screen}");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert_eq!(app.overlay, Overlay::None);

    // Keep waiting: the cockpit closes when the run ends.
    app.on_key(key('q'));
    app.on_key(key('w'));
    assert!(app.quit_when_done && !app.should_quit);
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("when the run ends"));
    app.on_worker(step(id, 13, 2.0));
    assert!(!app.should_quit);
    app.on_worker(finished(id, false));
    assert!(app.should_quit);

    // Stop and save: the worker is told to stop.
    let mut app = open(&tmp.path().join("demo"));
    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    app.on_key(key('q'));
    app.on_key(key('s'));
    assert!(app.should_quit);
    assert!(matches!(
        app.take_commands().as_slice(),
        [WorkerCommand::Stop]
    ));

    // Without a run, q quits at once; Ctrl-C always does.
    let mut app = open(&tmp.path().join("demo"));
    app.update(Action::Quit);
    assert!(app.should_quit);
    let mut app = open(&tmp.path().join("demo"));
    app.update(Action::Edit);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit);
}

/// The Eval pane of a demo experiment with a finished `run-1`, its three-part test started
/// and 37 of 120 answers done; returns the job and its cancel flag.
fn testing(dir: &std::path::Path) -> (tunedeck::tui::App, u64, Cancel) {
    let mut app = open(dir);
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::StartEval);
    let JobCommand::Eval { job, cancel, .. } = one_job(&mut app) else {
        panic!("expected the test's job")
    };
    assert!(app.on_job(answered(job, 37)));
    (app, job, cancel)
}

fn answered(job: u64, done: usize) -> JobEvent {
    JobEvent::Answered {
        job,
        at: Position {
            part: Part::Interview,
            side: Side::Adapter,
            item: 3,
            items: 20,
            done,
            total: 120,
        },
    }
}

#[test]
fn quitting_asks_while_the_three_part_test_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    finished_run(&dir, "run-1");
    let (mut app, job, cancel) = testing(&dir);
    assert!(!app.run.is_active(), "no training: only the test runs");

    app.on_key(key('q'));
    assert_eq!(app.overlay, Overlay::Quit);
    assert!(!app.should_quit);
    let screen = dialog(&app);
    assert!(
        screen.contains("The three-part test of run-1 is at 37/120."),
        "{screen}"
    );
    assert!(!screen.contains("training"), "{screen}");
    app.exp.language = Language::Zh;
    let screen = dialog(&app);
    assert!(
        screen.contains("run-1 的三维盲测进行到 37/120。要怎么做？"),
        "{screen}"
    );
    app.exp.language = Language::En;
    app.on_key(key('c'));
    assert_eq!(app.overlay, Overlay::None);
    assert!(!app.should_quit && !cancel.load(Ordering::Relaxed));

    // Keep waiting: the cockpit closes when the test ends, whatever way it ends.
    app.on_key(key('q'));
    app.on_key(key('w'));
    assert!(app.quit_when_done && !app.should_quit);
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("when the test ends"));
    assert!(app.on_job(answered(job, 38)));
    assert!(!app.should_quit);
    let report = sample_report("run-1", true);
    write_report(&dir, "run-1", &report);
    assert!(app.on_job(JobEvent::Evaluated {
        job,
        report: Box::new(report),
        path: dir.join("runs/run-1/eval.json"),
    }));
    assert!(app.should_quit);

    // Stop: the test is cancelled, and there is no training run to tell the worker about.
    let (mut app, job, cancel) = testing(&dir);
    app.on_key(key('q'));
    app.on_key(key('s'));
    assert!(app.should_quit);
    assert!(
        cancel.load(Ordering::Relaxed),
        "the job's cancel flag is raised"
    );
    assert!(app.take_commands().is_empty());
    assert!(app.on_job(JobEvent::Cancelled { job }));

    // Ctrl-C still quits at once, dialog or not.
    let (mut app, _, _) = testing(&dir);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit);
}

#[test]
fn with_a_run_and_a_test_running_the_dialog_names_both_and_waits_for_both() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    finished_run(&dir, "run-1");
    let (mut app, job, cancel) = testing(&dir);
    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    feed_steps(&mut app, id, 1..=5);
    assert_eq!(app.run.name, "run-2");

    app.on_key(key('q'));
    let screen = dialog(&app);
    assert!(
        screen.contains("run-2 is training (5/75). The three-part test of run-1 is at"),
        "{screen}"
    );
    app.on_key(key('w'));
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("when the run and the test end"));
    app.on_worker(finished(id, false));
    assert!(!app.should_quit, "the test still runs");
    assert!(app.on_job(JobEvent::Cancelled { job }));
    assert!(app.should_quit);

    // Stop and quit stops both.
    let (mut app, _, cancel2) = testing(&dir);
    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    app.on_key(key('q'));
    app.on_key(key('s'));
    assert!(app.should_quit && cancel2.load(Ordering::Relaxed));
    assert!(matches!(
        app.take_commands().as_slice(),
        [WorkerCommand::Stop]
    ));
    assert!(
        !cancel.load(Ordering::Relaxed),
        "the first app's test was left alone"
    );
}

#[test]
fn a_gone_worker_fails_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    split_and_start(&mut app);
    app.worker_gone();
    assert_eq!(app.run.phase, Phase::Failed);
    assert!(!app.run.is_active());
}

#[test]
fn a_crash_in_the_trainer_fails_the_run_with_its_message() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    feed_steps(&mut app, id, 1..=5);
    app.worker_panicked(
        "thread 'tunedeck-worker' panicked at src/train/mod.rs:1:1: CUDA out of memory",
    );
    assert_eq!(app.run.phase, Phase::Failed);
    assert!(!app.run.is_active(), "q quits without asking");
    // The loss pane keeps the reason after the status line's message is gone.
    app.update(Action::Focus(Pane::Loss));
    assert!(app.notice.is_none());
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("✗ failed"), "{screen}");
    assert!(
        screen.contains("The trainer crashed: thread 'tunedeck-worker'"),
        "{screen}"
    );
}

#[test]
fn reopening_shows_the_last_runs_curve_and_numbers_runs_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let run = dir.join("runs/run-3");
    std::fs::create_dir_all(run.join("adapter")).unwrap();
    std::fs::write(run.join("adapter/adapter_model.safetensors"), "").unwrap();
    let log: String = (0..=20)
        .map(|s| {
            let eval = if s % 10 == 0 { format!(",\"eval_loss\":{}", 1.0 + 1.0 / (1.0 + s as f64)) } else { String::new() };
            let loss = if s > 0 { format!(",\"loss\":{}", loss_at(s)) } else { String::new() };
            format!("{{\"current_steps\":{s},\"total_steps\":20,\"lr\":0.0001,\"epoch\":0.5,\"elapsed_time\":{s}.0,\"throughput\":640.0,\"total_tokens\":{}{loss}{eval}}}\n", s * 640)
        })
        .collect();
    std::fs::write(run.join("trainer_log.jsonl"), log).unwrap();
    checkpoint_on_disk(&run, 20, 20);

    let mut app = open(&dir);
    assert_eq!(app.run.name, "run-3");
    assert_eq!(app.run.phase, Phase::Finished);
    assert_eq!(app.run.resume_from, None, "it reached its last step");
    assert_eq!(app.run.history.train().len(), 20);
    assert_eq!(app.run.history.val().len(), 3);
    assert_eq!(
        app.derived().tokens_per_s,
        Some(640.0),
        "the preset pane's ETA uses it"
    );
    assert_eq!(status(&app, Step::WatchLoss), ItemStatus::DoneAuto);
    app.update(Action::Focus(Pane::Loss));
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("step 20/20") && screen.contains("ETA –"),
        "{screen}"
    );

    let id = split_and_start(&mut app);
    assert_eq!(id, 4, "a finished run is not continued");
    assert!(app.run.history.train().is_empty());
}

/// A checkpoint as the trainer writes it for the demo experiment's preset: the adapter's
/// config and trainer_state.json (last), without weights: the cockpit reads only those.
fn checkpoint_on_disk(run_dir: &std::path::Path, step: u64, total_steps: u64) {
    let experiment = run_dir.parent().unwrap().parent().unwrap();
    let (preset, _) = Experiment::load(experiment)
        .unwrap()
        .resolve_preset(experiment)
        .unwrap();
    let config = AdapterConfig::from_preset(&preset);
    let state = TrainerState {
        global_step: step,
        total_steps,
        epoch: 0.0,
        total_tokens: step * 800,
        elapsed_s: step as f64,
        initial_eval_loss: Some(2.0),
        last_eval_loss: Some(1.0),
        seed: 42,
        ..TrainerState::default()
    };
    checkpoint::save(run_dir, &state, &mut |tmp| {
        tunedeck::atomic::write_json(&tmp.join("adapter_config.json"), &config)
    })
    .unwrap();
}

/// The one Start command the app sent: its run id and spec.
fn sent_start(app: &mut tunedeck::tui::App) -> (u64, Box<RunSpec>) {
    match app.take_commands().as_slice() {
        [WorkerCommand::Start { run_id, spec }] => (*run_id, spec.clone()),
        other => panic!("expected one Start, got {other:?}"),
    }
}

#[test]
fn a_stopped_run_continues_from_its_checkpoint_and_a_finished_one_starts_anew() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    let id = split_and_start(&mut app);
    app.on_worker(loaded(id));
    feed_steps(&mut app, id, 1..=12);
    // The user stops at step 12; the worker saves a checkpoint there and reports the end.
    app.update(Action::StopRun);
    app.take_commands();
    checkpoint_on_disk(&dir.join("runs/run-1"), 12, TOTAL_STEPS);
    app.on_worker(finished(id, true));
    assert_eq!(
        app.run.resume_from,
        Some(ResumePoint {
            step: 12,
            total_steps: TOTAL_STEPS
        })
    );
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("■ stopped 12/75"), "{screen}");
    assert!(
        screen.contains(
            "run-1 ended before its last step: s continues it from the checkpoint at step"
        ) && screen.contains("12/75, S starts a new run."),
        "{screen}"
    );

    // s continues the same run in the same folder.
    app.update(Action::StartRun);
    let (again, spec) = sent_start(&mut app);
    assert_eq!(again, id);
    assert!(spec.resume, "the trainer is asked to resume");
    assert!(spec.out_dir.ends_with("runs/run-1"), "{:?}", spec.out_dir);
    assert_eq!(app.run.phase, Phase::Starting);
    assert_eq!(app.run.history.train().len(), 12, "the curve so far stays");
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("Continuing run-1 from its checkpoint at step 12/75"));
    let mut info = loaded(id);
    if let WorkerEvent::Loaded { info, .. } = &mut info {
        info.start_step = 12;
    }
    assert!(app.on_worker(info));
    feed_steps(&mut app, id, 13..=TOTAL_STEPS);
    assert_eq!(app.run.history.train().len(), TOTAL_STEPS as usize);
    checkpoint_on_disk(&dir.join("runs/run-1"), TOTAL_STEPS, TOTAL_STEPS);
    app.on_worker(finished(id, false));
    assert_eq!(app.run.resume_from, None);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("✓ finished 75/75"), "{screen}");
    assert!(!screen.contains("continues it"), "{screen}");

    // A finished run is never resumed: s starts run-2 from scratch.
    app.update(Action::StartRun);
    let (next, spec) = sent_start(&mut app);
    assert_eq!(next, id + 1);
    assert!(!spec.resume);
    assert!(spec.out_dir.ends_with("runs/run-2"));
    assert!(app.run.history.train().is_empty());
}

#[test]
fn a_run_cut_short_on_disk_is_offered_for_resume_on_reopening() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    // run-2 was killed at step 15 of 40: its log runs past its last checkpoint (12), and it
    // never wrote an adapter.
    let run = dir.join("runs/run-2");
    std::fs::create_dir_all(&run).unwrap();
    let log: String = (1..=15)
        .map(|s| format!("{{\"current_steps\":{s},\"total_steps\":40,\"loss\":{},\"lr\":0.001,\"epoch\":0.1,\"elapsed_time\":{s}.0,\"throughput\":700.0,\"total_tokens\":{}}}\n", loss_at(s), s * 700))
        .collect();
    std::fs::write(run.join("trainer_log.jsonl"), log).unwrap();
    checkpoint_on_disk(&run, 12, 40);

    let mut app = open(&dir);
    split(&mut app);
    app.update(Action::Focus(Pane::Loss));
    assert_eq!(app.run.name, "run-2");
    assert_eq!(app.run.phase, Phase::Finished);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("■ stopped 15/40"), "{screen}");
    assert!(
        screen.contains(
            "run-2 ended before its last step: s continues it from the checkpoint at step"
        ) && screen.contains("12/40, S starts a new run."),
        "{screen}"
    );

    // S starts a new run instead, leaving run-2 as it is.
    let mut fresh = open(&dir);
    press(
        &mut fresh,
        &[Action::Focus(Pane::Loss), Action::StartNewRun],
    );
    let (id, spec) = sent_start(&mut fresh);
    assert_eq!(id, 3);
    assert!(!spec.resume && spec.out_dir.ends_with("runs/run-3"));

    // A rank changed since the checkpoint cannot load it: s says so and sends nothing.
    press(&mut app, &[Action::Focus(Pane::Preset), Action::Top]);
    while app.preset.key() != "lora_rank" {
        app.update(Action::Down);
    }
    press(
        &mut app,
        &[
            Action::Increase,
            Action::Focus(Pane::Loss),
            Action::StartRun,
        ],
    );
    assert!(app.take_commands().is_empty());
    let notice = &app.notice.as_ref().unwrap().text;
    let rank = app.preset.current.lora_rank;
    let expected = format!(
        "run-2's checkpoint was trained with lora_rank = {}, the preset now has {rank}",
        rank / 2
    );
    assert!(notice.contains(&expected), "{notice}");
    press(&mut app, &[Action::Focus(Pane::Preset), Action::Decrease]);
    app.update(Action::Focus(Pane::Loss));

    // s continues run-2: steps 13-15 are trained again, so the curve keeps 1-12.
    app.update(Action::StartRun);
    let (id, spec) = sent_start(&mut app);
    assert_eq!(id, 2);
    assert!(spec.resume && spec.out_dir.ends_with("runs/run-2"));
    assert_eq!(app.run.history.train().len(), 12);
    assert!(!app.on_worker(step(3, 13, 1.0)), "not this run's events");
    assert!(app.on_worker(step(2, 13, 1.0)));
}

/// The committed LLaMA-Factory run folder, as a user would type it from the repository.
const LF_FOLDER: &str = "tests/fixtures/llamafactory";

#[test]
fn a_followed_run_folder_streams_its_loss_into_the_loss_pane_through_the_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    app.update(Action::Focus(Pane::Loss));
    app.on_key(key('o'));
    type_text(&mut app, "no/such/folder");
    app.update(Action::Submit);
    assert!(
        app.take_commands().is_empty(),
        "a missing folder is refused"
    );
    assert!(dialog_free_status(&app).contains("no such folder"));
    app.update(Action::Cancel);
    app.on_key(key('o'));
    type_text(&mut app, LF_FOLDER);
    app.update(Action::Submit);
    let commands = app.take_commands();
    let [WorkerCommand::Follow { run_id, dir }] = commands.as_slice() else {
        panic!("expected one Follow, got {commands:?}")
    };
    assert_eq!(dir, std::path::Path::new(LF_FOLDER));
    assert_eq!(app.run.phase, Phase::Following);
    // The real worker follows the folder, as the cockpit's event loop would drive it.
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = tunedeck::worker::spawn(Box::new(move |e| tx.send(e).is_ok()));
    worker.send(WorkerCommand::Follow {
        run_id: *run_id,
        dir: dir.clone(),
    });
    let log =
        tunedeck::eval::loss_log::LossLog::read(&root().join(LF_FOLDER).join("trainer_log.jsonl"))
            .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.run.history.val().len() < log.val.len() {
        let e = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the worker reports the folder's log");
        assert!(app.on_worker(e));
    }
    // Pause is not tunedeck's to give; x stops following (the worker says so with Finished).
    app.on_key(key('p'));
    assert!(app.take_commands().is_empty());
    app.on_key(key('x'));
    for cmd in app.take_commands() {
        worker.send(cmd);
    }
    loop {
        let e = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        let done = matches!(e, WorkerEvent::Finished { .. });
        app.on_worker(e);
        if done {
            break;
        }
    }
    worker.shutdown();
    assert_eq!(app.run.history.train().len(), log.train.len());
    assert_eq!(app.run.history.health(), log.health());
    let screen = text(&render(&app, 160, 48));
    assert!(screen.contains("step 12/12"), "{screen}");
    assert!(screen.contains(LF_FOLDER), "{screen}");
    let verdict = format!("Health: {}", log.health().title(Language::En));
    assert!(screen.contains(&verdict), "{verdict} missing:\n{screen}");
    assert!(screen.contains("no longer followed"), "{screen}");
    // A new run after following numbers from the experiment's runs, not the follow id.
    split(&mut app);
    app.update(Action::Focus(Pane::Loss));
    app.on_key(key('s'));
    let (id, _) = sent_start(&mut app);
    assert_eq!(id, 1);
}

/// The status line's message.
fn dialog_free_status(app: &tunedeck::tui::App) -> String {
    match &app.input {
        tunedeck::tui::app::Input::Prompt { error, .. } => error.clone().unwrap_or_default(),
        _ => app
            .notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default(),
    }
}
