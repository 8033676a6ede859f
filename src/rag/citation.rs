//! The prompt that puts retrieved chunks before a question, and the numbered citations
//! `[n]` of an answer resolved to `file:start-end`.
//!
//! The prompt format is fixed (README, "The RAG card"):
//!
//! ```text
//! Use the numbered sources below to answer. Cite a source you use by its number, like [1].
//!
//! [1] FILE:START-END (HEADING)
//! CHUNK TEXT
//!
//! [2] ...
//!
//! Question: QUESTION
//! ```

use super::retrieve::Hit;

/// The instruction line above the sources.
pub const PREAMBLE: &str =
    "Use the numbered sources below to answer. Cite a source you use by its number, like [1].";

/// The user turn for `question` with `hits` as its numbered sources; the question alone when
/// nothing was retrieved.
pub fn prompt(question: &str, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return question.to_string();
    }
    let mut out = format!("{PREAMBLE}\n\n");
    for (i, h) in hits.iter().enumerate() {
        out.push_str(&format!("[{}] {}", i + 1, h.location()));
        if !h.heading.is_empty() {
            out.push_str(&format!(" ({})", h.heading));
        }
        out.push_str(&format!("\n{}\n\n", h.body));
    }
    out.push_str(&format!("Question: {question}"));
    out
}

/// The source numbers `[n]` that `answer` cites, in order of first use, each within
/// `1..=sources`.
pub fn cited(answer: &str, sources: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        if let Ok(n) = rest[..close].trim().parse::<usize>() {
            if (1..=sources).contains(&n) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// One line per source: `[n] file:start-end  heading`, marked `*` when the answer cites it
/// and followed by a warning when the chunk is stale.
pub fn source_lines(hits: &[Hit], answer: &str) -> Vec<String> {
    let used = cited(answer, hits.len());
    let mut out = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        let mark = if used.contains(&(i + 1)) { "*" } else { " " };
        out.push(format!("{mark}[{}] {}  {}", i + 1, h.location(), h.heading));
        if let Some(why) = &h.stale {
            out.push(format!("     warning: {why}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(n: usize) -> Hit {
        Hit {
            file: format!("/kb/card{n}.md"),
            start_line: n,
            end_line: n + 4,
            heading: format!("Card {n}"),
            body: format!("text {n}"),
            score: 1.0,
            stale: None,
        }
    }

    #[test]
    fn the_prompt_numbers_sources_before_the_question() {
        let p = prompt("Why?", &[hit(1), hit(2)]);
        assert!(p.starts_with(PREAMBLE));
        assert!(p.contains("[1] /kb/card1.md:1-5 (Card 1)\ntext 1\n\n[2] /kb/card2.md:2-6"));
        assert!(p.ends_with("\n\nQuestion: Why?"));
        assert_eq!(prompt("Why?", &[]), "Why?");
    }

    #[test]
    fn citations_out_of_range_or_not_numbers_are_ignored() {
        assert_eq!(cited("see [2], [1] and [2]; [7] [x] [ 1 ]", 3), [2, 1]);
        let lines = source_lines(&[hit(1), hit(2)], "as [2] says");
        assert!(lines[0].starts_with(" [1] /kb/card1.md:1-5"));
        assert!(lines[1].starts_with("*[2] /kb/card2.md:2-6"));
    }
}
