//! LLaMA-Factory as the scale-out engine: everything `llamafactory-cli train` needs, written
//! from an experiment's preset and split, plus the pieces that run and watch it.
//!
//! - [`yaml`]: every preset key mapped onto LLaMA-Factory's `train.yaml` (the ones without a
//!   counterpart reported, never dropped silently);
//! - [`dataset_info`]: `dataset_info.json` and the data files (train and validation only;
//!   the sealed test split never leaves the experiment);
//! - [`sharding`]: the DeepSpeed ZeRO JSONs and the accelerate FSDP2 config;
//! - [`launch`]: `launch.sh` with the torchrun / multi-node environment spelled out;
//! - [`follow`]: reading a growing `trainer_log.jsonl` up to its last complete line;
//! - [`child`]: `llamafactory-cli train` as a child process and its adapter brought home;
//! - [`run`]: a run driven through the trainer's hooks (the same events, stop and pause as
//!   tunedeck's own trainer), and a folder another process writes followed the same way.

pub mod child;
pub mod dataset_info;
pub mod follow;
pub mod launch;
pub mod run;
pub mod sharding;
pub mod yaml;

use crate::data::SplitDir;
use crate::preset::Preset;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub use sharding::Sharding;
pub use yaml::Unmapped;

/// The command that installs the engine (the version tunedeck's fixtures were recorded with).
pub const INSTALL: &str = "pip install llamafactory==0.9.5";

/// How the job is spread: GPUs per node, nodes, and how weights and optimiser state are
/// sharded across them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// GPUs (processes) per node.
    pub gpus: u32,
    /// Machines.
    pub nodes: u32,
    /// DeepSpeed ZeRO stage, FSDP2 or nothing.
    pub sharding: Sharding,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            gpus: 1,
            nodes: 1,
            sharding: Sharding::None,
        }
    }
}

impl Topology {
    /// Processes in the whole job.
    pub fn world_size(&self) -> u32 {
        self.gpus * self.nodes
    }

    fn check(&self) -> Result<()> {
        if self.gpus == 0 || self.nodes == 0 {
            bail!(
                "--gpus {} --nodes {}: both must be at least 1",
                self.gpus,
                self.nodes
            );
        }
        Ok(())
    }
}

/// What to export: a preset, the split it trains on, and where the run's output goes.
pub struct Job<'a> {
    /// The resolved, validated preset.
    pub preset: &'a Preset,
    /// Folder a relative local `model` path is resolved against (the experiment folder).
    pub base_dir: &'a Path,
    /// The experiment's split (`train.jsonl`, `val.jsonl`, `split.toml`).
    pub split: &'a Path,
    /// LLaMA-Factory's `output_dir` as written in `train.yaml` (relative to the export
    /// folder, or absolute).
    pub output_dir: &'a str,
    /// GPUs, nodes and sharding.
    pub topology: Topology,
}

/// One file of an export, relative to the export folder.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Path inside the export folder.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Everything an export writes, and the preset keys LLaMA-Factory has no counterpart for.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The files, in the order they are written (`launch.sh` last: its presence means the
    /// folder is complete).
    pub files: Vec<File>,
    /// Preset keys with no counterpart, with why (also written as comments in `train.yaml`).
    pub unmapped: Vec<Unmapped>,
}

/// The name of the YAML `llamafactory-cli train` reads.
pub const TRAIN_YAML: &str = "train.yaml";
/// The name of the launch script.
pub const LAUNCH_SH: &str = "launch.sh";

/// Builds every file of the export in memory; nothing is written.
pub fn export(job: &Job) -> Result<Export> {
    job.topology.check()?;
    let split = SplitDir::open(job.split)?;
    let model = model_path(&job.preset.model, job.base_dir);
    let (train_yaml, unmapped) = yaml::train_yaml(job.preset, &model, job.output_dir, job.topology);
    let mut files = dataset_info::files(&split)?;
    files.push(File {
        name: TRAIN_YAML.into(),
        bytes: train_yaml.into_bytes(),
    });
    files.extend(sharding::files(job.topology));
    files.push(File {
        name: LAUNCH_SH.into(),
        bytes: launch::script(job.topology).into_bytes(),
    });
    Ok(Export { files, unmapped })
}

/// Writes `export` into `dir` (created), each file atomically; `launch.sh` is made executable.
pub fn write(dir: &Path, export: &Export) -> Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(export.files.len());
    for file in &export.files {
        let path = dir.join(&file.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create the folder", parent.display()))?;
        }
        crate::atomic::write(&path, &file.bytes)?;
        if file.name.ends_with(".sh") {
            make_executable(&path)?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("{}: cannot make it executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

/// The model as LLaMA-Factory should load it: a local folder (relative to the experiment)
/// becomes an absolute path, since the job runs from the export folder; a hub name stays.
pub fn model_path(model: &str, base_dir: &Path) -> String {
    let local = base_dir.join(model);
    if local.join("config.json").is_file() {
        let abs = local.canonicalize().unwrap_or(local);
        return abs.display().to_string();
    }
    model.to_string()
}
