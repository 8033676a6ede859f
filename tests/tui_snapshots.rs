//! Whole-screen snapshots of the cockpit at 80×24 and 160×48, one per focused pane, plus
//! the overlays, Chinese text, a fresh experiment and the "too small" message. Screens are
//! deterministic: the date is injected and the run is scripted.
//! `UPDATE_SNAPSHOTS=1 cargo test --test tui_snapshots` rewrites tests/snapshots/ after an
//! intended change.

#[path = "tui_support/mod.rs"]
mod support;

use support::*;
use tunedeck::eval::{BlindSession, Part, Position, Side};
use tunedeck::tui::{theme, Action, App, Pane};
use tunedeck::worker::jobs::JobEvent;

/// A demo experiment, split, with 40 steps of a 75-step run.
fn populated(dir: &std::path::Path) -> App {
    let mut app = open(&demo_experiment(dir));
    let id = split_and_start(&mut app);
    feed(&mut app, id, 40);
    app.notice = None;
    app
}

fn name(pane: Pane) -> &'static str {
    match pane {
        Pane::Goal => "goal",
        Pane::Dataset => "dataset",
        Pane::Preset => "preset",
        Pane::Loss => "loss",
        Pane::Plan => "plan",
        Pane::Eval => "eval",
        Pane::Chat => "chat",
    }
}

fn focus(app: &mut App, pane: Pane) {
    app.update(Action::Focus(pane));
    app.notice = None;
}

#[test]
fn every_pane_at_both_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = populated(tmp.path());
    for pane in Pane::ALL {
        focus(&mut app, pane);
        for (w, h) in [(80, 24), (160, 48)] {
            let screen = text(&render(&app, w, h));
            assert_snapshot(&format!("{}_{w}x{h}", name(pane)), &screen);
        }
    }
}

#[test]
fn goal_pane_at_120_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = populated(tmp.path());
    focus(&mut app, Pane::Goal);
    assert_snapshot("goal_120x36", &text(&render(&app, 120, 36)));
}

/// Where the goal pane's blocks start: the first cell of "Lint" and of the decision helper's
/// title, and of each field label in the first column.
struct GoalBlocks {
    lint: (u16, u16),
    helper: (u16, u16),
    labels: Vec<Option<(u16, u16)>>,
}

fn goal_blocks(buf: &ratatui::buffer::Buffer, zh: bool) -> Option<GoalBlocks> {
    let pick = |en: &'static str, cn: &'static str| if zh { cn } else { en };
    let first = |needle: &str| find(buf, needle).first().copied();
    let labels = [
        ("Statement", "目标声明"),
        ("Purpose", "目的"),
        ("Behaviour", "目标行为"),
        ("Output format", "输出格式"),
        ("Pass marks", "及格线"),
    ];
    Some(GoalBlocks {
        lint: first(pick("Lint", "目标检查"))?,
        helper: first(pick("Which card?", "选哪张牌"))?,
        // Labels sit in the pane's first column (the lint may use the same words).
        labels: labels
            .iter()
            .map(|(en, cn)| find(buf, pick(en, cn)).into_iter().find(|p| p.0 == 1))
            .collect(),
    })
}

