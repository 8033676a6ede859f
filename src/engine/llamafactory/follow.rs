//! A growing `trainer_log.jsonl` read as it is written — by tunedeck's trainer, by
//! LLaMA-Factory on this machine, or by a job on a cluster's shared filesystem. Only complete
//! lines are parsed: a writer caught mid-line (or killed mid-line) leaves a partial last line,
//! which waits for its newline instead of being read half.

use crate::data::LogLine;
use crate::eval::loss_log::LossLog;
use anyhow::{Context, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The file LLaMA-Factory's `LogCallback` appends to in its `output_dir`: the same name as a
/// tunedeck run's log, whose format follows LLaMA-Factory's.
pub const TRAINER_LOG: &str = crate::data::run_dir::LOG;

/// Follows one `trainer_log.jsonl` from its start.
#[derive(Debug)]
pub struct LogFollower {
    path: PathBuf,
    /// Bytes consumed so far (always the end of a complete line).
    offset: u64,
    /// Everything parsed so far.
    log: LossLog,
}

impl LogFollower {
    /// Follows `<dir>/trainer_log.jsonl` (the file may not exist yet).
    pub fn in_dir(dir: &Path) -> LogFollower {
        LogFollower::new(&dir.join(TRAINER_LOG))
    }

    /// Follows `path` (it may not exist yet).
    pub fn new(path: &Path) -> LogFollower {
        LogFollower {
            path: path.to_path_buf(),
            offset: 0,
            log: LossLog::default(),
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What has been read so far.
    pub fn log(&self) -> &LossLog {
        &self.log
    }

    /// Reads the complete lines appended since the last poll; returns how many lines were
    /// new. A missing file is "nothing yet"; a file that shrank (a run restarted with
    /// `overwrite_output_dir`) is read again from its start.
    pub fn poll(&mut self) -> Result<usize> {
        self.poll_lines().map(|(_, count)| count)
    }

    /// [`LogFollower::poll`], returning the new lines that parsed (and how many complete
    /// lines were new, parsed or not).
    pub fn poll_lines(&mut self) -> Result<(Vec<LogLine>, usize)> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot read", self.path.display()))
            }
        };
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot read", self.path.display()))?
            .len();
        if len < self.offset {
            self.offset = 0;
            self.log = LossLog::default();
        }
        file.seek(SeekFrom::Start(self.offset))
            .and_then(|_| {
                let mut buf = Vec::new();
                file.take(len - self.offset).read_to_end(&mut buf)?;
                Ok(buf)
            })
            .with_context(|| format!("{}: cannot read", self.path.display()))
            .map(|buf| self.consume(&buf))
    }

    /// Parses the complete lines at the start of `buf` and advances past them.
    fn consume(&mut self, buf: &[u8]) -> (Vec<LogLine>, usize) {
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            return (Vec::new(), 0);
        };
        let text = String::from_utf8_lossy(&buf[..=end]);
        let (lines, skipped) = LogLine::parse_all(&text);
        self.offset += end as u64 + 1;
        self.log.skipped += skipped;
        for line in &lines {
            self.log.push(line);
        }
        let count = lines.len() + skipped;
        (lines, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TRAINER_LOG);
        let mut f = LogFollower::new(&path);
        assert_eq!(f.poll().unwrap(), 0);
        let first = "{\"current_steps\": 1, \"total_steps\": 4, \"loss\": 2.5}\n";
        let half = "{\"current_steps\": 2, \"total_st";
        std::fs::write(&path, format!("{first}{half}")).unwrap();
        assert_eq!(f.poll().unwrap(), 1);
        assert_eq!(
            (f.log().train.clone(), f.log().skipped),
            (vec![(1.0, 2.5)], 0)
        );
        std::fs::write(&path, format!("{first}{half}eps\": 4, \"loss\": 2.0}}\n")).unwrap();
        assert_eq!(f.poll().unwrap(), 1);
        assert_eq!(f.log().train, [(1.0, 2.5), (2.0, 2.0)]);
        assert_eq!(f.log().steps, Some((2, 4)));
        // A restarted run (shorter file) is read from its start again.
        std::fs::write(&path, first).unwrap();
        assert_eq!(f.poll().unwrap(), 1);
        assert_eq!(f.log().train, [(1.0, 2.5)]);
    }
}
