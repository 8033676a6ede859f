//! Reading dataset files: JSON arrays and JSON Lines of Alpaca or ShareGPT records, directly
//! or through a LLaMA-Factory `dataset_info.json` entry (see [`super::dataset_info`]).
//!
//! Problems with the whole file (unreadable, not UTF-8, empty, broken JSON array, unknown
//! format) are errors. Problems with single records are collected as [`Rejected`] so that
//! `data check` can list all of them at once; [`load`] turns the first into an error.

use super::dataset_info;
use super::record::{Location, Record};
use super::schema::{describe, unknown_layout, Schema, SchemaKind};
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// How records are laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One JSON array of records.
    JsonArray,
    /// One JSON object per line (`.jsonl`).
    JsonLines,
}

/// A file's layout and record schema, e.g. "Alpaca, JSON Lines".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Format {
    /// Array or lines.
    pub layout: Layout,
    /// Alpaca or ShareGPT.
    pub schema: SchemaKind,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = match self.layout {
            Layout::JsonArray => "JSON array",
            Layout::JsonLines => "JSON Lines",
        };
        write!(f, "{}, {layout}", self.schema)
    }
}

/// The records of one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// What the user named: a file, or `dataset_info.json#name`.
    pub source: String,
    /// The file the records came from; [`Location`]s refer to it.
    pub file: PathBuf,
    /// Layout and schema of that file.
    pub format: Format,
    /// The records that loaded, in file order.
    pub records: Vec<Record>,
}

impl Dataset {
    /// The records' content, in file order.
    pub fn examples(&self) -> impl Iterator<Item = &super::Example> {
        self.records.iter().map(|r| &r.example)
    }

    /// `file:line` (or `file:line: record N`) for a record, to start a message with.
    pub fn at(&self, at: &Location) -> String {
        at.prefix(&self.file.display().to_string())
    }
}

/// A record that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// Where it is.
    pub at: Location,
    /// What is wrong and what to do.
    pub message: String,
}

/// A dataset and the records that were left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The records that loaded.
    pub dataset: Dataset,
    /// The records that did not, in file order.
    pub rejected: Vec<Rejected>,
}

/// Loads a dataset; any bad record is an error naming its file and line.
///
/// `path` is a `.json`/`.jsonl` file, a `dataset_info.json` (optionally `...#name`), or a
/// folder holding one (`folder#name`). An entry name may be left out when there is only one.
pub fn load(path: &Path) -> Result<Dataset> {
    strict(load_lenient(path)?)
}

/// The dataset when no record was rejected, else an error naming the first bad one.
pub(crate) fn strict(loaded: Loaded) -> Result<Dataset> {
    match loaded.rejected.first() {
        None => Ok(loaded.dataset),
        Some(first) => {
            let more = match loaded.rejected.len() - 1 {
                0 => String::new(),
                n => format!(
                    " ({n} more bad record{}: run `tunedeck data check {}` to list them)",
                    plural(n),
                    loaded.dataset.source
                ),
            };
            Err(anyhow!(
                "{}: {}{more}",
                loaded.dataset.at(&first.at),
                first.message
            ))
        }
    }
}

/// Loads a dataset, keeping the records that read and listing the ones that did not.
/// Whole-file problems (unreadable, not UTF-8, empty, unknown format) are still errors.
pub fn load_lenient(path: &Path) -> Result<Loaded> {
    let (file, schema, source) = resolve(path)?;
    let text = read_text(&file)?;
    parse(&text, &file, schema, source)
}

/// Parses a file's bytes already in memory (read once, e.g. to verify a checksum first).
pub(crate) fn load_bytes(bytes: Vec<u8>, file: &Path) -> Result<Loaded> {
    let text = decode(bytes, &file.display().to_string())?;
    parse(&text, file, None, file.display().to_string())
}

/// `s` after a count: "" for one, "s" otherwise.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Reads a UTF-8 text file; other encodings are an error naming the first bad byte.
pub(crate) fn read_text(file: &Path) -> Result<String> {
    let bytes =
        std::fs::read(file).with_context(|| format!("{}: cannot read the file", file.display()))?;
    decode(bytes, &file.display().to_string())
}

