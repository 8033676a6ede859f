//! Atomic file writes: write a temporary file beside the target, then rename it over the
//! target, so a crash never leaves a half-written file where the user's file was.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; it replaces `path` only on [`AtomicFile::commit`].
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    /// `None` once committed.
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<Self> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file =
            File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Flush, sync and move into place.
    pub fn commit(mut self) -> Result<()> {
        let (path, tmp) = (self.path.clone(), self.tmp.clone());
        let out = self.out.take().expect("an AtomicFile is committed once");
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("{}: cannot sync", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("{}: cannot move into place", path.display()))
    }
}

impl AtomicFile {
    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.out
            .as_mut()
            .ok_or_else(|| std::io::Error::other("file already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed: remove the partial file.
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    f.commit()
}

/// Write pretty JSON to `path` atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write(path, text.as_bytes())
}