#[test]
fn goal_pane_text_never_runs_into_its_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    let mut en = populated(tmp.path());
    focus(&mut en, Pane::Goal);
    let mut editing = populated(&tmp.path().join("editing"));
    focus(&mut editing, Pane::Goal);
    editing.update(Action::Edit);
    editing.update(Action::Insert('!'));
    let mut zh = populated(&tmp.path().join("zh"));
    focus(&mut zh, Pane::Goal);
    zh.update(Action::ToggleLanguage);
    zh.exp.goal.statement = "客服回复助手：按公司话术回答退货问题，测试集上 90% 的回答格式正确，\
        并且每条回答都先给一句结论，再列出不超过五个步骤。"
        .repeat(2);
    let mut side_by_side = 0;
    let mut stacked = 0;
    for (app, is_zh) in [(&en, false), (&editing, false), (&zh, true)] {
        for w in 80..=200 {
            // Heights vary with the width, so every width is drawn once and several heights
            // are still covered.
            let h = [24, 32, 40][w as usize % 3];
            let buf = render(app, w, h);
            // Only a failure pays for the screen's text.
            let at = || format!("at {w}x{h}:\n{}", text(&buf));
            let b = goal_blocks(&buf, is_zh)
                .unwrap_or_else(|| panic!("no lint or helper title {}", at()));
            // Every field keeps its row, above the lint when stacked.
            for (i, label) in b.labels.iter().enumerate() {
                let (_, y) = label.unwrap_or_else(|| panic!("field {i} missing {}", at()));
                if b.lint.0 == 1 {
                    assert!(y < b.lint.1, "field {i} below the lint {}", at());
                }
            }
            if b.lint.0 > 1 {
                side_by_side += 1;
                assert_eq!(b.helper.0, b.lint.0, "{}", at());
                assert!(b.helper.1 > b.lint.1, "{}", at());
                // The column left of the lint/helper column is blank on every row
                // inside the pane, so wrapped text cannot run into it.
                for y in 3..h - 2 {
                    let cell = buf[(b.lint.0 - 1, y)].symbol();
                    assert_eq!(cell, " ", "row {y} touches the lint column {}", at());
                }
            } else {
                stacked += 1;
                assert_eq!(b.helper.0, 1, "{}", at());
                assert!(b.helper.1 > b.lint.1 + 1, "{}", at());
            }
        }
    }
    assert!(side_by_side > 0 && stacked > 0, "both layouts are tested");
}

#[test]
fn every_pane_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = populated(tmp.path());
    app.update(Action::ToggleLanguage);
    for pane in Pane::ALL {
        focus(&mut app, pane);
        let screen = text(&render(&app, 80, 24));
        assert_snapshot(&format!("zh_{}_80x24", name(pane)), &screen);
    }
}

#[test]
fn a_fresh_experiment_before_any_split_or_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    for pane in [Pane::Dataset, Pane::Loss, Pane::Plan] {
        focus(&mut app, pane);
        assert_snapshot(
            &format!("fresh_{}_80x24", name(pane)),
            &text(&render(&app, 80, 24)),
        );
    }
}

#[test]
fn overlays_and_prompts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = populated(tmp.path());
    focus(&mut app, Pane::Preset);
    app.update(Action::ToggleHelp);
    assert_snapshot("help_80x24", &text(&render(&app, 80, 24)));
    assert_snapshot("help_160x48", &text(&render(&app, 160, 48)));
    app.update(Action::ToggleHelp);

    app.update(Action::Edit);
    assert_snapshot("prompt_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::Cancel);

    focus(&mut app, Pane::Goal);
    app.update(Action::Edit);
    app.update(Action::Insert('!'));
    assert_snapshot("editing_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::Done);

    app.update(Action::Quit);
    assert_snapshot("quit_80x24", &text(&render(&app, 80, 24)));
}

#[test]
fn too_small_says_so_in_both_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    let small = text(&render(&app, 79, 24));
    assert!(
        small.contains("Terminal too small: 79×24, need 80×24"),
        "{small}"
    );
    assert!(!text(&render(&app, 80, 23)).contains("Goal"));
    app.update(Action::ToggleLanguage);
    assert_snapshot("too_small_60x12", &text(&render(&app, 60, 12)));
}

#[test]
fn styles_mark_what_matters() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = populated(tmp.path());
    focus(&mut app, Pane::Preset);
    let buf = render(&app, 80, 24);
    // The demo's learning rate differs from the starter's 5e-5; finetuning_type = lora
    // does not.
    let lr = app.preset.current.get("learning_rate").unwrap();
    let (_, row) = find(&buf, "learning_rate")[0];
    let (x, y) = *find(&buf, &lr).iter().find(|p| p.1 == row).unwrap();
    assert_eq!(buf[(x, y)].style().fg, theme::DIFFERS.fg);
    let (_, row) = find(&buf, "finetuning_type")[0];
    let (x, y) = *find(&buf, "lora").iter().find(|p| p.1 == row).unwrap();
    assert_ne!(buf[(x, y)].style().fg, theme::DIFFERS.fg);
    // The selected field (the first, engine) is reversed while the pane has the focus.
    let (x, y) = find(&buf, "engine")[0];
    assert!(buf[(x, y)]
        .modifier
        .contains(ratatui::style::Modifier::REVERSED));

    // On Wednesday of week 2 "watch the loss" is today's item; later ones are plain.
    focus(&mut app, Pane::Plan);
    app.today = date("2025-04-02");
    let buf = render(&app, 80, 24);
    let (x, y) = find(&buf, "Watch the loss")[0];
    assert_eq!(buf[(x, y)].style().fg, theme::TODAY.fg);
    let (x, y) = find(&buf, "Run the three-part")[0];
    assert_ne!(buf[(x, y)].style().fg, theme::TODAY.fg);
    assert!(text(&buf).contains("▶ Watch the loss"));
}

