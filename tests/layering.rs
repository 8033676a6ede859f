//! The layering rule of `src/lib.rs`, checked on the source: each layer uses only the ones
//! below it. A `use` (or path) that reaches up is reported with its file and line.

use std::path::{Path, PathBuf};

const PURE: &[&str] = &["data", "preset", "experiment", "rng.rs", "date.rs"];
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
    let mut found = Vec::new();
    for m in modules {
        for file in sources(m) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for a in above {
                    if code.contains(a) {
                        found.push(format!("{}:{}: {}", file.display(), n + 1, code));
                    }
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
fn the_worker_never_reaches_the_front_ends() {
    let up = reaching_up(&["worker"], &["crate::tui", "crate::cli"]);
    assert!(up.is_empty(), "{}", up.join("\n"));
}
