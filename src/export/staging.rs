//! The export folder is built under a temporary name beside `--to` and moved into place only
//! when every file is written, so a failed export leaves nothing behind.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// A folder being filled; dropped without [`Staging::commit`], it is removed.
pub struct Staging {
    to: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

impl Staging {
    /// Checks `to` can take the export (missing, empty, or `force`) and creates the temporary
    /// folder beside it.
    pub fn begin(to: &Path, force: bool) -> Result<Self> {
        if to.exists() && !to.is_dir() {
            bail!(
                "{}: exists and is not a folder: choose another --to",
                to.display()
            );
        }
        if to.is_dir() && !is_empty_dir(to) && !force {
            bail!(
                "{}: the folder is not empty: pass --force to replace the files export writes there (other files are kept), or choose another --to",
                to.display()
            );
        }
        let name = to
            .file_name()
            .with_context(|| format!("{}: --to needs a folder name", to.display()))?
            .to_string_lossy()
            .into_owned();
        let parent = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).with_context(|| {
            format!(
                "{}: cannot create the folder for the export: choose a --to you can write",
                parent.display()
            )
        })?;
        let tmp = parent.join(format!(".{name}.export-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)
                .with_context(|| format!("{}: cannot remove a stale export", tmp.display()))?;
        }
        std::fs::create_dir(&tmp).with_context(|| {
            format!(
                "{}: cannot write here: choose a --to you can write",
                parent.display()
            )
        })?;
        Ok(Self {
            to: to.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// Where the files go until the commit.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the files into `to`: the whole folder when `to` is missing or empty, else file by
    /// file over same-named ones (`--force`).
    pub fn commit(mut self) -> Result<()> {
        if self.to.is_dir() && is_empty_dir(&self.to) {
            std::fs::remove_dir(&self.to).with_context(|| {
                format!("{}: cannot replace the empty folder", self.to.display())
            })?;
        }
        if !self.to.exists() {
            std::fs::rename(&self.tmp, &self.to).with_context(|| {
                format!("{}: cannot move the export into place", self.to.display())
            })?;
        } else {
            for entry in std::fs::read_dir(&self.tmp)
                .with_context(|| format!("{}: cannot list", self.tmp.display()))?
            {
                let entry = entry?;
                let dst = self.to.join(entry.file_name());
                std::fs::rename(entry.path(), &dst)
                    .with_context(|| format!("{}: cannot move into place", dst.display()))?;
            }
            std::fs::remove_dir(&self.tmp).ok();
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
