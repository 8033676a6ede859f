//! One training record in normalised form, whatever file format it came from.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// One record: an optional system prompt, earlier turns, and the turn the model learns.
///
/// Alpaca's fields map one to one; a ShareGPT conversation puts its last user/assistant pair
/// in `instruction`/`output` and the earlier pairs in `history`. Serialising an `Example`
/// gives an Alpaca object, so every format round-trips through Alpaca JSONL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Example {
    /// System prompt, when the record sets one.
    pub system: Option<String>,
    /// Earlier (user, assistant) turns, oldest first.
    pub history: Vec<(String, String)>,
    /// The task; with `input` it forms the prompt (see [`Example::prompt`]).
    pub instruction: String,
    /// Extra context for the task; empty when the record has none.
    pub input: String,
    /// The answer the model should learn.
    pub output: String,
    /// Fields tunedeck does not interpret (`category`, `must_include`, ...), kept as written.
    pub extra: Map<String, Value>,
}

/// The Alpaca keys an [`Example`] writes; an `extra` field with one of these names is not
/// written, because the normalised value must win.
pub const ALPACA_KEYS: [&str; 5] = ["instruction", "input", "output", "system", "history"];

impl Example {
    /// The user's turn: `instruction`, plus `"\n" + input` when `input` is not empty
    /// (LLaMA-Factory's rule, so prompts match what its users trained on).
    pub fn prompt(&self) -> String {
        if self.input.is_empty() {
            self.instruction.clone()
        } else {
            format!("{}\n{}", self.instruction, self.input)
        }
    }

    /// The whole conversation as messages: system (if any), history, prompt, output.
    pub fn messages(&self) -> Vec<Message> {
        let mut out = Vec::with_capacity(2 * self.history.len() + 3);
        if let Some(system) = &self.system {
            out.push(Message::new(Role::System, system));
        }
        for (q, a) in &self.history {
            out.push(Message::new(Role::User, q));
            out.push(Message::new(Role::Assistant, a));
        }
        out.push(Message::new(Role::User, &self.prompt()));
        out.push(Message::new(Role::Assistant, &self.output));
        out
    }

    /// The value of an uninterpreted field, e.g. `extra_str("category")`, when it is a string.
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }
}

/// Writes the Alpaca form: `instruction`, `input`, `output`, then `system` and `history` when
/// set, then the extra fields (sorted by key, so output is deterministic).
impl Serialize for Example {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("instruction", &self.instruction)?;
        map.serialize_entry("input", &self.input)?;
        map.serialize_entry("output", &self.output)?;
        if let Some(system) = &self.system {
            map.serialize_entry("system", system)?;
        }
        if !self.history.is_empty() {
            map.serialize_entry("history", &self.history)?;
        }
        for (key, value) in &self.extra {
            if !ALPACA_KEYS.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// Who speaks a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The human side.
    User,
    /// The model side; its turns are what training teaches.
    Assistant,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A message from `role` saying `content`.
    pub fn new(role: Role, content: &str) -> Self {
        Message {
            role,
            content: content.to_string(),
        }
    }
}

/// Where a record sits in its file, for messages that send the user to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// 1-based line where the record starts.
    pub line: usize,
    /// 1-based position in a JSON array; `None` in JSON Lines, where the line says it all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<usize>,
}

impl Location {
    /// `file:line` (plus `: record N` in a JSON array), the start of an error message that
    /// editors and terminals can jump to.
    pub fn prefix(&self, file: &str) -> String {
        match self.record {
            Some(n) => format!("{file}:{}: record {n}", self.line),
            None => format!("{file}:{}", self.line),
        }
    }
}

/// `line 14`, or `record 3 (line 14)` in a JSON array.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(n) => write!(f, "record {n} (line {})", self.line),
            None => write!(f, "line {}", self.line),
        }
    }
}

/// A loaded record and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Position in the source file.
    pub at: Location,
    /// The normalised content.
    pub example: Example,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(instruction: &str, input: &str) -> Example {
        Example {
            instruction: instruction.into(),
            input: input.into(),
            output: "out".into(),
            ..Example::default()
        }
    }

    #[test]
    fn prompt_joins_instruction_and_input_with_a_newline() {
        assert_eq!(example("Translate", "").prompt(), "Translate");
        assert_eq!(
            example("Translate", "bonjour").prompt(),
            "Translate\nbonjour"
        );
    }

    #[test]
    fn messages_put_history_between_system_and_the_last_turn() {
        let mut e = example("q2", "");
        e.system = Some("sys".into());
        e.history = vec![("q1".into(), "a1".into())];
        let roles: Vec<Role> = e.messages().iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::System,
                Role::User,
                Role::Assistant,
                Role::User,
                Role::Assistant
            ]
        );
        assert_eq!(e.messages()[3].content, "q2");
    }

    #[test]
    fn serialises_as_alpaca_with_extras_after_and_normalised_fields_winning() {
        let mut e = example("i", "");
        e.extra.insert("category".into(), "sql".into());
        e.extra.insert("output".into(), "stale".into());
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"instruction":"i","input":"","output":"out","category":"sql"}"#
        );
    }

    #[test]
    fn location_prefix_is_editor_friendly() {
        let jsonl = Location {
            line: 4,
            record: None,
        };
        let array = Location {
            line: 9,
            record: Some(3),
        };
        assert_eq!(jsonl.prefix("a.jsonl"), "a.jsonl:4");
        assert_eq!(array.prefix("a.json"), "a.json:9: record 3");
        assert_eq!(array.to_string(), "record 3 (line 9)");
    }
}
