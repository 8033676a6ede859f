//! How much of the knowledge base goes before a question: the `[rag]` table of
//! `experiment.toml`. A small model loses the thread when the sources are long (the demo's
//! 135M model loops on ~900 tokens of context), so both the number of chunks and the total
//! length are the user's to set.

use serde::{Deserialize, Serialize};

/// Chunks put before a question by default: three fit the demo model's context beside a
/// code snippet.
pub const TOP_K: usize = 3;

/// The `[rag]` table of `experiment.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Chunks retrieved for each question, best first.
    pub top_k: usize,
    /// The most characters of chunk text put before a question, all chunks together; 0 = no
    /// limit. A chunk that does not fit whole is cut at a line end, and its citation's line
    /// range shrinks with it, so `[n]` still resolves to exactly the lines shown.
    pub max_context_chars: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            top_k: TOP_K,
            max_context_chars: 0,
        }
    }
}

impl Settings {
    /// The demo's: the best chunk, at most 600 characters (about 150 tokens). The 135M model
    /// loses the thread on long prompts; measured on the demo (README, "The RAG card"), this
    /// keeps the adapter's answers in format and loops fewer of them than three whole chunks.
    pub const DEMO: Settings = Settings {
        top_k: 1,
        max_context_chars: 600,
    };

    pub fn is_default(&self) -> bool {
        *self == Settings::default()
    }

    /// One line for the terminal: `top 3 chunks, at most 1200 characters`.
    pub fn describe(&self) -> String {
        match self.max_context_chars {
            0 => format!("top {} chunks", self.top_k),
            n => format!("top {} chunks, at most {n} characters", self.top_k),
        }
    }
}
