//! `llamafactory-cli train` as a child process: found on `PATH` (or a clear message with the
//! install command), started in its own process group so stop and pause reach torchrun's
//! workers too, its output kept in `llamafactory.log` with the last lines at hand for a crash
//! message, and its adapter brought home into `<run>/adapter/` when it ends.

use super::follow::LogFollower;
use super::{INSTALL, TRAIN_YAML};
use anyhow::{bail, Context, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

/// The launcher LLaMA-Factory installs.
pub const CLI: &str = "llamafactory-cli";
/// Where the child's stdout and stderr go, in the run folder.
pub const CHILD_LOG: &str = "llamafactory.log";
/// Lines of output kept for the crash message.
const TAIL_LINES: usize = 12;
/// The adapter files PEFT writes.
const ADAPTER_FILES: [&str; 2] = ["adapter_config.json", "adapter_model.safetensors"];

/// `llamafactory-cli` on `path_var` (a `PATH` value), or an error saying how to install it.
pub fn find_cli(path_var: Option<&std::ffi::OsStr>) -> Result<PathBuf> {
    let found = path_var
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(CLI))
        .find(|p| is_executable(p));
    match found {
        Some(p) => Ok(p),
        None => bail!(
            "{CLI} is not on PATH: install LLaMA-Factory with `{INSTALL}` (in a virtual \
             environment: `python3 -m venv .venv-lf && .venv-lf/bin/{INSTALL}`, then put \
             .venv-lf/bin on PATH), or train with tunedeck's own engine (drop --engine)"
        ),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A running `llamafactory-cli train`.
pub struct Running {
    child: std::process::Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// Its `trainer_log.jsonl`, followed.
    pub follower: LogFollower,
}

/// Starts `cli train train.yaml` in `export_dir`, following `output_dir`'s log; the child's
/// output is appended to `<output_dir>/llamafactory.log`.
pub fn spawn(cli: &Path, export_dir: &Path, output_dir: &Path) -> Result<Running> {
    std::fs::create_dir_all(output_dir)
        .with_context(|| format!("{}: cannot create", output_dir.display()))?;
    let log_path = output_dir.join(CHILD_LOG);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("{}: cannot open", log_path.display()))?;
    let log = Arc::new(Mutex::new(log));
    let mut cmd = Command::new(cli);
    cmd.arg("train")
        .arg(TRAIN_YAML)
        .current_dir(export_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // No colour codes or progress-bar redraws in the kept lines.
        .env("NO_COLOR", "1")
        .env("DISABLE_VERSION_CHECK", "1");
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("{}: cannot start", cli.display()))?;
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let mut readers = Vec::new();
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let (tail, log) = (tail.clone(), log.clone());
        readers.push(std::thread::spawn(move || keep_lines(stream, &tail, &log)));
    }
    Ok(Running {
        child,
        tail,
        readers,
        follower: LogFollower::in_dir(output_dir),
    })
}

/// Copies `stream` into the log file and the last [`TAIL_LINES`] into `tail`; tqdm's `\r`
/// redraws count as line ends, so a progress bar is one line, not one growing line.
fn keep_lines(
    stream: Box<dyn Read + Send>,
    tail: &Mutex<VecDeque<String>>,
    log: &Mutex<std::fs::File>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
        if let Ok(mut f) = log.lock() {
            let _ = f.write_all(&buf);
        }
        let text = String::from_utf8_lossy(&buf);
        for line in text
            .split(['\r', '\n'])
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
        {
            if let Ok(mut t) = tail.lock() {
                if t.len() == TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(line.to_string());
            }
        }
        buf.clear();
    }
}

