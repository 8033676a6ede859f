//! Token generation with a KV cache: greedy, or temperature + top-p sampling with a seed;
//! one prompt at a time, or many at once in a batch (a row of a [`SlotCache`] each) that
//! answers token for token as the one-at-a-time path does.

use super::llama::{Decoder, KvCache};
use super::slots::SlotCache;
use crate::rng::SplitMix64;
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    /// 0 means greedy.
    pub temperature: f64,
    pub top_p: f64,
    pub seed: u64,
    pub stop_ids: Vec<u32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 42,
            stop_ids: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndOfTurn,
    MaxTokens,
    Cancelled,
    /// The caller's runaway test said the answer loops; it was cut there.
    Runaway,
}

/// Token ids as one sequence on `decoder`'s device: (1, T).
fn sequence(decoder: &Decoder, ids: &[u32]) -> Tensor {
    let ids: Vec<i64> = ids.iter().map(|&t| t as i64).collect();
    Tensor::from_slice(&ids)
        .to_device(decoder.embed_tokens.device())
        .unsqueeze(0)
}

/// Pick the next token from logits (V,).
fn choose(logits: &Tensor, opts: &GenerateOptions, rng: &mut SplitMix64) -> u32 {
    if opts.temperature <= 0.0 {
        return logits.argmax(-1, false).int64_value(&[]) as u32;
    }
    let probs = (logits.to_kind(Kind::Float) / opts.temperature).softmax(-1, Kind::Float);
    let probs: Vec<f32> = Vec::<f32>::try_from(probs.to_device(Device::Cpu)).unwrap_or_default();
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    // The nucleus: the smallest prefix whose mass reaches top_p.
    let mut mass = 0.0f64;
    let mut keep = order.len();
    for (i, &t) in order.iter().enumerate() {
        mass += probs[t] as f64;
        if mass >= opts.top_p {
            keep = i + 1;
            break;
        }
    }
    let r = rng.next_f64() * mass.min(1.0);
    let mut acc = 0.0f64;
    for &t in &order[..keep] {
        acc += probs[t] as f64;
        if acc > r {
            return t as u32;
        }
    }
    order[0] as u32
}

/// Generate after `prompt`; `on_token(id)` sees each new token and returns false to stop.
/// Returns the new ids (without the stop token) and why it stopped.
pub fn generate(
    model: &Decoder,
    prompt: &[u32],
    opts: &GenerateOptions,
    on_token: &mut dyn FnMut(u32) -> bool,
) -> (Vec<u32>, StopReason) {
    let _guard = tch::no_grad_guard();
    let mut cache = KvCache::new(model.layers.len());
    let mut rng = SplitMix64::new(opts.seed);
    let mut out = Vec::new();
    let mut input = prompt.to_vec();
    for _ in 0..opts.max_new_tokens {
        let hidden = model.hidden(&sequence(model, &input), Some(&mut cache), false); // (1, T, H)
                                                                                      // Only the last position's logits are needed.
        let logits = model.logits(&hidden.select(1, -1)).squeeze_dim(0); // (V,)
        let next = choose(&logits, opts, &mut rng);
        if opts.stop_ids.contains(&next) {
            return (out, StopReason::EndOfTurn);
        }
        out.push(next);
        if !on_token(next) {
            return (out, StopReason::Cancelled);
        }
        input = vec![next];
    }
    (out, StopReason::MaxTokens)
}

/// log P(ids[i] | ids[..i]) for every position, `None` for the first. ids must be non-empty.
pub fn token_logprobs(model: &Decoder, ids: &[u32]) -> Vec<Option<f32>> {
    std::iter::once(None)
        .chain(token_logprobs_from(model, ids, 1).into_iter().map(Some))
        .collect()
}

