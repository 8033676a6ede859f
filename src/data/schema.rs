//! How the keys of one JSON record map onto an [`Example`]: Alpaca columns or ShareGPT
//! messages, either detected from the keys or described by a `dataset_info.json` entry.

use super::record::Example;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// The two record layouts LLaMA-Factory reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaKind {
    /// `instruction` / `input` / `output` (+ `system`, `history`).
    Alpaca,
    /// A list of role-tagged messages (`conversations` or `messages`).
    ShareGpt,
}

impl fmt::Display for SchemaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchemaKind::Alpaca => "Alpaca",
            SchemaKind::ShareGpt => "ShareGPT",
        })
    }
}

/// Column names of an Alpaca-style record (LLaMA-Factory's `columns`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlpacaColumns {
    pub prompt: String,
    pub query: String,
    pub response: String,
    pub system: Option<String>,
    pub history: Option<String>,
}

/// Where the messages are and how their roles are spelled (LLaMA-Factory's `columns` + `tags`).
/// Each tag is a list so that auto-detection can accept both ShareGPT and OpenAI spellings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShareGptColumns {
    pub messages: String,
    pub system: Option<String>,
    pub role_tag: Vec<String>,
    pub content_tag: Vec<String>,
    pub user_tag: Vec<String>,
    pub assistant_tag: Vec<String>,
    pub system_tag: Vec<String>,
}

/// A record layout with its column names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Schema {
    Alpaca(AlpacaColumns),
    ShareGpt(ShareGptColumns),
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl AlpacaColumns {
    /// The plain Alpaca keys, `system` and `history` included (the design's optional fields).
    pub fn plain() -> Self {
        AlpacaColumns {
            prompt: "instruction".into(),
            query: "input".into(),
            response: "output".into(),
            system: Some("system".into()),
            history: Some("history".into()),
        }
    }
}

impl ShareGptColumns {
    /// LLaMA-Factory's defaults: `conversations` with `from`/`value` and human/gpt/system.
    pub fn llama_factory() -> Self {
        ShareGptColumns {
            messages: "conversations".into(),
            system: None,
            role_tag: strings(&["from"]),
            content_tag: strings(&["value"]),
            user_tag: strings(&["human"]),
            assistant_tag: strings(&["gpt"]),
            system_tag: strings(&["system"]),
        }
    }

    /// OpenAI's spelling: `messages` with `role`/`content` and user/assistant/system.
    pub fn openai() -> Self {
        ShareGptColumns {
            messages: "messages".into(),
            system: None,
            role_tag: strings(&["role"]),
            content_tag: strings(&["content"]),
            user_tag: strings(&["user"]),
            assistant_tag: strings(&["assistant"]),
            system_tag: strings(&["system"]),
        }
    }

    /// For a file without `dataset_info.json`: either spelling, in either list key.
    fn detected(messages: &str) -> Self {
        ShareGptColumns {
            messages: messages.into(),
            system: Some("system".into()),
            role_tag: strings(&["from", "role"]),
            content_tag: strings(&["value", "content"]),
            user_tag: strings(&["human", "user"]),
            assistant_tag: strings(&["gpt", "assistant"]),
            system_tag: strings(&["system"]),
        }
    }
}

impl Schema {
    /// The layout a record's keys suggest, or `None` when they match neither.
    pub fn detect(record: &Map<String, Value>) -> Option<Schema> {
        for key in ["conversations", "messages"] {
            if record.contains_key(key) {
                return Some(Schema::ShareGpt(ShareGptColumns::detected(key)));
            }
        }
        ["instruction", "input", "output"]
            .iter()
            .any(|k| record.contains_key(*k))
            .then(|| Schema::Alpaca(AlpacaColumns::plain()))
    }

    /// Which of the two layouts.
    pub fn kind(&self) -> SchemaKind {
        match self {
            Schema::Alpaca(_) => SchemaKind::Alpaca,
            Schema::ShareGpt(_) => SchemaKind::ShareGpt,
        }
    }

    /// Converts one record; the error says what is wrong and what to do, without location
    /// (the caller knows the file and line).
    pub fn to_example(&self, record: &Map<String, Value>) -> Result<Example, String> {
        match self {
            Schema::Alpaca(c) => alpaca(c, record),
            Schema::ShareGpt(c) => sharegpt(c, record),
        }
    }
}

/// The message for a record whose keys match no layout.
pub(crate) fn unknown_layout(record: &Map<String, Value>) -> String {
    let keys: Vec<String> = record.keys().map(|k| format!("`{k}`")).collect();
    let keys = if keys.is_empty() {
        "no keys".to_string()
    } else {
        format!("keys {}", keys.join(", "))
    };
    format!(
        "unknown record format ({keys}): expected Alpaca (`instruction`, `input`, `output`) \
         or ShareGPT (`conversations` or `messages`); rename the keys or describe them in a \
         dataset_info.json entry"
    )
}