/// A demo experiment whose run-1 finished and was tested: its eval.json shows on open.
fn tested(parent: &std::path::Path) -> App {
    let dir = demo_experiment(parent);
    finished_run(&dir, "run-1");
    write_report(&dir, "run-1", &sample_report("run-1", false));
    let mut app = open(&dir);
    focus(&mut app, Pane::Eval);
    app
}

#[test]
fn eval_pane_scores_progress_and_blind_judging() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = tested(tmp.path());
    for (w, h) in [(80, 24), (160, 48)] {
        assert_snapshot(&format!("eval_scores_{w}x{h}"), &text(&render(&app, w, h)));
    }

    // A test running: part, question i/n and the bar over all answers.
    app.update(Action::StartEval);
    let job = job_of(&one_job(&mut app));
    app.notice = None;
    assert!(app.on_job(JobEvent::Unsealed {
        job,
        reason: "interview of run run-1".into()
    }));
    assert!(app.on_job(JobEvent::Answered {
        job,
        at: Position {
            part: Part::Interview,
            side: Side::Adapter,
            item: 0,
            items: 2,
            done: 9,
            total: 12,
        },
    }));
    assert_snapshot("eval_running_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::CancelJob);
    assert!(app.on_job(JobEvent::Cancelled { job }));
    app.notice = None;

    // Blind judging, with a fixed seed so the labels are the same on every run.
    let report = app.eval.report.as_mut().unwrap();
    report.blind = Some(BlindSession::new(report, Default::default(), 7));
    app.update(Action::Judge);
    for (w, h) in [(80, 24), (160, 48)] {
        assert_snapshot(&format!("eval_judging_{w}x{h}"), &text(&render(&app, w, h)));
    }
    // The Chinese guard question: answers wrap by cell width in both boxes.
    let session = app.eval.blind().unwrap();
    let cjk = session
        .items
        .iter()
        .position(|i| i.part == Part::Guard && i.index == 1)
        .unwrap();
    for _ in 0..cjk {
        app.update(Action::Increase);
    }
    assert_snapshot("eval_judging_cjk_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::Top);
    let n = app.eval.blind().unwrap().len();
    for _ in 0..n {
        app.update(Action::PickA);
    }
    app.notice = None;
    app.update(Action::Top);
    assert_snapshot("eval_revealed_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::Judge);
    assert_snapshot("eval_judged_80x24", &text(&render(&app, 80, 24)));

    app.update(Action::ToggleLanguage);
    assert_snapshot("zh_eval_scores_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::Judge);
    assert_snapshot("zh_eval_judging_80x24", &text(&render(&app, 80, 24)));
}

#[test]
fn chat_pane_with_the_skill_card_and_in_compare_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = tested(tmp.path());
    focus(&mut app, Pane::Chat);
    assert_snapshot("chat_empty_80x24", &text(&render(&app, 80, 24)));

    app.update(Action::ToggleAdapter);
    app.update(Action::Edit);
    type_text(&mut app, "Review: q = \"SELECT * FROM t WHERE id=\" + id");
    assert_snapshot("chat_typing_80x24", &text(&render(&app, 80, 24)));
    app.update(Action::Submit);
    let job = job_of(&one_job(&mut app));
    stream(
        &mut app,
        job,
        Side::Adapter,
        "Severity: high\nVulnerability: SQL injection (CWE-89)\nFix: use a parameterised query.",
    );
    app.update(Action::ToggleCompare);
    app.update(Action::Edit);
    type_text(&mut app, "西红柿炒鸡蛋怎么做？");
    app.update(Action::Submit);
    let job = job_of(&one_job(&mut app));
    stream(
        &mut app,
        job,
        Side::Base,
        "先把鸡蛋打散炒熟盛出，再把西红柿切块炒出汁，最后倒回鸡蛋一起翻炒，加盐调味。",
    );
    assert!(app.on_job(JobEvent::Token {
        job,
        side: Side::Adapter,
        text: "Severity: low".into()
    }));
    app.notice = None;
    for (w, h) in [(80, 24), (160, 48)] {
        assert_snapshot(&format!("chat_compare_{w}x{h}"), &text(&render(&app, w, h)));
    }
    app.update(Action::ToggleLanguage);
    assert_snapshot("zh_chat_compare_80x24", &text(&render(&app, 80, 24)));
}

/// `runs/<id>` as a finished run leaves it: its preset, a 60-step log evaluated every 10
/// (validation loss best at `best`, the forgetting probe rising `probe_rise` per
/// evaluation), an adapter file, and optionally its `eval.json` and `origin.json`.
fn run_on_disk(
    dir: &std::path::Path,
    id: &str,
    preset: &tunedeck::preset::Preset,
    (shift, best, probe_rise): (f64, u64, f64),
    eval: Option<bool>,
    origin: Option<&str>,
) {
    let run = dir.join("runs").join(id);
    std::fs::create_dir_all(run.join("adapter")).unwrap();
    std::fs::write(run.join("adapter/adapter_model.safetensors"), "").unwrap();
    preset.save(&run.join("preset.toml")).unwrap();
    let mut log = String::new();
    for s in 0..=60u64 {
        let mut entry = format!(
            "{{\"current_steps\":{s},\"total_steps\":60,\"lr\":0.0003,\"epoch\":{:.2},\"elapsed_time\":{s}.0,\"throughput\":640.0,\"total_tokens\":{}",
            s as f64 / 20.0,
            s * 640
        );
        if s > 0 {
            entry.push_str(&format!(",\"loss\":{:.4}", shift + loss_at(s)));
        }
        if s % 10 == 0 {
            let x = s as f64 - best as f64;
            let val = shift + 0.9 + 1.1 * (-(s as f64) / 15.0).exp() + 0.0004 * x * x.max(0.0);
            let probe = 7.0 * (1.0 + probe_rise * (s / 10) as f64);
            entry.push_str(&format!(
                ",\"eval_loss\":{val:.4},\"probe_ppl\":{probe:.4},\"best_step\":{}",
                s.min(best)
            ));
        }
        entry.push_str("}\n");
        log.push_str(&entry);
    }
    std::fs::write(run.join("trainer_log.jsonl"), log).unwrap();
    if let Some(passes) = eval {
        write_report(dir, id, &sample_report(id, passes));
    }
    if let Some(o) = origin {
        std::fs::write(run.join("origin.json"), o).unwrap();
    }
}

/// Three runs on disk: the first forgets (fails the guard), the second lowers the learning
/// rate and graduates, the third turns replay on and is not tested yet. The cockpit shows
/// run-3's curve over the other two, with run-2 selected.
fn three_runs(parent: &std::path::Path) -> App {
    let dir = demo_experiment(parent);
    let first = tunedeck::preset::Preset::default();
    let mut second = first.clone();
    second.learning_rate = 2.5e-5;
    let mut third = second.clone();
    third.replay_ratio = 0.5;
    run_on_disk(&dir, "run-1", &first, (0.3, 40, 0.05), Some(false), None);
    run_on_disk(
        &dir,
        "run-2",
        &second,
        (0.15, 50, 0.02),
        Some(true),
        Some(
            r#"{"from":"run-1","changes":[{"key":"learning_rate","from":"5e-5","to":"2.5e-5"}],"why":"lower the learning rate"}"#,
        ),
    );
    run_on_disk(&dir, "run-3", &third, (0.0, 50, 0.025), None, None);
    let mut app = open(&dir);
    focus(&mut app, Pane::Loss);
    app.update(Action::Decrease);
    assert_eq!(app.eval.selected_run(), Some("run-2"));
    app.notice = None;
    app
}

#[test]
fn runs_overlay_and_table_at_both_sizes_in_both_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = three_runs(tmp.path());
    for lang in ["", "zh_"] {
        for pane in [Pane::Loss, Pane::Eval] {
            focus(&mut app, pane);
            for (w, h) in [(80, 24), (160, 48)] {
                let screen = text(&render(&app, w, h));
                assert_snapshot(&format!("{lang}runs_{}_{w}x{h}", name(pane)), &screen);
            }
        }
        app.update(Action::ToggleLanguage);
    }
}

#[test]
fn the_overlay_colours_runs_and_says_when_the_model_forgets() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = three_runs(tmp.path());
    let buf = render(&app, 160, 48);
    let screen = text(&buf);
    assert!(screen.contains("best: step 50"), "{screen}");
    assert!(
        screen.contains("The model is starting to forget: the forgetting probe is up 15%"),
        "{screen}"
    );
    // Each other run's legend entry has its own colour; the selected one is bold.
    let style_of = |needle: &str| {
        let (x, y) = find(&buf, needle)[0];
        buf[(x, y)].style()
    };
    let (one, two) = (style_of("run-1"), style_of("run-2"));
    assert_eq!(one.fg, theme::run("run-1", false).fg);
    assert_eq!(two.fg, theme::run("run-2", true).fg);
    assert_ne!(one.fg, two.fg);
    assert!(two.add_modifier.contains(ratatui::style::Modifier::BOLD));
    // Smoothing off: the shown run's curve is the raw one only.
    app.update(Action::ToggleSmoothing);
    let off = text(&render(&app, 160, 48));
    assert!(!off.contains("│smoothed ") && screen.contains("│smoothed "));
    app.update(Action::ToggleSmoothing);
    assert!(app.runs.smooth);
}

