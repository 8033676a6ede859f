//! Chunking: a document becomes pieces of a few paragraphs, each with its line range and the
//! Markdown headings above it. Sections are never mixed in one chunk (a heading starts a new
//! one); a chunk repeats the short last paragraph of the one before it, so a sentence that
//! leans on the previous paragraph still finds it. Fenced code blocks stay whole unless they
//! alone exceed the size, then they are cut by lines.

/// About how many characters a chunk holds: three or four paragraphs, a few hundred tokens,
/// so that three chunks fit a small model's prompt beside the question.
pub const MAX_CHARS: usize = 900;
/// A previous chunk's last paragraph is repeated when it is at most this long.
pub const OVERLAP_CHARS: usize = 300;

/// One piece of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// First and last line, 1-based and inclusive.
    pub start_line: usize,
    pub end_line: usize,
    /// The Markdown headings above the chunk, outermost first, joined by " › ".
    pub heading: String,
    /// Exactly the lines `start_line..=end_line` of the file, joined by "\n".
    pub body: String,
}

/// A paragraph, heading or fenced block: 0-based inclusive lines, and its section.
struct Block {
    start: usize,
    end: usize,
    section: usize,
    heading_line: bool,
}

fn heading_level(line: &str) -> Option<(usize, &str)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    let rest = &line[hashes..];
    ((1..=6).contains(&hashes) && (rest.is_empty() || rest.starts_with(' ')))
        .then(|| (hashes, rest.trim()))
}

/// Splits lines into blocks; returns them and each section's heading path.
fn blocks(lines: &[&str], markdown: bool) -> (Vec<Block>, Vec<String>) {
    let mut out = Vec::new();
    let mut sections = vec![String::new()];
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        if markdown {
            if let Some((level, title)) = heading_level(lines[i]) {
                path.retain(|(l, _)| *l < level);
                path.push((level, title.to_string()));
                let names: Vec<&str> = path.iter().map(|(_, t)| t.as_str()).collect();
                sections.push(names.join(" › "));
                out.push(Block {
                    start: i,
                    end: i,
                    section: sections.len() - 1,
                    heading_line: true,
                });
                i += 1;
                continue;
            }
        }
        let start = i;
        let fence = markdown && lines[i].trim_start().starts_with("```");
        i += 1;
        if fence {
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                i += 1;
            }
            i = (i + 1).min(lines.len());
        } else {
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !(markdown && heading_level(lines[i]).is_some())
            {
                i += 1;
            }
        }
        out.push(Block {
            start,
            end: i - 1,
            section: sections.len() - 1,
            heading_line: false,
        });
    }
    (out, sections)
}

fn chars(lines: &[&str], start: usize, end: usize) -> usize {
    lines[start..=end].iter().map(|l| l.len() + 1).sum()
}

/// Chunks `text`; `markdown` turns on headings and code fences.
pub fn chunk(text: &str, markdown: bool) -> Vec<Chunk> {
    let lines: Vec<&str> = text.lines().collect();
    let (blocks, sections) = blocks(&lines, markdown);
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, section)
    let mut cur: Option<(usize, usize, usize)> = None;
    let mut last_block: Option<&Block> = None;
    for b in &blocks {
        let size = chars(&lines, b.start, b.end);
        if let Some((s, e, sec)) = cur {
            let same = sec == b.section;
            if same && chars(&lines, s, b.end) <= MAX_CHARS {
                cur = Some((s, b.end, sec));
                last_block = Some(b);
                continue;
            }
            ranges.push((s, e, sec));
            // The overlap: the previous paragraph again, if it is short and of this section.
            let carry = last_block.filter(|p| {
                same && !p.heading_line && chars(&lines, p.start, p.end) <= OVERLAP_CHARS
            });
            cur = match carry {
                Some(p) if chars(&lines, p.start, b.end) <= MAX_CHARS => {
                    Some((p.start, b.end, sec))
                }
                _ => None,
            };
            if cur.is_some() {
                last_block = Some(b);
                continue;
            }
        }
        if size <= MAX_CHARS {
            cur = Some((b.start, b.end, b.section));
        } else {
            // One block too big on its own: windows of lines, two lines of overlap.
            let mut s = b.start;
            loop {
                let mut e = s;
                while e < b.end && chars(&lines, s, e + 1) <= MAX_CHARS {
                    e += 1;
                }
                if e == b.end {
                    cur = Some((s, e, b.section));
                    break;
                }
                ranges.push((s, e, b.section));
                s = (e.saturating_sub(1)).max(s + 1);
            }
        }
        last_block = Some(b);
    }
    ranges.extend(cur);
    ranges
        .into_iter()
        .map(|(s, e, sec)| Chunk {
            start_line: s + 1,
            end_line: e + 1,
            heading: sections[sec].clone(),
            body: lines[s..=e].join("\n"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_start_chunks_and_line_ranges_are_exact() {
        let text = "# SQL injection\n\nIntro.\n\n## Fix\n\nUse parameters.\n";
        let c = chunk(text, true);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!((c[0].start_line, c[0].end_line), (1, 3));
        assert_eq!(c[0].heading, "SQL injection");
        assert_eq!((c[1].start_line, c[1].end_line), (5, 7));
        assert_eq!(c[1].heading, "SQL injection › Fix");
        let lines: Vec<&str> = text.lines().collect();
        for k in &c {
            assert_eq!(k.body, lines[k.start_line - 1..k.end_line].join("\n"));
        }
    }

    #[test]
    fn long_sections_split_with_the_last_short_paragraph_repeated() {
        let para = "word ".repeat(50); // 250 chars
        let text = (0..8)
            .map(|_| para.clone())
            .collect::<Vec<_>>()
            .join("\n\n");
        let c = chunk(&text, false);
        assert!(c.len() >= 3, "{}", c.len());
        for w in c.windows(2) {
            assert!(w[1].start_line <= w[0].end_line, "no overlap: {w:?}");
            assert!(w[1].end_line > w[0].end_line);
        }
        assert!(c.iter().all(|k| k.body.len() <= MAX_CHARS));
        assert_eq!(c.last().unwrap().end_line, text.lines().count());
    }

    #[test]
    fn a_huge_block_is_cut_by_lines_and_nothing_is_lost() {
        let text = (0..200)
            .map(|i| format!("let x{i} = {i};"))
            .collect::<Vec<_>>()
            .join("\n");
        let c = chunk(&text, false);
        assert!(c.len() > 1);
        assert_eq!(c[0].start_line, 1);
        assert_eq!(c.last().unwrap().end_line, 200);
        for w in c.windows(2) {
            assert!(w[1].start_line <= w[0].end_line + 1);
        }
    }
}
