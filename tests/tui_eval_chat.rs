//! App-flow tests of the Eval and Chat panes: scripted job events (test progress, a finished
//! report, chat tokens) replayed into the cockpit's state, checking the commands sent to the
//! jobs thread, what the panes show, blind judging saved with the run, and the plan's ticks.
//! The real thread on the tiny models is exercised in `tui_jobs.rs`.

#[path = "tui_support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;

use support::*;
use tunedeck::eval::blind::{Contender, Pair};
use tunedeck::eval::{EvalReport, Label, Part, Position, Side, Tuned};
use tunedeck::experiment::{ItemStatus, Step, PLAN};
use tunedeck::tui::app::{Input, ReplyState};
use tunedeck::tui::keymap::{self, KeyContext};
use tunedeck::tui::{Action, App, Pane};
use tunedeck::worker::jobs::{JobCommand, JobEvent};

fn status(app: &App, step: Step) -> ItemStatus {
    let i = PLAN.iter().position(|p| p.step == step).unwrap();
    app.exp.plan.statuses(&app.facts, app.today)[i]
}

fn notice(app: &App) -> String {
    app.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// A demo experiment with finished runs `names` (the last is the latest).
fn with_runs(parent: &std::path::Path, names: &[&str]) -> std::path::PathBuf {
    let dir = demo_experiment(parent);
    for name in names {
        finished_run(&dir, name);
        // Distinct modification times order the runs as trained.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    dir
}

#[test]
fn a_test_runs_on_the_jobs_thread_and_its_report_ticks_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Eval));
    assert_eq!(app.eval.selected_run(), Some("run-1"));
    assert_ne!(status(&app, Step::ThreePartTest), ItemStatus::DoneAuto);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("run-1 has not been tested yet"), "{screen}");

    app.update(Action::StartEval);
    let cmd = one_job(&mut app);
    let JobCommand::Eval {
        job,
        spec,
        out,
        cancel,
    } = &cmd
    else {
        panic!("{cmd:?}")
    };
    // The CLI's settings for `tunedeck eval EXPERIMENT --run run-1`.
    assert_eq!(spec.run.as_deref(), Some("run-1"));
    assert_eq!(spec.tuned, Tuned::Adapter(dir.join("runs/run-1/adapter")));
    assert_eq!(spec.data, dir.join("data"));
    assert_eq!(
        (spec.exam_size, spec.max_new_tokens, spec.temperature),
        (20, 192, 0.0)
    );
    assert_eq!(out, &dir.join("runs/run-1/eval.json"));
    assert!(!cancel.load(Ordering::Relaxed));
    let job = *job;

    // One job at a time.
    app.update(Action::StartEval);
    assert!(app.take_jobs().is_empty());
    assert!(notice(&app).contains("The three-part test is running"));

    assert!(app.on_job(JobEvent::Loading {
        job,
        path: "models/smollm2-135m-instruct".into()
    }));
    assert!(text(&render(&app, 80, 24)).contains("loading models/smollm2-135m-instruct"));
    assert!(app.on_job(JobEvent::Unsealed {
        job,
        reason: "interview of run run-1".into()
    }));
    for done in 1..=3 {
        let (part, item) = if done <= 2 {
            (Part::Exam, done - 1)
        } else {
            (Part::Interview, 0)
        };
        assert!(app.on_job(JobEvent::Answered {
            job,
            at: Position {
                part,
                side: Side::Base,
                item,
                items: 2,
                done,
                total: 12,
            },
        }));
    }
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("interview · base model · question 1/2"),
        "{screen}"
    );
    assert!(screen.contains("3/12 answers"), "{screen}");

    // The thread writes eval.json, then reports it.
    let report = sample_report("run-1", true);
    write_report(&dir, "run-1", &report);
    assert!(app.on_job(JobEvent::Evaluated {
        job,
        report: Box::new(report),
        path: out.clone()
    }));
    assert!(app.eval.active.is_none());
    assert!(
        notice(&app).contains("run-1: graduated"),
        "{}",
        notice(&app)
    );
    assert_eq!(status(&app, Step::ThreePartTest), ItemStatus::DoneAuto);
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("✓ Graduated: exam, interview and guard all passed."),
        "{screen}"
    );
    assert!(
        screen.contains("interview    60%  0/2 right · 0.06"),
        "{screen}"
    );
    // Its events are over: a late one is dropped.
    assert!(!app.on_job(JobEvent::Cancelled { job }));
}

