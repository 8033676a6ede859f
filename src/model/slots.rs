//! The KV cache of a batch being decoded together: one row per sequence, each filled from
//! column 0 to its own length (a ragged layout, no left padding), in buffers allocated once.
//!
//! A growing cache that concatenates every step copies the whole cache per token; on a CPU at
//! 16 sequences that copy and the padding it drags along were about a third of a decoding
//! step (BENCHMARKS.md). Here a step writes one column per row in place, a sequence that ends
//! gives its row to the last one (one row copied), and a new sequence's prefilled cache is
//! copied into the next free row.

use super::llama::{Decoder, KvCache};
use tch::{Device, Tensor};

pub struct SlotCache {
    /// Per layer, keys and values: (rows, KVH, capacity, D); only the first `lens.len()` rows
    /// are in use, and row `i` only up to column `lens[i]`.
    layers: Vec<(Tensor, Tensor)>,
    /// Cached positions of every row in use.
    lens: Vec<i64>,
}

impl SlotCache {
    /// Room for `rows` sequences of up to `capacity` positions each. Zero-filled: columns
    /// past a row's length are masked out of attention, but must hold finite numbers, since a
    /// NaN times a zero weight would still be a NaN.
    pub fn new(decoder: &Decoder, rows: usize, capacity: usize) -> Self {
        let cfg = &decoder.config;
        let shape = [
            rows as i64,
            cfg.kv_heads() as i64,
            capacity as i64,
            cfg.head_dim() as i64,
        ];
        let options = (decoder.embed_tokens.kind(), decoder.embed_tokens.device());
        let layers = (0..decoder.layers.len())
            .map(|_| (Tensor::zeros(shape, options), Tensor::zeros(shape, options)))
            .collect();
        Self {
            layers,
            lens: Vec::new(),
        }
    }

    /// Sequences in the cache.
    pub fn rows(&self) -> usize {
        self.lens.len()
    }

    /// Cached positions of each sequence, in row order.
    pub fn lens(&self) -> &[i64] {
        &self.lens
    }

    fn shape(&self) -> (i64, i64) {
        self.layers
            .first()
            .map_or((0, 0), |(k, _)| (k.size()[0], k.size()[2]))
    }

    /// Adds the sequence whose prompt `prefill` holds (one row) as the last row, with room for
    /// `need` positions in all (more columns are allocated when the buffers are too short).
    /// Returns its row.
    pub fn push(&mut self, prefill: &KvCache, need: i64) -> usize {
        let len = prefill.len();
        let row = self.lens.len() as i64;
        let (rows, capacity) = self.shape();
        if row >= rows || need.max(len) > capacity {
            self.grow((row + 1).max(rows), need.max(len).max(capacity));
        }
        for ((k, v), (pk, pv)) in self.layers.iter_mut().zip(prefill.layers()) {
            k.narrow(0, row, 1).narrow(2, 0, len).copy_(pk);
            v.narrow(0, row, 1).narrow(2, 0, len).copy_(pv);
        }
        self.lens.push(len);
        row as usize
    }

    /// Reallocates the buffers at `rows` x `capacity`, keeping what is cached.
    fn grow(&mut self, rows: i64, capacity: i64) {
        let used = self.lens.len() as i64;
        let width = self.lens.iter().copied().max().unwrap_or(0);
        for (k, v) in &mut self.layers {
            for t in [k, v] {
                let mut shape = t.size();
                (shape[0], shape[2]) = (rows, capacity);
                let bigger = Tensor::zeros(&shape, (t.kind(), t.device()));
                if used > 0 && width > 0 {
                    bigger
                        .narrow(0, 0, used)
                        .narrow(2, 0, width)
                        .copy_(&t.narrow(0, 0, used).narrow(2, 0, width));
                }
                *t = bigger;
            }
        }
    }

    /// Removes row `row`; the last row moves into its place, as `Vec::swap_remove` does, so
    /// a caller keeping its sequences in a Vec beside the rows calls that too.
    pub fn swap_remove(&mut self, row: usize) {
        let last = self.lens.len() - 1;
        if row != last {
            let len = self.lens[last];
            for (k, v) in &mut self.layers {
                for t in [k, v] {
                    let from = t.narrow(0, last as i64, 1).narrow(2, 0, len);
                    t.narrow(0, row as i64, 1).narrow(2, 0, len).copy_(&from);
                }
            }
        }
        self.lens.swap_remove(row);
    }

    /// Columns a step attends over: the longest row and its new position.
    fn width(&self) -> i64 {
        self.lens.iter().max().map_or(0, |&l| l + 1)
    }

    /// What one decoding step of every row needs, before it runs: the attention mask
    /// (B, 1, 1, S), true where a row may look (its cached positions and the new one), and
    /// the column each row writes its new key and value to, as a scatter index (B, KVH, 1, D).
    pub(super) fn step_inputs(&self, kv_heads: i64, head_dim: i64, device: Device) -> StepInputs {
        let (b, s) = (self.lens.len() as i64, self.width());
        let mask: Vec<bool> = self
            .lens
            .iter()
            .flat_map(|&len| (0..s).map(move |j| j <= len))
            .collect();
        let mask = Tensor::from_slice(&mask)
            .to_device(device)
            .view([b, 1, 1, s]);
        let column = Tensor::from_slice(&self.lens)
            .to_device(device)
            .view([b, 1, 1, 1])
            .expand([b, kv_heads, 1, head_dim], false)
            .contiguous();
        StepInputs {
            mask,
            column,
            rows: b,
            width: s,
        }
    }

    /// Layer `i`'s buffers for a step: writes the new keys and values `k`, `v` (B, KVH, 1, D)
    /// at each row's column and returns the keys and values to attend over (B, KVH, S, D).
    pub(super) fn write(
        &mut self,
        i: usize,
        inputs: &StepInputs,
        k: &Tensor,
        v: &Tensor,
    ) -> (Tensor, Tensor) {
        let (kb, vb) = &self.layers[i];
        let mut kb = kb.narrow(0, 0, inputs.rows);
        let mut vb = vb.narrow(0, 0, inputs.rows);
        let _ = kb.scatter_(2, &inputs.column, k);
        let _ = vb.scatter_(2, &inputs.column, v);
        (kb.narrow(2, 0, inputs.width), vb.narrow(2, 0, inputs.width))
    }

    /// After a step: every row holds one more position.
    pub(super) fn advance(&mut self) {
        for len in &mut self.lens {
            *len += 1;
        }
    }
}

/// See [`SlotCache::step_inputs`].
pub struct StepInputs {
    pub mask: Tensor,
    column: Tensor,
    rows: i64,
    width: i64,
}
