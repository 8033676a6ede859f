//! App-flow tests of editing: goal, dataset, preset, plan and language changes made
//! through the cockpit's actions, checking what it shows and what it saves to disk.

#[path = "tui_support/mod.rs"]
mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::*;
use tunedeck::experiment::{Card, Experiment, ItemStatus, Language, Step, PLAN};
use tunedeck::preset::Preset;
use tunedeck::tui::app::{GoalRow, Input, Overlay, GOAL_ROWS};
use tunedeck::tui::{Action, Pane};

fn status(app: &tunedeck::tui::App, step: Step) -> ItemStatus {
    let i = PLAN.iter().position(|p| p.step == step).unwrap();
    app.exp.plan.statuses(&app.facts, app.today)[i]
}

fn on_disk(dir: &std::path::Path) -> Experiment {
    Experiment::load(dir).unwrap()
}

#[test]
fn preset_stepping_is_saved_as_overrides_and_updates_derived_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    // The demo preset's own values, so the test follows its tuning.
    let base = app.preset.current.clone();
    app.update(Action::Focus(Pane::Preset));
    let select = |app: &mut tunedeck::tui::App, key: &str| {
        app.update(Action::Top);
        let i = Preset::KEYS.iter().position(|k| *k == key).unwrap();
        for _ in 0..i {
            app.update(Action::Down);
        }
        assert_eq!(app.preset.key(), key);
    };
    select(&mut app, "learning_rate");
    app.update(Action::Increase);
    let doubled = 2.0 * base.learning_rate;
    assert_eq!(app.preset.current.learning_rate, doubled);
    let saved = on_disk(&dir);
    assert_eq!(
        saved
            .preset
            .overrides
            .get("learning_rate")
            .and_then(|v| v.as_float()),
        Some(doubled)
    );
    assert!(app
        .preset
        .warnings(Language::En, "smollm2-cpu")
        .iter()
        .any(|w| w.contains("outside the usual")));

    select(&mut app, "num_train_epochs");
    let before = app.derived().total_steps;
    app.update(Action::Decrease);
    let epochs = base.num_train_epochs as u64;
    assert_eq!(
        app.derived().total_steps * epochs,
        before * (epochs - 1),
        "one epoch fewer"
    );

    select(&mut app, "lora_rank");
    let trainable = app.derived().trainable.unwrap();
    app.update(Action::Increase);
    assert_eq!(app.preset.current.lora_rank, 2 * base.lora_rank);
    assert_eq!(app.derived().trainable.unwrap(), 2 * trainable);
    assert_eq!(
        app.preset.changed_keys(),
        ["lora_rank", "learning_rate", "num_train_epochs"]
    );
    assert!(app.preset.warnings(Language::En, "smollm2-cpu")[0].starts_with("3 settings changed"));

    // Reset drops the override; typing sets an exact value; a bad value is refused.
    app.update(Action::Reset);
    assert_eq!(app.preset.current.lora_rank, base.lora_rank);
    assert!(!on_disk(&dir).preset.overrides.contains_key("lora_rank"));
    app.update(Action::Edit);
    assert!(matches!(app.input, Input::Prompt { .. }));
    for _ in 0..4 {
        app.update(Action::Backspace);
    }
    for c in "-8".chars() {
        app.update(Action::Insert(c));
    }
    app.update(Action::Submit);
    assert!(
        matches!(&app.input, Input::Prompt { error: Some(_), .. }),
        "{:?}",
        app.input
    );
    app.update(Action::Cancel);
    app.update(Action::Edit);
    for _ in 0..4 {
        app.update(Action::Backspace);
    }
    let typed = 4 * base.lora_rank;
    for c in typed.to_string().chars() {
        app.update(Action::Insert(c));
    }
    app.update(Action::Submit);
    assert_eq!(app.input, Input::None);
    assert_eq!(
        on_disk(&dir)
            .preset
            .overrides
            .get("lora_rank")
            .and_then(|v| v.as_integer()),
        Some(i64::from(typed))
    );
    assert_eq!(
        on_disk(&dir).resolve_preset(&dir).unwrap().0.lora_rank,
        typed
    );
}