#[test]
fn chat_pane_with_retrieval_sources_and_an_open_source_in_both_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = tested(tmp.path());
    focus(&mut app, Pane::Chat);
    // Without a knowledge base, r says how to build one and stays off.
    app.update(Action::ToggleRag);
    assert!(!app.chat.rag);
    let said = app.notice.take().map(|n| n.text).unwrap_or_default();
    assert!(said.contains("tunedeck rag index"), "{said}");

    let kb = app.dir.join("knowledge");
    std::fs::create_dir_all(&kb).unwrap();
    for card in [
        "sql-injection.md",
        "xss.md",
        "command-injection.md",
        "xxe.md",
    ] {
        std::fs::copy(root().join("datasets/demo-kb").join(card), kb.join(card)).unwrap();
    }
    tunedeck::rag::index(&app.dir, &[kb]).unwrap();
    // Three whole chunks (the default; the demo's own setting is one short one), so the
    // pane lists several sources.
    app.exp.rag = tunedeck::rag::Settings::default();
    app.update(Action::ToggleRag);
    assert!(app.chat.rag);
    app.update(Action::ToggleAdapter);
    app.notice = None;
    let prompt = ask(
        &mut app,
        "How do I fix SQL injection in cursor.execute?",
        "Use a parameterised query: cursor.execute(\"... = %s\", (name,)) [1].",
    );
    assert!(prompt.starts_with(tunedeck::rag::citation::PREAMBLE));
    assert!(prompt.ends_with("Question: How do I fix SQL injection in cursor.execute?"));
    app.notice = None;
    for (w, h) in [(80, 24), (160, 48)] {
        assert_snapshot(&format!("chat_rag_{w}x{h}"), &text(&render(&app, w, h)));
    }
    app.update(Action::OpenSource);
    assert_eq!(app.chat.source, Some(0));
    assert_snapshot("chat_rag_source_80x24", &text(&render(&app, 80, 24)));

    app.update(Action::CancelJob);
    assert_eq!(app.chat.source, None);
    app.update(Action::ToggleLanguage);
    ask(
        &mut app,
        "如何防止命令注入？",
        "不要调用 shell，改用参数列表 [1]。",
    );
    app.notice = None;
    for (w, h) in [(80, 24), (160, 48)] {
        assert_snapshot(&format!("zh_chat_rag_{w}x{h}"), &text(&render(&app, w, h)));
    }
    app.update(Action::OpenSource);
    assert_snapshot("zh_chat_rag_source_160x48", &text(&render(&app, 160, 48)));
}

