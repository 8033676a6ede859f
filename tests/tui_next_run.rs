//! The next-run menu on an `App`: opened from the Eval and Loss panes, the report's step
//! first, each lever's exact change, the `RunSpec` a choice sends and the `origin.json` it
//! writes; and the menu's screen at 80×24 in English and Chinese.

#[path = "tui_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::*;
use tunedeck::eval::next_run::{Lever, Origin};
use tunedeck::experiment::Language;
use tunedeck::lora::AdapterConfig;
use tunedeck::preset::Preset;
use tunedeck::train::checkpoint::{self, TrainerState};
use tunedeck::tui::app::{NextRunMenu, Overlay};
use tunedeck::tui::{Action, App, Pane};
use tunedeck::worker::{RunSpec, WorkerCommand};

/// The demo's CPU preset as a run without replay kept it in its folder (the menu's first
/// lever for a forgetting run is then "replay on").
fn demo_preset() -> Preset {
    let mut p = Preset::load(&root().join("presets/smollm2-cpu.toml")).unwrap();
    p.replay_ratio = 0.0;
    p
}

/// A split demo experiment whose `run-1` finished with `preset`; with an `eval.json` whose
/// guard fails (exam and interview pass) when `forgot`, none otherwise.
fn tested_run(parent: &Path, preset: &Preset, forgot: bool) -> (PathBuf, App) {
    let dir = demo_experiment(parent);
    finished_run(&dir, "run-1");
    preset.save(&dir.join("runs/run-1/preset.toml")).unwrap();
    if forgot {
        write_report(&dir, "run-1", &sample_report("run-1", false));
    }
    let mut app = open(&dir);
    split(&mut app);
    app.update(Action::Focus(Pane::Eval));
    assert_eq!(app.eval.selected_run(), Some("run-1"));
    (dir, app)
}

fn menu(app: &App) -> &NextRunMenu {
    assert_eq!(app.overlay, Overlay::NextRun);
    app.next_run.as_ref().expect("the menu is open")
}

/// The rows as the menu lists them: (lever, recommended).
fn rows(app: &App) -> Vec<(Lever, bool)> {
    menu(app)
        .entries
        .iter()
        .map(|e| (e.lever, e.recommended))
        .collect()
}

/// The one run the app asked the worker to start.
fn started(app: &mut App) -> (u64, RunSpec) {
    match app.take_commands().as_slice() {
        [WorkerCommand::Start { run_id, spec }] => (*run_id, (**spec).clone()),
        other => panic!("expected one Start, got {other:?}"),
    }
}

#[test]
fn the_recommended_change_comes_first_and_starts_a_run_with_its_origin() {
    let tmp = tempfile::tempdir().unwrap();
    let base = demo_preset();
    let (dir, mut app) = tested_run(tmp.path(), &base, true);
    app.update(Action::NextRun);
    // The guard failed and replay is off: replay on, then every lever.
    assert_eq!(
        rows(&app),
        [
            (Lever::Replay, true),
            (Lever::FewerEpochs, false),
            (Lever::LowerLearningRate, false),
            (Lever::LowerRank, false),
            (Lever::Replay, false),
            (Lever::ImproveData, false),
        ]
    );
    assert_eq!(menu(&app).new_run, "run-2");
    app.update(Action::Submit);
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.next_run.is_none());
    let (id, spec) = started(&mut app);
    assert_eq!(id, 2);
    assert_eq!(spec.out_dir, dir.join("runs/run-2"));
    assert_eq!(spec.data_dir, dir.join("data"));
    assert!(!spec.resume);
    assert_eq!(
        spec.preset,
        Preset {
            replay_ratio: 0.75,
            ..base
        }
    );
    let origin = Origin::load(&spec.out_dir).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec.out_dir.join("origin.json")).unwrap())
            .unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "from": "run-1",
            "changes": [{"key": "replay_ratio", "from": "0", "to": "0.75"}],
            "why": "protect general ability: mix general records in (replay)"
        })
    );
    assert_eq!(origin.from, "run-1");
    // The new run is the cockpit's run now: the Loss pane shows it starting.
    assert_eq!(app.focus, Pane::Loss);
    assert_eq!(app.run.name, "run-2");
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(
        notice.contains("Starting run-2 from run-1 (replay_ratio 0 → 0.75)"),
        "{notice}"
    );
    // Its events are the ones shown.
    assert!(app.on_worker(loaded(2)));

    // Stopped at step 3 and continued with s: the run keeps its own preset, not the
    // experiment's (which has replay off).
    for s in 1..=3 {
        assert!(app.on_worker(step(2, s, loss_at(s))));
    }
    app.update(Action::StopRun);
    let _ = app.take_commands();
    let state = TrainerState {
        global_step: 3,
        total_steps: TOTAL_STEPS,
        epoch: 0.0,
        total_tokens: 2400,
        elapsed_s: 3.0,
        initial_eval_loss: None,
        last_eval_loss: None,
        seed: 42,
        ..TrainerState::default()
    };
    let config = AdapterConfig::from_preset(&spec.preset);
    checkpoint::save(&spec.out_dir, &state, &mut |tmp| {
        tunedeck::atomic::write_json(&tmp.join("adapter_config.json"), &config)
    })
    .unwrap();
    spec.preset.save(&spec.out_dir.join("preset.toml")).unwrap();
    assert!(app.on_worker(finished(2, true)));
    app.update(Action::StartRun);
    let (again, resumed) = started(&mut app);
    assert_eq!(again, 2);
    assert!(resumed.resume);
    assert_eq!(resumed.preset, spec.preset);
}