#[test]
fn cancelling_raises_the_flag_and_failures_are_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::CancelJob);
    assert!(notice(&app).contains("No test is running"));

    app.update(Action::StartEval);
    let JobCommand::Eval { job, cancel, .. } = one_job(&mut app) else {
        panic!()
    };
    app.update(Action::CancelJob);
    assert!(
        cancel.load(Ordering::Relaxed),
        "Esc/x raises the job's flag"
    );
    assert!(text(&render(&app, 80, 24)).contains("Cancelling at the next token"));
    app.on_job(JobEvent::Unsealed {
        job,
        reason: "r".into(),
    });
    assert!(app.on_job(JobEvent::Cancelled { job }));
    assert!(app.eval.active.is_none());
    assert!(
        notice(&app).contains("unsealing stays logged"),
        "{}",
        notice(&app)
    );

    app.update(Action::StartEval);
    let second = job_of(&one_job(&mut app));
    assert!(second > job, "a new job number");
    assert!(!app.on_job(JobEvent::Cancelled { job }), "stale");
    assert!(app.on_job(JobEvent::Failed {
        job: second,
        error: "runs/run-1/adapter: no adapter here".into()
    }));
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("runs/run-1/adapter: no adapter here"),
        "{screen}"
    );

    // A run folder whose adapter vanished is refused before anything is sent.
    std::fs::remove_file(dir.join("runs/run-1/adapter/adapter_model.safetensors")).unwrap();
    app.update(Action::StartEval);
    assert!(app.take_jobs().is_empty());
    assert!(notice(&app).contains("no adapter here"), "{}", notice(&app));
}

#[test]
fn no_finished_run_means_nothing_to_test_or_plug_in() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::StartEval);
    assert!(app.take_jobs().is_empty());
    assert!(notice(&app).contains("No finished run to test"));
    app.update(Action::Judge);
    assert!(!app.eval.judging);
    app.update(Action::Focus(Pane::Chat));
    app.update(Action::ToggleAdapter);
    assert!(!app.chat.plugged);
    assert!(notice(&app).contains("No skill card yet"));
    assert!(text(&render(&app, 80, 24)).contains("none yet — finish a LoRA run"));
}

#[test]
fn the_selected_run_shows_its_own_eval_json_and_follows_the_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1", "run-2"]);
    write_report(&dir, "run-1", &sample_report("run-1", true));
    std::fs::write(dir.join("runs/run-3-broken"), "").unwrap();
    let mut app = open(&dir);
    assert_eq!(app.eval.runs, ["run-1", "run-2"]);
    assert_eq!(app.eval.selected_run(), Some("run-2"), "the latest");
    assert!(app.eval.report.is_none());
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::Decrease);
    assert_eq!(app.eval.selected_run(), Some("run-1"));
    assert!(app.eval.report.as_ref().unwrap().graduated);
    app.update(Action::Decrease);
    assert_eq!(app.eval.selected_run(), Some("run-1"), "stops at the first");
    // The Chat pane's ←/→ move the same selection: the skill card is that run's adapter.
    app.update(Action::Focus(Pane::Chat));
    app.update(Action::Increase);
    assert_eq!(app.card_run().as_deref(), Some("run-2"));

    // An unreadable eval.json is reported, not fatal.
    std::fs::write(dir.join("runs/run-2/eval.json"), "{ not json").unwrap();
    let app = open(&dir);
    assert!(app
        .eval
        .report_error
        .as_ref()
        .unwrap()
        .contains("not an eval.json"));
}

#[test]
fn blind_judging_hides_the_labels_until_revealed_and_saves_with_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    write_report(&dir, "run-1", &sample_report("run-1", false));
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::Judge);
    assert!(app.eval.judging);
    assert_eq!(app.key_context(), KeyContext::Judge);
    let on_disk = |dir: &std::path::Path| {
        EvalReport::load(&dir.join("runs/run-1/eval.json"))
            .unwrap()
            .blind
            .unwrap()
    };
    let session = on_disk(&dir);
    assert_eq!(session.len(), 4, "2 interview + 2 guard questions");
    assert!(session.items.iter().all(|i| i.part != Part::Exam));
    assert!(!session.revealed());

    // Nothing on screen says which answer is whose.
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("your choice: — · judged 0/4"), "{screen}");
    assert!(
        !screen.contains("adapter") && !screen.contains("base model"),
        "{screen}"
    );
    app.update(Action::Reveal);
    assert!(notice(&app).contains("Judge at least one"));

    // Prefer the adapter on interview questions, the base model on guard questions.
    for _ in 0..4 {
        let i = app.eval.item;
        let it = app.eval.blind().unwrap().items[i].clone();
        let adapter_on_a = it.second_is == Label::A;
        let pick_adapter = it.part == Part::Interview;
        app.update(if adapter_on_a == pick_adapter {
            Action::PickA
        } else {
            Action::PickB
        });
    }
    // The last choice reveals the labels and counts the wins.
    let saved = on_disk(&dir);
    let rates = saved.win_rates.unwrap();
    assert_eq!((rates.interview.second, rates.guard.first), (2, 2));
    assert_eq!((rates.all.judged, rates.all.tie), (4, 0));
    assert_eq!(
        notice(&app),
        "Blind A/B (revealed, 4 judged): adapter won 50%, base model 50%, ties 0%."
    );
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("= adapter") && screen.contains("= base model"),
        "{screen}"
    );

    // Judging after the reveal would not be blind.
    app.update(Action::PickB);
    assert!(notice(&app).contains("not be blind"));
    assert_eq!(on_disk(&dir), saved);

    // Back to the scores, and the same after reopening the cockpit.
    app.update(Action::Judge);
    assert!(!app.eval.judging);
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Eval));
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("Blind A/B (revealed, 4 judged): adapter won 50%"),
        "{screen}"
    );
}

