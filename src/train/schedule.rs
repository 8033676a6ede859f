//! Which sequences each optimizer step sees: every epoch reshuffles with `seed + epoch`, cuts
//! batches, and groups `gradient_accumulation_steps` of them per step. The order is a pure
//! function of (seed, step), so a resumed run sees the same data it would have seen.
//! With `group_by_length`, each window of 8 batches of the shuffled order is sorted by length
//! (longest first) before it is cut, as transformers' LengthGroupedSampler does with its
//! megabatches: far less padding, and batch order stays random across windows.

use super::encode::Sequence;
use crate::preset::Preset;
use crate::rng::SplitMix64;

pub struct Plan {
    n: usize,
    batch: usize,
    accum: usize,
    per_epoch: u64,
    total: u64,
    seed: u64,
    /// Sequence lengths, when batches are grouped by length.
    lengths: Option<Vec<usize>>,
}

/// Batches per length-sorted window.
const WINDOW_BATCHES: usize = 8;

impl Plan {
    pub fn new(seqs: &[Sequence], preset: &Preset) -> Self {
        let n = seqs.len();
        let batch = (preset.per_device_train_batch_size as usize).max(1);
        let accum = (preset.gradient_accumulation_steps as usize).max(1);
        let batches = n.div_ceil(batch) as u64;
        let per_epoch = (batches / accum as u64).max(1);
        let lengths = preset
            .group_by_length
            .then(|| seqs.iter().map(|s| s.ids.len()).collect());
        Self {
            n,
            batch,
            accum,
            per_epoch,
            total: preset.total_steps(n),
            seed: preset.seed,
            lengths,
        }
    }

    pub fn total_steps(&self) -> u64 {
        self.total
    }

    pub fn epoch_at(&self, step: u64) -> f64 {
        step as f64 / self.per_epoch as f64
    }

    fn order(&self, epoch: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.n).collect();
        let mut rng = SplitMix64::new(self.seed.wrapping_mul(1_000_003).wrapping_add(epoch));
        for i in (1..idx.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        if let Some(len) = &self.lengths {
            for window in idx.chunks_mut(self.batch * WINDOW_BATCHES) {
                window.sort_by_key(|&i| std::cmp::Reverse(len[i]));
            }
        }
        idx
    }

    /// The micro-batches of 0-based optimizer step `step`.
    pub fn step_batches<'a>(&self, step: u64, seqs: &'a [Sequence]) -> Vec<Vec<&'a Sequence>> {
        let epoch = step / self.per_epoch;
        let within = (step % self.per_epoch) as usize;
        let order = self.order(epoch);
        let batches: Vec<&[usize]> = order.chunks(self.batch).collect();
        // The last step of an epoch also takes the batches that do not fill a whole group.
        let start = within * self.accum;
        let end = if within as u64 + 1 == self.per_epoch {
            batches.len()
        } else {
            start + self.accum
        };
        batches[start.min(batches.len())..end.min(batches.len())]
            .iter()
            .map(|b| b.iter().map(|&i| &seqs[i]).collect())
            .collect()
    }
}
