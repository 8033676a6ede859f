//! Retrieval: BM25 over the chunks' headings (weighted double) and text, and a check that
//! every cited chunk still reads the same in its file.

use super::index::{manifest_path, open_index, schema, Fields, Manifest};
use super::segment::terms;
use super::settings::Settings;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Index, IndexReader, TantivyDocument, Term};

/// A heading names what a whole section is about, so its words count double.
const HEADING_BOOST: f32 = 2.0;

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The file's absolute path when it was indexed.
    pub file: String,
    pub start_line: usize,
    pub end_line: usize,
    pub heading: String,
    pub body: String,
    pub score: f32,
    /// Why the chunk can no longer be trusted (file missing or lines changed), if so.
    pub stale: Option<String>,
}

impl Hit {
    /// `file:start-end`, the file relative to the current folder when it lies below it.
    pub fn location(&self) -> String {
        self.location_from(&std::env::current_dir().unwrap_or_default())
    }

    /// `file:start-end`, the file relative to `base` when it lies below it (the cockpit shows
    /// paths from the experiment folder).
    pub fn location_from(&self, base: &Path) -> String {
        let p = Path::new(&self.file);
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        let shown = p.strip_prefix(&base).unwrap_or(p);
        format!("{}:{}-{}", shown.display(), self.start_line, self.end_line)
    }
}

/// An experiment's knowledge base, opened for queries.
pub struct KnowledgeBase {
    experiment: PathBuf,
    reader: IndexReader,
    index: Index,
    fields: Fields,
    manifest: Manifest,
}

impl KnowledgeBase {
    /// Opens `experiment`'s knowledge base; says how to build it when there is none or it
    /// holds nothing.
    pub fn open(experiment: &Path) -> Result<KnowledgeBase> {
        KnowledgeBase::check_built(experiment)?;
        let how = how_to_build(experiment);
        let manifest = Manifest::load(experiment)?;
        let index = open_index(experiment, false)?;
        let reader = index.reader().context("cannot read the knowledge base")?;
        if manifest.files.is_empty() || reader.searcher().num_docs() == 0 {
            bail!(
                "{}: the knowledge base is empty (no Markdown, text or source files were indexed): {how}",
                experiment.display()
            );
        }
        Ok(KnowledgeBase {
            experiment: experiment.to_path_buf(),
            reader,
            index,
            fields: schema().1,
            manifest,
        })
    }

    /// Whether `experiment` has a knowledge base at all, by one look at its manifest (cheap
    /// enough for the UI thread); the error says how to build one.
    pub fn check_built(experiment: &Path) -> Result<()> {
        if !manifest_path(experiment).is_file() {
            bail!(
                "{}: no knowledge base in this experiment yet: {}",
                experiment.display(),
                how_to_build(experiment)
            );
        }
        Ok(())
    }