#[test]
fn any_two_of_the_four_can_be_judged_and_each_pairs_judgements_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    let mut report = sample_report("run-1", false);
    write_report(&dir, "run-1", &report);
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Eval));
    // Without the RAG table only base against adapter exists, and p says how to get more.
    app.update(Action::NextPair);
    assert!(
        notice(&app).contains("tunedeck eval --rag"),
        "{}",
        notice(&app)
    );
    assert!(app.eval.blind().is_none());

    // The 2×2 as `tunedeck eval --rag` writes it: the with-retrieval answers differ.
    let without = report.part(Part::Interview).unwrap().clone();
    let mut with = without.clone();
    for it in &mut with.items {
        it.adapter.text = format!("{} [1]", it.adapter.text);
        it.base.text = format!("{} [1]", it.base.text);
    }
    let n = without.items.len();
    report.rag = Some(tunedeck::eval::rag::RagComparison {
        knowledge_base: dir.display().to_string(),
        k: 1,
        max_context_chars: 600,
        without,
        with,
        sources: vec![Vec::new(); n],
    });
    write_report(&dir, "run-1", &report);
    let mut app = open(&dir);
    press(
        &mut app,
        &[
            Action::Focus(Pane::Eval),
            Action::Judge,
            Action::PickTie,
            Action::Judge,
        ],
    );
    // Five pairs on, LoRA against LoRA + RAG comes up; the judged default pair is kept.
    let mut seen = Vec::new();
    for _ in 0..5 {
        app.update(Action::NextPair);
        seen.push(app.eval.blind().unwrap().pair);
    }
    let lora_vs_rag = Pair([Contender::Lora, Contender::LoraRag]);
    assert_eq!(seen.last(), Some(&lora_vs_rag), "{seen:?}");
    assert!(
        notice(&app).contains("adapter vs adapter + RAG"),
        "{}",
        notice(&app)
    );
    let session = app.eval.blind().unwrap().clone();
    assert_eq!(
        session.len(),
        n,
        "retrieval in the pair: the interview only"
    );
    app.update(Action::Judge);
    app.notice = None;
    let screen = text(&render(&app, 80, 24));
    assert!(!screen.contains("adapter"), "blind: {screen}");
    // Prefer the answer with retrieval (it ends in a citation) every time.
    for _ in 0..n {
        let i = app.eval.item;
        let it = app.eval.blind().unwrap().items[i].clone();
        app.update(if it.second_is == Label::A {
            Action::PickA
        } else {
            Action::PickB
        });
    }
    assert_eq!(
        notice(&app),
        format!("Blind A/B (revealed, {n} judged): adapter + RAG won 100%, adapter 0%, ties 0%.")
    );
    let saved = EvalReport::load(&dir.join("runs/run-1/eval.json")).unwrap();
    assert_eq!(saved.blind.as_ref().unwrap().pair, lora_vs_rag);
    assert_eq!(
        saved.blind_earlier.len(),
        1,
        "the default pair's judgement is kept"
    );
    assert_eq!(saved.blind_earlier[0].judged(), 1);
    // Round to the default pair again: its judging resumes where it was left.
    app.update(Action::Judge);
    app.update(Action::NextPair);
    assert_eq!(app.eval.blind().unwrap().pair, Pair::default());
    assert_eq!(app.eval.blind().unwrap().judged(), 1);
}

