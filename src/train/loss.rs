//! The causal-LM loss, computed only where there is a label: full-vocabulary logits are
//! never materialised for prompt or padding positions.

use super::encode::{Batch, IGNORE};
use crate::model::Decoder;
use tch::{Kind, Reduction, Tensor};

/// Sum of token cross-entropies over the batch's labelled positions, and their count.
/// Shifted as in transformers: position t predicts label t+1.
pub fn loss_sum(model: &Decoder, batch: &Batch, train: bool) -> (Tensor, usize) {
    let ids = batch.ids.to_device(model.embed_tokens.device());
    let hidden = model.hidden(&ids, None, train); // (B, T, H)
    loss_at_labels(model, &hidden, batch)
}

/// Full-vocabulary float32 logits held at once by [`backward_at_labels`] and [`mean_loss`]:
/// 2^24 elements (64 MiB), 341 positions of SmolLM2's 49,152-token vocabulary or 110 of
/// Qwen2.5's 152,064. Without the limit a 7B batch of 4 × 2048 labelled tokens would hold
/// about 5 GB of logits, again for their log-softmax and again for its gradient.
pub const LOGIT_CHUNK_ELEMENTS: i64 = 1 << 24;

/// The final hidden states (N, H) at the N labelled positions of `batch` and their targets
/// (N); `None` when nothing is labelled. Shifted as in transformers: position t predicts
/// label t+1.
fn labelled(hidden: &Tensor, batch: &Batch) -> Option<(Tensor, Tensor)> {
    let device = hidden.device();
    let (b, t, h) = hidden.size3().expect("hidden is (B, T, H)");
    let targets = batch.labels.narrow(1, 1, t - 1).reshape([-1]); // (B·(T-1))
    let keep = targets.ne(IGNORE).nonzero().squeeze_dim(1); // (N)
    if keep.size()[0] == 0 {
        return None;
    }
    let keep = keep.to_device(device);
    let states = hidden
        .narrow(1, 0, t - 1)
        .reshape([b * (t - 1), h])
        .index_select(0, &keep); // (N, H)
    Some((states, targets.to_device(device).index_select(0, &keep)))
}

/// Positions per logits chunk for a vocabulary of `vocab` tokens.
fn chunk_rows(vocab: i64, elements: i64) -> i64 {
    (elements / vocab.max(1)).max(1)
}

/// Summed cross-entropy of `states` (N, H) against `targets` (N), as one tensor (with a graph
/// when gradients are on).
fn cross_entropy_sum(model: &Decoder, states: &Tensor, targets: &Tensor) -> Tensor {
    let logits = model.logits(states).to_kind(Kind::Float); // (n, V)
    logits.cross_entropy_loss::<Tensor>(targets, None, Reduction::Sum, IGNORE, 0.0)
}

/// Summed cross-entropy of `states` (N, H) against the soft targets `ids` (N, k) with
/// probabilities `probs` (N, k): `-Σ p · log q`, which for one-hot rows is the plain
/// cross-entropy.
fn soft_cross_entropy_sum(
    model: &Decoder,
    states: &Tensor,
    ids: &Tensor,
    probs: &Tensor,
) -> Tensor {
    let logq = model
        .logits(states)
        .to_kind(Kind::Float)
        .log_softmax(-1, Kind::Float); // (n, V)
    -(logq.gather(1, ids, false) * probs).sum(Kind::Float)
}

/// The model's top-`k` next-token distribution at every labelled position of `batch`, without
/// gradients: ids (N, k) and probabilities renormalised over the k (N, k), on the CPU. This is
/// what replay distillation teaches: the base model's whole ranking of likely answers, not
/// only the one token it happened to pick.
pub fn top_k_at_labels(model: &Decoder, batch: &Batch, k: i64) -> Option<(Tensor, Tensor)> {
    let _guard = tch::no_grad_guard();
    let hidden = model.hidden(
        &batch.ids.to_device(model.embed_tokens.device()),
        None,
        false,
    );
    let (states, _) = labelled(&hidden, batch)?;
    let n = states.size()[0];
    let rows = chunk_rows(model.config.vocab_size as i64, LOGIT_CHUNK_ELEMENTS);
    let (mut all_ids, mut all_probs) = (Vec::new(), Vec::new());
    for start in (0..n).step_by(rows as usize) {
        let len = rows.min(n - start);
        let logp = model
            .logits(&states.narrow(0, start, len))
            .to_kind(Kind::Float)
            .log_softmax(-1, Kind::Float);
        let (top, ids) = logp.topk(k, -1, true, true);
        all_probs.push(top.softmax(-1, Kind::Float).to_device(tch::Device::Cpu));
        all_ids.push(ids.to_device(tch::Device::Cpu));
    }
    Some((Tensor::cat(&all_ids, 0), Tensor::cat(&all_probs, 0)))
}

