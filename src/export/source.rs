//! What `tunedeck export` starts from: a run folder (`runs/<id>`, its preset naming the base
//! model and chat template, its `eval.json` the verdict) or a bare PEFT adapter folder.

use crate::data::RunDir;
use crate::eval::locate::RunContext;
use crate::eval::runner::Tuned;
use crate::eval::{EvalReport, Part};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The run's three-part test, as its `eval.json` records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// All three parts passed.
    Graduated,
    /// These parts failed.
    Failed(Vec<Part>),
    /// No `eval.json` (or an unreadable one, with the reason).
    NotTested(Option<String>),
}

impl Verdict {
    /// Reads `<run>/eval.json`, if there is one.
    pub fn of_run(run_dir: &Path) -> Verdict {
        let path = RunDir::new(run_dir).eval();
        if !path.is_file() {
            return Verdict::NotTested(None);
        }
        match EvalReport::load(&path) {
            Ok(r) if r.graduated => Verdict::Graduated,
            Ok(r) => Verdict::Failed(r.failed_parts()),
            Err(e) => Verdict::NotTested(Some(format!("{e:#}"))),
        }
    }

    /// One line for the README and the cockpit.
    pub fn line(&self) -> String {
        match self {
            Verdict::Graduated => {
                "graduated: exam, interview and general-knowledge guard all passed".into()
            }
            Verdict::Failed(parts) => {
                let names: Vec<&str> = parts.iter().map(|p| p.name()).collect();
                format!("not graduated: {} failed", names.join(", "))
            }
            Verdict::NotTested(None) => "not tested (no eval.json: run `tunedeck eval`)".into(),
            Verdict::NotTested(Some(why)) => format!("not tested (eval.json unreadable: {why})"),
        }
    }
}

/// A resolved export source.
#[derive(Debug, Clone)]
pub struct Source {
    /// The run id or the adapter folder's name: the exported files are named after it.
    pub name: String,
    /// The base model (Hugging Face layout); after full fine-tuning, the run's `model/`.
    pub base: PathBuf,
    /// The PEFT adapter, when the run trained one.
    pub adapter: Option<PathBuf>,
    /// The chat template name the run used (`auto` reads the base model's).
    pub template: String,
    /// The run's test verdict.
    pub verdict: Verdict,
}

fn file_name(p: &Path) -> String {
    p.canonicalize()
        .ok()
        .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".into())
}

/// The experiment folder and run id of `runs/<id>`, when `dir` is one.
fn as_run(dir: &Path) -> Option<(PathBuf, String)> {
    let dir = dir.canonicalize().ok()?;
    let runs = dir.parent()?;
    if runs.file_name()? != "runs" || !runs.parent()?.join("experiment.toml").is_file() {
        return None;
    }
    Some((
        runs.parent()?.to_path_buf(),
        dir.file_name()?.to_string_lossy().into_owned(),
    ))
}

/// Resolves `RUN_OR_ADAPTER`; `model` overrides the base model the run or adapter names.
pub fn resolve(path: &Path, model: Option<&Path>) -> Result<Source> {
    if !path.is_dir() {
        bail!(
            "{}: no such folder: give a run folder (EXPERIMENT/runs/<id>) or a PEFT adapter folder",
            path.display()
        );
    }
    let is_adapter = path.join("adapter_config.json").is_file();
    // An adapter inside a run (runs/<id>/adapter) is that run's.
    let run = if is_adapter {
        path.parent().and_then(as_run)
    } else {
        as_run(path)
    };
    if let Some((exp, id)) = run {
        let ctx = RunContext::open(&exp, Some(&id))?;
        let tuned = if is_adapter {
            Tuned::Adapter(path.to_path_buf())
        } else {
            ctx.tuned()
        };
        tuned.check()?;
        let spec = ctx.eval_spec();
        let (base, adapter) = match tuned {
            Tuned::Adapter(a) => (model.map_or(spec.model, Path::to_path_buf), Some(a)),
            Tuned::Model(m) => (m, None),
        };
        return Ok(Source {
            name: id,
            base,
            adapter,
            template: spec.template,
            verdict: Verdict::of_run(ctx.run.path()),
        });
    }
    if !is_adapter {
        bail!(
            "{}: neither a run folder (EXPERIMENT/runs/<id> with adapter/) nor a PEFT adapter folder (adapter_config.json)",
            path.display()
        );
    }
    let base = match model {
        Some(m) => m.to_path_buf(),
        None => {
            let cfg = crate::lora::AdapterConfig::load(path)?;
            let named = cfg.base_model_name_or_path.unwrap_or_default();
            let found = crate::paths::resolve_model(&named, path);
            if named.is_empty() || !found.join("config.json").is_file() {
                bail!(
                    "{}: its base model {named:?} is not a model folder here: pass --model BASE_DIR",
                    path.join("adapter_config.json").display()
                );
            }
            found
        }
    };
    Ok(Source {
        name: file_name(path),
        base,
        adapter: Some(path.to_path_buf()),
        template: "auto".into(),
        verdict: Verdict::of_run(path.parent().unwrap_or(path)),
    })
}

/// The base model `adapter_config.json` names, when it is a model folder here (else `None`).
pub fn named_base(adapter: &Path) -> Option<PathBuf> {
    let named = crate::lora::AdapterConfig::load(adapter)
        .ok()?
        .base_model_name_or_path?;
    let found = crate::paths::resolve_model(&named, adapter);
    found.join("config.json").is_file().then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_that_is_neither_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("neither a run folder"), "{e}");
        let e = resolve(&dir.path().join("nope"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such folder"), "{e}");
    }

    #[test]
    fn verdict_lines_name_the_failed_parts() {
        let v = Verdict::Failed(vec![Part::Guard]);
        assert_eq!(v.line(), "not graduated: guard failed");
        assert!(Verdict::NotTested(None).line().starts_with("not tested"));
    }
}