impl Running {
    /// The exit status once the child has ended.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .context("cannot wait for llamafactory-cli")
    }

    /// Waits for the child and for its output to be read to the end.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let status = self
            .child
            .wait()
            .context("cannot wait for llamafactory-cli")?;
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Ok(status)
    }

    /// Stop: SIGTERM to the whole process group (torchrun passes it to its workers). The
    /// checkpoints already saved stay; [`bring_home`] takes the latest when no final adapter
    /// was written.
    pub fn stop(&self) {
        self.signal(libc::SIGTERM);
        // A paused job keeps a SIGTERM pending until it runs again.
        self.signal(libc::SIGCONT);
    }

    /// Pause (SIGSTOP) or resume (SIGCONT) every process of the job.
    pub fn pause(&self, paused: bool) {
        self.signal(if paused { libc::SIGSTOP } else { libc::SIGCONT });
    }

    fn signal(&self, sig: libc::c_int) {
        // The child leads its own group (process_group(0)), so -pid reaches all of it.
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill has no memory effects; a group already gone gives ESRCH, ignored.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }

    /// The child's last lines of output, oldest first.
    pub fn last_lines(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The file that marks a run whose engine failed, with the exit status and last lines.
pub const FAILED: &str = "FAILED";

/// Marks `run_dir` failed: `FAILED` holds the exit status and the child's last lines, so
/// the run lists as failed and nothing it left (checkpoints, log) is touched.
pub fn mark_failed(run_dir: &Path, status: &str, last_lines: &[String]) -> Result<()> {
    let text = format!(
        "llamafactory-cli train ended with {status}\n{}\n",
        last_lines.join("\n")
    );
    crate::atomic::write(&run_dir.join(FAILED), text.as_bytes())
}

/// Where the adapter came from when it was brought home.
#[derive(Debug, Clone, PartialEq)]
pub struct BroughtHome {
    /// `<run>/adapter`.
    pub adapter_dir: PathBuf,
    /// The folder it was copied from: `output_dir` itself (the final adapter) or its latest
    /// `checkpoint-N` (a stopped run).
    pub from: PathBuf,
}

/// Copies the PEFT adapter LLaMA-Factory left in `output_dir` — the final one, else the
/// latest `checkpoint-N` — into `<run_dir>/adapter/`, so evaluation, the report and export
/// read it as any tunedeck run's.
pub fn bring_home(output_dir: &Path, run_dir: &Path) -> Result<BroughtHome> {
    let has_adapter = |d: &Path| ADAPTER_FILES.iter().all(|f| d.join(f).is_file());
    let from = if has_adapter(output_dir) {
        output_dir.to_path_buf()
    } else {
        latest_checkpoint(output_dir)
            .map(|(_, d)| d)
            .filter(|d| has_adapter(d))
            .with_context(|| {
                format!(
                    "{}: no adapter_model.safetensors, and no checkpoint-N holding one: the \
                     run ended before LLaMA-Factory saved anything",
                    output_dir.display()
                )
            })?
    };
    let adapter_dir = run_dir.join("adapter");
    std::fs::create_dir_all(&adapter_dir)
        .with_context(|| format!("{}: cannot create", adapter_dir.display()))?;
    for f in ADAPTER_FILES {
        let bytes = std::fs::read(from.join(f))
            .with_context(|| format!("{}: cannot read", from.join(f).display()))?;
        crate::atomic::write(&adapter_dir.join(f), &bytes)?;
    }
    Ok(BroughtHome { adapter_dir, from })
}

/// The `checkpoint-N` folder with the highest N, and N.
pub(super) fn latest_checkpoint(dir: &Path) -> Option<(u64, PathBuf)> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let n: u64 = e
                .file_name()
                .to_str()?
                .strip_prefix("checkpoint-")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .max_by_key(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_without_the_cli_says_how_to_install_it() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_cli(Some(empty.path().as_os_str()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pip install llamafactory==0.9.5"), "{err}");
        assert!(find_cli(None).is_err());
    }

    #[test]
    fn a_stopped_run_brings_home_its_latest_checkpoint() {
        let out = tempfile::tempdir().unwrap();
        for (n, tag) in [(2, "two"), (10, "ten")] {
            let ck = out.path().join(format!("checkpoint-{n}"));
            std::fs::create_dir(&ck).unwrap();
            for f in ADAPTER_FILES {
                std::fs::write(ck.join(f), tag).unwrap();
            }
        }
        let run = tempfile::tempdir().unwrap();
        let home = bring_home(out.path(), run.path()).unwrap();
        assert!(home.from.ends_with("checkpoint-10"));
        let got = std::fs::read_to_string(run.path().join("adapter/adapter_config.json"));
        assert_eq!(got.unwrap(), "ten");
        let none = tempfile::tempdir().unwrap();
        assert!(bring_home(none.path(), run.path()).is_err());
    }
}