fn alpaca(c: &AlpacaColumns, record: &Map<String, Value>) -> Result<Example, String> {
    let used: Vec<&str> = [Some(&c.prompt), Some(&c.query), Some(&c.response)]
        .into_iter()
        .chain([c.system.as_ref(), c.history.as_ref()])
        .flatten()
        .map(String::as_str)
        .collect();
    Ok(Example {
        instruction: required_str(record, &c.prompt)?,
        input: optional_str(record, &c.query)?.unwrap_or_default(),
        output: required_str(record, &c.response)?,
        system: match &c.system {
            Some(key) => optional_str(record, key)?,
            None => None,
        },
        history: match &c.history {
            Some(key) => history(record, key)?,
            None => Vec::new(),
        },
        extra: extra(record, &used),
    })
}

fn sharegpt(c: &ShareGptColumns, record: &Map<String, Value>) -> Result<Example, String> {
    let key = &c.messages;
    let list = match record.get(key) {
        None => {
            return Err(format!(
                "no `{key}` field: a ShareGPT record needs its messages"
            ))
        }
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(format!(
                "`{key}` is {}, expected a list of messages",
                describe(other)
            ))
        }
    };
    let mut turns = Vec::with_capacity(list.len());
    for (i, message) in list.iter().enumerate() {
        turns.push(turn(c, key, i + 1, message)?);
    }
    let mut rest = turns.as_slice();
    let mut system = None;
    if let Some((Turn::System, text)) = rest.first() {
        system = Some(text.clone());
        rest = &rest[1..];
    } else if let Some(column) = &c.system {
        system = optional_str(record, column)?;
    }
    let offset = turns.len() - rest.len();
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    let mut numbered = rest.iter().zip(offset + 1..);
    while let Some(((role, question), n)) = numbered.next() {
        if *role != Turn::User {
            return Err(out_of_turn(key, n, *role));
        }
        match numbered.next() {
            Some(((Turn::Assistant, answer), _)) => pairs.push((question.clone(), answer.clone())),
            Some(((role, _), n)) => return Err(out_of_turn(key, n, *role)),
            None => {
                return Err(format!(
                    "`{key}` ends with a user message (message {n}): add the assistant's \
                     answer, the part the model learns"
                ))
            }
        }
    }
    let (instruction, output) = pairs
        .pop()
        .ok_or_else(|| format!("`{key}` has no user/assistant messages: add at least one pair"))?;
    let used: Vec<&str> = std::iter::once(key)
        .chain(c.system.as_ref())
        .map(String::as_str)
        .collect();
    Ok(Example {
        system,
        history: pairs,
        instruction,
        input: String::new(),
        output,
        extra: extra(record, &used),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Turn {
    System,
    User,
    Assistant,
}

fn out_of_turn(key: &str, n: usize, role: Turn) -> String {
    let role = match role {
        Turn::System => "a system message",
        Turn::User => "a user message",
        Turn::Assistant => "an assistant message",
    };
    format!(
        "`{key}` message {n} is {role} out of turn: after an optional first system message, \
         messages must alternate user, assistant"
    )
}

/// Reads message `n` (1-based) of the list `key`.
fn turn(
    c: &ShareGptColumns,
    key: &str,
    n: usize,
    message: &Value,
) -> Result<(Turn, String), String> {
    let Value::Object(m) = message else {
        return Err(format!(
            "`{key}` message {n} is {}, expected an object with a role and a content",
            describe(message)
        ));
    };
    let field = |tags: &[String], what: &str| -> Result<String, String> {
        match tags.iter().find_map(|t| m.get(t).map(|v| (t, v))) {
            Some((_, Value::String(s))) => Ok(s.clone()),
            Some((t, v)) => Err(format!(
                "`{key}` message {n}: `{t}` is {}, expected a string",
                describe(v)
            )),
            None => Err(format!(
                "`{key}` message {n} has no {what} (`{}`)",
                tags.join("` or `")
            )),
        }
    };
    let role = field(&c.role_tag, "role")?;
    let content = field(&c.content_tag, "content")?;
    let turn = if c.user_tag.contains(&role) {
        Turn::User
    } else if c.assistant_tag.contains(&role) {
        Turn::Assistant
    } else if c.system_tag.contains(&role) {
        Turn::System
    } else {
        let known: Vec<&str> = [&c.user_tag, &c.assistant_tag, &c.system_tag]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        return Err(format!(
            "`{key}` message {n} has role `{role}`: tunedeck knows {} (tool calls are not \
             supported)",
            known.join(", ")
        ));
    };
    Ok((turn, content))
}

fn required_str(record: &Map<String, Value>, key: &str) -> Result<String, String> {
    optional_str(record, key)?.ok_or_else(|| {
        format!("no `{key}` field: add it (an empty string is allowed only for `input`)")
    })
}

/// A string field; absent or `null` is `None`, any other type is an error.
fn optional_str(record: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "`{key}` is {}, expected a string: write it in double quotes",
            describe(other)
        )),
    }
}

