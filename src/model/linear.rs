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
        self.forward_with(x, &lora_input(x, &[self]), train)
    }

    /// As [`Linear::forward_t`], with the LoRA branch reading `lora_x`: `x` already in the
    /// adapter's dtype ([`lora_input`]), so that projections sharing an input (q/k/v,
    /// gate/up) cast it once, and keep one copy of it for the backward pass, not three.
    pub fn forward_with(&self, x: &Tensor, lora_x: &Tensor, train: bool) -> Tensor {
        let y = x.linear(&self.weight, self.bias.as_ref());
        match &self.lora {
            None => y,
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
/// one cast serves every branch. `x` itself when no branch needs another dtype.
pub fn lora_input(x: &Tensor, linears: &[&Linear]) -> Tensor {
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
