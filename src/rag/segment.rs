//! The knowledge base's tokenizer: Chinese is segmented into words by jieba (search mode, so
//! a long compound also yields its parts), English words are lower-cased and stemmed, and
//! common function words of both languages are dropped. Indexing and querying use the same
//! analyzer, so "注入" in a question meets "SQL 注入" in a card.

use jieba_rs::{Jieba, TokenizeMode};
use std::sync::{Arc, OnceLock};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};

/// The name the index's text fields register their analyzer under.
pub const ANALYZER: &str = "zh_en";

/// Words too common to tell two chunks apart, in both languages of the demo cards.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "by",
    "can",
    "do",
    "does",
    "for",
    "from",
    "how",
    "i",
    "in",
    "is",
    "it",
    "its",
    "of",
    "on",
    "or",
    "should",
    "that",
    "the",
    "this",
    "to",
    "what",
    "when",
    "which",
    "why",
    "with",
    "的",
    "了",
    "是",
    "什么",
    "如何",
    "怎么",
    "怎样",
    "吗",
    "呢",
    "在",
    "和",
    "与",
    "及",
    "一个",
    "这",
    "那",
    "中",
    "为什么",
    "哪个",
    "哪些",
    "有",
    "我",
    "应该",
    "用",
];

/// The one jieba dictionary of the process: loading it takes a noticeable fraction of a
/// second, and every analyzer shares it.
fn jieba() -> Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA.get_or_init(|| Arc::new(Jieba::new())).clone()
}

/// Splits text into jieba's words, keeping only those with a letter or digit in them.
#[derive(Clone)]
pub struct JiebaTokenizer {
    jieba: Arc<Jieba>,
}

impl Default for JiebaTokenizer {
    fn default() -> Self {
        JiebaTokenizer { jieba: jieba() }
    }
}

/// Tokens computed up front: jieba segments a whole text at once.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = self
            .jieba
            .tokenize(text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .enumerate()
            .map(|(position, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position,
                text: t.word.to_string(),
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

/// jieba, then lower case, stop words, English stemming; tokens over 40 bytes (hashes, base64)
/// are dropped.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| w.to_string()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The analyzer's terms for `text`, in order (the query side and the tests use it).
pub fn terms(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::terms;

    #[test]
    fn chinese_is_segmented_into_words_not_characters() {
        let t = terms("如何防止SQL注入攻击");
        assert!(t.contains(&"注入".to_string()), "{t:?}");
        assert!(t.contains(&"sql".to_string()), "{t:?}");
        assert!(!t.contains(&"注".to_string()), "{t:?}");
        assert!(!t.contains(&"如何".to_string()), "stop word kept: {t:?}");
    }

    #[test]
    fn english_is_lower_cased_and_stemmed() {
        assert_eq!(terms("Injections of the Queries"), ["inject", "queri"]);
    }
}
