//! The RAG card's knowledge base on the demo cards: retrieval quality on the committed
//! question set, citations that resolve, stale and missing files reported, the empty
//! knowledge base's message, and re-indexing that touches only changed files.

mod common;

use common::{expect_error, path_str, succeeded, tunedeck};
use std::path::{Path, PathBuf};
use tunedeck::rag::{self, KnowledgeBase};

fn demo_kb() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo-kb")
}

/// An experiment folder with the demo cards indexed.
fn indexed_demo() -> tempfile::TempDir {
    let exp = tempfile::tempdir().unwrap();
    let r = rag::index(exp.path(), &[demo_kb()]).unwrap();
    assert_eq!(r.added.len(), 16, "{r:?}");
    exp
}

#[test]
fn recall_at_3_on_the_committed_questions_is_at_least_0_9() {
    let exp = indexed_demo();
    let kb = KnowledgeBase::open(exp.path()).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rag/questions.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut found, mut total, mut chinese) = (0, 0, 0);
    let mut misses = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let q: serde_json::Value = serde_json::from_str(line).unwrap();
        let question = q["question"].as_str().unwrap();
        let source = q["source"].as_str().unwrap();
        assert!(demo_kb().join(source).is_file(), "{source}: no such card");
        let hits = kb.search(question, 3).unwrap();
        total += 1;
        chinese += question
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) as usize;
        if hits.iter().any(|h| h.file.ends_with(&format!("/{source}"))) {
            found += 1;
        } else {
            let got: Vec<String> = hits.iter().map(|h| h.location()).collect();
            misses.push(format!("{question} → {got:?} (expected {source})"));
        }
    }
    assert!(total >= 20 && chinese >= 10 && total - chinese >= 10);
    let recall = found as f64 / total as f64;
    eprintln!("recall@3 = {found}/{total} = {recall:.3}");
    assert!(
        recall >= 0.9,
        "recall@3 {recall:.3} < 0.9; misses:\n{}",
        misses.join("\n")
    );
}

