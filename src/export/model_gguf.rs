//! The base or merged model as one GGUF file, streamed: each weight is read from the mapped
//! safetensors, merged with its LoRA update, put in llama.cpp's row order, encoded and written
//! before the next one is read.

use super::lora::LoraWeights;
use super::Quant;
use crate::gguf::layout::{gguf_name, permute, permuted_heads};
use crate::gguf::metadata::{arch_name, model_metadata, ChatMetadata};
use crate::gguf::quantize::quantize;
use crate::gguf::write::{GgufWriter, TensorDecl};
use crate::gguf::GgmlType;
use crate::model::config::ModelConfig;
use crate::safetensors_in::SafeTensors;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

/// The Hugging Face tensors of `cfg`'s model in the order llama.cpp's converter writes them,
/// with their shapes.
fn tensor_plan(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let h = cfg.hidden_size;
    let mut plan = vec![(
        "model.embed_tokens.weight".to_string(),
        vec![cfg.vocab_size, h],
    )];
    for i in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{i}");
        plan.push((format!("{p}.input_layernorm.weight"), vec![h]));
        for leaf in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            let (out, inp) = super::lora::projection_shape(cfg, leaf).expect("a projection");
            plan.push((format!("{p}.self_attn.{leaf}.weight"), vec![out, inp]));
            let bias = if leaf == "o_proj" {
                cfg.o_bias()
            } else {
                cfg.qkv_bias()
            };
            if bias {
                plan.push((format!("{p}.self_attn.{leaf}.bias"), vec![out]));
            }
        }
        plan.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
        for leaf in ["gate_proj", "up_proj", "down_proj"] {
            let (out, inp) = super::lora::projection_shape(cfg, leaf).expect("a projection");
            plan.push((format!("{p}.mlp.{leaf}.weight"), vec![out, inp]));
        }
    }
    plan.push(("model.norm.weight".into(), vec![h]));
    // Tied embeddings: llama.cpp reuses token_embd when `output` is absent.
    if !cfg.tie_word_embeddings {
        plan.push(("lm_head.weight".into(), vec![cfg.vocab_size, h]));
    }
    plan
}

/// The type a tensor is written in: vectors stay F32 (as llama.cpp keeps norms and biases);
/// matrices take the asked quantisation when their rows fill its blocks, else F16.
fn tensor_type(shape: &[usize], quant: Quant) -> GgmlType {
    let ty = quant.ggml_type();
    match shape {
        [_] => GgmlType::F32,
        [.., inner] if ty.byte_size(*inner).is_ok() => ty,
        _ => GgmlType::F16,
    }
}

fn kind_of(dtype: &str) -> Option<Kind> {
    Some(match dtype {
        "F32" => Kind::Float,
        "F16" => Kind::Half,
        "BF16" => Kind::BFloat16,
        _ => return None,
    })
}

/// Writes the model in `base` (plus `lora`, merged) to `out` as GGUF. `progress(done, total,
/// tensor)` follows each tensor.
pub fn write(
    base: &Path,
    lora: Option<&LoraWeights>,
    out: &Path,
    quant: Quant,
    name: &str,
    chat: &ChatMetadata,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<()> {
    let cfg = ModelConfig::load(base)?;
    let llama = arch_name(&cfg)? == "llama";
    let files = crate::model::load::weight_files(base)?;
    let st = SafeTensors::open(&files)?;
    let plan = tensor_plan(&cfg);
    let mut decls = Vec::with_capacity(plan.len());
    for (hf, shape) in &plan {
        let slot = st.slots.get(hf).with_context(|| {
            format!(
                "{}: tensor {hf} is missing from the weights",
                base.display()
            )
        })?;
        if &slot.shape != shape {
            bail!(
                "{}: tensor {hf} has shape {:?}, config.json implies {shape:?}",
                st.path(slot).display(),
                slot.shape
            );
        }
        decls.push(TensorDecl {
            name: gguf_name(hf)?,
            shape: shape.clone(),
            ggml_type: tensor_type(shape, quant),
        });
    }
    let metadata = model_metadata(base, &cfg, name, quant.ggml_type(), chat)?;
    let mut w = GgufWriter::create(out, &metadata, &decls)?;
    for (i, ((hf, shape), decl)) in plan.iter().zip(&decls).enumerate() {
        let slot = &st.slots[hf];
        let kind = kind_of(&slot.dtype).with_context(|| {
            format!(
                "{}: tensor {hf} is {}, only F32, F16 and BF16 can be exported",
                st.path(slot).display(),
                slot.dtype
            )
        })?;
        let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let mut t = Tensor::from_data_size(st.bytes(slot), &dims, kind).to_kind(Kind::Float);
        if let Some(delta) = hf
            .strip_suffix(".weight")
            .and_then(|module| lora.and_then(|l| l.delta(module)))
        {
            t += delta;
        }
        let mut values = Vec::<f32>::try_from(t.flatten(0, -1))
            .with_context(|| format!("tensor {hf}: cannot read back as float32"))?;
        drop(t);
        if llama {
            if let Some(heads) = permuted_heads(hf, cfg.num_attention_heads, cfg.kv_heads()) {
                values = permute(&values, heads, shape[1]);
            }
        }
        w.write_tensor(&quantize(&values, decl.ggml_type)?)
            .with_context(|| format!("{}", out.display()))?;
        progress(i + 1, plan.len(), &decl.name);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_stay_f32_and_odd_rows_fall_back_to_f16() {
        assert_eq!(tensor_type(&[64], Quant::Q8_0), GgmlType::F32);
        assert_eq!(tensor_type(&[64, 64], Quant::Q8_0), GgmlType::Q8_0);
        assert_eq!(tensor_type(&[64, 40], Quant::Q8_0), GgmlType::F16);
        assert_eq!(tensor_type(&[64, 40], Quant::F32), GgmlType::F32);
    }
}
