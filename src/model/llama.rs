//! The Llama / Qwen2 decoder: RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU MLP.
//! Qwen2 is Llama with a bias on q/k/v.

use super::config::ModelConfig;
use super::layout::{in_layer, Norm, Proj, EMBED, FINAL_NORM, LM_HEAD};
use super::linear::{lora_input, Linear};
use super::slots::{SlotCache, StepInputs};
use anyhow::{Context, Result};
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

/// Keys and values of the positions seen so far, one pair per layer.
#[derive(Debug, Default)]
pub struct KvCache {
    /// (B, KVH, T, D) each
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    pub fn new(n_layers: usize) -> Self {
        Self {
            layers: (0..n_layers).map(|_| None).collect(),
        }
    }

    /// How many positions are cached.
    pub fn len(&self) -> i64 {
        self.layers
            .first()
            .and_then(|l| l.as_ref())
            .map_or(0, |(k, _)| k.size()[2])
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same cache sharing the same tensors: extending either leaves the other as it
    /// was, because a step concatenates into new tensors and never writes into the old ones.
    pub fn share(&self) -> Self {
        Self {
            layers: self
                .layers
                .iter()
                .map(|l| {
                    l.as_ref()
                        .map(|(k, v)| (k.shallow_clone(), v.shallow_clone()))
                })
                .collect(),
        }
    }

    /// Keys and values of every layer, each (B, KVH, T, D); empty before the first step.
    pub fn layers(&self) -> impl Iterator<Item = (&Tensor, &Tensor)> {
        self.layers.iter().flatten().map(|(k, v)| (k, v))
    }
}

#[derive(Debug)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
}

#[derive(Debug)]
pub struct Mlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

#[derive(Debug)]
pub struct Layer {
    pub input_layernorm: Tensor,
    pub self_attn: Attention,
    pub post_attention_layernorm: Tensor,
    pub mlp: Mlp,
}

impl Layer {
    /// Its seven projections, in layer order.
    fn linears_mut(&mut self) -> [(Proj, &mut Linear); 7] {
        let (a, m) = (&mut self.self_attn, &mut self.mlp);
        [
            (Proj::Q, &mut a.q_proj),
            (Proj::K, &mut a.k_proj),
            (Proj::V, &mut a.v_proj),
            (Proj::O, &mut a.o_proj),
            (Proj::Gate, &mut m.gate_proj),
            (Proj::Up, &mut m.up_proj),
            (Proj::Down, &mut m.down_proj),
        ]
    }
}

#[derive(Debug)]
pub struct Decoder {
    pub config: ModelConfig,
    /// (V, H)
    pub embed_tokens: Tensor,
    pub layers: Vec<Layer>,
    pub norm: Tensor,
    /// (V, H); `None` when tied to the embeddings.
    pub lm_head: Option<Tensor>,
}

/// Hugging Face's LlamaRMSNorm: normalise in float32, then scale in the input dtype.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Tensor {
    let kind = x.kind();
    let xf = x.to_kind(Kind::Float);
    let var = xf.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
    let normed = (xf * (var + eps).rsqrt()).to_kind(kind);
    normed * weight
}

/// cos and sin for the float32 positions `pos` (T,), each (T, D), computed in float32.
fn rope_tables(cfg: &ModelConfig, pos: &Tensor, kind: Kind) -> (Tensor, Tensor) {
    let d = cfg.head_dim() as i64;
    let inv_freq = (Tensor::arange_start_step(0, d, 2, (Kind::Float, pos.device())) / d as f64
        * -cfg.rope_theta.ln())
    .exp();
    let freqs = pos.outer(&inv_freq); // (T, D/2)
    let emb = Tensor::cat(&[&freqs, &freqs], -1); // (T, D)
    (emb.cos().to_kind(kind), emb.sin().to_kind(kind))
}

fn rotate_half(x: &Tensor) -> Tensor {
    let halves = x.chunk(2, -1);
    Tensor::cat(&[-&halves[1], halves[0].shallow_clone()], -1)
}

/// What a layer's attention sees besides the new positions.
pub enum Past<'a> {
    /// Nothing: the positions attend causally among themselves (training, scoring).
    None,
    /// One sequence's growing cache, extended by the new positions.
    Grow(&'a mut Option<(Tensor, Tensor)>),
    /// A batch decoding one token per row in a [`SlotCache`] (layer `layer`).
    Slots {
        cache: &'a mut SlotCache,
        layer: usize,
        inputs: &'a StepInputs,
    },
}

