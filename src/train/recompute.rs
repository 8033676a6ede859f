//! Gradient checkpointing by hand. tch has no custom autograd functions, so a checkpointed
//! step runs the decoder layer by layer without a graph, keeping only each layer's input;
//! then it walks back from the loss, recomputing one layer at a time with a graph and pushing
//! the gradient of that layer's output through it. Activation memory falls from every
//! layer's intermediates to the layer inputs plus one layer's intermediates, for the price of
//! one more forward pass. Gradients are the same as without checkpointing: dropout draws the
//! same masks in both passes because each layer's pass starts from the same seed.

use super::encode::Batch;
use super::loss::backward_at_labels;
use crate::model::llama::Past;
use crate::model::Decoder;
use tch::{Kind, Tensor};

/// Forward and backward for `batch` with the loss sum divided by `denominator`; gradients
/// accumulate into the trainable weights as `loss.backward()` would. `seed` makes dropout
/// reproducible (vary it per micro-batch). Returns the scaled loss and the label count.
pub fn backward(model: &Decoder, batch: &Batch, denominator: f64, seed: i64) -> (f64, usize) {
    let ids = batch.ids.to_device(model.embed_tokens.device());
    let (_, t) = ids.size2().expect("ids are (B, T)");
    let layers = model.layers.len();
    let layer_seed = |i: usize| seed.wrapping_mul(1_000_003).wrapping_add(i as i64);

    // Forward without a graph, keeping each layer's input.
    let mut inputs: Vec<Tensor> = Vec::with_capacity(layers + 1);
    let rope = {
        let _g = tch::no_grad_guard();
        let x = model.embed(&ids);
        let rope = model.rope(0, t, x.device(), x.kind());
        inputs.push(x);
        for i in 0..layers {
            tch::manual_seed(layer_seed(i));
            let y = model.layer(i, &inputs[i], &rope, Past::None, true);
            inputs.push(y);
        }
        rope
    };

    // The head, with a graph from the last layer's output.
    let last = inputs
        .pop()
        .expect("one input per layer and the output")
        .set_requires_grad(true);
    let (value, n) = backward_at_labels(model, &model.final_norm(&last), batch, denominator);
    if n == 0 {
        return (0.0, 0);
    }
    let mut grad = last.grad();

    // Back through the layers, one recomputed graph at a time.
    for i in (0..layers).rev() {
        let x = inputs.pop().expect("one input per layer");
        // The first layer's input needs a gradient only when the embeddings are trained.
        let needs_input_grad = i > 0 || model.embed_tokens.requires_grad();
        let x = x.set_requires_grad(needs_input_grad);
        tch::manual_seed(layer_seed(i));
        let y = model.layer(i, &x, &rope, Past::None, true);
        // d(sum(y · g))/dy = g: this pushes the output gradient through the layer.
        if y.requires_grad() {
            (y * &grad).sum(Kind::Float).backward();
        }
        if !needs_input_grad {
            return (value, n);
        }
        grad = x.grad();
    }
    // Full fine-tuning: the embedding table learns too.
    (model.embed(&ids) * &grad).sum(Kind::Float).backward();
    (value, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Example;
    use crate::lora::{self, AdapterConfig};
    use crate::model::Model;
    use crate::train::encode::{collate, encode};
    use std::path::Path;
    use tch::Device;

    fn example(instruction: &str, output: &str) -> Example {
        Example {
            system: None,
            history: vec![],
            instruction: instruction.into(),
            input: String::new(),
            output: output.into(),
            extra: Default::default(),
        }
    }

    /// The loss of one batch and every trainable gradient, first with the plain backward, then
    /// with `method` (which runs forward and backward of the loss sum / 7 and returns its
    /// value), on the same model and adapter.
    fn assert_same(full: bool, method: impl Fn(&Decoder, &Batch) -> f64) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama");
        let mut model = Model::load_with(&dir, Device::Cpu, Kind::Float, "chatml", full).unwrap();
        let adapter = (!full).then(|| {
            let targets: Vec<String> = lora::TARGETS.iter().map(|s| s.to_string()).collect();
            let cfg = AdapterConfig::new(4, 8.0, 0.0, &targets, false, "tiny");
            let a = lora::attach_new(&mut model, cfg).unwrap();
            // Non-zero B, so that A's gradient is not trivially zero.
            tch::no_grad(|| {
                for (_, mut t) in a.vs.variables() {
                    let _ = t.g_add_(&(t.randn_like() * 0.05));
                }
            });
            a
        });
        let seqs: Vec<_> = [
            example("Name a colour.", "Blue, like the sky."),
            example("What is 2 + 3?", "5"),
        ]
        .iter()
        .map(|e| encode(&model.tokenizer, e, 64, false).unwrap())
        .collect();
        let batch = collate(&seqs.iter().collect::<Vec<_>>(), 0);
        let mut vars: Vec<(String, Tensor)> = match &adapter {
            Some(a) => a.vs.variables(),
            None => model.vs.variables(),
        }
        .into_iter()
        .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let take_grads = |vars: &mut Vec<(String, Tensor)>| -> Vec<Tensor> {
            vars.iter_mut()
                .map(|(name, t)| {
                    let mut g = t.grad();
                    assert!(g.defined(), "{name} has no gradient");
                    let copy = g.copy();
                    let _ = g.zero_();
                    copy
                })
                .collect()
        };

        let (sum, _) = crate::train::loss::loss_sum(&model.decoder, &batch, true);
        let scaled = sum / 7.0;
        scaled.backward();
        let plain = scaled.double_value(&[]);
        let g0 = take_grads(&mut vars);
        let other = method(&model.decoder, &batch);
        let g1 = take_grads(&mut vars);

        assert!(
            (plain - other).abs() < 1e-6 * plain.abs(),
            "loss {plain} vs {other}"
        );
        for (((name, _), a), b) in vars.iter().zip(&g0).zip(&g1) {
            let scale = a.abs().max().double_value(&[]).max(1e-12);
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(
                diff <= 1e-5 * scale,
                "{name}: max diff {diff} (scale {scale})"
            );
        }
    }

    fn checkpointed(model: &Decoder, batch: &Batch) -> f64 {
        backward(model, batch, 7.0, 11).0
    }

    /// The head three positions at a time: several chunks even for the two short records.
    fn chunked_head(model: &Decoder, batch: &Batch) -> f64 {
        let hidden = model.hidden(&batch.ids, None, true);
        let elements = 3 * model.config.vocab_size as i64;
        crate::train::loss::backward_in_chunks(model, &hidden, batch, 7.0, elements).0
    }

    #[test]
    fn lora_gradients_match_the_plain_backward() {
        assert_same(false, checkpointed);
    }

    #[test]
    fn full_fine_tuning_gradients_match_the_plain_backward() {
        assert_same(true, checkpointed);
    }

    #[test]
    fn the_chunked_head_gives_the_plain_lora_gradients() {
        assert_same(false, chunked_head);
    }

    #[test]
    fn the_chunked_head_gives_the_plain_full_fine_tuning_gradients() {
        // The tied embedding table gets its gradient from every chunk and from the input side.
        assert_same(true, chunked_head);
    }
}