/// Sends `question` from the Chat pane, does the jobs thread's retrieval, streams `answer`
/// as the adapter's, and returns the turn the model was given.
fn ask(app: &mut App, question: &str, answer: &str) -> String {
    app.update(Action::Edit);
    type_text(app, question);
    app.update(Action::Submit);
    let cmd = one_job(app);
    let tunedeck::worker::jobs::JobCommand::Chat { job, request, .. } = cmd else {
        panic!("not a chat job: {cmd:?}");
    };
    // The jobs thread's part: retrieve, send the sources, answer.
    assert_eq!(request.prompt, question);
    let hits = request.sources().unwrap();
    let turn = request.turn(&hits);
    assert!(app.on_job(tunedeck::worker::jobs::JobEvent::Sources { job, hits }));
    stream(app, job, Side::Adapter, answer);
    turn
}

#[test]
fn the_plan_offers_the_knowledge_base_when_the_card_has_retrieval() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let item = "Optional, RAG card: build the knowledge base";
    let plan = |dir: &std::path::Path| {
        let mut app = open(dir);
        focus(&mut app, Pane::Plan);
        text(&render(&app, 80, 24))
    };
    let lora = plan(&dir);
    assert!(!lora.contains(item), "{lora}");

    let mut exp = tunedeck::experiment::Experiment::load(&dir).unwrap();
    exp.goal.decision.fresh_facts = true;
    exp.goal.decision.fixed_behaviour = true;
    exp.save(&dir).unwrap();
    let screen = plan(&dir);
    assert!(screen.contains(&format!("○ {item}")), "{screen}");

    tunedeck::rag::index(&dir, &[root().join("datasets/demo-kb/xss.md")]).unwrap();
    let screen = plan(&dir);
    assert!(screen.contains(&format!("✓ {item}")), "{screen}");
}