#[test]
fn every_citation_resolves_to_the_cited_lines_of_a_real_file() {
    let exp = indexed_demo();
    let kb = KnowledgeBase::open(exp.path()).unwrap();
    for q in [
        "buffer overflow",
        "如何防止命令注入",
        "redirect",
        "CWE",
        "fix",
    ] {
        let hits = kb.search(q, 10).unwrap();
        assert!(!hits.is_empty(), "{q}");
        for h in hits {
            assert!(h.stale.is_none(), "{:?}", h.stale);
            let text = std::fs::read_to_string(&h.file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert!(1 <= h.start_line && h.start_line <= h.end_line && h.end_line <= lines.len());
            assert_eq!(h.body, lines[h.start_line - 1..h.end_line].join("\n"));
            let loc = h.location();
            assert!(
                loc.ends_with(&format!(":{}-{}", h.start_line, h.end_line)),
                "{loc}"
            );
        }
    }
}

#[test]
fn a_changed_or_missing_source_is_reported_at_query_time() {
    let docs = tempfile::tempdir().unwrap();
    for f in ["xss.md", "ssrf.md"] {
        std::fs::copy(demo_kb().join(f), docs.path().join(f)).unwrap();
    }
    let exp = tempfile::tempdir().unwrap();
    rag::index(exp.path(), &[docs.path().to_path_buf()]).unwrap();
    let xss = docs.path().join("xss.md");
    let edited = std::fs::read_to_string(&xss)
        .unwrap()
        .replace("innerHTML", "innerText");
    std::fs::write(&xss, edited).unwrap();
    std::fs::remove_file(docs.path().join("ssrf.md")).unwrap();
    let kb = KnowledgeBase::open(exp.path()).unwrap();
    let hits = kb.search("innerHTML", 1).unwrap();
    let why = hits[0]
        .stale
        .as_deref()
        .expect("the edited chunk is reported");
    assert!(
        why.contains("xss.md:") && why.contains("changed since"),
        "{why}"
    );
    assert!(why.contains("tunedeck rag index"), "{why}");
    let hits = kb.search("169.254.169.254 metadata", 1).unwrap();
    let why = hits[0]
        .stale
        .as_deref()
        .expect("the deleted file is reported");
    assert!(why.contains("ssrf.md") && why.contains("missing"), "{why}");
}

#[test]
fn an_empty_or_missing_knowledge_base_says_how_to_build_one() {
    let exp = tempfile::tempdir().unwrap();
    let e = KnowledgeBase::open(exp.path()).err().unwrap().to_string();
    assert!(
        e.contains("no knowledge base") && e.contains("tunedeck rag index"),
        "{e}"
    );
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(docs.path().join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    let r = rag::index(exp.path(), &[docs.path().to_path_buf()]).unwrap();
    assert_eq!((r.total_chunks, r.skipped.len()), (0, 1));
    let e = KnowledgeBase::open(exp.path()).err().unwrap().to_string();
    assert!(
        e.contains("knowledge base is empty") && e.contains("tunedeck rag index"),
        "{e}"
    );
}

#[test]
fn re_indexing_touches_only_changed_files() {
    let docs = tempfile::tempdir().unwrap();
    for f in ["xss.md", "ssrf.md", "xxe.md"] {
        std::fs::copy(demo_kb().join(f), docs.path().join(f)).unwrap();
    }
    let exp = tempfile::tempdir().unwrap();
    let dirs = [docs.path().to_path_buf()];
    let first = rag::index(exp.path(), &dirs).unwrap();
    assert_eq!(first.added.len(), 3);
    let again = rag::index(exp.path(), &dirs).unwrap();
    assert_eq!(
        (again.unchanged.len(), again.chunks_written),
        (3, 0),
        "{again:?}"
    );

    let xss = docs.path().join("xss.md");
    let mut text = std::fs::read_to_string(&xss).unwrap();
    text.push_str("\n## Note\n\nTrusted Types stop DOM XSS sinks.\n");
    std::fs::write(&xss, text).unwrap();
    std::fs::remove_file(docs.path().join("xxe.md")).unwrap();
    let third = rag::index(exp.path(), &dirs).unwrap();
    assert_eq!(third.updated.len(), 1, "{third:?}");
    assert!(third.updated[0].ends_with("xss.md"));
    assert_eq!(third.unchanged.len(), 1);
    assert!(third.removed.len() == 1 && third.removed[0].ends_with("xxe.md"));

    let kb = KnowledgeBase::open(exp.path()).unwrap();
    assert_eq!(kb.files(), 2);
    assert_eq!(kb.chunks() as usize, third.total_chunks);
    let hits = kb.search("Trusted Types", 1).unwrap();
    assert!(hits[0].file.ends_with("xss.md") && hits[0].stale.is_none());
    // The old xss chunks were replaced, not duplicated; xxe's are gone.
    let all = kb
        .search("XML external entity DocumentBuilderFactory", 20)
        .unwrap();
    assert!(all.iter().all(|h| !h.file.ends_with("xxe.md")));
}

#[test]
fn the_demo_brings_its_cards_and_the_cli_indexes_and_answers_with_file_and_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("demo");
    let e = path_str(&exp);
    expect_error(
        &["rag", "query", e, "xss"],
        &["no knowledge base", "tunedeck rag index"],
    );
    succeeded(&tunedeck(&["init", e, "--demo"]));
    let cards = std::fs::read_dir(exp.join("knowledge")).unwrap().count();
    assert_eq!(cards, 16);
    let knowledge = exp.join("knowledge");
    let out = tunedeck(&["rag", "index", e, path_str(&knowledge)]);
    succeeded(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("16 added, 0 updated, 0 unchanged, 0 removed"),
        "{said}"
    );
    let out = tunedeck(&["rag", "query", e, "反序列化不可信数据", "-k", "1"]);
    succeeded(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    let first = said.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("[1] ") && first.contains("deserialization.md:"),
        "{said}"
    );
    let again = tunedeck(&["rag", "index", e, path_str(&knowledge)]);
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        said.starts_with("0 added, 0 updated, 16 unchanged"),
        "{said}"
    );
}
