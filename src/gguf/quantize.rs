//! f32 values to ggml's encodings, the inverse of [`super::dequant`]: F32, F16 and Q8_0
//! (block layouts as in ggml-quants.c; Q8_0 bit-identical to gguf-py's `quantize`).

use super::GgmlType;
use anyhow::{bail, Result};
use half::f16;
use half::slice::HalfFloatSliceExt;

/// Values per Q8_0 block.
const QK8_0: usize = 32;

/// `values` (row-major, rows a multiple of the type's block) encoded as `ty`.
pub fn quantize(values: &[f32], ty: GgmlType) -> Result<Vec<u8>> {
    match ty {
        GgmlType::F32 => Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        GgmlType::F16 => {
            let mut h = vec![f16::ZERO; values.len()];
            h.convert_from_f32_slice(values);
            Ok(h.iter().flat_map(|v| v.to_le_bytes()).collect())
        }
        GgmlType::Q8_0 => q8_0(values),
        other => bail!("writing {other:?} is not supported (F32, F16 or Q8_0)"),
    }
}

/// Round half away from zero, as C's `roundf` (and gguf-py's `np_roundf`); Rust's `round`
/// does the same.
fn roundf(x: f32) -> f32 {
    x.round()
}

/// Per block of 32: d = max|x| / 127 stored as f16, q = round(x / d) as int8 (computed as
/// x · (1/d), like ggml's reference, so the rounding of ties matches).
fn q8_0(values: &[f32]) -> Result<Vec<u8>> {
    if !values.len().is_multiple_of(QK8_0) {
        bail!(
            "{} values do not fill whole Q8_0 blocks of {QK8_0}",
            values.len()
        );
    }
    let mut out = Vec::with_capacity(values.len() / QK8_0 * 34);
    for block in values.chunks_exact(QK8_0) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d == 0.0 { 0.0 } else { 1.0 / d };
        out.extend(f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|&x| roundf(x * id) as i8 as u8));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_keeps_each_value_within_half_a_step() {
        let x: Vec<f32> = (0..256)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let raw = quantize(&x, GgmlType::Q8_0).unwrap();
        assert_eq!(raw.len(), 8 * 34);
        let y = GgmlType::Q8_0.dequantize(&raw, x.len()).unwrap();
        for (bx, by) in x.chunks(32).zip(y.chunks(32)) {
            let d = bx.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in bx.iter().zip(by) {
                // Half a step, plus the f16 rounding of d times at most 127 steps.
                assert!((a - b).abs() <= 0.5 * d + 127.0 * d * 1e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn zeros_and_ties_round_like_c() {
        let raw = quantize(&[0.0; 32], GgmlType::Q8_0).unwrap();
        assert!(raw.iter().all(|&b| b == 0));
        assert_eq!(roundf(2.5), 3.0);
        assert_eq!(roundf(-2.5), -3.0);
        assert!(quantize(&[0.0; 31], GgmlType::Q8_0).is_err());
        assert!(quantize(&[0.0; 256], GgmlType::Q4K).is_err());
    }

    #[test]
    fn f16_rounds_to_nearest() {
        let raw = quantize(&[1.0, 1.0 + 1e-4, 65504.0], GgmlType::F16).unwrap();
        let y = GgmlType::F16.dequantize(&raw, 3).unwrap();
        assert_eq!(y, vec![1.0, 1.0, 65504.0]);
    }
}