#[test]
fn preset_save_as_makes_a_file_the_experiment_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    press(
        &mut app,
        &[
            Action::Focus(Pane::Preset),
            Action::Increase,
            Action::SaveAs,
        ],
    );
    for c in "my run".chars() {
        app.update(Action::Insert(c));
    }
    app.update(Action::Submit);
    assert!(
        matches!(&app.input, Input::Prompt { error: Some(_), .. }),
        "spaces are refused"
    );
    app.update(Action::Cancel);
    app.update(Action::SaveAs);
    for c in "my-run".chars() {
        app.update(Action::Insert(c));
    }
    app.update(Action::Submit);
    assert_eq!(app.input, Input::None);
    let saved = on_disk(&dir);
    assert_eq!(saved.preset.name, "my-run");
    assert!(saved.preset.overrides.is_empty());
    let (p, from) = saved.resolve_preset(&dir).unwrap();
    assert!(from.ends_with("presets/my-run.toml"), "{from}");
    assert_eq!(p, app.preset.current);
}

#[test]
fn goal_edits_lint_live_and_are_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    assert_eq!(status(&app, Step::Goal), ItemStatus::DoneAuto);
    app.update(Action::Edit);
    let old = app.exp.goal.statement.clone();
    for _ in 0..old.chars().count() {
        app.update(Action::Backspace);
    }
    for c in "更聪明的模型".chars() {
        app.update(Action::Insert(c));
    }
    // Lint and the plan follow every keystroke, before the edit is finished.
    assert_eq!(app.exp.goal.statement, "更聪明的模型");
    assert_eq!(status(&app, Step::Goal), ItemStatus::Overdue);
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("✗ The goal statement is too short"),
        "{screen}"
    );
    // A tick writes the typing to disk even before Esc.
    assert!(app.tick(date(TODAY)));
    assert_eq!(on_disk(&dir).goal.statement, "更聪明的模型");
    app.update(Action::Newline);
    app.update(Action::Insert('x'));
    app.update(Action::Done);
    assert_eq!(app.input, Input::None);
    assert_eq!(on_disk(&dir).goal.statement, "更聪明的模型\nx");

    // The output format is one line: Enter finishes it.
    let format_row = GOAL_ROWS
        .iter()
        .position(|r| *r == GoalRow::Format)
        .unwrap();
    for _ in 0..format_row {
        app.update(Action::Down);
    }
    press(
        &mut app,
        &[Action::Edit, Action::Insert('!'), Action::Newline],
    );
    assert_eq!(app.input, Input::None);
    assert!(on_disk(&dir).goal.output_format.ends_with("$!"));

    // Pass marks step by 5% or take a typed percentage.
    press(&mut app, &[Action::Down, Action::Increase]);
    assert_eq!(on_disk(&dir).goal.pass_marks.exam, 0.85);
    press(
        &mut app,
        &[
            Action::Edit,
            Action::Backspace,
            Action::Backspace,
            Action::Insert('7'),
            Action::Insert('0'),
            Action::Submit,
        ],
    );
    assert_eq!(on_disk(&dir).goal.pass_marks.exam, 0.7);

    // Purpose cycles and is saved.
    press(&mut app, &[Action::Top, Action::Down, Action::Increase]);
    assert_eq!(
        on_disk(&dir)
            .goal
            .purpose
            .map(|p| format!("{p:?}"))
            .as_deref(),
        Some("CostSovereignty")
    );
}

#[test]
fn the_decision_helper_recommends_a_card_and_keeps_the_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    app.update(Action::AnswerYes);
    assert!(app.notice.is_some(), "y on a field row explains itself");
    let q0 = GOAL_ROWS
        .iter()
        .position(|r| *r == GoalRow::Question(0))
        .unwrap();
    for _ in 0..q0 {
        app.update(Action::Down);
    }
    press(
        &mut app,
        &[Action::AnswerYes, Action::Down, Action::AnswerYes],
    );
    assert_eq!(
        tunedeck::experiment::recommend(&app.exp.goal.decision).card,
        Card::LoraRag
    );
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("→ LoRA + RAG:"), "{screen}");

    // Saved at once: a cockpit opened on the folder (after a crash, no quit) shows the same
    // answers and recommendation.
    assert_eq!(on_disk(&dir).goal.decision, app.exp.goal.decision);
    let reopened = open(&dir);
    let screen = text(&render(&reopened, 80, 24));
    let answers: Vec<&str> = screen
        .lines()
        .filter_map(|l| l.trim_start_matches('│').split_whitespace().next())
        .filter(|w| w.starts_with("[yes]") || w.starts_with("[no]"))
        .collect();
    assert_eq!(answers, ["[yes]", "[yes]", "[no]", "[no]"], "{screen}");
    assert!(screen.contains("→ LoRA + RAG:"), "{screen}");

    press(&mut app, &[Action::Up, Action::Toggle]);
    assert_eq!(
        tunedeck::experiment::recommend(&app.exp.goal.decision).card,
        Card::Lora
    );
    let reopened = open(&dir);
    assert_eq!(
        tunedeck::experiment::recommend(&reopened.exp.goal.decision).card,
        Card::Lora
    );
    assert!(!reopened.exp.goal.decision.fresh_facts);
}