/// Alpaca `history`: a list of `[question, answer]` string pairs.
fn history(record: &Map<String, Value>, key: &str) -> Result<Vec<(String, String)>, String> {
    let items = match record.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "`{key}` is {}, expected a list of [question, answer] pairs",
                describe(other)
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_array().map(Vec::as_slice) {
            Some([Value::String(q), Value::String(a)]) => Ok((q.clone(), a.clone())),
            _ => Err(format!(
                "`{key}` item {} is {}, expected a [question, answer] pair of strings",
                i + 1,
                describe(item)
            )),
        })
        .collect()
}

fn extra(record: &Map<String, Value>, used: &[&str]) -> Map<String, Value> {
    record
        .iter()
        .filter(|(k, _)| !used.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// "a number (42)", "a list", ...: the type a user wrote, with a short excerpt.
pub(crate) fn describe(value: &Value) -> String {
    let excerpt = |v: &Value| {
        let text = v.to_string();
        match text.char_indices().nth(40) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    };
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(_) => format!("a string ({})", excerpt(value)),
        Value::Array(_) => format!("a list ({})", excerpt(value)),
        Value::Object(_) => format!("an object ({})", excerpt(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn convert(v: Value) -> Result<Example, String> {
        let record = obj(v);
        Schema::detect(&record).unwrap().to_example(&record)
    }

    #[test]
    fn alpaca_with_system_history_and_extras() {
        let e = convert(json!({
            "instruction": "Review", "input": "code", "output": "ok", "system": "s",
            "history": [["q", "a"]], "category": "sql"
        }))
        .unwrap();
        assert_eq!(e.prompt(), "Review\ncode");
        assert_eq!(e.system.as_deref(), Some("s"));
        assert_eq!(e.history, [("q".to_string(), "a".to_string())]);
        assert_eq!(e.extra_str("category"), Some("sql"));
        assert_eq!(e.extra.len(), 1);
    }

    #[test]
    fn alpaca_errors_name_the_field_and_the_type() {
        let e = convert(json!({"instruction": "x", "output": 42})).unwrap_err();
        assert!(
            e.starts_with("`output` is a number (42), expected a string"),
            "{e}"
        );
        let e = convert(json!({"instruction": "x"})).unwrap_err();
        assert!(e.starts_with("no `output` field"), "{e}");
        let e =
            convert(json!({"instruction": "x", "output": "y", "history": [["q"]]})).unwrap_err();
        assert!(e.contains("`history` item 1"), "{e}");
    }

    #[test]
    fn sharegpt_conversations_become_history_and_last_turn() {
        let e = convert(json!({"conversations": [
            {"from": "system", "value": "s"},
            {"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"},
            {"from": "human", "value": "q2"}, {"from": "gpt", "value": "a2"},
        ], "id": 7}))
        .unwrap();
        assert_eq!(e.system.as_deref(), Some("s"));
        assert_eq!(e.history, [("q1".to_string(), "a1".to_string())]);
        assert_eq!((e.instruction.as_str(), e.output.as_str()), ("q2", "a2"));
        assert_eq!(e.extra.get("id"), Some(&json!(7)));
    }

    #[test]
    fn openai_messages_are_read_too() {
        let e = convert(json!({"messages": [
            {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}
        ], "system": "s"}))
        .unwrap();
        assert_eq!((e.instruction.as_str(), e.output.as_str()), ("q", "a"));
        assert_eq!(e.system.as_deref(), Some("s"));
    }

    #[test]
    fn sharegpt_turn_order_is_checked() {
        let e = convert(json!({"conversations": [
            {"from": "human", "value": "q"}, {"from": "human", "value": "q"}
        ]}))
        .unwrap_err();
        assert!(e.contains("message 2 is a user message out of turn"), "{e}");
        let e = convert(json!({"conversations": [{"from": "human", "value": "q"}]})).unwrap_err();
        assert!(e.contains("ends with a user message"), "{e}");
        let e = convert(json!({"conversations": [{"from": "bot", "value": "q"}]})).unwrap_err();
        assert!(e.contains("role `bot`"), "{e}");
        let e = convert(json!({"conversations": []})).unwrap_err();
        assert!(e.contains("no user/assistant messages"), "{e}");
    }

    #[test]
    fn unknown_keys_are_not_a_layout() {
        let record = obj(json!({"question": "q", "answer": "a"}));
        assert!(Schema::detect(&record).is_none());
        assert!(unknown_layout(&record).contains("`answer`, `question`"));
    }
}