impl Attention {
    /// x: (B, T, H·D) -> (B, T, H·D); rope tables are (T, D) or (B, 1, T, D).
    fn forward(
        &self,
        x: &Tensor,
        cfg: &ModelConfig,
        rope: &(Tensor, Tensor),
        past: Past,
        train: bool,
    ) -> Tensor {
        let (b, t, _) = x.size3().expect("attention input is (B, T, H)");
        let (h, kvh, d) = (
            cfg.num_attention_heads as i64,
            cfg.kv_heads() as i64,
            cfg.head_dim() as i64,
        );
        let lx = lora_input(x, &[&self.q_proj, &self.k_proj, &self.v_proj], train);
        let q = self
            .q_proj
            .forward_with(x, &lx, train)
            .view([b, t, h, d])
            .transpose(1, 2); // (B, H, T, D)
        let k = self
            .k_proj
            .forward_with(x, &lx, train)
            .view([b, t, kvh, d])
            .transpose(1, 2); // (B, KVH, T, D)
        let v = self
            .v_proj
            .forward_with(x, &lx, train)
            .view([b, t, kvh, d])
            .transpose(1, 2);
        let (cos, sin) = rope;
        let q = &q * cos + rotate_half(&q) * sin;
        let k = &k * cos + rotate_half(&k) * sin;
        let gqa = kvh != h;
        let y = match past {
            Past::None => Tensor::scaled_dot_product_attention::<Tensor>(
                &q,
                &k,
                &v,
                None,
                0.0,
                t > 1,
                None,
                gqa,
            ),
            Past::Grow(slot) => {
                let (k, v, past) = match slot.take() {
                    None => (k, v, 0),
                    Some((pk, pv)) => {
                        let past = pk.size()[2];
                        (Tensor::cat(&[pk, k], 2), Tensor::cat(&[pv, v], 2), past)
                    }
                };
                *slot = Some((k.shallow_clone(), v.shallow_clone()));
                if past == 0 || t == 1 {
                    // Causal among the new positions; one new token may look at everything.
                    Tensor::scaled_dot_product_attention::<Tensor>(
                        &q,
                        &k,
                        &v,
                        None,
                        0.0,
                        past == 0 && t > 1,
                        None,
                        gqa,
                    )
                } else {
                    // New positions past..past+t see the cache and their own causal prefix.
                    let mask = Tensor::ones([t, past + t], (Kind::Bool, x.device())).tril(past);
                    Tensor::scaled_dot_product_attention(
                        &q,
                        &k,
                        &v,
                        Some(mask),
                        0.0,
                        false,
                        None,
                        gqa,
                    )
                }
            }
            Past::Slots {
                cache,
                layer,
                inputs,
            } => {
                let (k, v) = cache.write(layer, inputs, &k, &v);
                Tensor::scaled_dot_product_attention(
                    &q,
                    &k,
                    &v,
                    Some(&inputs.mask),
                    0.0,
                    false,
                    None,
                    gqa,
                )
            }
        }; // (B, H, T, D)
        let y = y.transpose(1, 2).reshape([b, t, h * d]);
        self.o_proj.forward_t(&y, train)
    }
}

impl Mlp {
    /// SwiGLU: down(silu(gate(x)) · up(x))
    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let lx = lora_input(x, &[&self.gate_proj, &self.up_proj], train);
        let g = self.gate_proj.forward_with(x, &lx, train).silu();
        self.down_proj
            .forward_t(&(g * self.up_proj.forward_with(x, &lx, train)), train)
    }
}

impl Decoder {
    /// Hidden states after the final norm: ids (B, T) -> (B, T, H). With a cache, the ids are
    /// the positions after the cached ones and the cache is extended.
    pub fn hidden(&self, ids: &Tensor, mut cache: Option<&mut KvCache>, train: bool) -> Tensor {
        let (_, t) = ids.size2().expect("ids are (B, T)");
        let start = cache.as_ref().map_or(0, |c| c.len());
        let mut x = self.embed(ids); // (B, T, H)
        let rope = self.rope(start, t, x.device(), x.kind());
        for i in 0..self.layers.len() {
            let past = match cache.as_deref_mut() {
                Some(c) => Past::Grow(&mut c.layers[i]),
                None => Past::None,
            };
            x = self.layer(i, &x, &rope, past, train);
        }
        self.final_norm(&x)
    }

