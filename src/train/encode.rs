//! Records to token sequences: chat template, label mask (loss on the response only, unless
//! `train_on_prompt`), the turn-end token appended, truncation to the cutoff, and batches.

use crate::data::Example;
use crate::model::TextTokenizer;
use anyhow::Result;
use tch::Tensor;

/// Label value ignored by the loss (PyTorch's convention).
pub const IGNORE: i64 = -100;

/// One tokenised training sequence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sequence {
    pub ids: Vec<i64>,
    /// `IGNORE` where no loss is taken.
    pub labels: Vec<i64>,
    /// Soft targets from a teacher (replay distillation): when present, the loss at each
    /// labelled position is the cross-entropy against this distribution instead of the label.
    pub teacher: Option<Teacher>,
}

/// A teacher's top-k distribution at each labelled position of a sequence, in position order:
/// `ids` and `probs` both hold `k` values per position (probabilities renormalised over the k).
#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    pub k: usize,
    pub ids: Vec<i64>,
    pub probs: Vec<f32>,
}

impl Sequence {
    /// Positions that carry a loss (each predicts its label from the positions before it).
    pub fn label_tokens(&self) -> usize {
        self.labels.iter().skip(1).filter(|&&l| l != IGNORE).count()
    }

    /// When the labels end with `tail` (a turn end), the teacher's targets at those positions
    /// become one-hot on the labels: the teacher cannot teach a token it did not write.
    pub fn teach_plain_tail(&mut self, tail: &[u32]) {
        let n = tail.len();
        let labels = &self.labels;
        let ends = labels.len() >= n
            && labels[labels.len() - n..]
                .iter()
                .zip(tail)
                .all(|(&l, &t)| l == i64::from(t));
        let Some(t) = self.teacher.as_mut().filter(|_| ends && n > 0) else {
            return;
        };
        let k = t.k;
        let positions = t.ids.len() / k.max(1);
        if positions < n {
            return;
        }
        for (j, &label) in tail.iter().enumerate() {
            let row = positions - n + j;
            t.ids[row * k..(row + 1) * k].fill(i64::from(label));
            t.probs[row * k..(row + 1) * k].fill(0.0);
            t.probs[row * k] = 1.0;
        }
    }
}

/// LLaMA-Factory's `infer_seqlen`: how many prompt and response tokens to keep so that both
/// fit in `cutoff`, keeping a short side whole and sharing the rest proportionally.
fn keep_lengths(source: usize, target: usize, cutoff: usize) -> (usize, usize) {
    if source + target <= cutoff {
        return (source, target);
    }
    let max_target = if target * 2 < cutoff {
        target
    } else if source * 2 < cutoff {
        cutoff - source
    } else {
        (cutoff as f64 * target as f64 / (source + target) as f64) as usize
    };
    let new_target = max_target.min(target);
    let new_source = cutoff.saturating_sub(new_target).min(source);
    (new_source, new_target)
}

/// Encode one record.
pub fn encode(
    tok: &TextTokenizer,
    ex: &Example,
    cutoff: usize,
    train_on_prompt: bool,
) -> Result<Sequence> {
    encode_turn(tok, ex, cutoff, train_on_prompt, true)
}

/// Encode one record; `closed` says whether the answer ends its turn. A replayed base-model
/// answer that was cut at its token limit did not end, and teaching the turn end there would
/// teach the model to stop mid-thought.
pub fn encode_turn(
    tok: &TextTokenizer,
    ex: &Example,
    cutoff: usize,
    train_on_prompt: bool,
    closed: bool,
) -> Result<Sequence> {
    let prompt = tok
        .template
        .prompt(ex.system.as_deref(), &ex.history, &ex.prompt());
    let end = if closed { tok.template.turn_end() } else { "" };
    let response = format!("{}{end}", ex.output);
    let p = tok.encode(&prompt)?;
    let r = tok.encode(&response)?;
    let (np, nr) = keep_lengths(p.len(), r.len(), cutoff);
    let ids: Vec<i64> = p[..np].iter().chain(&r[..nr]).map(|&t| t as i64).collect();
    let labels = if train_on_prompt {
        ids.clone()
    } else {
        std::iter::repeat_n(IGNORE, np)
            .chain(r[..nr].iter().map(|&t| t as i64))
            .collect()
    };
    Ok(Sequence {
        ids,
        labels,
        teacher: None,
    })
}

/// Concatenate sequences into rows of at most `cutoff` tokens (packing). Sequences are not
/// split; attention crosses record boundaries inside a row, as in LLaMA-Factory's default
/// packing without neat_packing. Rows carry hard labels only: the trainer packs before it
/// attaches a teacher.
pub fn pack(seqs: &[Sequence], cutoff: usize) -> Vec<Sequence> {
    let mut rows: Vec<Sequence> = Vec::new();
    let mut cur = Sequence::default();
    for s in seqs {
        if !cur.ids.is_empty() && cur.ids.len() + s.ids.len() > cutoff {
            rows.push(std::mem::take(&mut cur));
        }
        cur.ids.extend(&s.ids);
        cur.labels.extend(&s.labels);
    }
    if !cur.ids.is_empty() {
        rows.push(cur);
    }
    rows
}