#[test]
fn dataset_search_split_and_sealed_test() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    assert_eq!(app.data.rows.len(), 200);
    app.update(Action::Focus(Pane::Dataset));
    app.update(Action::Search);
    for c in "sql injection".chars() {
        app.update(Action::Insert(c));
    }
    let matches = app.data.matches.clone();
    assert!(matches.len() >= 2, "{matches:?}");
    assert_eq!(app.data.selected, matches[0]);
    app.update(Action::Submit);
    press(&mut app, &[Action::NextMatch]);
    assert_eq!(app.data.selected, matches[1]);
    press(&mut app, &[Action::PrevMatch, Action::PrevMatch]);
    assert_eq!(app.data.selected, *matches.last().unwrap(), "wraps around");
    press(&mut app, &[Action::Search, Action::Cancel]);
    assert!(app.data.query.is_empty() && app.data.matches.is_empty());

    app.update(Action::Split);
    finish_data_job(&mut app);
    let m = app.data.split.clone().expect("split");
    assert_eq!(m.counts.train + m.counts.val + m.counts.test, 200);
    assert!(dir.join("data/test.jsonl").is_file() && dir.join("data/split.toml").is_file());
    app.update(Action::Split);
    finish_data_job(&mut app);
    assert!(app
        .notice
        .as_ref()
        .unwrap()
        .text
        .contains("nothing changed"));

    // The pane names the test part's count and hash; its records are hidden from the list,
    // the detail view and the search, now and after reopening.
    let test = std::fs::read_to_string(dir.join("data/test.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(test.lines().next().unwrap()).unwrap();
    let secret = first["output"]
        .as_str()
        .unwrap()
        .lines()
        .nth(2)
        .unwrap()
        .to_string();
    for app in [&mut app, &mut open(&dir)] {
        app.update(Action::Focus(Pane::Dataset));
        assert_eq!(
            app.data.rows.iter().filter(|r| r.sealed).count(),
            m.counts.test
        );
        let sealed = app.data.rows.iter().position(|r| r.sealed).unwrap();
        app.data.selected = sealed;
        let screen = text(&render(app, 160, 48));
        assert!(
            screen.contains(&format!(
                "test {} sealed, sha256 {}",
                m.counts.test,
                &m.sha256.test[..12]
            )),
            "{screen}"
        );
        assert!(
            screen.contains("(sealed test record)") && screen.contains("stays unseen"),
            "{screen}"
        );
        assert!(!screen.contains(&secret[..30]), "{screen}");
        app.update(Action::Search);
        for c in secret.chars().take(30) {
            app.update(Action::Insert(c));
        }
        assert!(app.data.matches.is_empty(), "search finds a sealed record");
        app.update(Action::Cancel);
    }
}

#[test]
fn language_and_manual_ticks_are_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let mut app = open(&dir);
    app.on_key(KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT));
    assert_eq!(on_disk(&dir).language, Language::Zh);
    assert!(text(&render(&app, 80, 24)).contains("目标声明"));

    app.update(Action::Focus(Pane::Plan));
    app.update(Action::Toggle);
    assert!(app.notice.is_some(), "the goal is ticked automatically");
    let i = PLAN
        .iter()
        .position(|p| p.step == Step::ThreePartTest)
        .unwrap();
    for _ in 0..i {
        app.update(Action::Down);
    }
    app.update(Action::Toggle);
    assert!(on_disk(&dir).plan.ticks.contains(&Step::ThreePartTest));
    assert_eq!(status(&app, Step::ThreePartTest), ItemStatus::DoneManual);
    app.update(Action::Toggle);
    assert!(on_disk(&dir).plan.ticks.is_empty());
}