    /// One decoding step of a batch: ids (B, 1), one new token for every row of `cache`, each
    /// at its row's next position -> hidden states (B, 1, H). The cache holds one more
    /// position per row afterwards.
    pub fn step(&self, ids: &Tensor, cache: &mut SlotCache) -> Tensor {
        let cfg = &self.config;
        let mut x = self.embed(ids); // (B, 1, H)
        let pos: Vec<f32> = cache.lens().iter().map(|&p| p as f32).collect();
        let pos = Tensor::from_slice(&pos).to_device(x.device());
        let (cos, sin) = rope_tables(cfg, &pos, x.kind()); // (B, D)
        let rope = (cos.unsqueeze(1).unsqueeze(1), sin.unsqueeze(1).unsqueeze(1)); // (B, 1, 1, D)
        let inputs = cache.step_inputs(cfg.kv_heads() as i64, cfg.head_dim() as i64, x.device());
        for i in 0..self.layers.len() {
            let past = Past::Slots {
                cache,
                layer: i,
                inputs: &inputs,
            };
            x = self.layer(i, &x, &rope, past, false);
        }
        cache.advance();
        self.final_norm(&x)
    }

    /// Token embeddings: ids (B, T) -> (B, T, H).
    pub fn embed(&self, ids: &Tensor) -> Tensor {
        Tensor::embedding(&self.embed_tokens, ids, -1, false, false)
    }

    /// RoPE cos/sin tables for positions `start..start + len`.
    pub fn rope(&self, start: i64, len: i64, device: Device, kind: Kind) -> (Tensor, Tensor) {
        let pos = Tensor::arange_start(start, start + len, (Kind::Float, device));
        rope_tables(&self.config, &pos, kind)
    }

    /// Decoder layer `i`: (B, T, H) -> (B, T, H), attending to `past` besides the new
    /// positions (and extending it). The
    /// residual sums make new tensors: adding in place would corrupt the autograd graph,
    /// which saved `x` for the backward pass of the norm.
    pub fn layer(
        &self,
        i: usize,
        x: &Tensor,
        rope: &(Tensor, Tensor),
        past: Past,
        train: bool,
    ) -> Tensor {
        let (cfg, layer) = (&self.config, &self.layers[i]);
        let h = rms_norm(x, &layer.input_layernorm, cfg.rms_norm_eps);
        let x = x + layer.self_attn.forward(&h, cfg, rope, past, train);
        let h = rms_norm(&x, &layer.post_attention_layernorm, cfg.rms_norm_eps);
        &x + layer.mlp.forward(&h, train)
    }

    /// The final RMSNorm, before the LM head.
    pub fn final_norm(&self, x: &Tensor) -> Tensor {
        rms_norm(x, &self.norm, self.config.rms_norm_eps)
    }

    /// Project hidden states to vocabulary logits: (..., H) -> (..., V)
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.linear::<Tensor>(self.lm_head.as_ref().unwrap_or(&self.embed_tokens), None)
    }

    /// ids (B, T) -> logits (B, T, V)
    pub fn forward(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Tensor {
        self.logits(&self.hidden(ids, cache, false))
    }

    /// Every projection with its dotted module path, e.g. `model.layers.0.self_attn.q_proj`.
    pub fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter_mut().enumerate() {
            for (p, linear) in l.linears_mut() {
                out.push((in_layer(i, p.module()), linear));
            }
        }
        out
    }

    /// The decoder made of `tensors`, named as [`super::layout::layout`] names them (the
    /// loader has checked them against it).
    pub fn from_tensors(config: ModelConfig, mut tensors: HashMap<String, Tensor>) -> Result<Self> {
        let mut take = |name: &str| {
            tensors
                .remove(name)
                .with_context(|| format!("tensor {name} was not loaded"))
        };
        let embed_tokens = take(EMBED)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let mut linear = |p: Proj| -> Result<Linear> {
                let path = in_layer(i, p.module());
                let weight = take(&format!("{path}.weight"))?;
                let bias = if p.has_bias(&config) {
                    Some(take(&format!("{path}.bias"))?)
                } else {
                    None
                };
                Ok(Linear {
                    weight,
                    bias,
                    lora: None,
                })
            };
            let self_attn = Attention {
                q_proj: linear(Proj::Q)?,
                k_proj: linear(Proj::K)?,
                v_proj: linear(Proj::V)?,
                o_proj: linear(Proj::O)?,
            };
            let mlp = Mlp {
                gate_proj: linear(Proj::Gate)?,
                up_proj: linear(Proj::Up)?,
                down_proj: linear(Proj::Down)?,
            };
            let mut norm = |n: Norm| take(&format!("{}.weight", in_layer(i, n.module())));
            layers.push(Layer {
                input_layernorm: norm(Norm::Input)?,
                self_attn,
                post_attention_layernorm: norm(Norm::PostAttention)?,
                mlp,
            });
        }
        let norm = take(FINAL_NORM)?;
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            Some(take(LM_HEAD)?)
        };
        Ok(Self {
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
        })
    }
}