fn decode(mut bytes: Vec<u8>, name: &str) -> Result<String> {
    // Windows editors like to start UTF-8 files with a byte-order mark; JSON parsers do not.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line_start = bytes[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        // Everything before `offset` is valid UTF-8, so the column can count characters.
        let column = String::from_utf8_lossy(&bytes[line_start..offset])
            .chars()
            .count()
            + 1;
        anyhow!(
            "{name}:{line}:{column}: not UTF-8: byte 0x{:02x} at byte offset {offset}: save the \
             file as UTF-8 (for GBK text: `iconv -f GBK -t UTF-8 {name}`)",
            bytes[offset]
        )
    })
}

/// Parses dataset text already read from `file`.
fn parse(text: &str, file: &Path, fixed: Option<Schema>, source: String) -> Result<Loaded> {
    let name = file.display().to_string();
    let layout = match text.trim_start().chars().next() {
        None => bail!(
            "{name} is empty: add records, one JSON object per line (JSON Lines) or a JSON array"
        ),
        Some('[') => Layout::JsonArray,
        Some('{') => Layout::JsonLines,
        Some(c) => {
            let line = text[..text.len() - text.trim_start().len()]
                .matches('\n')
                .count()
                + 1;
            bail!(
                "{name}:{line}: unknown format: the file starts with `{c}`; expected a JSON \
                 array (`[`) or JSON Lines (one `{{...}}` object per line): convert it to JSON \
                 Lines"
            )
        }
    };
    let mut rejected = Vec::new();
    let objects = match layout {
        Layout::JsonArray => array_objects(text, &name, &mut rejected)?,
        Layout::JsonLines => line_objects(text, &name, &mut rejected)?,
    };
    if objects.is_empty() {
        match rejected.first() {
            Some(first) => bail!(
                "{}: {} (no record in the file could be read)",
                first.at.prefix(&name),
                first.message
            ),
            None => bail!("{name} is empty: add records, one JSON object per line"),
        }
    }
    let detected = fixed.is_none();
    let schema = match fixed {
        Some(schema) => schema,
        None => match objects.iter().find_map(|(_, o)| Schema::detect(o)) {
            Some(schema) => schema,
            None => {
                let (at, first) = &objects[0];
                bail!("{}: {}", at.prefix(&name), unknown_layout(first))
            }
        },
    };
    let mut records = Vec::with_capacity(objects.len());
    for (at, object) in objects {
        // Without a dataset_info.json entry, a record of the other layout (or of none) is
        // reported as such, not as a missing field.
        let result = match detected.then(|| Schema::detect(&object)) {
            None => schema.to_example(&object),
            Some(None) => Err(unknown_layout(&object)),
            Some(Some(own)) if own.kind() != schema.kind() => Err(format!(
                "this is a {} record but the file is {}: write every record in one format",
                own.kind(),
                schema.kind()
            )),
            Some(Some(own)) => own.to_example(&object),
        };
        match result {
            Ok(example) => records.push(Record { at, example }),
            Err(message) => rejected.push(Rejected { at, message }),
        }
    }
    rejected.sort_by_key(|r| r.at.line);
    let format = Format {
        layout,
        schema: schema.kind(),
    };
    let dataset = Dataset {
        source,
        file: file.to_path_buf(),
        format,
        records,
    };
    Ok(Loaded { dataset, rejected })
}

/// The objects of a JSON array with where each starts; non-objects are rejected.
fn array_objects(
    text: &str,
    name: &str,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<(Location, Map<String, Value>)>> {
    let items: Vec<Value> = serde_json::from_str(text).map_err(|e| {
        anyhow!(
            "{name}:{}:{}: not valid JSON: {}: fix the syntax (a missing comma, quote or \
             bracket is the usual cause)",
            e.line(),
            e.column(),
            json_message(&e)
        )
    })?;
    if items.is_empty() {
        bail!("{name} is an empty list: add records");
    }
    let lines = element_lines(text);
    let mut objects = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = Location {
            line: lines.get(i).copied().unwrap_or(1),
            record: Some(i + 1),
        };
        match item {
            Value::Object(o) => objects.push((at, o)),
            other => rejected.push(Rejected {
                at,
                message: format!("the record is {}, expected a JSON object", describe(&other)),
            }),
        }
    }
    Ok(objects)
}

