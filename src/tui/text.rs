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

/// Closing punctuation that must not begin a line (the basic line-start rule of Chinese and
/// Japanese typesetting, kinsoku): full-width commas, stops, colons, closing brackets and
/// quotes, and the ellipsis.
const NO_LINE_START: &str = "，。、；：？！）》」』】〉〕］｝”’…．";

/// `c` may not begin a line.
fn no_line_start(c: char) -> bool {
    NO_LINE_START.contains(c)
}

/// Wraps `text` into lines of at most `max` cells. Latin text breaks at spaces; a CJK
/// character may break anywhere (Chinese has no spaces), except that closing punctuation
/// never begins a line: the character before it moves down with it. A word longer than a
/// line is cut. Newlines in `text` always start a new line. Tabs become four spaces.
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
                    // Only a piece wider than a line gets here; punctuation it ends with
                    // still takes the character before it along when that fits.
                    let carried = if no_line_start(c) {
                        carry(&mut line, max.saturating_sub(cw))
                    } else {
                        String::new()
                    };
                    out.push(std::mem::replace(&mut line, carried));
                    line_w = width(&line);
                }
                line.push(c);
                line_w += cw;
            }
        }
        out.push(line);
    }
    out
}

/// Takes the end of `line` to begin the next one before closing punctuation: the last
/// character, and the ones before it while they are closing punctuation too. Takes nothing
/// when that would empty `line` or be wider than `room` cells.
fn carry(line: &mut String, room: usize) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut from = chars.len().saturating_sub(1);
    while from > 0 && no_line_start(chars[from]) {
        from -= 1;
    }
    let tail: String = chars[from..].iter().collect();
    if from == 0 || width(&tail) > room {
        return String::new();
    }
    line.truncate(line.len() - tail.len());
    tail
}

/// Splits a paragraph into break units: single spaces, single wide characters, and runs of
/// other characters (words). Closing punctuation joins the unit before it (unless that is a
/// space), so no line can start with it.
fn pieces(para: &str) -> Vec<&str> {
    // Byte ranges; the last one grows while a word or a punctuation run goes on.
    let mut out: Vec<(usize, usize)> = Vec::new();
    // The last range is a word still taking narrow characters.
    let mut in_word = false;
    for (i, c) in para.char_indices() {
        let end = i + c.len_utf8();
        let after_unit = out
            .last()
            .is_some_and(|&(s, e)| e == i && &para[s..e] != " ");
        if no_line_start(c) && after_unit {
            out.last_mut().expect("checked above").1 = end;
            // A wide mark ends the word; a narrow one (… ” ’) is part of it.
            in_word &= char_width(c) == 1;
        } else if c == ' ' || char_width(c) > 1 {
            out.push((i, end));
            in_word = false;
        } else if in_word {
            out.last_mut().expect("in a word").1 = end;
        } else {
            out.push((i, end));
            in_word = true;
        }
    }
    out.into_iter().map(|(s, e)| &para[s..e]).collect()
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

    /// Checks the line-start rule and the width on `text` wrapped at every width from 6 (room
    /// for a character, a closing quote and a full stop) to 60 cells; joining the lines must
    /// give back the text (spaces aside: a break drops the space it replaces).
    fn assert_kinsoku(text: &str) {
        let squeeze = |s: &str| s.replace(' ', "");
        for max in 6..=60 {
            let lines = wrap(text, max);
            for line in &lines {
                assert!(width(line) <= max, "{line:?} wider than {max}");
                let first = line.chars().next();
                assert!(
                    !first.is_some_and(no_line_start),
                    "{line:?} starts with closing punctuation at width {max}: {lines:?}"
                );
            }
            assert_eq!(squeeze(&lines.concat()), squeeze(text), "width {max}");
            if !text.contains(' ') {
                assert_eq!(lines.concat(), text, "width {max}");
            }
        }
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // The comma would begin the second line; "题" moves down with it.
        assert_eq!(
            wrap("按公司话术回答退货问题，语气礼貌。", 22),
            ["按公司话术回答退货问", "题，语气礼貌。"]
        );
        // A run of closing marks moves down with the character before it.
        assert_eq!(wrap("他说“好了”。然后", 10), ["他说“好", "了”。然后"]);
        // Real pane text: the loss verdict's advice, the next step, the Eval pane's help.
        use crate::eval::advice::NextStep;
        use crate::eval::curve::Health;
        use crate::experiment::Language;
        for health in [
            Health::NaN,
            Health::SuspiciouslyZero,
            Health::Diverging,
            Health::Overfitting,
            Health::RollerCoaster,
            Health::Plateau,
            Health::SmoothDescent,
        ] {
            assert_kinsoku(health.advice(Language::Zh));
        }
        assert_kinsoku(&format!(
            "已写出 runs/run-1/report.md 和 loss.png · 下一步：{}。",
            NextStep::FixData.title(Language::Zh)
        ));
        assert_kinsoku(
            "run-1 还没有测试。按 s 运行三维盲测：笔试（训练数据）、面试（封存的测试集，启封并\
             记录）和常识（日常问题），基础模型与基础模型+适配器分别作答。结果写入 \
             runs/run-1/eval.json。",
        );
        assert_kinsoku("他说：“数据要干净……”然后呢？（见《方法》】第二章』）");
    }

    #[test]
    fn a_word_cut_at_the_width_keeps_its_punctuation_with_a_letter() {
        // Wider than a line: cut, but the comma still takes a letter along.
        assert_eq!(wrap("abcdefgh，ij", 4), ["abcd", "efg", "h，", "ij"]);
        // Where nothing fits with it, the width wins.
        assert_eq!(wrap("安，", 3), ["安", "，"]);
    }

    #[test]
    fn one_line_flattens_newlines() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