#[test]
fn judging_can_stop_early_and_resume_where_it_left_off() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    write_report(&dir, "run-1", &sample_report("run-1", true));
    let mut app = open(&dir);
    press(
        &mut app,
        &[Action::Focus(Pane::Eval), Action::Judge, Action::PickTie],
    );
    assert_eq!(app.eval.item, 1, "on to the next question");
    press(&mut app, &[Action::Decrease, Action::Judge]);
    assert!(text(&render(&app, 80, 24)).contains("Blind A/B: 1 of 4 judged, labels hidden"));
    let mut app = open(&dir);
    press(&mut app, &[Action::Focus(Pane::Eval), Action::Judge]);
    assert_eq!(app.eval.item, 1, "the first question not judged yet");
    app.update(Action::Reveal);
    let rates = app.eval.blind().unwrap().win_rates.unwrap();
    assert_eq!((rates.all.judged, rates.all.tie), (1, 1));
}

/// Opens the chat prompt, types `message` and sends it; returns the request.
fn send(app: &mut App, message: &str) -> (u64, tunedeck::worker::jobs::ChatRequest) {
    app.update(Action::Edit);
    type_text(app, message);
    app.update(Action::Submit);
    assert_eq!(app.input, Input::None, "the prompt closed");
    match one_job(app) {
        JobCommand::Chat { job, request, .. } => (job, *request),
        other => panic!("{other:?}"),
    }
}

#[test]
fn chat_streams_tokens_and_each_model_keeps_its_own_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Chat));

    // Unplugged: the base model answers; the model comes from the run's preset.
    let (job, req) = send(&mut app, "What is SQL injection?");
    assert_eq!(req.turns.len(), 1);
    assert_eq!(req.turns[0].side, Side::Base);
    assert!(req.turns[0].history.is_empty());
    assert!(
        req.model.ends_with("models/smollm2-135m-instruct"),
        "{:?}",
        req.model
    );
    assert_eq!(req.adapter, Some(dir.join("runs/run-1/adapter")));
    assert_eq!(req.sampling.temperature, 0.0, "greedy");
    assert!(app.on_job(JobEvent::Loading {
        job,
        path: req.model.clone()
    }));
    assert!(text(&render(&app, 80, 24)).contains("loading"));
    assert!(app.on_job(JobEvent::Token {
        job,
        side: Side::Base,
        text: "Injecting ".into()
    }));
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("Injecting ▌"),
        "streams as it comes: {screen}"
    );
    stream(&mut app, job, Side::Base, "SQL.");
    assert!(app.chat.active.is_none());
    assert_eq!(app.chat.exchanges[0].replies[0].text, "Injecting SQL.");

    // The skill card plugged in: the adapter answers, with no history of its own yet.
    app.update(Action::ToggleAdapter);
    assert!(app.chat.plugged);
    assert!(text(&render(&app, 80, 24)).contains("▣ run-1 adapter · PLUGGED IN"));
    let (job, req) = send(&mut app, "And XSS?");
    assert_eq!(req.turns.len(), 1);
    assert_eq!(req.turns[0].side, Side::Adapter);
    assert!(req.turns[0].history.is_empty());
    stream(&mut app, job, Side::Adapter, "Severity: medium");

    // Compare: both answer, each continuing its own conversation.
    app.update(Action::ToggleCompare);
    let (job, req) = send(&mut app, "Thanks");
    let sides: Vec<Side> = req.turns.iter().map(|t| t.side).collect();
    assert_eq!(sides, [Side::Base, Side::Adapter]);
    assert_eq!(
        req.turns[0].history,
        [(
            "What is SQL injection?".to_string(),
            "Injecting SQL.".to_string()
        )]
    );
    assert_eq!(
        req.turns[1].history,
        [("And XSS?".to_string(), "Severity: medium".to_string())]
    );
    stream(&mut app, job, Side::Base, "You are welcome.");
    assert!(
        app.chat.active.is_some(),
        "the adapter has not answered yet"
    );
    stream(&mut app, job, Side::Adapter, "Severity: none");
    assert!(app.chat.active.is_none());
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("Base model:") && screen.contains("│ Base + run-1 adapter:"),
        "{screen}"
    );
    assert!(
        screen.contains("You are welcome.") && screen.contains("│ Severity: none"),
        "{screen}"
    );

    app.update(Action::Reset);
    assert!(app.chat.exchanges.is_empty());
}

