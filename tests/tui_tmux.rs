//! End-to-end tests in a real terminal: the built binary runs in a detached tmux session,
//! driven with `send-keys` and read with `capture-pane`. Skipped (with a note) where tmux
//! is not installed.
//!
//! Each test uses its own tmux server socket, so it never touches the user's sessions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tunedeck::experiment::Experiment;
use tunedeck::train::checkpoint;

/// A shell in a detached 100×30 tmux session on a private server.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts the session, or `None` (after printing why) when tmux is missing.
    fn start(name: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("note: tmux is not installed; skipping the end-to-end test {name}");
            return None;
        }
        let t = Tmux {
            socket: format!("tunedeck-test-{}-{name}", std::process::id()),
        };
        // A plain shell with a fixed prompt, so "the shell is back" is easy to see.
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            "TERM=xterm-256color",
            "PS1=READY$ ",
            "bash",
            "--norc",
            "--noprofile",
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.wait_for("the shell prompt", |s| s.contains("READY$"));
        Some(t)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        // -u: UTF-8 whatever the locale, so Chinese text round-trips.
        Command::new("tmux")
            .args(["-u", "-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Types keys (tmux key names such as `Enter`, `Tab`, `C-c`, or literal text).
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.tmux(&["send-keys", "-t", "t", k]);
            assert!(out.status.success(), "send-keys {k}");
            // Let the cockpit handle each key before the next, as a person would type.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Types a shell command and presses Enter.
    fn run(&self, command: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", command]);
        self.tmux(&["send-keys", "-t", "t", "Enter"]);
    }

    /// The visible screen.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Waits up to 60 s for `ok(screen)`; panics with the screen otherwise. Generous, so a
    /// machine busy with other work (tests run at low priority here) does not fail it.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_long(what, 60, ok)
    }

    /// Waits up to `seconds` for `ok(screen)`; panics with the screen otherwise.
    fn wait_long(&self, what: &str, seconds: u64, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(seconds) {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One of tmux's format variables for the pane, e.g. `alternate_on`.
    fn pane_flag(&self, name: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", "t", &format!("#{{{name}}}")]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Asserts the terminal is usable again after the cockpit ended: the normal screen is
    /// back (not the alternate one), the cursor shows, the tty is in cooked mode with echo
    /// on, and a typed command echoes and runs.
    fn assert_shell_usable(&self) {
        assert_eq!(
            self.pane_flag("alternate_on"),
            "0",
            "left in the alternate screen:\n{}",
            self.screen()
        );
        assert_eq!(self.pane_flag("cursor_flag"), "1", "cursor left hidden");
        self.run("stty -a | grep -ow -e -icanon -e icanon -e -echo -e echo | paste -sd, -");
        let flags = |s: &str| {
            s.lines()
                .map(str::trim)
                .find(|l| l.trim_start_matches('-').starts_with("icanon,"))
                .map(str::to_string)
        };
        let screen = self.wait_for("stty's answer", |s| flags(s).is_some());
        assert_eq!(
            flags(&screen).as_deref(),
            Some("icanon,echo"),
            "terminal left in raw mode:\n{screen}"
        );
        // The command shows as typed, and only running it prints 42.
        self.run("echo usable-$((6*7))");
        self.wait_for("echo's answer", |s| {
            s.contains("READY$ echo usable-$((6*7))") && s.lines().any(|l| l == "usable-42")
        });
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The step in the loss pane's first "step N/M".
fn step_shown(screen: &str) -> Option<u64> {
    screen.match_indices("step ").find_map(|(at, _)| {
        let rest = &screen[at + "step ".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        rest[digits.len()..]
            .starts_with('/')
            .then(|| digits.parse().ok())?
    })
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tunedeck")
}

/// `tunedeck init DIR --demo` in a fresh temporary folder.
fn fresh_demo(tmp: &Path) -> PathBuf {
    let dir = tmp.join("demo");
    let out = Command::new(bin())
        .args(["init", "--demo"])
        .arg(&dir)
        .env("TUNEDECK_HOME", env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Opens the cockpit on `dir` inside the session and waits for its first frame.
fn open(t: &Tmux, dir: &Path) {
    open_with(t, dir, "");
}

/// Like [`open`], with `env` (`NAME=value ...`) set for the cockpit.
fn open_with(t: &Tmux, dir: &Path, env: &str) {
    t.run(&format!(
        "{env} TUNEDECK_HOME={} {} open {}",
        env!("CARGO_MANIFEST_DIR"),
        bin(),
        dir.display()
    ));
    t.wait_for("the cockpit", |s| {
        s.contains("1 Goal") && s.contains("Statement")
    });
}

#[test]
fn navigate_edit_a_preset_and_quit_with_the_terminal_restored() {
    let Some(t) = Tmux::start("navigate") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_demo(tmp.path());
    open(&t, &dir);

    t.keys(&["Tab"]);
    t.wait_for("the dataset pane", |s| s.contains("200 records"));
    t.keys(&["5"]);
    t.wait_for("the plan pane", |s| {
        s.contains("Week 1") && s.contains("Week 2")
    });
    t.keys(&["3", "?"]);
    t.wait_for("help", |s| {
        s.contains("Keys · Preset pane") && s.contains("save as a new preset")
    });
    t.keys(&["Escape"]);
    t.wait_for("help to close", |s| !s.contains("Keys · Preset pane"));

    // learning_rate is the tenth field (after engine); → doubles it.
    let exp = Experiment::load(&dir).unwrap();
    let (mut doubled, _) = exp.resolve_preset(&dir).unwrap();
    doubled.learning_rate *= 2.0;
    let shown = doubled.get("learning_rate").unwrap();
    t.keys(&["j", "j", "j", "j", "j", "j", "j", "j", "j", "l"]);
    t.wait_for("the new learning rate", |s| s.contains(&shown));
    let exp = Experiment::load(&dir).unwrap();
    let lr = exp
        .preset
        .overrides
        .get("learning_rate")
        .and_then(|v| v.as_float());
    assert_eq!(
        lr,
        Some(doubled.learning_rate),
        "experiment.toml: {:?}",
        exp.preset.overrides
    );

    t.keys(&["q"]);
    t.wait_for("the shell", |s| s.trim_end().ends_with("READY$"));
    t.assert_shell_usable();
}

#[test]
fn ctrl_c_in_an_editor_restores_the_terminal() {
    let Some(t) = Tmux::start("ctrlc") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_demo(tmp.path());
    open(&t, &dir);
    t.keys(&["Enter"]);
    t.type_text("中文!");
    t.wait_for("typed text", |s| s.contains("中文!"));
    t.keys(&["C-c"]);
    t.wait_for("the shell", |s| s.trim_end().ends_with("READY$"));
    t.assert_shell_usable();
    // What was typed before Ctrl-C is on disk.
    let exp = Experiment::load(&dir).unwrap();
    assert!(
        exp.goal.statement.ends_with("中文!"),
        "{}",
        exp.goal.statement
    );
}

#[test]
fn a_panic_in_the_cockpit_restores_the_terminal_and_shows_its_message() {
    let Some(t) = Tmux::start("panic") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_demo(tmp.path());
    // F12 panics on the UI thread (a hook that exists for this test only).
    open_with(&t, &dir, "TUNEDECK_PANIC_ON_KEY=F12");
    t.keys(&["Enter"]);
    t.type_text(" typed before the crash");
    t.wait_for("typed text", |s| s.contains("typed before the crash"));
    // The clock saves edits every 250 ms: a crash loses at most that much typing.
    std::thread::sleep(Duration::from_millis(700));
    t.keys(&["F12"]);
    let screen = t.wait_for("the shell after the panic", |s| {
        s.trim_end().ends_with("READY$")
    });
    assert!(
        screen.contains("panicked at") && screen.contains("TUNEDECK_PANIC_ON_KEY: F12 pressed"),
        "the panic message is not on the restored screen:\n{screen}"
    );
    t.assert_shell_usable();
    let exp = Experiment::load(&dir).unwrap();
    assert!(
        exp.goal.statement.ends_with(" typed before the crash"),
        "{}",
        exp.goal.statement
    );
}

#[test]
fn a_short_real_run_updates_the_loss_pane_ticks_the_plan_and_continues_after_a_stop() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/smollm2-135m-instruct");
    assert!(
        model.join("model.safetensors").exists(),
        "{} is missing: run `just setup` first",
        model.display()
    );
    let Some(t) = Tmux::start("run") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_demo(tmp.path());
    // Replay off: the base model's answers to the replay prompts would take minutes before
    // the first step (tests/train_replay.rs covers replay).
    let toml = dir.join("experiment.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace(
        "[preset.overrides]\n",
        "[preset.overrides]\nreplay_ratio = 0.0\n",
    );
    std::fs::write(&toml, text).unwrap();
    open(&t, &dir);

    t.keys(&["2", "s"]);
    t.wait_for("the split", |s| s.contains("sealed, sha256"));
    // max_steps is the fifteenth preset field (after engine): type 40 so the run is short
    // but cannot finish before it is stopped.
    t.keys(&["3"]);
    t.keys(&["j"; 14]);
    t.keys(&["Enter", "BSpace"]);
    t.type_text("40");
    t.keys(&["Enter"]);
    t.wait_for("max_steps = 40", |s| {
        s.contains("max_steps") && s.contains("total steps   40")
    });
    let exp = Experiment::load(&dir).unwrap();
    assert_eq!(
        exp.preset
            .overrides
            .get("max_steps")
            .and_then(|v| v.as_integer()),
        Some(40)
    );

    t.keys(&["4", "s"]);
    t.wait_long("two training steps", 180, |s| {
        s.contains("step 2/40") || s.contains("step 3/40")
    });
    t.keys(&["5"]);
    t.wait_for("the plan tick", |s| {
        s.lines()
            .any(|l| l.contains("Start the first run") && l.contains("auto"))
    });
    t.keys(&["4", "x"]);
    t.wait_long("the stopped run", 120, |s| s.contains("■ stopped"));
    let run = dir.join("runs/run-1");
    assert!(run.join("adapter/adapter_model.safetensors").is_file());

    // s continues the stopped run from the checkpoint saved at the stop, in the same folder.
    let (stopped_at, _) = checkpoint::latest(&run).expect("a checkpoint at the stop");
    t.wait_for("the offer to continue", |s| {
        s.contains(&format!("from the checkpoint at step {stopped_at}/40"))
    });
    t.keys(&["s"]);
    t.wait_long("a step after the checkpoint", 180, |s| {
        step_shown(s).is_some_and(|n| n > stopped_at) && s.contains("● training")
    });
    t.keys(&["x"]);
    t.wait_long("the stopped run", 120, |s| s.contains("■ stopped"));
    let (again, _) = checkpoint::latest(&run).unwrap();
    assert!(again > stopped_at, "{again} after {stopped_at}");
    assert!(!dir.join("runs/run-2").exists(), "no new run was started");
    // One log for the whole run: its steps never go back.
    let steps: Vec<u64> = std::fs::read_to_string(run.join("trainer_log.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("loss").is_some())
        .filter_map(|v| v["current_steps"].as_u64())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    assert!(steps.last().is_some_and(|s| *s > stopped_at), "{steps:?}");
    t.keys(&["q"]);
    t.wait_for("the shell", |s| s.trim_end().ends_with("READY$"));
    t.assert_shell_usable();
}

#[test]
fn watch_follows_a_growing_run_folder_in_the_loss_pane_and_q_restores_the_terminal() {
    let Some(t) = Tmux::start("watch") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    std::fs::create_dir(&out).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llamafactory/trainer_log.jsonl"),
    )
    .unwrap()
    .lines()
    .map(|l| format!("{l}\n"))
    .collect();
    let log = out.join("trainer_log.jsonl");
    t.run(&format!("{} watch {}", bin(), out.display()));
    t.wait_for("the Loss pane, waiting", |s| {
        s.contains("4 Loss") && s.contains("waiting for lines")
    });
    // LLaMA-Factory's own lines arrive while tunedeck watches, the last one half-written.
    std::fs::write(&log, lines[..4].concat()).unwrap();
    t.wait_for("step 4", |s| step_shown(s) == Some(4));
    let half = &lines[4][..lines[4].len() / 2];
    std::fs::write(&log, lines[..4].concat() + half).unwrap();
    std::fs::write(&log, lines.concat()).unwrap();
    std::fs::write(out.join("train_results.json"), "{}").unwrap();
    let screen = t.wait_for("the end", |s| {
        step_shown(s) == Some(12) && s.contains("finished")
    });
    assert!(screen.contains("Health: smooth descent"), "{screen}");
    t.keys(&["q"]);
    t.wait_for("the shell", |s| s.lines().any(|l| l.starts_with("READY$")));
    t.assert_shell_usable();
}