/// The objects of a JSON Lines text; bad lines are rejected, blank lines skipped.
fn line_objects(
    text: &str,
    name: &str,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<(Location, Map<String, Value>)>> {
    let mut objects = Vec::new();
    let mut first = true;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let at = Location {
            line: i + 1,
            record: None,
        };
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => objects.push((at, o)),
            Ok(other) => rejected.push(Rejected {
                at,
                message: format!("the line is {}, expected a JSON object", describe(&other)),
            }),
            Err(e) => {
                if first && e.classify() == serde_json::error::Category::Eof {
                    multi_line_hint(text, name)?;
                }
                rejected.push(Rejected {
                    at,
                    message: format!(
                        "column {}: not valid JSON: {}: each line of a JSON Lines file must \
                         be one complete JSON object",
                        e.column(),
                        json_message(&e)
                    ),
                });
            }
        }
        first = false;
    }
    Ok(objects)
}

/// A file whose first line is an unfinished object may hold pretty-printed objects: say so
/// (and whether it is a `dataset_info.json`) instead of blaming line 1.
fn multi_line_hint(text: &str, name: &str) -> Result<()> {
    let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect();
    let Ok(values) = values else {
        return Ok(());
    };
    let objects: Vec<&Map<String, Value>> = values.iter().filter_map(Value::as_object).collect();
    if objects.len() != values.len() {
        return Ok(());
    }
    match objects.as_slice() {
        [o] if !o.is_empty() && o.values().all(is_info_entry) => {
            let names: Vec<&str> = o.keys().map(String::as_str).collect();
            bail!(
                "{name} looks like a LLaMA-Factory dataset_info.json: load one entry as \
                 {name}#NAME (entries: {})",
                names.join(", ")
            )
        }
        [_] => bail!(
            "{name} holds one JSON object, not a list of records: put the records in a JSON \
             array `[...]` or write one object per line (JSON Lines)"
        ),
        [_, _, ..] => bail!(
            "{name} holds {} JSON objects spread over several lines: JSON Lines needs one \
             object per line; rewrite it that way (e.g. `jq -c . {name}`)",
            objects.len()
        ),
        [] => Ok(()),
    }
}

fn is_info_entry(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|e| e.contains_key("file_name") || e.contains_key("formatting"))
}

/// serde_json's message without its " at line X column Y" tail (we print our own).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&tail).unwrap_or(&text).to_string()
}

/// The 1-based line on which each top-level element of a valid JSON array starts.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth) = (1, 0usize);
    let (mut in_string, mut escaped, mut expect_element) = (false, false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                '\n' => line += 1,
                _ => {}
            }
            continue;
        }
        if c == '\n' {
            line += 1;
        }
        if c.is_whitespace() {
            continue;
        }
        if expect_element && c != ']' {
            lines.push(line);
            expect_element = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                expect_element = depth == 1;
            }
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                expect_element = false;
            }
            ',' if depth == 1 => expect_element = true,
            _ => {}
        }
    }
    lines
}