/// A padded batch: ids (B, T) and labels (B, T), right-padded. Right padding with a causal
/// mask needs no attention mask: real positions never look at later (padded) ones.
pub struct Batch {
    pub ids: Tensor,
    pub labels: Tensor,
    /// Non-padding tokens.
    pub tokens: usize,
    /// Positions that carry a loss.
    pub label_tokens: usize,
    /// Soft targets at the labelled positions: ids (N, k) and probabilities (N, k), when a
    /// sequence of the batch has a teacher.
    pub soft: Option<(Tensor, Tensor)>,
}

pub fn collate(seqs: &[&Sequence], pad_id: i64) -> Batch {
    let t = seqs.iter().map(|s| s.ids.len()).max().unwrap_or(1).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * t);
    let mut labels = Vec::with_capacity(seqs.len() * t);
    for s in seqs {
        ids.extend(&s.ids);
        ids.extend(std::iter::repeat_n(pad_id, t - s.ids.len()));
        labels.extend(&s.labels);
        labels.extend(std::iter::repeat_n(IGNORE, t - s.labels.len()));
    }
    let b = seqs.len() as i64;
    Batch {
        ids: Tensor::from_slice(&ids).view([b, t as i64]),
        labels: Tensor::from_slice(&labels).view([b, t as i64]),
        tokens: seqs.iter().map(|s| s.ids.len()).sum(),
        label_tokens: seqs.iter().map(|s| s.label_tokens()).sum(),
        soft: soft_targets(seqs),
    }
}

/// The batch's soft targets (N, k) ids and probabilities over its labelled positions in the
/// order the loss visits them (row by row), when any sequence has a teacher; the other
/// sequences' labels become one-hot rows.
fn soft_targets(seqs: &[&Sequence]) -> Option<(Tensor, Tensor)> {
    let k = seqs.iter().find_map(|s| s.teacher.as_ref())?.k;
    let (mut ids, mut probs) = (Vec::new(), Vec::new());
    for s in seqs {
        match &s.teacher {
            Some(t) => {
                ids.extend(&t.ids);
                probs.extend(&t.probs);
            }
            None => {
                for &l in s.labels.iter().skip(1).filter(|&&l| l != IGNORE) {
                    ids.push(l);
                    ids.extend(std::iter::repeat_n(l, k - 1));
                    probs.push(1.0f32);
                    probs.extend(std::iter::repeat_n(0.0f32, k - 1));
                }
            }
        }
    }
    let n = (ids.len() / k) as i64;
    Some((
        Tensor::from_slice(&ids).view([n, k as i64]),
        Tensor::from_slice(&probs).view([n, k as i64]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sides_are_kept_whole() {
        assert_eq!(keep_lengths(10, 20, 100), (10, 20));
        assert_eq!(keep_lengths(300, 20, 100), (80, 20));
        assert_eq!(keep_lengths(20, 300, 100), (20, 80));
        let (s, t) = keep_lengths(300, 300, 100);
        assert_eq!(s + t, 100);
    }

    #[test]
    fn packing_never_splits_a_sequence() {
        let s = |n: usize| Sequence {
            ids: vec![1; n],
            labels: vec![2; n],
            teacher: None,
        };
        let rows = pack(&[s(3), s(4), s(2), s(6)], 8);
        let lens: Vec<usize> = rows.iter().map(|r| r.ids.len()).collect();
        assert_eq!(lens, vec![7, 8]);
    }

    #[test]
    fn collate_pads_right_with_ignored_labels() {
        let a = Sequence {
            ids: vec![5, 6, 7],
            labels: vec![IGNORE, 6, 7],
            teacher: None,
        };
        let b = Sequence {
            ids: vec![8],
            labels: vec![8],
            teacher: None,
        };
        let batch = collate(&[&a, &b], 0);
        assert_eq!(batch.ids.size(), [2, 3]);
        assert_eq!(
            Vec::<i64>::try_from(batch.labels.view([-1])).unwrap(),
            [IGNORE, 6, 7, 8, IGNORE, IGNORE]
        );
        assert_eq!((batch.tokens, batch.label_tokens), (4, 2));
    }

    #[test]
    fn a_plain_tail_overrides_the_teacher_only_at_a_matching_turn_end() {
        let teacher = Teacher {
            k: 2,
            ids: vec![5, 6, 7, 8, 9, 1],
            probs: vec![0.6, 0.4, 0.7, 0.3, 0.9, 0.1],
        };
        let mut s = Sequence {
            ids: vec![1, 2, 3, 4],
            labels: vec![IGNORE, 3, 4, 99],
            teacher: Some(teacher.clone()),
        };
        s.teach_plain_tail(&[42]);
        assert_eq!(
            s.teacher.as_ref(),
            Some(&teacher),
            "the labels do not end with 42"
        );
        s.teach_plain_tail(&[99]);
        let t = s.teacher.unwrap();
        assert_eq!(t.ids, vec![5, 6, 7, 8, 99, 99]);
        assert_eq!(t.probs, vec![0.6, 0.4, 0.7, 0.3, 1.0, 0.0]);
    }
}
