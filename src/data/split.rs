//! Splitting a dataset into train / validation / test, deterministically from a seed, and
//! the leakage check between the parts.

use super::record::{Example, Record};
use super::similar::{best_matches, normalise, shingles, NEAR_DUPLICATE};
use crate::rng::SplitMix64;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Relative sizes of train, validation and test, e.g. `8:1:1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ratio {
    /// Weight of the training part (> 0).
    pub train: u32,
    /// Weight of the validation part.
    pub val: u32,
    /// Weight of the sealed test part.
    pub test: u32,
}

impl Default for Ratio {
    /// The method's 8:1:1.
    fn default() -> Self {
        Ratio {
            train: 8,
            val: 1,
            test: 1,
        }
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.train, self.val, self.test)
    }
}

impl FromStr for Ratio {
    type Err = anyhow::Error;

    /// Three whole numbers `train:val:test`; train must be above zero.
    fn from_str(s: &str) -> Result<Self> {
        let usage = "expected three whole numbers train:val:test, like 8:1:1";
        let parts: Vec<&str> = s.split(':').collect();
        let [train, val, test] = parts.as_slice() else {
            bail!("ratio `{s}`: {usage}");
        };
        let number = |part: &str| -> Result<u32> {
            // `u32::from_str` accepts a leading `+`; digits only keeps the syntax strict.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                bail!("ratio `{s}`: `{part}` is not a whole number; {usage}");
            }
            part.parse()
                .map_err(|_| anyhow::anyhow!("ratio `{s}`: `{part}` is too large; {usage}"))
        };
        let ratio = Ratio {
            train: number(train)?,
            val: number(val)?,
            test: number(test)?,
        };
        if ratio.train == 0 {
            bail!("ratio `{s}`: the training part must be above zero; {usage}");
        }
        Ok(ratio)
    }
}

impl TryFrom<String> for Ratio {
    type Error = anyhow::Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Ratio> for String {
    fn from(r: Ratio) -> String {
        r.to_string()
    }
}

impl Ratio {
    /// Records per part for `n` records: largest-remainder rounding, then every part with a
    /// non-zero weight gets at least one record when `n` allows it (taken from the largest).
    pub fn counts(&self, n: usize) -> [usize; 3] {
        let weights = [self.train, self.val, self.test].map(u64::from);
        let total: u64 = weights.iter().sum();
        if total == 0 {
            // Only a hand-built `Ratio` can get here; parsing rejects 0:0:0.
            return [n, 0, 0];
        }
        let n64 = n as u64;
        let mut counts = weights.map(|w| (n64 * w / total) as usize);
        let mut by_remainder = [0, 1, 2];
        // Larger remainder first; ties go to the earlier part (train, then val).
        by_remainder.sort_by_key(|&i| std::cmp::Reverse(n64 * weights[i] % total));
        let assigned: usize = counts.iter().sum();
        for &i in by_remainder.iter().take(n - assigned) {
            counts[i] += 1;
        }
        let parts = weights.iter().filter(|&&w| w > 0).count();
        if n >= parts {
            for i in 0..3 {
                if weights[i] > 0 && counts[i] == 0 {
                    let largest = (0..3).max_by_key(|&j| (counts[j], std::cmp::Reverse(j)));
                    if let Some(j) = largest {
                        counts[j] -= 1;
                        counts[i] += 1;
                    }
                }
            }
        }
        counts
    }
}

/// A dataset cut into three parts; each part keeps the source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training records.
    pub train: Vec<Record>,
    /// Validation records (loss during training).
    pub val: Vec<Record>,
    /// Sealed test records (graduation exam).
    pub test: Vec<Record>,
}

/// Shuffles `records` with a generator seeded from `seed` (Fisher–Yates), cuts the shuffled
/// order at [`Ratio::counts`], and restores source order inside each part. The same records,
/// ratio and seed always give the same split, on every platform.
pub fn split(records: &[Record], ratio: Ratio, seed: u64) -> Split {
    let mut order: Vec<usize> = (0..records.len()).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let [train, val, _] = ratio.counts(records.len());
    let part = |indices: &[usize]| {
        let mut indices = indices.to_vec();
        indices.sort_unstable();
        indices.iter().map(|&i| records[i].clone()).collect()
    };
    Split {
        train: part(&order[..train]),
        val: part(&order[train..train + val]),
        test: part(&order[train + val..]),
    }
}

/// A test record whose prompt repeats a training record's: the exam would reward memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leak {
    /// Index into the test records.
    pub test: usize,
    /// Index into the training records.
    pub train: usize,
    /// Jaccard similarity of the prompts' shingles.
    pub similarity: f64,
    /// The prompts are equal after normalisation.
    pub exact: bool,
}

/// Test records whose prompt is the same as, or a near duplicate of (Jaccard ≥ 0.8), a
/// training record's prompt; each test record is reported once, against its closest match.
pub fn leakage(train: &[Example], test: &[Example]) -> Vec<Leak> {
    let prompts = |examples: &[Example]| -> Vec<String> {
        examples.iter().map(|e| normalise(&e.prompt())).collect()
    };
    let (train_prompts, test_prompts) = (prompts(train), prompts(test));
    let sets =
        |prompts: &[String]| -> Vec<Vec<u64>> { prompts.iter().map(|p| shingles(p)).collect() };
    best_matches(
        &sets(&train_prompts),
        &sets(&test_prompts),
        NEAR_DUPLICATE,
        |_, _| true,
    )
    .into_iter()
    .enumerate()
    .filter_map(|(t, m)| {
        m.map(|(r, similarity)| Leak {
            test: t,
            train: r,
            similarity,
            exact: test_prompts[t] == train_prompts[r],
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::record::Location;

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                at: Location {
                    line: i + 1,
                    record: None,
                },
                example: Example {
                    instruction: format!("question number {i}"),
                    output: format!("answer {i}"),
                    ..Example::default()
                },
            })
            .collect()
    }

    fn lines(part: &[Record]) -> Vec<usize> {
        part.iter().map(|r| r.at.line).collect()
    }

    #[test]
    fn ratio_parses_strictly() {
        assert_eq!("8:1:1".parse::<Ratio>().unwrap(), Ratio::default());
        assert_eq!("10:0:2".parse::<Ratio>().unwrap().to_string(), "10:0:2");
        for bad in [
            "8:1",
            "8:1:1:1",
            "0.8:0.1:0.1",
            "8:-1:1",
            "+8:1:1",
            "8::1",
            "0:1:1",
            " 8:1:1",
            "99999999999:1:1",
        ] {
            let e = bad.parse::<Ratio>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("ratio `{bad}`")), "{e}");
            assert!(e.ends_with("like 8:1:1"), "{e}");
        }
    }

    #[test]
    fn counts_round_and_keep_every_part_non_empty_when_possible() {
        let r = Ratio::default();
        assert_eq!(r.counts(0), [0, 0, 0]);
        assert_eq!(r.counts(1), [1, 0, 0]);
        assert_eq!(r.counts(2), [2, 0, 0]);
        assert_eq!(r.counts(3), [1, 1, 1]);
        assert_eq!(r.counts(10), [8, 1, 1]);
        assert_eq!(r.counts(15), [12, 2, 1]);
        assert_eq!(r.counts(100), [80, 10, 10]);
        let no_test: Ratio = "9:1:0".parse().unwrap();
        assert_eq!(no_test.counts(2), [1, 1, 0]);
        assert_eq!(no_test.counts(25), [23, 2, 0]);
        for n in 0..300 {
            assert_eq!(r.counts(n).iter().sum::<usize>(), n);
        }
    }

    #[test]
    fn split_is_deterministic_and_a_partition() {
        for n in [1, 2, 3, 10, 100] {
            let all = records(n);
            let a = split(&all, Ratio::default(), 42);
            assert_eq!(a, split(&all, Ratio::default(), 42), "n = {n}");
            let sizes = [a.train.len(), a.val.len(), a.test.len()];
            assert_eq!(sizes, Ratio::default().counts(n), "n = {n}");
            let mut seen: Vec<usize> = [&a.train, &a.val, &a.test]
                .iter()
                .flat_map(|p| lines(p))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (1..=n).collect::<Vec<_>>(), "n = {n}");
            for part in [&a.train, &a.val, &a.test] {
                assert!(lines(part).windows(2).all(|w| w[0] < w[1]), "source order");
            }
        }
        let all = records(100);
        assert_ne!(
            split(&all, Ratio::default(), 42).test,
            split(&all, Ratio::default(), 43).test
        );
    }

    #[test]
    fn split_of_a_known_seed_does_not_drift() {
        // Pins the generator and shuffle: changing either would silently re-deal every
        // existing experiment's sealed test set.
        let a = split(&records(10), Ratio::default(), 42);
        assert_eq!((lines(&a.val), lines(&a.test)), (vec![2], vec![4]));
    }

    #[test]
    fn leakage_finds_exact_and_near_repeats() {
        let ex = |i: &str, input: &str| Example {
            instruction: i.into(),
            input: input.into(),
            output: "o".into(),
            ..Example::default()
        };
        let train = [
            ex(
                "Review this Java method for SQL injection",
                "and say how to fix it.",
            ),
            ex("How do I cook tomato and egg stir-fry?", ""),
        ];
        let test = [
            ex("Explain cross-site scripting in a comment box", ""),
            ex(
                "review this Java method for SQL injection, and say how to fix it",
                "",
            ),
            ex(
                "Review this Java method for SQL injection and say how to fix it, please",
                "",
            ),
        ];
        let leaks = leakage(&train, &test);
        assert_eq!(leaks.len(), 2);
        assert_eq!(
            (leaks[0].test, leaks[0].train, leaks[0].exact),
            (1, 0, true)
        );
        assert_eq!(
            (leaks[1].test, leaks[1].train, leaks[1].exact),
            (2, 0, false)
        );
    }
}
