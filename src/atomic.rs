//! Atomic file writes: write a temporary file beside the target, then rename it over the
//! target, so a crash never leaves a half-written file where the user's file was. The
//! temporary name is unique to each write (process id and a counter), so two threads saving
//! the same file never write into one temporary file; the folder is synced after the rename,
//! so the new name itself survives a power cut.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the temporary files of this process.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

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
        let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()));
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
            .with_context(|| format!("{}: cannot move into place", path.display()))?;
        sync_dir(&path);
        Ok(())
    }

    /// The temporary file this write goes to until [`AtomicFile::commit`].
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
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

/// Syncs the folder holding `path`, so a rename into it is on disk. Best effort: some file
/// systems refuse to open or sync a folder, and the data itself is already synced.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_saving_one_file_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("experiment.toml");
        let barrier = std::sync::Barrier::new(2);
        let tmps: Vec<PathBuf> = std::thread::scope(|s| {
            let writers: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|text| {
                    let (path, barrier) = (&path, &barrier);
                    s.spawn(move || {
                        let mut f = AtomicFile::create(path).unwrap();
                        // Both temporary files exist at once before either is committed.
                        barrier.wait();
                        f.write_all(text.repeat(100_000).as_bytes()).unwrap();
                        let tmp = f.tmp_path().to_path_buf();
                        barrier.wait();
                        f.commit().unwrap();
                        tmp
                    })
                })
                .collect();
            writers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_ne!(tmps[0], tmps[1]);
        // Whichever write came last, the file is one of them whole, never a mix.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text == "a".repeat(100_000) || text == "b".repeat(100_000));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }
}