/// log P(ids[i] | ids[..i]) for the positions `from..` only (`from` >= 1): the LM head and
/// its log-softmax run over those positions alone, which is most of the cost of scoring a
/// short answer after a long prompt.
pub fn token_logprobs_from(model: &Decoder, ids: &[u32], from: usize) -> Vec<f32> {
    token_logprobs_after(model, None, ids, from)
}

/// [`token_logprobs_from`] that starts from `shared`'s cached positions when `ids` begins with
/// them and they end before `from`: only the rest of `ids` runs through the decoder.
pub fn token_logprobs_after(
    model: &Decoder,
    shared: Option<&SharedPrefix>,
    ids: &[u32],
    from: usize,
) -> Vec<f32> {
    let _guard = tch::no_grad_guard();
    let (n, from) = (ids.len() as i64, from.max(1) as i64);
    if from >= n {
        return Vec::new();
    }
    let x = sequence(model, ids); // (1, T)
    let start = shared.and_then(|s| s.starts(ids, from as usize - 1));
    // Hidden states of positions `skip..n`.
    let (skip, hidden) = match start {
        Some(mut cache) => {
            let skip = cache.len();
            let rest = x.narrow(1, skip, n - skip);
            (skip, model.hidden(&rest, Some(&mut cache), false))
        }
        None => (0, model.hidden(&x, None, false)),
    };
    let hidden = hidden.squeeze_dim(0); // (T - skip, H)
                                        // Position j predicts token j + 1.
    let logp = model
        .logits(&hidden.narrow(0, from - 1 - skip, n - from))
        .to_kind(Kind::Float)
        .log_softmax(-1, Kind::Float); // (n - from, V)
    let targets = x.squeeze_dim(0).narrow(0, from, n - from).unsqueeze(1);
    let picked = logp.gather(1, &targets, false).squeeze_dim(1);
    Vec::<f32>::try_from(picked.to_device(Device::Cpu)).unwrap_or_default()
}

/// Shorter common beginnings are not worth a prefill of their own.
const MIN_SHARED: usize = 8;

/// The keys and values of the beginning many prompts share (with a chat template, at least
/// its system turn: 24 of the demo's ~125 prompt tokens with SmolLM2), computed once so that
/// each prompt's prefill runs only its own tokens. The suffix attends to the cached positions
/// as it would have in one pass: the same maths, with the GEMMs split at another row.
pub struct SharedPrefix {
    ids: Vec<u32>,
    cache: KvCache,
}

impl SharedPrefix {
    /// The longest beginning every prompt shares, leaving at least one token of each
    /// prompt's own (its last position gives the first answer token); `None` when there are
    /// fewer than two prompts or the beginning is shorter than [`MIN_SHARED`].
    pub fn of(decoder: &Decoder, prompts: &[Vec<u32>]) -> Option<SharedPrefix> {
        let (first, rest) = prompts.split_first()?;
        if rest.is_empty() {
            return None;
        }
        let mut len = prompts.iter().map(Vec::len).min()?.saturating_sub(1);
        for p in rest {
            len = first
                .iter()
                .zip(p)
                .take(len)
                .take_while(|(a, b)| a == b)
                .count();
        }
        if len < MIN_SHARED {
            return None;
        }
        let _guard = tch::no_grad_guard();
        let mut cache = KvCache::new(decoder.layers.len());
        let _ = decoder.hidden(&sequence(decoder, &first[..len]), Some(&mut cache), false);
        Some(SharedPrefix {
            ids: first[..len].to_vec(),
            cache,
        })
    }

    /// Cached positions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// A cache holding the shared positions, when `ids` begins with them and at most `upto`
    /// of its positions are to be skipped.
    fn starts(&self, ids: &[u32], upto: usize) -> Option<KvCache> {
        (self.len() <= upto && ids.starts_with(&self.ids)).then(|| self.cache.share())
    }
}

/// How often (in new tokens) a sequence's runaway test is asked.
pub const RUNAWAY_EVERY: usize = 16;