#[test]
fn esc_stops_an_answer_and_stopped_answers_stay_out_of_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Chat));
    app.update(Action::Edit);
    app.update(Action::Submit);
    assert!(
        matches!(app.input, Input::Prompt { error: Some(_), .. }),
        "an empty message is refused"
    );
    app.update(Action::Cancel);

    let (job, _) = send(&mut app, "Tell me a long story");
    app.on_job(JobEvent::Token {
        job,
        side: Side::Base,
        text: "Once upon".into(),
    });
    // Busy: no second message, no test.
    app.update(Action::Edit);
    assert_eq!(app.input, Input::None);
    assert!(notice(&app).contains("The chat is answering"));
    app.update(Action::Focus(Pane::Eval));
    app.update(Action::StartEval);
    assert!(app.take_jobs().is_empty());
    app.update(Action::Focus(Pane::Chat));

    let cancel = app.chat.active.as_ref().unwrap().cancel.clone();
    app.on_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Esc,
        crossterm::event::KeyModifiers::NONE,
    ));
    assert!(cancel.load(Ordering::Relaxed));
    assert!(app.on_job(JobEvent::Cancelled { job }));
    assert_eq!(app.chat.exchanges[0].replies[0].state, ReplyState::Stopped);
    assert!(text(&render(&app, 80, 24)).contains("Once upon [stopped]"));

    let (job, req) = send(&mut app, "Short then");
    assert!(
        req.turns[0].history.is_empty(),
        "the stopped answer is not history"
    );
    assert!(app.on_job(JobEvent::Failed {
        job,
        error: "loading model models/x: config.json: no such file".into()
    }));
    assert_eq!(app.chat.exchanges[1].replies[0].state, ReplyState::Failed);
    assert!(notice(&app).contains("config.json: no such file"));

    // The thread is gone: whatever waits fails with a clear message.
    let (_, _) = send(&mut app, "Anyone there?");
    app.jobs_gone();
    assert!(app.chat.active.is_none());
    assert!(notice(&app).contains("background thread for tests and chat has stopped"));
}

#[test]
fn the_new_keys_are_in_help_and_on_the_status_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    write_report(&dir, "run-1", &sample_report("run-1", true));
    let mut app = open(&dir);
    app.update(Action::Focus(Pane::Eval));
    let hints = keymap::hints(app.key_context(), app.lang());
    assert_eq!(hints[0], ("s".to_string(), "run the three-part test"));
    app.update(Action::ToggleHelp);
    let screen = text(&render(&app, 160, 48));
    for key in [
        "run the three-part test",
        "blind A/B judging",
        "6          Eval pane",
        "7          Chat pane",
    ] {
        assert!(screen.contains(key), "{key} missing:\n{screen}");
    }
    press(
        &mut app,
        &[Action::ToggleHelp, Action::Judge, Action::ToggleHelp],
    );
    let screen = text(&render(&app, 160, 48));
    for key in ["A is better", "B is better", "tie", "reveal the labels"] {
        assert!(screen.contains(key), "{key} missing:\n{screen}");
    }
    app.update(Action::ToggleHelp);
    assert!(text(&render(&app, 160, 48)).contains(" a A is better  b B is better  t tie"));
    app.update(Action::Focus(Pane::Chat));
    let screen = text(&render(&app, 160, 48));
    assert!(
        screen.contains("Enter write a message  a plug / unplug the skill card  c compare"),
        "{screen}"
    );
}

#[test]
fn files_written_by_other_commands_show_when_a_pane_gets_the_focus() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_runs(tmp.path(), &["run-1"]);
    let mut app = open(&dir);
    assert_ne!(status(&app, Step::ThreePartTest), ItemStatus::DoneAuto);
    assert_ne!(status(&app, Step::Retrospective), ItemStatus::DoneAuto);

    // `tunedeck eval` and `tunedeck report` in another terminal.
    write_report(&dir, "run-1", &sample_report("run-1", false));
    std::fs::write(dir.join("runs/run-1/report.md"), "# run-1\n").unwrap();
    app.update(Action::Focus(Pane::Plan));
    assert_eq!(status(&app, Step::ThreePartTest), ItemStatus::DoneAuto);
    assert_eq!(status(&app, Step::Retrospective), ItemStatus::DoneAuto);
    app.update(Action::Focus(Pane::Eval));
    assert!(!app.eval.report.as_ref().unwrap().graduated);

    // A newer eval.json replaces the one shown.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_report(&dir, "run-1", &sample_report("run-1", true));
    app.update(Action::FocusNext);
    app.update(Action::FocusPrev);
    assert!(app.eval.report.as_ref().unwrap().graduated);

    // A run finished elsewhere: the selection was on the latest, so it follows.
    std::thread::sleep(std::time::Duration::from_millis(20));
    finished_run(&dir, "run-2");
    app.update(Action::Focus(Pane::Chat));
    assert_eq!(app.eval.selected_run(), Some("run-2"));
    assert_eq!(app.card_run().as_deref(), Some("run-2"));
    assert!(app.eval.report.is_none(), "run-2 has no test yet");
}
