//! Building the knowledge base: `EXPERIMENT/rag/index/` (tantivy, BM25) and
//! `EXPERIMENT/rag/manifest.json` (each indexed file's SHA-256 and chunk count). Re-indexing
//! hashes every file but rewrites only the chunks of files whose hash changed, and drops
//! the chunks of files that are gone.

use super::chunk::chunk;
use super::segment::{analyzer, ANALYZER};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, STORED, STRING,
};
use tantivy::{doc, Index, Term};

/// Extensions read as Markdown (headings and code fences count).
const MARKDOWN: &[&str] = &["md", "markdown"];
/// Extensions read as plain text or source, chunked by paragraph.
const PLAIN: &[&str] = &[
    "txt", "rst", "adoc", "rs", "py", "js", "ts", "go", "java", "c", "h", "cc", "cpp", "hpp", "cs",
    "php", "rb", "sh", "toml", "yaml", "yml",
];

/// The knowledge base's folder in an experiment.
pub fn rag_dir(experiment: &Path) -> PathBuf {
    experiment.join("rag")
}

pub(crate) fn index_dir(experiment: &Path) -> PathBuf {
    rag_dir(experiment).join("index")
}

pub(crate) fn manifest_path(experiment: &Path) -> PathBuf {
    rag_dir(experiment).join("manifest.json")
}

/// The index's fields.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub path: Field,
    pub start: Field,
    pub end: Field,
    pub heading: Field,
    pub body: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        path: b.add_text_field("path", STRING | STORED),
        start: b.add_u64_field("start", STORED),
        end: b.add_u64_field("end", STORED),
        heading: b.add_text_field("heading", text.clone()),
        body: b.add_text_field("body", text),
    };
    (b.build(), fields)
}

/// Opens the index (creating it when `create`), with the analyzer registered.
pub(crate) fn open_index(experiment: &Path, create: bool) -> Result<Index> {
    let dir = index_dir(experiment);
    let index = if create && !dir.join("meta.json").is_file() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        Index::create_in_dir(&dir, schema().0)
            .with_context(|| format!("{}: cannot create the index", dir.display()))?
    } else {
        Index::open_in_dir(&dir)
            .with_context(|| format!("{}: cannot open the index", dir.display()))?
    };
    index.tokenizers().register(ANALYZER, analyzer());
    Ok(index)
}

/// One indexed file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub sha256: String,
    pub chunks: usize,
}

/// What was indexed: files by absolute path.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub files: BTreeMap<String, FileEntry>,
}

impl Manifest {
    /// The manifest of `experiment`, empty when there is none yet.
    pub fn load(experiment: &Path) -> Result<Manifest> {
        let path = manifest_path(experiment);
        if !path.is_file() {
            return Ok(Manifest::default());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a knowledge-base manifest; delete the rag/ folder and index again",
                path.display()
            )
        })
    }
}

/// What `index` did, file by file.
#[derive(Debug, Default)]
pub struct IndexReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
    /// Files under a folder that were not read: unknown extension or not UTF-8.
    pub skipped: Vec<String>,
    pub chunks_written: usize,
    pub total_chunks: usize,
}

fn kind(path: &Path) -> Option<bool> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if MARKDOWN.contains(&ext.as_str()) {
        Some(true)
    } else if PLAIN.contains(&ext.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Every file under `root` (itself, when a file), sorted, hidden entries left out.
fn walk(root: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if root.is_file() {
        out.push(root.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("{}: cannot read the folder", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Indexes `docs` (files or folders) into `experiment`'s knowledge base.
pub fn index(experiment: &Path, docs: &[PathBuf]) -> Result<IndexReport> {
    let mut files = Vec::new();
    for d in docs {
        if !d.exists() {
            anyhow::bail!("{}: no such file or folder to index", d.display());
        }
        walk(d, &mut files)?;
    }
    let fresh = !index_dir(experiment).join("meta.json").is_file();
    // An index deleted by hand leaves a manifest that lies: start over.
    let mut manifest = if fresh {
        Manifest::default()
    } else {
        Manifest::load(experiment)?
    };
    let index = open_index(experiment, true)?;
    let (_, f) = schema();
    let mut writer = index
        .writer::<tantivy::TantivyDocument>(50_000_000)
        .context("cannot open the index for writing")?;
    let mut report = IndexReport::default();
    let mut seen = std::collections::BTreeSet::new();
    for file in &files {
        let explicit = docs.iter().any(|d| d == file);
        let Some(markdown) = kind(file).or(explicit.then_some(false)) else {
            report.skipped.push(file.display().to_string());
            continue;
        };
        let bytes =
            std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
        let Ok(text) = String::from_utf8(bytes) else {
            report.skipped.push(file.display().to_string());
            continue;
        };
        let key = std::fs::canonicalize(file)
            .with_context(|| format!("{}: cannot resolve the path", file.display()))?
            .display()
            .to_string();
        let hash = sha256(text.as_bytes());
        seen.insert(key.clone());
        let old = manifest.files.get(&key);
        if old.is_some_and(|e| e.sha256 == hash) {
            report.unchanged.push(key);
            continue;
        }
        let list = if old.is_some() {
            &mut report.updated
        } else {
            &mut report.added
        };
        writer.delete_term(Term::from_field_text(f.path, &key));
        let chunks = chunk(&text, markdown);
        for c in &chunks {
            writer
                .add_document(doc!(
                    f.path => key.as_str(),
                    f.start => c.start_line as u64,
                    f.end => c.end_line as u64,
                    f.heading => c.heading.as_str(),
                    f.body => c.body.as_str(),
                ))
                .context("cannot add a chunk to the index")?;
        }
        report.chunks_written += chunks.len();
        manifest.files.insert(
            key.clone(),
            FileEntry {
                sha256: hash,
                chunks: chunks.len(),
            },
        );
        list.push(key);
    }
    // Files indexed before that are gone from disk, or from under a folder indexed now.
    let gone: Vec<String> = manifest
        .files
        .keys()
        .filter(|k| {
            let p = Path::new(k.as_str());
            !seen.contains(*k)
                && (!p.exists()
                    || docs.iter().any(|d| {
                        std::fs::canonicalize(d).is_ok_and(|d| d.is_dir() && p.starts_with(&d))
                    }))
        })
        .cloned()
        .collect();
    for k in gone {
        writer.delete_term(Term::from_field_text(f.path, &k));
        manifest.files.remove(&k);
        report.removed.push(k);
    }
    writer.commit().context("cannot commit the index")?;
    writer
        .wait_merging_threads()
        .context("cannot finish merging the index")?;
    crate::atomic::write_json(&manifest_path(experiment), &manifest)?;
    report.total_chunks = manifest.files.values().map(|e| e.chunks).sum();
    Ok(report)
}