/// Largest automatic batch on a CPU: on the demo's three-part test 32 rows answered 1.2-1.35x
/// as fast as 16 (BENCHMARKS.md); every row adds its KV cache to each step's reads.
const CPU_BATCH_CAP: usize = 32;
/// Largest automatic batch on a GPU.
const GPU_BATCH_CAP: usize = 64;

/// What one finished prompt reports: (prompt index, new tokens, why it ended).
pub type OnDone<'a> = dyn FnMut(usize, &[u32], StopReason) + 'a;

/// Answers every prompt: new token ids (without the stop token) and why each ended, in
/// prompt order. Prompt `i` samples with seed `opts.seed + i`, as a caller of [`generate`]
/// seeding one prompt at a time would. `batch_size` 0 picks one from the prompt lengths and
/// a memory budget ([`auto_batch_size`]); 1 runs the one-at-a-time path. `keep_going` is
/// asked before every step (false: every unfinished prompt ends `Cancelled`); `runaway`
/// sees a prompt's tokens every [`RUNAWAY_EVERY`] new tokens (true: it ends `Runaway`).
pub fn generate_batch(
    decoder: &Decoder,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions,
    batch_size: usize,
    keep_going: &mut dyn FnMut() -> bool,
    runaway: &dyn Fn(&[u32]) -> bool,
) -> Vec<(Vec<u32>, StopReason)> {
    let mut out = vec![(Vec::new(), StopReason::Cancelled); prompts.len()];
    generate_batch_with(
        decoder,
        prompts,
        opts,
        batch_size,
        keep_going,
        runaway,
        &mut |i, ids, stop| out[i] = (ids.to_vec(), stop),
    );
    out
}

/// [`generate_batch`] that hands each answer to `on_done` as soon as it is finished (in any
/// order) instead of collecting them. Cancelled prompts are reported too.
pub fn generate_batch_with(
    decoder: &Decoder,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions,
    batch_size: usize,
    keep_going: &mut dyn FnMut() -> bool,
    runaway: &dyn Fn(&[u32]) -> bool,
    on_done: &mut OnDone,
) {
    let batch_size = match batch_size {
        0 => auto_batch_size(decoder, prompts, opts),
        n => n,
    };
    if batch_size == 1 {
        for (i, prompt) in prompts.iter().enumerate() {
            let (ids, stop) = generate_one(decoder, prompt, &seeded(opts, i), keep_going, runaway);
            on_done(i, &ids, stop);
        }
        return;
    }
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let capacity = longest + opts.max_new_tokens;
    let shared = SharedPrefix::of(decoder, prompts);
    Batch::new(decoder, opts, batch_size, capacity, runaway, on_done).run(
        prompts,
        shared.as_ref(),
        keep_going,
    );
}

/// A batch size for `prompts`: as many sequences as a KV-cache budget holds at the longest
/// prompt plus `max_new_tokens`, capped at [`CPU_BATCH_CAP`] on a CPU and [`GPU_BATCH_CAP`] on
/// a GPU, and never more than there are prompts.
pub fn auto_batch_size(decoder: &Decoder, prompts: &[Vec<u32>], opts: &GenerateOptions) -> usize {
    let cfg = &decoder.config;
    let device = decoder.embed_tokens.device();
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0) + opts.max_new_tokens;
    let per_token = 2 * decoder.layers.len() * cfg.kv_heads() * cfg.head_dim();
    let bytes = decoder.embed_tokens.kind().elt_size_in_bytes();
    // The batch's cache is allocated once, a row per sequence, each as long as the longest.
    let per_sequence = (per_token * bytes * longest).max(1);
    let (budget, cap) = if device.is_cuda() {
        (8usize << 30, GPU_BATCH_CAP)
    } else {
        (2usize << 30, CPU_BATCH_CAP)
    };
    (budget / per_sequence).min(cap).min(prompts.len()).max(1)
}