#[test]
fn a_users_comments_in_experiment_toml_survive_cockpit_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo_experiment(tmp.path());
    let path = dir.join("experiment.toml");
    let mine = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "language = ",
            "# Written by Li Wei: the team reads the cockpit in Chinese.\nlanguage = ",
        )
        .replace(
            "[goal]",
            "[goal] # reviewed with the security team on Monday",
        );
    std::fs::write(&path, &mine).unwrap();
    let mut app = open(&dir);
    app.on_key(KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT));
    app.update(Action::Focus(Pane::Preset));
    app.update(Action::Top);
    let i = Preset::KEYS
        .iter()
        .position(|k| *k == "learning_rate")
        .unwrap();
    for _ in 0..i {
        app.update(Action::Down);
    }
    app.update(Action::Increase);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains(
        "# Written by Li Wei: the team reads the cockpit in Chinese.\nlanguage = \"zh\""
    ));
    assert!(saved.contains("[goal] # reviewed with the security team on Monday"));
    assert_eq!(on_disk(&dir).language, Language::Zh);
    assert!(
        !on_disk(&dir).preset.overrides.is_empty(),
        "the preset edit is saved too"
    );
}

#[test]
fn help_and_focus_follow_the_keymap() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = open(&demo_experiment(tmp.path()));
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    app.on_key(key('3'));
    assert_eq!(app.focus, Pane::Preset);
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.focus, Pane::Loss);
    app.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.focus, Pane::Preset);
    app.on_key(key('?'));
    assert_eq!(app.overlay, Overlay::Help);
    app.on_key(key('s'));
    assert_eq!(app.overlay, Overlay::Help, "help swallows other keys");
    app.on_key(key('?'));
    assert_eq!(app.overlay, Overlay::None);
}

/// The README's name for a key as help writes it.
fn readme_name(help_label: &str) -> String {
    match help_label {
        "C-c" => "Ctrl-C",
        "S-Tab" => "Shift-Tab",
        "Bksp" => "Backspace",
        "Del" => "Delete",
        other => other,
    }
    .to_string()
}

/// The keys a README table cell names: every `code` span, split at `/` and spaces (`/` alone
/// is the key); a range such as `1`–`5` stands for every digit in it.
fn keys_in(cell: &str) -> Vec<String> {
    let spans: Vec<&str> = cell.split('`').collect();
    let mut keys = Vec::new();
    // Odd pieces are inside backticks; the piece between two spans joins them.
    for i in (1..spans.len()).step_by(2) {
        if spans[i] == "/" {
            keys.push("/".to_string());
            continue;
        }
        keys.extend(
            spans[i]
                .split(|c: char| c == '/' || c.is_whitespace())
                .filter(|k| !k.is_empty())
                .map(String::from),
        );
        let range = (spans.get(i + 1) == Some(&"–"))
            .then(|| {
                Some((
                    spans[i].parse::<u8>().ok()?,
                    spans.get(i + 2)?.parse::<u8>().ok()?,
                ))
            })
            .flatten();
        if let Some((from, to)) = range {
            keys.extend((from..=to).map(|d| d.to_string()));
        }
    }
    keys
}

#[test]
fn the_readme_names_every_key_in_the_row_of_its_scope() {
    use tunedeck::tui::keymap::{label, Scope, BINDINGS};
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let rows: Vec<(&str, Vec<String>)> = readme
        .lines()
        .filter_map(
            |line| match line.split('|').map(str::trim).collect::<Vec<_>>()[..] {
                ["", place, cell, ""] => Some((place, keys_in(cell))),
                _ => None,
            },
        )
        .collect();
    for binding in BINDINGS {
        let place = match binding.scope {
            Scope::Always => "everywhere".to_string(),
            Scope::Global => "any pane".to_string(),
            Scope::Pane(pane) => pane.title(Language::En).to_lowercase(),
            Scope::Editor => "editing".to_string(),
            Scope::Prompt => "a prompt".to_string(),
            Scope::Help => "help".to_string(),
            Scope::QuitDialog => "quit dialog".to_string(),
            Scope::Judge => "blind judging".to_string(),
            Scope::NextRun => "next run menu".to_string(),
            Scope::Watch => "watch".to_string(),
        };
        let (_, keys) = rows
            .iter()
            .find(|(p, _)| p.starts_with(&place))
            .unwrap_or_else(|| panic!("README.md has no key row for {place}"));
        for key in binding.keys {
            let name = readme_name(&label(std::slice::from_ref(key)));
            assert!(
                keys.contains(&name),
                "README.md's \"{place}\" row lacks `{name}` ({}); it names {keys:?}",
                binding.help.0
            );
        }
    }
}
