//! Counting tokens of records, exactly with a model's tokenizer (supplied by the caller, so
//! this layer stays free of engine code) or approximately without one.

use super::record::Example;
use super::similar::is_cjk;
use anyhow::Result;

/// Tokens a chat template adds around each message (ChatML: `<|im_start|>`, the role, a
/// newline, `<|im_end|>`, a newline).
pub const TEMPLATE_TOKENS_PER_MESSAGE: usize = 5;

/// Counts tokens for the length statistics.
pub trait TokenCounter {
    /// Tokens in `text`, without special tokens.
    fn count(&self, text: &str) -> Result<usize>;
    /// What counts, for the report, e.g. "tokenizer models/x/tokenizer.json".
    fn describe(&self) -> String;
    /// Whether the counts are exact rather than estimated.
    fn exact(&self) -> bool;
}

/// The estimate used without a tokenizer: one token per CJK character and one per four other
/// characters, close to BPE tokenizers on English prose and code, and on the safe side for
/// Chinese (Qwen2.5 needs about 0.7 tokens per Han character).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproxCounter;

impl TokenCounter for ApproxCounter {
    fn count(&self, text: &str) -> Result<usize> {
        let cjk = text.chars().filter(|&c| is_cjk(c)).count();
        let other = text.chars().count() - cjk;
        Ok(cjk + other.div_ceil(4))
    }

    fn describe(&self) -> String {
        "approximation: 1 token per CJK character, 1 per 4 other characters".into()
    }

    fn exact(&self) -> bool {
        false
    }
}

/// Tokens of a whole record as training sees it: every message plus the template's overhead.
pub fn record_tokens(e: &Example, counter: &dyn TokenCounter) -> Result<usize> {
    let messages = e.messages();
    let mut total = TEMPLATE_TOKENS_PER_MESSAGE * messages.len();
    for m in &messages {
        total += counter.count(&m.content)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approximation_counts_cjk_per_character_and_the_rest_per_four() {
        assert_eq!(ApproxCounter.count("").unwrap(), 0);
        assert_eq!(ApproxCounter.count("abcd").unwrap(), 1);
        assert_eq!(ApproxCounter.count("abcd 写代码").unwrap(), 2 + 3);
    }

    #[test]
    fn record_tokens_add_the_template_overhead_per_message() {
        let e = Example {
            system: Some("abcd".into()),
            history: vec![("abcd".into(), "abcd".into())],
            instruction: "abcd".into(),
            input: "efgh".into(), // prompt "abcd\nefgh": 9 characters, 3 tokens
            output: "abcd".into(),
            ..Example::default()
        };
        assert_eq!(
            record_tokens(&e, &ApproxCounter).unwrap(),
            5 * TEMPLATE_TOKENS_PER_MESSAGE + 1 + 1 + 1 + 3 + 1
        );
    }
}