/// The loss sum and label count from final hidden states (B, T, H) of `batch`, as one graph:
/// the reference definition, holding every labelled position's logits at once.
pub fn loss_at_labels(model: &Decoder, hidden: &Tensor, batch: &Batch) -> (Tensor, usize) {
    match labelled(hidden, batch) {
        None => (Tensor::zeros([], (Kind::Float, hidden.device())), 0),
        Some((states, targets)) => {
            let n = targets.size()[0] as usize;
            (cross_entropy_sum(model, &states, &targets), n)
        }
    }
}

/// Forward and backward of the loss sum divided by `denominator`, from final hidden states
/// (B, T, H) that carry a graph; gradients accumulate as `loss.backward()` would. The head
/// runs a chunk of positions at a time — logits, loss and their gradient, then freed — and
/// the summed gradient of the hidden states then goes through the rest of the graph once
/// (the fused cross-entropy Unsloth writes a kernel for, built from libtorch's own ops).
/// Returns the scaled loss and the label count.
pub fn backward_at_labels(
    model: &Decoder,
    hidden: &Tensor,
    batch: &Batch,
    denominator: f64,
) -> (f64, usize) {
    backward_in_chunks(model, hidden, batch, denominator, LOGIT_CHUNK_ELEMENTS)
}

/// [`backward_at_labels`] with at most `elements` logits per chunk.
pub(super) fn backward_in_chunks(
    model: &Decoder,
    hidden: &Tensor,
    batch: &Batch,
    denominator: f64,
    elements: i64,
) -> (f64, usize) {
    let Some((states, targets)) = labelled(hidden, batch) else {
        return (0.0, 0);
    };
    let n = targets.size()[0];
    let rows = chunk_rows(model.config.vocab_size as i64, elements);
    // The head's graph starts here, so each chunk's backward stops at these states.
    let cut = states.detach().set_requires_grad(states.requires_grad());
    let soft = batch.soft.as_ref().map(|(ids, probs)| {
        (
            ids.to_device(states.device()),
            probs.to_device(states.device()),
        )
    });
    let mut value = 0.0;
    for start in (0..n).step_by(rows as usize) {
        let len = rows.min(n - start);
        let chunk = cut.narrow(0, start, len);
        let loss = match &soft {
            None => cross_entropy_sum(model, &chunk, &targets.narrow(0, start, len)),
            Some((ids, probs)) => soft_cross_entropy_sum(
                model,
                &chunk,
                &ids.narrow(0, start, len),
                &probs.narrow(0, start, len),
            ),
        } / denominator;
        value += loss.double_value(&[]);
        if loss.requires_grad() {
            loss.backward();
        }
    }
    if states.requires_grad() {
        // d(sum(states · g))/d(states) = g: pushes the head's gradient through the decoder.
        (states * cut.grad()).sum(Kind::Float).backward();
    }
    (value, n as usize)
}

/// Mean token loss over batches without gradients (validation), a logits chunk at a time.
pub fn mean_loss(model: &Decoder, batches: &[Batch]) -> f64 {
    let _guard = tch::no_grad_guard();
    let (mut sum, mut n) = (0.0, 0usize);
    for b in batches {
        let hidden = model.hidden(&b.ids.to_device(model.embed_tokens.device()), None, false);
        // Without gradients the chunked head only sums: no logits for the whole batch at once.
        let (l, k) = backward_at_labels(model, &hidden, b, 1.0);
        sum += l;
        n += k;
    }
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}
