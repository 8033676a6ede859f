//! The layering rule of `src/lib.rs`, checked on the source: each layer uses only the ones
//! below it. A `use` (or path) that reaches up is reported with its file and line.

use std::path::{Path, PathBuf};

const PURE: &[&str] = &[
    "data",
    "preset",
    "experiment",
    "rag",
    "rng.rs",
    "date.rs",
    "cpu.rs",
];
const ENGINE: &[&str] = &[
    "atomic.rs",
    "paths.rs",
    "safetensors_in.rs",
    "safetensors_out.rs",
    "gguf",
    "model",
    "lora",
    "train",
    "eval",
    "export",
    "engine",
];

fn sources(module: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module);
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    assert!(!out.is_empty(), "no sources for {module}");
    out
}

/// Lines of code (not comments) in `modules` that mention any of `above`.
fn reaching_up(modules: &[&str], above: &[&str]) -> Vec<String> {
    let files: Vec<PathBuf> = modules.iter().flat_map(|m| sources(m)).collect();
    mentions(&files, above, false)
}

/// `file:line: code` for each line of code (not comments) in `files` that mentions any of
/// `words`; with `skip_tests`, a file is read only up to its `#[cfg(test)]` module.
fn mentions(files: &[PathBuf], words: &[&str], skip_tests: bool) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if skip_tests && code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            for w in words {
                if code.contains(w) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, code));
                }
            }
        }
    }
    found
}

#[test]
fn the_engine_never_reaches_the_worker_or_the_front_ends() {
    let all: Vec<&str> = PURE.iter().chain(ENGINE).copied().collect();
    let up = reaching_up(&all, &["crate::worker", "crate::tui", "crate::cli"]);
    assert!(up.is_empty(), "{}", up.join("\n"));
}

#[test]
fn the_experiment_layer_knows_no_tensors() {
    let up = reaching_up(
        PURE,
        &[
            "tch::",
            "use tch",
            "crate::model",
            "crate::train",
            "crate::eval",
            "crate::lora",
            "crate::gguf",
            "crate::export",
        ],
    );
    assert!(up.is_empty(), "{}", up.join("\n"));
}

#[test]
fn the_trainer_never_imports_the_worker() {
    // The trainer owns its types; the worker wraps them. `super::` paths count too, since
    // `train` and `worker` are siblings under the crate root.
    let up = reaching_up(&["train"], &["crate::worker", "super::worker", "worker::"]);
    assert!(up.is_empty(), "{}", up.join("\n"));
}

#[test]
fn the_worker_never_reaches_the_front_ends() {
    let up = reaching_up(&["worker"], &["crate::tui", "crate::cli"]);
    assert!(up.is_empty(), "{}", up.join("\n"));
}

#[test]
fn the_cockpit_state_never_reaches_its_drawing() {
    let up = reaching_up(&["tui/app"], &["crate::tui::ui", "ratatui::"]);
    assert!(up.is_empty(), "{}", up.join("\n"));
}

#[test]
fn a_run_folder_is_spelled_only_by_its_owner() {
    let names = [
        "\"trainer_log.jsonl\"",
        "\"eval.json\"",
        "\"report.md\"",
        "\"origin.json\"",
        "\"loss.png\"",
        "\"checkpoints\"",
    ];
    // Tests spell the names on purpose (they pin the layout on disk), so test modules are
    // skipped.
    let others: Vec<PathBuf> = sources("")
        .into_iter()
        .filter(|f| !f.ends_with("data/run_dir.rs"))
        .collect();
    let found = mentions(&others, &names, true);
    assert!(found.is_empty(), "{}", found.join("\n"));
}