#[test]
fn a_lever_from_the_loss_pane_sends_exactly_its_change() {
    let tmp = tempfile::tempdir().unwrap();
    let base = demo_preset();
    let (dir, mut app) = tested_run(tmp.path(), &base, false);
    // The Loss pane shows run-1, read back from disk.
    press(&mut app, &[Action::Focus(Pane::Loss), Action::NextRun]);
    let m = menu(&app);
    assert_eq!(m.from, "run-1");
    // No test yet: nothing is recommended, the levers are offered.
    assert!(rows(&app).iter().all(|(_, rec)| !rec));
    // Esc closes and starts nothing.
    app.update(Action::Cancel);
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.take_commands().is_empty());

    app.update(Action::NextRun);
    press(
        &mut app,
        &[Action::Down, Action::Down, Action::Up, Action::Down],
    );
    assert_eq!(menu(&app).selected, 2);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("▶ rank ÷ 2"), "{screen}");
    app.update(Action::Up);
    app.update(Action::Submit);
    let (_, spec) = started(&mut app);
    assert_eq!(
        spec.preset,
        Preset {
            learning_rate: base.learning_rate / 2.0,
            ..base.clone()
        }
    );
    let origin = Origin::load(&dir.join("runs/run-2")).unwrap();
    assert_eq!(origin.why, "lower the learning rate");
    assert_eq!(
        tunedeck::eval::next_run::describe(&origin.changes),
        format!(
            "learning_rate {} → {}",
            base.learning_rate,
            base.learning_rate / 2.0
        )
    );
}

#[test]
fn improving_the_data_goes_to_the_dataset_pane_and_starts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut app) = tested_run(tmp.path(), &demo_preset(), false);
    // The exam failed: the report says fix the data, and the menu puts that first.
    let mut report = sample_report("run-1", true);
    report.parts[0].passed = false;
    report.graduated = false;
    write_report(&dir, "run-1", &report);
    press(&mut app, &[Action::Focus(Pane::Eval), Action::NextRun]);
    assert_eq!(rows(&app)[0], (Lever::ImproveData, true));
    app.update(Action::Submit);
    assert_eq!(app.focus, Pane::Dataset);
    assert!(app.take_commands().is_empty());
    assert!(!dir.join("runs/run-2").exists());
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("nothing was started"), "{notice}");
}

#[test]
fn a_graduated_run_is_offered_no_change_and_a_busy_cockpit_no_menu() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, mut app) = tested_run(tmp.path(), &demo_preset(), false);
    write_report(&dir, "run-1", &sample_report("run-1", true));
    press(&mut app, &[Action::Focus(Pane::Eval), Action::NextRun]);
    assert!(rows(&app).iter().all(|(_, rec)| !rec));
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("graduated"), "{screen}");
    app.update(Action::Cancel);

    // While a run trains, the menu does not open.
    press(&mut app, &[Action::Focus(Pane::Loss), Action::StartNewRun]);
    let _ = app.take_commands();
    app.update(Action::NextRun);
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.notice.as_ref().unwrap().text.contains("already active"));
}

#[test]
fn no_run_means_no_menu() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    press(&mut app, &[Action::Focus(Pane::Eval), Action::NextRun]);
    assert_eq!(app.overlay, Overlay::None);
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("No run to start from"));
}

#[test]
fn the_menu_at_80x24_in_both_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, mut app) = tested_run(tmp.path(), &demo_preset(), true);
    press(&mut app, &[Action::NextRun, Action::Down]);
    assert_snapshot("next_run_80x24", &text(&render(&app, 80, 24)));
    app.exp.language = Language::Zh;
    assert_snapshot("zh_next_run_80x24", &text(&render(&app, 80, 24)));
}
