//! A linear projection with an optional LoRA branch (PEFT semantics).

use tch::Tensor;

/// The low-rank update of one projection: `(B · A · dropout(x)) · scale`.
#[derive(Debug)]
pub struct LoraBranch {
    /// (r, in)
    pub a: Tensor,
    /// (out, r)
    pub b: Tensor,
    /// alpha / r, or alpha / sqrt(r) with rsLoRA.
    pub scale: f64,
    pub dropout: f64,
}

impl LoraBranch {
    /// Training over a base in lower precision than the branch (bfloat16 under float32
    /// master weights): the branch's GEMMs run in the base's precision, as they do under
    /// `torch.autocast`, and `y + h · (B·scale)ᵀ` is one GEMM, so the scale lands on the small
    /// B instead of a (tokens x out) tensor. On this project's CPU the float32 branch GEMMs
    /// of a step took longer than the bfloat16 base GEMMs (BENCHMARKS.md); gradients still
    /// reach A and B in float32 through the casts, and the optimizer state stays float32.
    fn autocast(&self, x: &Tensor, y: Tensor) -> Tensor {
        let kind = y.kind();
        let x = if self.dropout > 0.0 {
            x.dropout(self.dropout, true)
        } else {
            x.shallow_clone()
        };
        let h = x.linear::<Tensor>(&self.a.to_kind(kind), None); // (..., r)
        let b = (&self.b * self.scale).to_kind(kind); // (out, r)
        let shape = y.size();
        let (out, r) = (b.size()[0], b.size()[1]);
        y.reshape([-1, out])
            .addmm(&h.reshape([-1, r]), &b.tr())
            .view(shape.as_slice())
    }
}

#[derive(Debug)]
pub struct Linear {
    /// (out, in)
    pub weight: Tensor,
    /// (out)
    pub bias: Option<Tensor>,
    pub lora: Option<LoraBranch>,
}

impl Linear {
    /// (..., in) -> (..., out)
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_with(x, &lora_input(x, &[self], train), train)
    }

    /// As [`Linear::forward_t`], with the LoRA branch reading `lora_x`: `x` already in the
    /// adapter's dtype ([`lora_input`]), so that projections sharing an input (q/k/v,
    /// gate/up) cast it once, and keep one copy of it for the backward pass, not three.
    pub fn forward_with(&self, x: &Tensor, lora_x: &Tensor, train: bool) -> Tensor {
        let y = x.linear(&self.weight, self.bias.as_ref());
        match &self.lora {
            None => y,
            Some(l) if train && l.a.kind() != y.kind() => l.autocast(x, y),
            Some(l) => {
                let x = if train && l.dropout > 0.0 {
                    lora_x.dropout(l.dropout, true)
                } else {
                    lora_x.shallow_clone()
                };
                // The rank-r intermediate keeps the extra cost at 2·r·(in + out) per token.
                let h = x.linear::<Tensor>(&l.a, None).linear::<Tensor>(&l.b, None) * l.scale;
                let kind = y.kind();
                if h.kind() == kind {
                    y + h
                } else {
                    y + h.to_kind(kind)
                }
            }
        }
    }

    /// The dense update `B · A · scale`, shape (out, in), if a LoRA branch is attached.
    pub fn lora_delta(&self) -> Option<Tensor> {
        self.lora.as_ref().map(|l| l.b.matmul(&l.a) * l.scale)
    }
}

/// The input of the LoRA branches of `linears`, which all read `x`: as PEFT does, a branch
/// computes in the adapter's own dtype (float32 above a bfloat16 base keeps small updates from
/// rounding away), and the sum comes back in the base's dtype. PEFT casts before dropout, so
/// one cast serves every branch. `x` itself when no branch needs another dtype, and in
/// training, where a branch computes in the base's dtype ([`LoraBranch::autocast`]).
pub fn lora_input(x: &Tensor, linears: &[&Linear], train: bool) -> Tensor {
    if train {
        return x.shallow_clone();
    }
    let kind = linears
        .iter()
        .filter_map(|l| l.lora.as_ref())
        .map(|l| l.a.kind())
        .find(|&k| k != x.kind());
    match kind {
        Some(k) => x.to_kind(k),
        None => x.shallow_clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// A (out 24, in 32) projection in bfloat16 with a float32 rank-4 branch.
    fn projection() -> Linear {
        tch::manual_seed(7);
        let f = (Kind::Float, Device::Cpu);
        Linear {
            weight: (Tensor::randn([24, 32], f) * 0.2).to_kind(Kind::BFloat16),
            bias: None,
            lora: Some(LoraBranch {
                a: (Tensor::randn([4, 32], f) * 0.3).set_requires_grad(true),
                b: (Tensor::randn([24, 4], f) * 0.3).set_requires_grad(true),
                scale: 2.0,
                dropout: 0.0,
            }),
        }
    }

    /// Training over a bfloat16 base, the branch computes in bfloat16 and its gradients
    /// reach the float32 A and B: both within bfloat16's precision of the float32 maths.
    #[test]
    fn the_autocast_branch_matches_float32_maths_and_trains_float32_weights() {
        let p = projection();
        let l = p.lora.as_ref().unwrap();
        let x = Tensor::randn([3, 5, 32], (Kind::Float, Device::Cpu));
        let upstream = Tensor::randn([3, 5, 24], (Kind::Float, Device::Cpu));

        let y = p.forward_t(&x.to_kind(Kind::BFloat16), true);
        assert_eq!(y.kind(), Kind::BFloat16);
        (y.to_kind(Kind::Float) * &upstream)
            .sum(Kind::Float)
            .backward();
        let (ga, gb) = (l.a.grad(), l.b.grad());
        assert_eq!((ga.kind(), gb.kind()), (Kind::Float, Kind::Float));

        // The same projection in float32 throughout.
        let a = l.a.detach().set_requires_grad(true);
        let b = l.b.detach().set_requires_grad(true);
        let w = p.weight.to_kind(Kind::Float);
        let want = x.linear::<Tensor>(&w, None)
            + x.linear::<Tensor>(&a, None).linear::<Tensor>(&b, None) * 2.0;
        (&want * &upstream).sum(Kind::Float).backward();
        let close = |got: &Tensor, want: &Tensor| {
            let err = (got - want).abs().max().double_value(&[]);
            let size = want.abs().max().double_value(&[]);
            assert!(err <= 0.02 * size, "off by {err} at magnitude {size}");
        };
        close(&y.to_kind(Kind::Float), &want);
        close(&ga, &a.grad());
        close(&gb, &b.grad());

        // Answering keeps the float32 branch (PEFT's inference maths): no bfloat16 GEMM.
        let lx = lora_input(&x.to_kind(Kind::BFloat16), &[&p], false);
        assert_eq!(lx.kind(), Kind::Float);
    }
}
