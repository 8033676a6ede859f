//! Text similarity for the duplicate and leakage checks: normalisation, character shingles
//! and an exact similarity join that stays fast on thousands of records.
//!
//! The join is the "all-pairs" prefix filter (Bayardo et al., WWW 2007): order shingles
//! rarest first; two sets with Jaccard ≥ t must share a shingle within the first
//! `|x| - ⌈t·|x|⌉ + 1` of each. Indexing only those prefixes leaves few candidates, and every
//! candidate is verified, so unlike MinHash the result is exact and deterministic.

use std::collections::HashMap;

/// Jaccard similarity of prompt shingles at which two records count as near duplicates.
pub const NEAR_DUPLICATE: f64 = 0.8;

/// Shingle width in characters: short enough for one-line prompts and CJK text, long enough
/// that unrelated English prompts share few shingles.
const SHINGLE_CHARS: usize = 5;

/// Slack for float rounding in threshold arithmetic; it only ever admits more candidates.
const EPS: f64 = 1e-9;

/// Lowercase, punctuation and symbols removed, runs of whitespace turned into one space:
/// the form in which two texts count as "the same".
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            gap = true;
        }
    }
    out
}

/// Han, kana and Hangul: scripts written without spaces, where one character is roughly one
/// word and one token.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // CJK Extensions B–F, Compatibility Supplement
}

