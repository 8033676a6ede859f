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

/// The loss sum and label count from final hidden states (B, T, H) of `batch`.
pub fn loss_at_labels(model: &Decoder, hidden: &Tensor, batch: &Batch) -> (Tensor, usize) {
    let device = hidden.device();
    let (b, t, h) = hidden.size3().expect("hidden is (B, T, H)");
    let targets = batch.labels.narrow(1, 1, t - 1).reshape([-1]); // (B·(T-1))
    let keep = targets.ne(IGNORE).nonzero().squeeze_dim(1); // (N)
    let n = keep.size()[0] as usize;
    if n == 0 {
        return (Tensor::zeros([], (Kind::Float, device)), 0);
    }
    let keep = keep.to_device(device);
    let states = hidden
        .narrow(1, 0, t - 1)
        .reshape([b * (t - 1), h])
        .index_select(0, &keep); // (N, H)
    let logits = model.logits(&states).to_kind(Kind::Float); // (N, V)
    let targets = targets.to_device(device).index_select(0, &keep);
    let loss = logits.cross_entropy_loss::<Tensor>(&targets, None, Reduction::Sum, IGNORE, 0.0);
    (loss, n)
}

/// Mean token loss over batches without gradients (validation).
pub fn mean_loss(model: &Decoder, batches: &[Batch]) -> f64 {
    let _guard = tch::no_grad_guard();
    let (mut sum, mut n) = (0.0, 0usize);
    for b in batches {
        let (l, k) = loss_sum(model, b, false);
        sum += l.double_value(&[]);
        n += k;
    }
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}