/// `opts` with prompt `i`'s seed.
fn seeded(opts: &GenerateOptions, i: usize) -> GenerateOptions {
    GenerateOptions {
        seed: opts.seed.wrapping_add(i as u64),
        ..opts.clone()
    }
}

/// One prompt through [`generate`], with the batch's runaway and cancel rules.
fn generate_one(
    decoder: &Decoder,
    prompt: &[u32],
    opts: &GenerateOptions,
    keep_going: &mut dyn FnMut() -> bool,
    runaway: &dyn Fn(&[u32]) -> bool,
) -> (Vec<u32>, StopReason) {
    let mut seen = Vec::new();
    let mut cut = false;
    let (ids, stop) = generate(decoder, prompt, opts, &mut |id| {
        seen.push(id);
        cut = seen.len().is_multiple_of(RUNAWAY_EVERY) && runaway(&seen);
        !cut && keep_going()
    });
    (ids, if cut { StopReason::Runaway } else { stop })
}

/// Rows the CPU's LM-head GEMM computes fastest in: with SmolLM2's (49152 x 576) head,
/// libtorch's CPU GEMM took 9-20 ms for 5 to 15 rows and 8.7 ms for 16 (BENCHMARKS.md).
const CPU_HEAD_ROWS: i64 = 16;

/// The logits of a batch's new positions, hidden (B, H) -> (B, V). On a CPU, 5 to 15 rows are
/// padded with zero rows to [`CPU_HEAD_ROWS`] and cut back: the same rows, sooner.
fn batch_logits(decoder: &Decoder, hidden: &Tensor) -> Tensor {
    let b = hidden.size()[0];
    if hidden.device() != Device::Cpu || b <= 4 || b >= CPU_HEAD_ROWS {
        return decoder.logits(hidden);
    }
    let pad = Tensor::zeros(
        [CPU_HEAD_ROWS - b, hidden.size()[1]],
        (hidden.kind(), hidden.device()),
    );
    decoder
        .logits(&Tensor::cat(&[hidden, &pad], 0))
        .narrow(0, 0, b)
}

/// One sequence in the batch.
struct Seq {
    /// Its prompt's index.
    index: usize,
    out: Vec<u32>,
    rng: SplitMix64,
}

/// Batched decoding: each prompt is prefilled alone (after the prompts' shared beginning),
/// its cache joins the batch's [`SlotCache`] as a row of its own, and the batch steps one
/// token for every sequence at once. A finished sequence leaves at once and the next prompt
/// (in length order, so that rows attend over similar widths) takes its place.
struct Batch<'a, 'b> {
    decoder: &'a Decoder,
    opts: &'a GenerateOptions,
    size: usize,
    runaway: &'a dyn Fn(&[u32]) -> bool,
    on_done: &'a mut OnDone<'b>,
    /// Row `i` of `cache` is `seqs[i]`.
    seqs: Vec<Seq>,
    cache: SlotCache,
}

impl<'a, 'b> Batch<'a, 'b> {
    /// A batch of up to `size` sequences of up to `capacity` positions each.
    fn new(
        decoder: &'a Decoder,
        opts: &'a GenerateOptions,
        size: usize,
        capacity: usize,
        runaway: &'a dyn Fn(&[u32]) -> bool,
        on_done: &'a mut OnDone<'b>,
    ) -> Self {
        Self {
            decoder,
            opts,
            size,
            runaway,
            on_done,
            seqs: Vec::new(),
            cache: SlotCache::new(decoder, size, capacity),
        }
    }

    fn run(
        mut self,
        prompts: &[Vec<u32>],
        shared: Option<&SharedPrefix>,
        keep_going: &mut dyn FnMut() -> bool,
    ) {
        let _guard = tch::no_grad_guard();
        let mut queue: Vec<usize> = (0..prompts.len()).collect();
        // Longest last, so `pop` takes the shortest first; stable, so ties keep prompt order.
        queue.sort_by_key(|&i| std::cmp::Reverse(prompts[i].len()));
        loop {
            if !keep_going() {
                for i in queue.into_iter().chain(self.seqs.iter().map(|s| s.index)) {
                    (self.on_done)(i, &[], StopReason::Cancelled);
                }
                return;
            }
            while self.seqs.len() < self.size {
                let Some(i) = queue.pop() else { break };
                self.admit(i, &prompts[i], shared);
            }
            if self.seqs.is_empty() {
                return;
            }
            self.step();
        }
    }