    /// Chunks in the knowledge base.
    pub fn chunks(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Files in the knowledge base.
    pub fn files(&self) -> usize {
        self.manifest.files.len()
    }

    /// The `k` best chunks for `question`, best first, each checked against its file.
    pub fn search(&self, question: &str, k: usize) -> Result<Vec<Hit>> {
        let mut words = terms(question);
        words.sort();
        words.dedup();
        if words.is_empty() {
            bail!("the question has no words to search for: ask with at least one word");
        }
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &words {
            let body = TermQuery::new(
                Term::from_field_text(f.body, w),
                IndexRecordOption::WithFreqs,
            );
            let heading = TermQuery::new(
                Term::from_field_text(f.heading, w),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((Occur::Should, Box::new(body)));
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(heading), HEADING_BOOST)),
            ));
        }
        let searcher = self.reader.searcher();
        let top = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(k).order_by_score(),
            )
            .context("the knowledge-base search failed")?;
        let mut files: HashMap<String, Option<Vec<String>>> = HashMap::new();
        let mut hits = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).context("cannot read a chunk")?;
            let text = |field| d.get_first(field).and_then(|v| v.as_str()).unwrap_or("");
            let num = |field| d.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
            let mut hit = Hit {
                file: text(f.path).to_string(),
                start_line: num(f.start),
                end_line: num(f.end),
                heading: text(f.heading).to_string(),
                body: text(f.body).to_string(),
                score,
                stale: None,
            };
            let lines = files.entry(hit.file.clone()).or_insert_with(|| {
                std::fs::read_to_string(&hit.file)
                    .ok()
                    .map(|t| t.lines().map(str::to_string).collect())
            });
            hit.stale = self.staleness(&hit, lines.as_deref());
            hits.push(hit);
        }
        Ok(hits)
    }

    /// The chunks put before `question` under `settings`: the best `top_k`, then cut to
    /// `max_context_chars` in all (see [`Settings`]).
    pub fn context(&self, question: &str, settings: &Settings) -> Result<Vec<Hit>> {
        let hits = self.search(question, settings.top_k)?;
        Ok(fit(hits, settings.max_context_chars))
    }

    /// Why `hit` no longer matches its file (`lines`, None when unreadable), or None.
    fn staleness(&self, hit: &Hit, lines: Option<&[String]>) -> Option<String> {
        let again = format!(
            "run `tunedeck rag index {} ...` again",
            self.experiment.display()
        );
        let Some(lines) = lines else {
            return Some(format!(
                "{}: the file is missing or unreadable since it was indexed; {again}",
                hit.file
            ));
        };
        let now = lines
            .get(hit.start_line.saturating_sub(1)..hit.end_line.min(lines.len()))
            .map(|l| l.join("\n"));
        (now.as_deref() != Some(hit.body.as_str()) || hit.end_line > lines.len()).then(|| {
            format!(
                "{}: lines {}-{} changed since they were indexed; {again}",
                hit.location(),
                hit.start_line,
                hit.end_line
            )
        })
    }

    /// The index itself, for the benchmark's statistics.
    pub fn index(&self) -> &Index {
        &self.index
    }
}

/// The command that builds `experiment`'s knowledge base.
fn how_to_build(experiment: &Path) -> String {
    format!(
        "build it with `tunedeck rag index {} DOCS...`",
        experiment.display()
    )
}

/// `hits` cut to `budget` characters of text in all (0 = no limit): whole chunks while they
/// fit, then the lines of the next one that fit, its line range shortened to match; the rest
/// dropped. The best chunk always keeps at least its first line, so a tight budget never
/// leaves a question without a source.
pub fn fit(hits: Vec<Hit>, budget: usize) -> Vec<Hit> {
    if budget == 0 {
        return hits;
    }
    let mut left = budget;
    let mut out: Vec<Hit> = Vec::new();
    for mut hit in hits {
        let len = hit.body.chars().count();
        if len <= left {
            left -= len;
            out.push(hit);
            continue;
        }
        let mut kept = Vec::new();
        let mut used = 0;
        for line in hit.body.lines() {
            let n = line.chars().count() + usize::from(!kept.is_empty());
            if used + n > left && !(out.is_empty() && kept.is_empty()) {
                break;
            }
            used += n;
            kept.push(line);
        }
        if !kept.is_empty() {
            hit.end_line = hit.start_line + kept.len() - 1;
            hit.body = kept.join("\n");
            out.push(hit);
        }
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(start: usize, body: &str) -> Hit {
        Hit {
            file: "/kb/a.md".into(),
            start_line: start,
            end_line: start + body.lines().count() - 1,
            heading: String::new(),
            body: body.into(),
            score: 1.0,
            stale: None,
        }
    }

    #[test]
    fn no_budget_keeps_everything() {
        let hits = vec![hit(1, "a\nb"), hit(10, "c")];
        assert_eq!(fit(hits.clone(), 0), hits);
    }

    #[test]
    fn a_chunk_that_does_not_fit_is_cut_at_a_line_end_with_its_range() {
        let hits = vec![hit(1, "12345"), hit(10, "abc\ndef\nghi"), hit(20, "x")];
        let out = fit(hits, 5 + 7);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].body, "abc\ndef");
        assert_eq!((out[1].start_line, out[1].end_line), (10, 11));
    }

    #[test]
    fn the_best_chunk_keeps_its_first_line_under_any_budget() {
        let out = fit(vec![hit(3, "a long first line\nsecond")], 4);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, "a long first line");
        assert_eq!(out[0].end_line, 3);
    }
}
