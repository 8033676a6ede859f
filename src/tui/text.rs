//! Width-aware text helpers: terminal cells, not bytes or chars, so Chinese text (two cells
//! per character) wraps and truncates where it is drawn.

use unicode_width::UnicodeWidthChar;

/// Cells `c` takes on screen; control characters take none.
pub fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Cells `s` takes on screen.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` cut to at most `max` cells, ending in `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        // Keep one cell for the ellipsis.
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `s` on one line: newlines and tabs become spaces, so a record's first line fits a list row.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

/// `s` padded with spaces to exactly `cells` cells (truncated first when longer).
pub fn pad(s: &str, cells: usize) -> String {
    let mut out = truncate(s, cells);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cells.saturating_sub(w)));
    out
}

/// Wraps `text` into lines of at most `max` cells. Latin text breaks at spaces; a CJK
/// character may break anywhere (Chinese has no spaces); a word longer than a line is cut.
/// Newlines in `text` always start a new line. Tabs become four spaces.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let para = para.replace('\t', "    ");
        let mut line = String::new();
        let mut line_w = 0;
        for piece in pieces(&para) {
            let w = width(piece);
            if line_w + w <= max {
                line.push_str(piece);
                line_w += w;
                continue;
            }
            // A space that does not fit ends the line and is dropped.
            if piece == " " {
                out.push(std::mem::take(&mut line));
                line_w = 0;
                continue;
            }
            // Break before the word, unless the line holds only indentation: then the word
            // is cut where it stands, keeping the indent (code reads better that way).
            if !line.trim().is_empty() {
                out.push(std::mem::take(&mut line).trim_end().to_string());
                line_w = 0;
            }
            for c in piece.chars() {
                let cw = char_width(c);
                if line_w + cw > max && line_w > 0 {
                    out.push(std::mem::take(&mut line));
                    line_w = 0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        out.push(line);
    }
    out
}

/// Splits a paragraph into break units: single spaces, single wide characters, and runs of
/// other characters (words).
fn pieces(para: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in para.char_indices() {
        let alone = c == ' ' || char_width(c) > 1;
        if alone {
            if let Some(s) = start.take() {
                out.push(&para[s..i]);
            }
            out.push(&para[i..i + c.len_utf8()]);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&para[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_cells() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("安全审查"), 8);
        assert_eq!(width("a\u{7}b"), 2);
    }

    #[test]
    fn truncate_never_splits_a_wide_character() {
        assert_eq!(truncate("hello world", 5), "hell…");
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("安全审查助手", 6), "安全…");
        assert_eq!(width(&truncate("安全审查助手", 5)), 5);
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn pad_fills_to_the_width() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("安全", 5), "安全 ");
        assert_eq!(width(&pad("安全审查", 5)), 5);
    }

    #[test]
    fn wrap_breaks_latin_at_spaces_and_cjk_anywhere() {
        assert_eq!(wrap("the quick brown fox", 10), ["the quick", "brown fox"]);
        assert_eq!(
            wrap("按公司话术回答退货问题", 8),
            ["按公司话", "术回答退", "货问题"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), ["a", "", "b"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("    indented_word", 10), ["    indent", "ed_word"]);
        for line in wrap(
            "SQL 注入 (CWE-89) 是最常见的漏洞之一，修复方法是参数化查询",
            11,
        ) {
            assert!(width(&line) <= 11, "{line}");
        }
    }

    #[test]
    fn one_line_flattens_newlines() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
