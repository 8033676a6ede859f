//! Token generation with a KV cache: greedy, or temperature + top-p sampling with a seed.

use super::llama::{Decoder, KvCache};
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
}

/// SplitMix64: small, seeded and identical everywhere, so a seed reproduces a sample.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Pick the next token from logits (V,).
fn choose(logits: &Tensor, opts: &GenerateOptions, rng: &mut Rng) -> u32 {
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
    let device = model.embed_tokens.device();
    let mut cache = KvCache::new(model.layers.len());
    let mut rng = Rng::new(opts.seed);
    let mut out = Vec::new();
    let mut input: Vec<i64> = prompt.iter().map(|&t| t as i64).collect();
    for _ in 0..opts.max_new_tokens {
        let ids = Tensor::from_slice(&input).to_device(device).unsqueeze(0); // (1, T)
        let hidden = model.hidden(&ids, Some(&mut cache), false); // (1, T, H)
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
        input = vec![next as i64];
    }
    (out, StopReason::MaxTokens)
}

/// log P(ids[i] | ids[..i]) for every position, `None` for the first. ids must be non-empty.
pub fn token_logprobs(model: &Decoder, ids: &[u32]) -> Vec<Option<f32>> {
    let _guard = tch::no_grad_guard();
    let device = model.embed_tokens.device();
    let input: Vec<i64> = ids.iter().map(|&t| t as i64).collect();
    let x = Tensor::from_slice(&input).to_device(device).unsqueeze(0); // (1, T)
    let logp = model
        .forward(&x, None)
        .squeeze_dim(0)
        .to_kind(Kind::Float)
        .log_softmax(-1, Kind::Float); // (T, V)
    let targets = x
        .squeeze_dim(0)
        .narrow(0, 1, input.len() as i64 - 1)
        .unsqueeze(1); // (T-1, 1)
    let picked = logp
        .narrow(0, 0, input.len() as i64 - 1)
        .gather(1, &targets, false)
        .squeeze_dim(1);
    let values: Vec<f32> = Vec::<f32>::try_from(picked.to_device(Device::Cpu)).unwrap_or_default();
    std::iter::once(None)
        .chain(values.into_iter().map(Some))
        .collect()
}