/// Turns what the user named into (data file, fixed schema if any, source label).
fn resolve(path: &Path) -> Result<(PathBuf, Option<Schema>, String)> {
    let (base, name) = if path.exists() {
        (path.to_path_buf(), None)
    } else {
        match path.to_str().and_then(|s| s.rsplit_once('#')) {
            Some((base, name)) if Path::new(base).exists() => (PathBuf::from(base), Some(name)),
            _ => bail!("{}: no such file or folder: check the path", path.display()),
        }
    };
    let info = if base.is_dir() {
        let info = base.join("dataset_info.json");
        if !info.is_file() {
            bail!(
                "{} is a folder without dataset_info.json: pass a .json or .jsonl file",
                base.display()
            );
        }
        info
    } else if name.is_some() || base.file_name().is_some_and(|n| n == "dataset_info.json") {
        base
    } else {
        return Ok((base, None, path.display().to_string()));
    };
    let (file, schema, name) = dataset_info::entry(&info, name)?;
    Ok((file, Some(schema), format!("{}#{name}", info.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn parse_str(text: &str) -> Result<Loaded> {
        parse(text, Path::new("d.jsonl"), None, "d.jsonl".into())
    }

    fn error(text: &str) -> String {
        format!("{:#}", parse_str(text).unwrap_err())
    }

    #[test]
    fn jsonl_and_array_give_the_same_examples_with_their_locations() {
        let jsonl = "{\"instruction\":\"a\",\"output\":\"1\"}\n\n{\"instruction\":\"b\",\"output\":\"2\"}\n";
        let array = "[\n  {\"instruction\":\"a\",\"output\":\"1\"},\n\n  {\"instruction\":\"b\",\n   \"output\":\"2\"}\n]";
        let l = parse_str(jsonl).unwrap().dataset;
        let a = parse_str(array).unwrap().dataset;
        assert_eq!(l.format.to_string(), "Alpaca, JSON Lines");
        assert_eq!(a.format.to_string(), "Alpaca, JSON array");
        assert_eq!(
            l.examples().collect::<Vec<_>>(),
            a.examples().collect::<Vec<_>>()
        );
        assert_eq!(l.records[1].at.to_string(), "line 3");
        assert_eq!(a.records[1].at.to_string(), "record 2 (line 4)");
    }

    #[test]
    fn element_lines_skip_strings_and_nesting() {
        let text = "[{\"a\": \"[x, {y}\\\" ,\"}, \n {\"b\": [1,\n2]},\n\"s\"]";
        assert_eq!(element_lines(text), [1, 2, 4]);
        assert_eq!(element_lines("[]"), Vec::<usize>::new());
    }

    #[test]
    fn bad_lines_are_rejected_and_the_rest_kept() {
        let text = "{\"instruction\":\"a\",\"output\":\"1\"}\n{\"instruction\":\"b\",\n{\"instruction\":\"c\",\"output\":3}\n";
        let loaded = parse_str(text).unwrap();
        assert_eq!(loaded.dataset.records.len(), 1);
        let messages: Vec<String> = loaded
            .rejected
            .iter()
            .map(|r| format!("{}: {}", r.at, r.message))
            .collect();
        assert!(
            messages[0].starts_with("line 2: column 19: not valid JSON: EOF while parsing"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("line 3: `output` is a number (3)"),
            "{messages:?}"
        );
    }

    #[test]
    fn whole_file_problems_are_errors() {
        assert!(error("  \n").starts_with("d.jsonl is empty"));
        assert!(error("[]").starts_with("d.jsonl is an empty list"));
        let e = error("[{\"instruction\": \"a\",}]");
        assert!(
            e.starts_with("d.jsonl:1:22: not valid JSON: trailing comma"),
            "{e}"
        );
        let e = error("\ninstruction,output\n");
        assert!(
            e.starts_with("d.jsonl:2: unknown format: the file starts with `i`"),
            "{e}"
        );
        let e = error("{\"q\": 1}\n");
        assert!(
            e.starts_with("d.jsonl:1: unknown record format (keys `q`)"),
            "{e}"
        );
        let e = error("{\n \"instruction\": \"a\", \"output\": \"b\"\n}\n");
        assert!(
            e.contains("holds one JSON object, not a list of records"),
            "{e}"
        );
        let e = error("{\n \"instruction\": \"a\"\n}\n{\n \"instruction\": \"b\"\n}\n");
        assert!(
            e.contains("holds 2 JSON objects spread over several lines"),
            "{e}"
        );
        let e = error("{\n \"qa\": {\"file_name\": \"qa.json\"}\n}\n");
        assert!(e.contains("looks like a LLaMA-Factory dataset_info.json: load one entry as d.jsonl#NAME (entries: qa)"), "{e}");
    }

    #[test]
    fn non_utf8_names_line_column_and_offset() {
        let e = decode(b"ab\ncd\xff".to_vec(), "f.jsonl")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f.jsonl:2:3: not UTF-8: byte 0xff at byte offset 5"),
            "{e}"
        );
        assert_eq!(decode(b"\xEF\xBB\xBF{}".to_vec(), "f").unwrap(), "{}");
    }

    #[test]
    fn mixed_layouts_are_named() {
        let text = "{\"instruction\":\"a\",\"output\":\"1\"}\n{\"conversations\":[]}\n";
        let loaded = parse_str(text).unwrap();
        assert!(loaded.rejected[0]
            .message
            .starts_with("this is a ShareGPT record but the file is Alpaca"));
    }

    #[test]
    fn strict_load_names_the_first_bad_record_and_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        fs::write(&path, "{\"instruction\":\"a\"}\n{\"instruction\":\"b\"}\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:1: no `output` field", path.display())),
            "{e}"
        );
        assert!(
            e.contains("(1 more bad record: run `tunedeck data check"),
            "{e}"
        );
    }
}
