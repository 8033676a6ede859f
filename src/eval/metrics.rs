//! Scores of one answer against its reference: ROUGE-L F1, exact match, the `must_include`
//! keyword rubric, the goal's format regex, the repetition / runaway detector and perplexity.
//! Pure functions of text (and of log-probabilities the engine computed).

use crate::data::is_cjk;
use crate::data::normalise;
use anyhow::{anyhow, Result};
use std::collections::HashSet;

/// Width of the n-grams the repetition detector counts: long enough that ordinary prose
/// rarely repeats one, short enough to catch a loop of a few words.
pub const REPEAT_NGRAM: usize = 4;
/// Share of repeated n-grams at which an answer counts as looping.
pub const REPEAT_RATIO: f64 = 0.3;
/// Times one line may appear before the answer counts as looping.
pub const REPEAT_LINES: usize = 3;

/// Whether `text` contains a CJK character, so ROUGE-L should count characters, not words.
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(is_cjk)
}

/// The units ROUGE-L compares: normalised characters (spaces dropped) for CJK text, whose
/// words are not separated by spaces; normalised words otherwise. Case and punctuation never
/// count, so "Paris." matches "paris".
pub fn units(text: &str, cjk: bool) -> Vec<String> {
    let norm = normalise(text);
    if cjk {
        norm.chars()
            .filter(|c| !c.is_whitespace())
            .map(String::from)
            .collect()
    } else {
        norm.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    }
}

/// Length of the longest common subsequence, in O(len(a) · len(b)) time and O(len(b)) space.
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// ROUGE-L F1 of `candidate` against `reference`: characters when the reference contains CJK,
/// words otherwise (decided per pair, so a Chinese reference scores an English answer by
/// characters too). Two empty texts agree completely; one empty text scores 0.
pub fn rouge_l(candidate: &str, reference: &str) -> f64 {
    let cjk = has_cjk(reference);
    let (c, r) = (units(candidate, cjk), units(reference, cjk));
    if c.is_empty() && r.is_empty() {
        return 1.0;
    }
    let l = lcs_len(&c, &r) as f64;
    if l == 0.0 {
        return 0.0;
    }
    let (p, rec) = (l / c.len() as f64, l / r.len() as f64);
    2.0 * p * rec / (p + rec)
}

/// Whitespace runs collapsed, ends trimmed, lowercase: the form exact match compares.
fn squash(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The answer equals the reference up to whitespace and letter case.
pub fn exact_match(candidate: &str, reference: &str) -> bool {
    squash(candidate) == squash(reference)
}

/// Share of `keywords` found in `answer` as case-insensitive substrings (so `scatter` matches
/// "scattering"); `None` when there are no keywords to check.
pub fn keyword_score(answer: &str, keywords: &[String]) -> Option<f64> {
    if keywords.is_empty() {
        return None;
    }
    let lower = answer.to_lowercase();
    let found = keywords
        .iter()
        .filter(|k| lower.contains(&k.to_lowercase()))
        .count();
    Some(found as f64 / keywords.len() as f64)
}

/// The goal's output format as a compiled regex.
#[derive(Debug, Clone)]
pub struct FormatCheck {
    regex: regex::Regex,
}

impl FormatCheck {
    /// Compiles `pattern` (the goal's `output_format` when it starts with `^`).
    pub fn new(pattern: &str) -> Result<FormatCheck> {
        let regex = regex::Regex::new(pattern).map_err(|e| {
            anyhow!("the goal's output_format is not a valid regular expression: {e}")
        })?;
        Ok(FormatCheck { regex })
    }

    /// Whether the answer, without surrounding blank space, matches.
    pub fn check(&self, answer: &str) -> bool {
        self.regex.is_match(answer.trim())
    }

    /// The pattern, for the record.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }
}

/// Share of the `n`-grams of `units` that repeat an earlier one: 0 for varied text, near 1
/// for a loop. Fewer than `n` units have no n-grams and score 0.
pub fn repeated_ngram_ratio(units: &[String], n: usize) -> f64 {
    if n == 0 || units.len() < n {
        return 0.0;
    }
    let grams: Vec<&[String]> = units.windows(n).collect();
    let distinct: HashSet<&[String]> = grams.iter().copied().collect();
    1.0 - distinct.len() as f64 / grams.len() as f64
}

/// How often the most frequent non-blank line appears (0 for blank text).
pub fn max_line_repeats(text: &str) -> usize {
    let mut counts = std::collections::HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        *counts.entry(line).or_insert(0usize) += 1;
    }
    counts.into_values().max().unwrap_or(0)
}

/// The runaway detector's findings for one answer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Repetition {
    /// [`repeated_ngram_ratio`] over the answer's words (characters for CJK).
    pub ngram_ratio: f64,
    /// [`max_line_repeats`].
    pub line_repeats: usize,
    /// Generation hit max-new-tokens without closing its turn.
    pub hit_limit: bool,
}

impl Repetition {
    /// Measures `answer`; `hit_limit` says whether generation stopped at the token limit.
    pub fn of(answer: &str, hit_limit: bool) -> Repetition {
        let words = units(answer, has_cjk(answer));
        Repetition {
            ngram_ratio: repeated_ngram_ratio(&words, REPEAT_NGRAM),
            line_repeats: max_line_repeats(answer),
            hit_limit,
        }
    }

    /// The answer loops: many repeated n-grams or one line again and again.
    pub fn looping(&self) -> bool {
        self.ngram_ratio >= REPEAT_RATIO || self.line_repeats >= REPEAT_LINES
    }