/// The committed LLaMA-Factory run folder, as a user would type it from the repository.
const LF_FOLDER: &str = "tests/fixtures/llamafactory";

/// The events the worker sends while following [`LF_FOLDER`] (its whole log read at once).
fn lf_events(run_id: u64) -> Vec<tunedeck::worker::WorkerEvent> {
    let text = std::fs::read_to_string(root().join(LF_FOLDER).join("trainer_log.jsonl")).unwrap();
    let (lines, _) = tunedeck::data::LogLine::parse_all(&text);
    tunedeck::engine::llamafactory::run::LogEvents::new(run_id, LF_FOLDER).of(&lines)
}

#[test]
fn the_engine_row_set_to_llamafactory_at_both_sizes() {
    use tunedeck::preset::Engine;
    let tmp = tempfile::tempdir().unwrap();
    let mut app = populated(tmp.path());
    focus(&mut app, Pane::Preset);
    press(&mut app, &[Action::Top, Action::Increase]);
    assert_eq!(app.preset.current.engine, Engine::Llamafactory);
    // Kept where `tunedeck train` reads the preset: the experiment's overrides.
    let exp = tunedeck::experiment::Experiment::load(&app.dir).unwrap();
    let (preset, _) = exp.resolve_preset(&app.dir).unwrap();
    assert_eq!(preset.engine, Engine::Llamafactory);
    // What the pane says where LLaMA-Factory is not installed, whatever this machine has.
    let missing = tunedeck::engine::llamafactory::child::find_cli(Some(tmp.path().as_os_str()));
    app.preset.engine_problem = missing.err().map(|e| format!("{e:#}"));
    app.notice = None;
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = text(&render(&app, w, h));
        assert_snapshot(&format!("preset_llamafactory_{w}x{h}"), &screen);
    }
    let screen = text(&render(&app, 160, 48));
    assert!(screen.contains("pip install"), "{screen}");
}

#[test]
fn the_loss_pane_following_a_llamafactory_folder_at_both_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    focus(&mut app, Pane::Loss);
    app.update(Action::OpenRunFolder);
    type_text(&mut app, LF_FOLDER);
    app.update(Action::Submit);
    let id = match app.take_commands().as_slice() {
        [tunedeck::worker::WorkerCommand::Follow { run_id, .. }] => *run_id,
        other => panic!("expected one Follow, got {other:?}"),
    };
    for e in lf_events(id) {
        assert!(app.on_worker(e));
    }
    app.notice = None;
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = text(&render(&app, w, h));
        assert_snapshot(&format!("loss_following_{w}x{h}"), &screen);
    }
}

#[test]
fn watch_shows_the_loss_pane_alone() {
    let mut app = App::watching(std::path::Path::new(LF_FOLDER), date(TODAY));
    for e in lf_events(app.run.id.unwrap()) {
        assert!(app.on_worker(e));
    }
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| tunedeck::tui::ui::render_watch(f, &app))
        .unwrap();
    let screen = text(terminal.backend().buffer());
    assert_snapshot("watch_80x24", &screen);
    assert!(screen.contains("q quit"), "{screen}");
}
