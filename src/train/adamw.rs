//! AdamW exactly as `torch.optim.AdamW` (decoupled weight decay, bias-corrected moments),
//! written out so that its state can be checkpointed and resumed.

use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

pub struct AdamW {
    /// (name, parameter, exp_avg, exp_avg_sq, decay?) in a fixed order.
    params: Vec<(String, Tensor, Tensor, Tensor, bool)>,
    pub step: u64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamW {
    /// `params` as (name, tensor, whether weight decay applies); order is kept.
    pub fn new(params: Vec<(String, Tensor, bool)>, weight_decay: f64) -> Self {
        let params = params
            .into_iter()
            .map(|(n, p, d)| {
                let m = p.zeros_like().to_kind(Kind::Float);
                let v = p.zeros_like().to_kind(Kind::Float);
                (n, p, m, v, d)
            })
            .collect();
        Self {
            params,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }

    pub fn zero_grad(&mut self) {
        for (_, p, ..) in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// Global L2 norm of all gradients; scales them down to `max_norm` when above it (> 0).
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let _guard = tch::no_grad_guard();
        let mut sq = 0.0;
        for (_, p, ..) in &self.params {
            let g = p.grad();
            if g.defined() {
                sq += g
                    .to_kind(Kind::Float)
                    .square()
                    .sum(Kind::Float)
                    .double_value(&[]);
            }
        }
        let norm = sq.sqrt();
        if max_norm > 0.0 && norm > max_norm {
            let coef = max_norm / (norm + 1e-6);
            for (_, p, ..) in &self.params {
                let mut g = p.grad();
                if g.defined() {
                    let _ = g.g_mul_scalar_(coef);
                }
            }
        }
        norm
    }

    pub fn apply(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let t = self.step as i32;
        let bc1 = 1.0 - self.beta1.powi(t);
        let bc2 = 1.0 - self.beta2.powi(t);
        for (_, p, m, v, decay) in &mut self.params {
            let g = p.grad();
            if !g.defined() {
                continue;
            }
            let g = g.to_kind(Kind::Float);
            if *decay && self.weight_decay > 0.0 {
                let _ = p.g_mul_scalar_(1.0 - lr * self.weight_decay);
            }
            let _ = m
                .g_mul_scalar_(self.beta1)
                .g_add_(&(&g * (1.0 - self.beta1)));
            let _ = v
                .g_mul_scalar_(self.beta2)
                .g_add_(&(g.square() * (1.0 - self.beta2)));
            let denom = v.sqrt() / bc2.sqrt() + self.eps;
            let update = (&*m / denom) * (lr / bc1);
            let _ = p.g_sub_(&update.to_kind(p.kind()));
        }
    }

    /// Moments as `<name>.exp_avg` / `<name>.exp_avg_sq`, plus the step count.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (n, _, m, v, _) in &self.params {
            named.push((format!("{n}.exp_avg"), m.shallow_clone()));
            named.push((format!("{n}.exp_avg_sq"), v.shallow_clone()));
        }
        named.push(("__step__".into(), Tensor::from_slice(&[self.step as i64])));
        Tensor::write_safetensors(&named, path)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let read = Tensor::read_safetensors(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        let mut map: std::collections::HashMap<String, Tensor> = read.into_iter().collect();
        let step = map
            .remove("__step__")
            .with_context(|| format!("{}: no __step__", path.display()))?;
        self.step = step.int64_value(&[0]) as u64;
        tch::no_grad(|| -> Result<()> {
            for (n, _, m, v, _) in &mut self.params {
                for (suffix, dst) in [("exp_avg", &mut *m), ("exp_avg_sq", &mut *v)] {
                    let key = format!("{n}.{suffix}");
                    let src = map
                        .remove(&key)
                        .with_context(|| format!("{}: {key} is missing", path.display()))?;
                    if src.size() != dst.size() {
                        bail!(
                            "{}: {key} has shape {:?}, expected {:?}",
                            path.display(),
                            src.size(),
                            dst.size()
                        );
                    }
                    dst.copy_(&src);
                }
            }
            Ok(())
        })
    }
}
