//! Where llama.cpp's layout differs from Hugging Face's: tensor names, and the row order of
//! Llama's q/k projections (llama.cpp's converter interleaves each head's rows for its RoPE).

use crate::model::layout::{Norm, Proj, EMBED, FINAL_NORM, LM_HEAD};
use anyhow::{bail, Result};

/// (GGUF, Hugging Face) names of the per-layer modules; the Hugging Face side is the model's
/// own [`crate::model::layout`].
const LAYER_MODULES: [(&str, &str); 9] = [
    ("attn_q", Proj::Q.module()),
    ("attn_k", Proj::K.module()),
    ("attn_v", Proj::V.module()),
    ("attn_output", Proj::O.module()),
    ("ffn_gate", Proj::Gate.module()),
    ("ffn_up", Proj::Up.module()),
    ("ffn_down", Proj::Down.module()),
    ("attn_norm", Norm::Input.module()),
    ("ffn_norm", Norm::PostAttention.module()),
];

/// (GGUF, Hugging Face) names of the tensors outside the layers.
const GLOBAL: [(&str, &str); 3] = [
    ("token_embd.weight", EMBED),
    ("output_norm.weight", FINAL_NORM),
    ("output.weight", LM_HEAD),
];

/// The Hugging Face name of a GGUF tensor.
pub fn hf_name(gguf: &str) -> Result<String> {
    if let Some((_, hf)) = GLOBAL.iter().find(|(g, _)| *g == gguf) {
        return Ok(hf.to_string());
    }
    let parts: Vec<&str> = gguf.split('.').collect();
    if let ["blk", layer, module, kind @ ("weight" | "bias")] = parts[..] {
        if let Some((_, hf)) = LAYER_MODULES.iter().find(|(g, _)| *g == module) {
            return Ok(format!("model.layers.{layer}.{hf}.{kind}"));
        }
    }
    bail!("tensor {gguf} is not a Llama/Qwen2 tensor tunedeck knows")
}

/// The GGUF name of a Hugging Face tensor (or, without its `.weight`/`.bias`, of a module).
pub fn gguf_name(hf: &str) -> Result<String> {
    if let Some((g, _)) = GLOBAL.iter().find(|(_, h)| *h == hf) {
        return Ok(g.to_string());
    }
    if let Some(rest) = hf.strip_prefix("model.layers.") {
        if let Some((layer, module)) = rest.split_once('.') {
            let (module, kind) = match module.rsplit_once('.') {
                Some((m, k @ ("weight" | "bias"))) => (m, Some(k)),
                _ => (module, None),
            };
            if let Some((g, _)) = LAYER_MODULES.iter().find(|(_, h)| *h == module) {
                return Ok(match kind {
                    Some(k) => format!("blk.{layer}.{g}.{k}"),
                    None => format!("blk.{layer}.{g}"),
                });
            }
        }
    }
    bail!("tensor {hf} is not a Llama/Qwen2 tensor tunedeck knows")
}

/// The head count whose rows llama.cpp interleaves in this Hugging Face tensor of a Llama
/// model (`q_proj`: attention heads, `k_proj`: KV heads), or `None` for every other tensor.
pub fn permuted_heads(hf: &str, heads: usize, kv_heads: usize) -> Option<usize> {
    let module = hf.strip_suffix(".weight").unwrap_or(hf);
    if module.ends_with(Proj::Q.module()) {
        Some(heads)
    } else if module.ends_with(Proj::K.module()) {
        Some(kv_heads)
    } else {
        None
    }
}

/// Moves row `h·d + j·d/2 + i` to `h·d + 2i + j` (`to_gguf`) or back (rows of `cols` values,
/// `heads` heads of `d` rows): GGUF keeps each head's rotary pairs adjacent.
fn reorder(w: &[f32], heads: usize, cols: usize, to_gguf: bool) -> Vec<f32> {
    let rows = w.len() / cols;
    let hd = rows / heads;
    let mut out = vec![0.0; w.len()];
    for h in 0..heads {
        for i in 0..hd / 2 {
            for j in 0..2 {
                let gguf = (h * hd + 2 * i + j) * cols;
                let hf = (h * hd + j * (hd / 2) + i) * cols;
                let (src, dst) = if to_gguf { (hf, gguf) } else { (gguf, hf) };
                out[dst..dst + cols].copy_from_slice(&w[src..src + cols]);
            }
        }
    }
    out
}

/// Hugging Face row order to llama.cpp's, as its converter does for Llama's q/k.
pub fn permute(w: &[f32], heads: usize, cols: usize) -> Vec<f32> {
    reorder(w, heads, cols, true)
}

/// llama.cpp's row order back to Hugging Face's.
pub fn unpermute(w: &[f32], heads: usize, cols: usize) -> Vec<f32> {
    reorder(w, heads, cols, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // 2 heads of dim 4, 1 column: HF rows 0..8.
        let hf: Vec<f32> = (0..8).map(|v| v as f32).collect();
        // llama.cpp: reshape(2, 2, 2, 1) -> swap(1, 2): row h*4 + 2i + j takes HF h*4 + 2j + i.
        let gguf = [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0];
        assert_eq!(unpermute(&gguf, 2, 1), hf);
        assert_eq!(permute(&hf, 2, 1), gguf);
        let wide: Vec<f32> = (0..8 * 3 * 6).map(|v| v as f32).collect();
        assert_eq!(unpermute(&permute(&wide, 3, 6), 3, 6), wide);
    }

    #[test]
    fn names_map_both_ways() {
        for (g, h) in [
            ("blk.3.attn_q.bias", "model.layers.3.self_attn.q_proj.bias"),
            (
                "blk.0.ffn_norm.weight",
                "model.layers.0.post_attention_layernorm.weight",
            ),
            ("output.weight", "lm_head.weight"),
        ] {
            assert_eq!(hf_name(g).unwrap(), h);
            assert_eq!(gguf_name(h).unwrap(), g);
        }
        assert_eq!(
            gguf_name("model.layers.12.mlp.down_proj").unwrap(),
            "blk.12.ffn_down"
        );
        assert!(hf_name("blk.0.ssm_a").is_err());
        assert!(gguf_name("model.layers.0.mlp.experts").is_err());
    }
}
