//! ggml tensor types and their dequantisation to f32 (block layouts as in ggml-quants.c).

use anyhow::{bail, Result};
use half::{bf16, f16};

/// The tensor types tunedeck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
}

const QK_K: usize = 256;

impl GgmlType {
    pub fn from_u32(v: u32) -> Result<Self> {
        Ok(match v {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::BF16,
            other => bail!(
                "unsupported tensor type {} (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, \
                 Q5_K, Q6_K); re-quantise the model with one of those",
                type_name(other)
            ),
        })
    }

    /// The type's number in GGUF's tensor directory.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::BF16 => 30,
        }
    }

    /// (elements per block, bytes per block)
    fn block(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::BF16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q8_0 => (32, 34),
            Self::Q4K => (QK_K, 144),
            Self::Q5K => (QK_K, 176),
            Self::Q6K => (QK_K, 210),
        }
    }

    /// Bytes taken by `numel` elements; an error when they do not fill whole blocks.
    pub fn byte_size(self, numel: usize) -> Result<usize> {
        let (per_block, bytes) = self.block();
        if !numel.is_multiple_of(per_block) {
            bail!("{numel} elements do not fill whole {self:?} blocks of {per_block}");
        }
        Ok(numel / per_block * bytes)
    }

    pub fn dequantize(self, raw: &[u8], numel: usize) -> Result<Vec<f32>> {
        let (per_block, bytes) = self.block();
        if raw.len() != self.byte_size(numel)? {
            bail!(
                "{self:?} data has {} bytes, expected {}",
                raw.len(),
                self.byte_size(numel)?
            );
        }
        let mut out = Vec::with_capacity(numel);
        for b in raw.chunks_exact(bytes) {
            match self {
                Self::F32 => out.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                Self::F16 => out.push(half16(b, 0)),
                Self::BF16 => out.push(bf16::from_le_bytes([b[0], b[1]]).to_f32()),
                Self::Q4_0 => q4_0(b, &mut out),
                Self::Q4_1 => q4_1(b, &mut out),
                Self::Q8_0 => q8_0(b, &mut out),
                Self::Q4K => q4_k(b, &mut out),
                Self::Q5K => q5_k(b, &mut out),
                Self::Q6K => q6_k(b, &mut out),
            }
        }
        debug_assert_eq!(out.len(), numel, "{per_block}");
        Ok(out)
    }
}

fn type_name(v: u32) -> String {
    let name = match v {
        6 => "Q5_0",
        7 => "Q5_1",
        9 => "Q8_1",
        10 => "Q2_K",
        11 => "Q3_K",
        15 => "Q8_K",
        16..=23 => "an IQ quant",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        _ => return format!("#{v}"),
    };
    format!("{name} (#{v})")
}

fn half16(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// 32 values: f16 d, 16 bytes of nibbles (low = 0..16, high = 16..32), value = (q - 8)·d.
fn q4_0(b: &[u8], out: &mut Vec<f32>) {
    let d = half16(b, 0);
    let qs = &b[2..18];
    out.extend(qs.iter().map(|&q| ((q & 0xF) as f32 - 8.0) * d));
    out.extend(qs.iter().map(|&q| ((q >> 4) as f32 - 8.0) * d));
}

/// 32 values: f16 d, f16 m, 16 bytes of nibbles, value = q·d + m.
fn q4_1(b: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (half16(b, 0), half16(b, 2));
    let qs = &b[4..20];
    out.extend(qs.iter().map(|&q| (q & 0xF) as f32 * d + m));
    out.extend(qs.iter().map(|&q| (q >> 4) as f32 * d + m));
}

/// 32 values: f16 d, 32 int8, value = q·d.
fn q8_0(b: &[u8], out: &mut Vec<f32>) {
    let d = half16(b, 0);
    out.extend(b[2..34].iter().map(|&q| q as i8 as f32 * d));
}

/// The 6-bit scale and min of sub-block `j` from the 12 packed bytes of a Q4_K/Q5_K block.
fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        let sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        (sc as f32, m as f32)
    }
}

/// 256 values in 8 sub-blocks of 32: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128
/// bytes of nibbles; value = d·sc·q − dmin·m.
fn q4_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (half16(b, 0), half16(b, 2));
    let scales = &b[4..16];
    let qs = &b[16..144];
    for (chunk, q) in qs.chunks_exact(32).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * chunk, scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
        out.extend(q.iter().map(|&v| d * sc1 * (v & 0xF) as f32 - dmin * m1));
        out.extend(q.iter().map(|&v| d * sc2 * (v >> 4) as f32 - dmin * m2));
    }
}

/// Q4_K plus a fifth bit per value from 32 bytes of high bits.
fn q5_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (half16(b, 0), half16(b, 2));
    let scales = &b[4..16];
    let qh = &b[16..48];
    let qs = &b[48..176];
    for (chunk, q) in qs.chunks_exact(32).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * chunk, scales);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
        let (u1, u2) = (1u8 << (2 * chunk), 2u8 << (2 * chunk));
        let high = |l: usize, u: u8| if qh[l] & u != 0 { 16.0 } else { 0.0 };
        out.extend((0..32).map(|l| d * sc1 * ((q[l] & 0xF) as f32 + high(l, u1)) - dmin * m1));
        out.extend((0..32).map(|l| d * sc2 * ((q[l] >> 4) as f32 + high(l, u2)) - dmin * m2));
    }
}

/// 256 values: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, f16 d;
/// value = d·scale·(q − 32).
fn q6_k(b: &[u8], out: &mut Vec<f32>) {
    let d = half16(b, 208);
    let start = out.len();
    out.resize(start + QK_K, 0.0);
    let y = &mut out[start..];
    for half in 0..2 {
        let ql = &b[64 * half..64 * half + 64];
        let qh = &b[128 + 32 * half..128 + 32 * half + 32];
        let sc = &b[192 + 8 * half..192 + 8 * half + 8];
        let y = &mut y[128 * half..128 * half + 128];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            let s = |k: usize| d * sc[is + k] as i8 as f32;
            y[l] = s(0) * q1 as f32;
            y[l + 32] = s(2) * q2 as f32;
            y[l + 64] = s(4) * q3 as f32;
            y[l + 96] = s(6) * q4 as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_1_matches_the_design_rule() {
        // d = 0.5, m = -1.0, nibbles: element i (i < 16) = i, element 16 + i = 15 - i.
        let mut b = Vec::new();
        b.extend(f16::from_f32(0.5).to_le_bytes());
        b.extend(f16::from_f32(-1.0).to_le_bytes());
        b.extend((0..16u8).map(|i| i | ((15 - i) << 4)));
        let v = GgmlType::Q4_1.dequantize(&b, 32).unwrap();
        assert_eq!(v[3], 3.0 * 0.5 - 1.0);
        assert_eq!(v[16 + 3], 12.0 * 0.5 - 1.0);
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        assert!(GgmlType::Q8_0.dequantize(&[0; 33], 32).is_err());
        assert!(GgmlType::Q4K.byte_size(100).is_err());
        assert!(GgmlType::from_u32(10)
            .unwrap_err()
            .to_string()
            .contains("Q2_K"));
    }
}
