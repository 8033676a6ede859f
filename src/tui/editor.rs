//! A small text editor for the goal's fields and one-line prompts: a string and a cursor,
//! moved by characters (never inside a UTF-8 sequence) and by lines.

use super::text::{char_width, width};

/// Text being edited, with the cursor as a byte offset on a character boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextEditor {
    text: String,
    cursor: usize,
}

impl TextEditor {
    /// An editor on `text` with the cursor at its end.
    pub fn new(text: &str) -> TextEditor {
        TextEditor {
            text: text.to_string(),
            cursor: text.len(),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor's byte offset.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Inserts `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    /// One character left.
    pub fn left(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    /// One character right.
    pub fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    /// Start of the current line.
    pub fn home(&mut self) {
        self.cursor = self.line_start(self.cursor);
    }

    /// End of the current line.
    pub fn end(&mut self) {
        self.cursor = self.line_end(self.cursor);
    }

    /// The same column (in cells) of the previous line.
    pub fn up(&mut self) {
        let start = self.line_start(self.cursor);
        if start == 0 {
            self.cursor = 0;
            return;
        }
        let col = width(&self.text[start..self.cursor]);
        let prev = self.line_start(start - 1);
        self.cursor = self.at_column(prev, col);
    }

    /// The same column (in cells) of the next line.
    pub fn down(&mut self) {
        let end = self.line_end(self.cursor);
        if end == self.text.len() {
            self.cursor = end;
            return;
        }
        let col = width(&self.text[self.line_start(self.cursor)..self.cursor]);
        self.cursor = self.at_column(end + 1, col);
    }

    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i)
    }

    /// The offset `col` cells into the line starting at `start`, or its end.
    fn at_column(&self, start: usize, col: usize) -> usize {
        let mut used = 0;
        for (i, c) in self.text[start..].char_indices() {
            if c == '\n' || used >= col {
                return start + i;
            }
            used += char_width(c);
        }
        self.text.len()
    }
}

/// Wraps editor text hard at `max` cells (a cursor must land on exactly one cell, which word
/// wrapping would make ambiguous) and finds the cursor: `(lines, (row, column))`.
pub fn layout(text: &str, cursor: usize, max: usize) -> (Vec<String>, (usize, usize)) {
    let max = max.max(2);
    let mut lines = vec![String::new()];
    let mut col = 0;
    let mut at = (0, 0);
    for (i, c) in text.char_indices() {
        if i == cursor {
            at = (lines.len() - 1, col);
        }
        if c == '\n' {
            lines.push(String::new());
            col = 0;
            continue;
        }
        let w = char_width(c);
        if col + w > max {
            lines.push(String::new());
            col = 0;
            if i == cursor {
                at = (lines.len() - 1, 0);
            }
        }
        if let Some(line) = lines.last_mut() {
            line.push(c);
        }
        col += w;
    }
    if cursor >= text.len() {
        // The cursor after a full line sits at the start of the next one.
        if col >= max {
            lines.push(String::new());
            col = 0;
        }
        at = (lines.len() - 1, col);
    }
    (lines, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_and_deleting_respect_character_boundaries() {
        let mut e = TextEditor::new("安全");
        e.backspace();
        assert_eq!(e.text(), "安");
        e.left();
        e.insert('a');
        assert_eq!((e.text(), e.cursor()), ("a安", 1));
        e.delete();
        assert_eq!(e.text(), "a");
        e.right();
        e.right();
        assert_eq!(e.cursor(), 1);
        e.home();
        e.backspace();
        assert_eq!(e.text(), "a");
    }

    #[test]
    fn up_and_down_keep_the_column_in_cells() {
        let mut e = TextEditor::new("abcd\n安全审查\nxy");
        e.up();
        assert_eq!(&e.text()[..e.cursor()], "abcd\n安");
        e.up();
        assert_eq!(e.cursor(), 2);
        e.down();
        e.down();
        assert_eq!(e.cursor(), e.text().len());
        e.end();
        e.home();
        assert_eq!(&e.text()[e.cursor()..], "xy");
    }

    #[test]
    fn layout_wraps_and_places_the_cursor() {
        let (lines, at) = layout("abcdef", 6, 4);
        assert_eq!((lines, at), (vec!["abcd".into(), "ef".into()], (1, 2)));
        let (lines, at) = layout("安全审查", 6, 5);
        assert_eq!(lines, ["安全", "审查"]);
        assert_eq!(at, (1, 0));
        let (lines, at) = layout("abcd", 4, 4);
        assert_eq!((lines.len(), at), (2, (1, 0)));
        let (_, at) = layout("a\nb", 1, 4);
        assert_eq!(at, (0, 1));
    }
}
