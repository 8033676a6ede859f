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
use crate::model::layout::{layout, TensorSpec};
use crate::safetensors_in::SafeTensors;
use anyhow::{Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

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
    // Tied embeddings: llama.cpp reuses token_embd when `output` is absent, as the layout
    // leaves it out.
    let plan = layout(&cfg);
    let mut decls = Vec::with_capacity(plan.len());
    for spec in &plan {
        let slot = st.slots.get(&spec.name).ok_or_else(|| spec.missing(base))?;
        spec.check_shape(&slot.shape, st.path(slot))?;
        decls.push(TensorDecl {
            name: gguf_name(&spec.name)?,
            shape: spec.shape.clone(),
            ggml_type: tensor_type(&spec.shape, quant),
        });
    }
    let metadata = model_metadata(base, &cfg, name, quant.ggml_type(), chat)?;
    let mut w = GgufWriter::create(out, &metadata, &decls)?;
    for (i, (TensorSpec { name: hf, shape }, decl)) in plan.iter().zip(&decls).enumerate() {
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