/// The words of a text, normalised; each CJK character is a word of its own.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in normalise(text).split(' ') {
        let mut current = String::new();
        for c in word.chars() {
            if is_cjk(c) {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                out.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// The distinct character shingles of an already normalised text, as sorted hashes.
/// A text shorter than one shingle is one shingle; an empty text has none.
pub(crate) fn shingles(normalised: &str) -> Vec<u64> {
    let starts: Vec<usize> = normalised.char_indices().map(|(i, _)| i).collect();
    let mut out: Vec<u64> = if starts.len() <= SHINGLE_CHARS {
        (!normalised.is_empty())
            .then(|| fnv1a(normalised.as_bytes()))
            .into_iter()
            .collect()
    } else {
        (0..=starts.len() - SHINGLE_CHARS)
            .map(|i| {
                let end = starts
                    .get(i + SHINGLE_CHARS)
                    .copied()
                    .unwrap_or(normalised.len());
                fnv1a(&normalised.as_bytes()[starts[i]..end])
            })
            .collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// FNV-1a: a fixed hash, so results never depend on the Rust version or a random seed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Jaccard similarity of two sorted, deduplicated sets.
pub(crate) fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

/// Shingles two sets of these sizes must share to reach Jaccard `t`:
/// `|x ∩ y| ≥ t / (1 + t) · (|x| + |y|)`.
fn required_overlap(x: usize, y: usize, t: f64) -> usize {
    (t / (1.0 + t) * (x + y) as f64 - EPS).ceil().max(1.0) as usize
}

/// How many of a set's first (rarest) shingles must be indexed and probed: `|x| - ⌈t·|x|⌉ + 1`.
fn prefix_len(size: usize, t: f64) -> usize {
    let needed = (t * size as f64 - EPS).ceil().max(1.0) as usize;
    (size + 1).saturating_sub(needed).min(size)
}

/// Marks a reference ruled out for the current query.
const PRUNED: u32 = u32::MAX;

/// For each query set, the most similar reference set with Jaccard ≥ `threshold` among those
/// `allowed(query, reference)` admits: `(reference index, similarity)`, ties going to the
/// lower index. Empty sets match nothing.
///
/// Besides the prefix filter this applies PPJoin's size and positional filters (Xiao et al.,
/// WWW 2008): a shared shingle at position `i` of one prefix and `j` of the other bounds the
/// overlap by what was shared before plus what is left after both positions.
pub(crate) fn best_matches(
    references: &[Vec<u64>],
    queries: &[Vec<u64>],
    threshold: f64,
    allowed: impl Fn(usize, usize) -> bool,
) -> Vec<Option<(usize, f64)>> {
    // Global order: rarest shingle first, so that prefixes hold the most selective ones.
    let mut frequency: HashMap<u64, u32> = HashMap::new();
    for &h in references.iter().chain(queries).flatten() {
        *frequency.entry(h).or_default() += 1;
    }
    let mut order: Vec<(u32, u64)> = frequency.into_iter().map(|(h, f)| (f, h)).collect();
    order.sort_unstable();
    let rank: HashMap<u64, u32> = order
        .iter()
        .enumerate()
        .map(|(i, &(_, h))| (h, i as u32))
        .collect();
    let ranked = |set: &[u64]| -> Vec<u32> {
        let mut ids: Vec<u32> = set.iter().filter_map(|h| rank.get(h).copied()).collect();
        ids.sort_unstable();
        ids
    };
    let refs: Vec<Vec<u32>> = references.iter().map(|s| ranked(s)).collect();
    let mut index: Vec<Vec<(usize, usize)>> = vec![Vec::new(); order.len()];
    for (r, set) in refs.iter().enumerate() {
        for (j, &id) in set[..prefix_len(set.len(), threshold)].iter().enumerate() {
            index[id as usize].push((r, j));
        }
    }
    // Per reference: shingles shared so far with the current query, or PRUNED.
    let mut overlap = vec![0u32; refs.len()];
    let mut touched: Vec<usize> = Vec::new();
    queries
        .iter()
        .enumerate()
        .map(|(q, set)| {
            let x = ranked(set);
            let (low, high) = (
                threshold * x.len() as f64 - EPS,
                x.len() as f64 / threshold + EPS,
            );
            for (i, &id) in x[..prefix_len(x.len(), threshold)].iter().enumerate() {
                for &(r, j) in &index[id as usize] {
                    let seen = overlap[r];
                    if seen == PRUNED {
                        continue;
                    }
                    if seen == 0 {
                        touched.push(r);
                    }
                    let y = refs[r].len();
                    let bound = seen as usize + 1 + (x.len() - i - 1).min(y - j - 1);
                    let fits = (y as f64) >= low && (y as f64) <= high;
                    overlap[r] = if fits
                        && bound >= required_overlap(x.len(), y, threshold)
                        && allowed(q, r)
                    {
                        seen + 1
                    } else {
                        PRUNED
                    };
                }
            }
            let mut best: Option<(usize, f64)> = None;
            for r in touched.drain(..) {
                if overlap[r] != PRUNED {
                    let s = jaccard(&x, &refs[r]);
                    let better = best.is_none_or(|(b, bs)| s > bs || (s == bs && r < b));
                    if s >= threshold - EPS && better {
                        best = Some((r, s));
                    }
                }
                overlap[r] = 0;
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Vec<u64> {
        shingles(&normalise(text))
    }

    /// The obvious quadratic join, to check the prefix filter against.
    fn brute(sets: &[Vec<u64>], t: f64) -> Vec<Option<(usize, f64)>> {
        (0..sets.len())
            .map(|q| {
                (0..q)
                    .filter(|&r| !sets[q].is_empty() && !sets[r].is_empty())
                    .map(|r| (r, jaccard(&sets[q], &sets[r])))
                    .filter(|&(_, s)| s >= t - EPS)
                    .fold(None, |best: Option<(usize, f64)>, (r, s)| match best {
                        Some((_, bs)) if bs >= s => best,
                        _ => Some((r, s)),
                    })
            })
            .collect()
    }

    #[test]
    fn normalise_drops_case_punctuation_and_extra_space() {
        assert_eq!(normalise("  Hello,   World!\n\tIt's  "), "hello world its");
        assert_eq!(normalise("你好，世界。"), "你好世界");
        assert_eq!(
            words("Write SQL 查询语句"),
            ["write", "sql", "查", "询", "语", "句"]
        );
    }

    #[test]
    fn shingles_of_short_and_empty_texts() {
        assert_eq!(shingles("").len(), 0);
        assert_eq!(shingles("abc").len(), 1);
        assert_eq!(shingles("abcdef").len(), 2);
        assert_eq!(
            jaccard(
                &set("Explain SQL injection."),
                &set("explain sql injection")
            ),
            1.0
        );
    }

    #[test]
    fn near_duplicates_are_found_and_unrelated_texts_are_not() {
        let sets: Vec<Vec<u64>> = [
            "Explain how SQL injection works in a login form written in PHP.",
            "How do I cook tomato and egg stir-fry?",
            "Explain how SQL injection works in a login form written in PHP!!",
            "Explain how SQL injection works in the login form written in PHP.",
            "Explain how cross-site scripting works in a comment form.",
        ]
        .iter()
        .map(|t| set(t))
        .collect();
        let found = best_matches(&sets, &sets, NEAR_DUPLICATE, |q, r| r < q);
        assert_eq!(found[2].map(|m| m.0), Some(0));
        assert_eq!(found[2].map(|m| m.1), Some(1.0));
        assert_eq!(found[3].map(|m| m.0), Some(0));
        assert!(found[3].unwrap().1 < 1.0);
        assert_eq!((found[0], found[1], found[4]), (None, None, None));
    }

    #[test]
    fn prefix_filter_agrees_with_brute_force() {
        // Pseudo-random prompts over a small vocabulary, so many pairs are close.
        let vocabulary = [
            "sql", "xss", "login", "form", "php", "java", "test", "write", "explain",
        ];
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let sets: Vec<Vec<u64>> = (0..300)
            .map(|_| {
                let n = 3 + next() % 6;
                let text: Vec<&str> = (0..n)
                    .map(|_| vocabulary[next() % vocabulary.len()])
                    .collect();
                set(&text.join(" "))
            })
            .collect();
        for t in [0.5, NEAR_DUPLICATE, 0.95] {
            assert_eq!(
                best_matches(&sets, &sets, t, |q, r| r < q),
                brute(&sets, t),
                "t = {t}"
            );
        }
    }

    #[test]
    fn five_thousand_templated_records_join_quickly() {
        // The hard case: prompts that differ only in numbers share most of their shingles.
        let sets: Vec<Vec<u64>> = (0..5000)
            .map(|i| {
                set(&format!(
                    "Review snippet {i} for injection flaws in module {}",
                    i * 7919 % 5003
                ))
            })
            .collect();
        let start = std::time::Instant::now();
        let found = best_matches(&sets, &sets, NEAR_DUPLICATE, |q, r| r < q);
        // Generous for an unoptimised debug build on a busy machine; release takes far less.
        assert!(
            start.elapsed().as_secs_f64() < 10.0,
            "{:?}",
            start.elapsed()
        );
        assert_eq!(found.len(), 5000);
    }
}