    /// Prefills prompt `index` alone (after `shared`'s positions when it begins with them),
    /// picks its first token, and adds it to the batch unless that already finished it.
    fn admit(&mut self, index: usize, prompt: &[u32], shared: Option<&SharedPrefix>) {
        let mut seq = Seq {
            index,
            out: Vec::new(),
            rng: SplitMix64::new(self.opts.seed.wrapping_add(index as u64)),
        };
        if self.opts.max_new_tokens == 0 || prompt.is_empty() {
            (self.on_done)(index, &[], StopReason::MaxTokens);
            return;
        }
        let mut cache = shared
            .and_then(|s| s.starts(prompt, prompt.len() - 1))
            .unwrap_or_else(|| KvCache::new(self.decoder.layers.len()));
        let ids = sequence(self.decoder, &prompt[cache.len() as usize..]); // (1, T)
        let hidden = self.decoder.hidden(&ids, Some(&mut cache), false); // (1, T, H)
        let logits = self.decoder.logits(&hidden.select(1, -1)).squeeze_dim(0); // (V,)
        let next = choose(&logits, self.opts, &mut seq.rng);
        if self.finished(&mut seq, next) {
            return;
        }
        let need = (prompt.len() + self.opts.max_new_tokens) as i64;
        self.cache.push(&cache, need);
        self.seqs.push(seq);
    }

    /// Takes `next` as `seq`'s new token; reports and returns true when that ends it.
    fn finished(&mut self, seq: &mut Seq, next: u32) -> bool {
        let stop = if self.opts.stop_ids.contains(&next) {
            Some(StopReason::EndOfTurn)
        } else {
            seq.out.push(next);
            let n = seq.out.len();
            if n.is_multiple_of(RUNAWAY_EVERY) && (self.runaway)(&seq.out) {
                Some(StopReason::Runaway)
            } else if n >= self.opts.max_new_tokens {
                Some(StopReason::MaxTokens)
            } else {
                None
            }
        };
        if let Some(stop) = stop {
            (self.on_done)(seq.index, &seq.out, stop);
        }
        stop.is_some()
    }

    /// One new token for every sequence; finished ones leave the batch.
    fn step(&mut self) {
        let device = self.decoder.embed_tokens.device();
        let last: Vec<i64> = self
            .seqs
            .iter()
            .map(|q| q.out[q.out.len() - 1] as i64)
            .collect();
        let ids = Tensor::from_slice(&last).to_device(device).unsqueeze(1); // (B, 1)
        let hidden = self.decoder.step(&ids, &mut self.cache); // (B, 1, H)
        let logits = batch_logits(self.decoder, &hidden.select(1, 0)); // (B, V)
        let greedy: Vec<i64> = if self.opts.temperature <= 0.0 {
            Vec::<i64>::try_from(logits.argmax(-1, false).to_device(Device::Cpu))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut done = Vec::new();
        let mut seqs = std::mem::take(&mut self.seqs);
        for (row, seq) in seqs.iter_mut().enumerate() {
            let next = match greedy.get(row) {
                Some(&t) => t as u32,
                None => choose(&logits.get(row as i64), self.opts, &mut seq.rng),
            };
            if self.finished(seq, next) {
                done.push(row);
            }
        }
        // From the last row down, so that a row moved into a freed place is never one that
        // is about to leave too.
        for &row in done.iter().rev() {
            self.cache.swap_remove(row);
            seqs.swap_remove(row);
        }
        self.seqs = seqs;
    }
}