    /// Endless output, the classic failure after LoRA: a loop, or no end of turn in sight.
    pub fn runaway(&self) -> bool {
        self.looping() || self.hit_limit
    }
}

/// Perplexity from the log-probabilities (natural log) of a reference's tokens:
/// `exp(-mean)`; `None` without tokens.
pub fn perplexity(logprobs: &[f32]) -> Option<f64> {
    if logprobs.is_empty() {
        return None;
    }
    let nll = -logprobs.iter().map(|&x| f64::from(x)).sum::<f64>();
    Some((nll / logprobs.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn rouge_l_by_hand_on_words() {
        // LCS of "the cat sat on the mat" / "the cat is on the mat" = the cat on the mat (5);
        // P = R = 5/6, so F1 = 5/6.
        assert!(close(
            rouge_l("The cat sat on the mat.", "the cat is on the mat"),
            5.0 / 6.0
        ));
        // Candidate 2 words, reference 4, LCS 2: P = 1, R = 0.5, F1 = 2/3.
        assert!(close(
            rouge_l("Paris, France", "It is Paris France"),
            2.0 / 3.0
        ));
        assert!(close(rouge_l("same words", "Same  words!"), 1.0));
        assert_eq!(rouge_l("", "something"), 0.0);
        assert_eq!(rouge_l("nothing shared", "at all"), 0.0);
        assert_eq!(rouge_l("", ""), 1.0);
    }

    #[test]
    fn rouge_l_by_hand_on_cjk_characters() {
        // Reference 番茄炒蛋很好吃 (7 characters), candidate 番茄炒鸡蛋好吃 (7): LCS 番茄炒蛋好吃
        // = 6, so P = R = F1 = 6/7. Word-level would see two unrelated one-word texts.
        assert!(close(
            rouge_l("番茄炒鸡蛋好吃", "番茄炒蛋很好吃"),
            6.0 / 7.0
        ));
        // Punctuation and spaces do not count: 首都是巴黎 (5) vs 法国的首都是巴黎 (8), LCS 5:
        // P = 1, R = 5/8, F1 = 2·(5/8)/(13/8) = 10/13.
        assert!(close(
            rouge_l("首都 是巴黎。", "法国的首都是巴黎"),
            10.0 / 13.0
        ));
        // A CJK reference decides character level for the pair, even for Latin letters.
        assert!(close(rouge_l("ab", "ab中"), 0.8));
    }

    #[test]
    fn exact_match_ignores_whitespace_and_case_only() {
        assert!(exact_match(
            "  The capital\nof France is  Paris. ",
            "the capital of france is paris."
        ));
        assert!(!exact_match("Paris", "Paris."));
    }

    #[test]
    fn keywords_are_case_insensitive_substrings() {
        let kw = vec!["egg".to_string(), "Tomato".to_string(), "wok".to_string()];
        let s = keyword_score("Scramble the EGGS, add tomatoes.", &kw).unwrap();
        assert!(close(s, 2.0 / 3.0));
        assert_eq!(keyword_score("anything", &[]), None);
        assert_eq!(keyword_score("煮鸡蛋", &["鸡蛋".to_string()]), Some(1.0));
    }

    #[test]
    fn format_check_uses_the_goal_regex_on_the_trimmed_answer() {
        let f = FormatCheck::new(crate::experiment::Goal::demo().output_regex().unwrap()).unwrap();
        let good =
            "Severity: High\nVulnerability: SQL injection (CWE-89)\nExplanation: x.\nFix: y.\n";
        assert!(f.check(good));
        assert!(!f.check("Severity: Severe\nVulnerability: a\nExplanation: b\nFix: c"));
        assert!(!f.check("Sure! Severity: High"));
        let e = FormatCheck::new("^(unclosed").unwrap_err().to_string();
        assert!(
            e.contains("output_format is not a valid regular expression"),
            "{e}"
        );
    }

    #[test]
    fn repetition_detector_by_hand() {
        let w = |s: &str| units(s, false);
        // 8 words, 5 four-grams, 2 distinct ("a b a b", "b a b a"): ratio 1 - 2/5 = 0.6.
        assert!(close(repeated_ngram_ratio(&w("a b a b a b a b"), 4), 0.6));
        assert_eq!(repeated_ngram_ratio(&w("one two three"), 4), 0.0);
        assert_eq!(
            repeated_ngram_ratio(&w("the quick brown fox jumps over"), 4),
            0.0
        );
        assert_eq!(max_line_repeats("Fix: x\n\nFix: x\n  Fix: x\nother"), 3);
        assert_eq!(max_line_repeats(" \n"), 0);
        let loop_ = Repetition::of("I am sure. I am sure. I am sure. I am sure.", false);
        assert!(loop_.looping() && loop_.runaway());
        let cut = Repetition::of("A perfectly varied answer that was cut", true);
        assert!(!cut.looping() && cut.runaway());
        assert!(!Repetition::of("Severity: High\nFix: none", false).runaway());
        // CJK loops are counted by characters.
        assert!(Repetition::of("好的好的好的好的好的好的", false).looping());
    }

    #[test]
    fn perplexity_by_hand() {
        // Two tokens, each with probability 1/4: perplexity 4.
        let lp = (0.25f32).ln();
        assert!((perplexity(&[lp, lp]).unwrap() - 4.0).abs() < 1e-5);
        assert_eq!(perplexity(&[]), None);
    }
}
