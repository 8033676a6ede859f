//! Reading and writing the small TOML files a user edits by hand (presets, `experiment.toml`).
//!
//! Both file kinds need a parse error that names the file, the line and what to do; saving
//! goes through the crate's one atomic writer.

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads `path` and deserializes it, with errors like
/// `presets/x.toml:3: unknown field `learnin_rate`, expected one of ...: fix the key`.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the file", path.display()))?;
    parse_toml(&text, &path.display().to_string())
}

/// Deserializes `text`; `origin` (a file name or "built-in preset x") starts every error.
pub fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        // Count bytes, not chars: a span is a byte offset, and byte slicing cannot panic.
        let line = e.span().map(|s| {
            let before = &text.as_bytes()[..s.start.min(text.len())];
            before.iter().filter(|b| **b == b'\n').count() + 1
        });
        let at = match line {
            Some(n) => format!("{origin}:{n}"),
            None => origin.to_string(),
        };
        anyhow::anyhow!("{at}: {}", explain(e.message()))
    })
}

/// Serializes `value` and writes it to `path` atomically (see [`crate::atomic::write`]).
pub fn write_toml_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = toml::to_string(value)
        .with_context(|| format!("{}: cannot serialize the value to TOML", path.display()))?;
    crate::atomic::write(path, text.as_bytes())
}

/// Turns serde/toml's message into one line that ends with what to do about it.
fn explain(message: &str) -> String {
    let message = message.trim().replace('\n', " ");
    if message.starts_with("unknown field") {
        match did_you_mean(&message) {
            Some(k) => format!("{message}: fix the key (did you mean `{k}`?)"),
            None => format!("{message}: fix the key"),
        }
    } else if message.starts_with("unknown variant") {
        format!("{message}: use one of the listed values")
    } else if message.starts_with("invalid") {
        format!("{message}: fix the value")
    } else {
        format!("{message}: fix the TOML syntax")
    }
}

/// For "unknown field `a`, expected one of `b`, `c`": the expected name closest to `a`, if
/// it is close enough to be a typo.
fn did_you_mean(message: &str) -> Option<String> {
    let mut quoted = message.split('`').skip(1).step_by(2);
    let wrong = quoted.next()?;
    closest(wrong, quoted)
}

/// The candidate within a typo's distance of `wrong` (a third of its length, at least 2).
pub(crate) fn closest<'a>(
    wrong: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let limit = (wrong.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(wrong, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("learnin_rate", "learning_rate"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("seed", "seed"), 0);
    }

    #[test]
    fn unknown_field_suggests_the_close_key() {
        let m = explain("unknown field `learnin_rate`, expected one of `model`, `learning_rate`");
        assert!(
            m.ends_with("fix the key (did you mean `learning_rate`?)"),
            "{m}"
        );
        let m = explain("unknown field `zzz`, expected one of `model`, `learning_rate`");
        assert!(m.ends_with("fix the key"), "{m}");
    }
}
