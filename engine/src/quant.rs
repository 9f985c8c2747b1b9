//! Block formats of ggml tensors (`gpt-oss.md` §2): decoding to f32, one row at a time, and a fused row · vector
//! product for mat-vec, so that weights stay in their quantised bytes and are never expanded whole.
//!
//! Every formula is what `ggml-org/ggml:src/ggml-quants.c` `dequantize_row_*` computes. Multi-byte fields are
//! little-endian; `f16` is IEEE binary16 and `bf16` the top half of a binary32.

use crate::gguf::GgmlType;
use crate::{Error, Result};

/// A ggml tensor type this engine can decode.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BlockFormat {
    F32,
    F16,
    BF16,
    Q8_0,
    MXFP4,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    IQ4_NL,
    Q4_K,
    Q6_K,
}

impl BlockFormat {
    /// The decodable format of a ggml type, or `None` for types gpt-oss files do not use.
    pub fn from_ggml(t: GgmlType) -> Option<Self> {
        Some(match t {
            GgmlType::F32 => BlockFormat::F32,
            GgmlType::F16 => BlockFormat::F16,
            GgmlType::BF16 => BlockFormat::BF16,
            GgmlType::Q8_0 => BlockFormat::Q8_0,
            GgmlType::MXFP4 => BlockFormat::MXFP4,
            GgmlType::Q4_0 => BlockFormat::Q4_0,
            GgmlType::Q4_1 => BlockFormat::Q4_1,
            GgmlType::Q5_0 => BlockFormat::Q5_0,
            GgmlType::Q5_1 => BlockFormat::Q5_1,
            GgmlType::IQ4_NL => BlockFormat::IQ4_NL,
            GgmlType::Q4_K => BlockFormat::Q4_K,
            GgmlType::Q6_K => BlockFormat::Q6_K,
            _ => return None,
        })
    }

    pub fn ggml_type(self) -> GgmlType {
        match self {
            BlockFormat::F32 => GgmlType::F32,
            BlockFormat::F16 => GgmlType::F16,
            BlockFormat::BF16 => GgmlType::BF16,
            BlockFormat::Q8_0 => GgmlType::Q8_0,
            BlockFormat::MXFP4 => GgmlType::MXFP4,
            BlockFormat::Q4_0 => GgmlType::Q4_0,
            BlockFormat::Q4_1 => GgmlType::Q4_1,
            BlockFormat::Q5_0 => GgmlType::Q5_0,
            BlockFormat::Q5_1 => GgmlType::Q5_1,
            BlockFormat::IQ4_NL => GgmlType::IQ4_NL,
            BlockFormat::Q4_K => GgmlType::Q4_K,
            BlockFormat::Q6_K => GgmlType::Q6_K,
        }
    }

    /// Values per block.
    pub fn block_values(self) -> usize {
        self.ggml_type().block_size() as usize
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        self.ggml_type().type_size() as usize
    }

    /// Bytes of a row of `n` values, or `None` when `n` is not a whole number of blocks.
    pub fn row_bytes(self, n: usize) -> Option<usize> {
        n.is_multiple_of(self.block_values()).then(|| n / self.block_values() * self.block_bytes())
    }
}

impl TryFrom<GgmlType> for BlockFormat {
    type Error = Error;

    fn try_from(t: GgmlType) -> Result<Self> {
        BlockFormat::from_ggml(t).ok_or_else(|| Error::Model(format!("tensor type {t} cannot be decoded")))
    }
}

/// Decode a row: `out.len()` values from `row`, which holds `out.len() / block_values` whole blocks.
/// Fails when the lengths disagree.
pub fn dequantize_row(format: BlockFormat, row: &[u8], out: &mut [f32]) -> Result<()> {
    check_row(format, row, out.len())?;
    decode_blocks(format, row, out);
    Ok(())
}

/// `Σ_j row[j]·x[j]` over the `x.len()` values of a row, without materialising the row: blocks are decoded a
/// few at a time into a stack buffer. The caller guarantees `row.len() == format.row_bytes(x.len())` (checked
/// once per tensor at load time, see [`check_row`]); values past the shorter of the two are ignored, never read
/// out of bounds.
pub fn dot_row(format: BlockFormat, row: &[u8], x: &[f32]) -> f32 {
    // Runs of up to 256 values (one K-quant block, eight 32-blocks, 256 plain values).
    let run_blocks = (256 / format.block_values()).max(1);
    let mut buf = [0f32; 256];
    row.chunks(run_blocks * format.block_bytes())
        .zip(x.chunks(run_blocks * format.block_values()))
        .map(|(bytes, x)| {
            let values = &mut buf[..x.len()];
            decode_blocks(format, bytes, values);
            dot(values, x)
        })
        .sum()
}

/// Check that `row` holds exactly `n` values of `format`; the error says which lengths disagree.
pub fn check_row(format: BlockFormat, row: &[u8], n: usize) -> Result<()> {
    match format.row_bytes(n) {
        Some(bytes) if bytes == row.len() => Ok(()),
        Some(bytes) => {
            Err(Error::Model(format!("a {format:?} row of {n} values is {bytes} bytes, got {} bytes", row.len())))
        }
        None => Err(Error::Model(format!(
            "{n} values are not a whole number of {format:?} blocks of {}",
            format.block_values()
        ))),
    }
}

/// Σ a_j·x_j with eight independent accumulators, so the compiler can vectorise it.
fn dot(a: &[f32], x: &[f32]) -> f32 {
    let (a8, x8) = (a.chunks_exact(8), x.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(x8.remainder()).map(|(a, x)| a * x).sum();
    let mut acc = [0f32; 8];
    for (a, x) in a8.zip(x8) {
        for l in 0..8 {
            acc[l] += a[l] * x[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Decode the whole blocks of `bytes` into `out` (one format dispatch per run, the block loop inside each arm).
fn decode_blocks(format: BlockFormat, bytes: &[u8], out: &mut [f32]) {
    match format {
        BlockFormat::F32 => each_block(bytes, out, 4, 1, |b, y| y[0] = f32_at(b, 0)),
        BlockFormat::F16 => each_block(bytes, out, 2, 1, |b, y| y[0] = f16_at(b, 0)),
        BlockFormat::BF16 => each_block(bytes, out, 2, 1, |b, y| y[0] = bf16_at(b, 0)),
        // Q8_0: f16 d, int8 qs[32]; y = d·q.
        BlockFormat::Q8_0 => each_block(bytes, out, 34, 32, |b, y| {
            let d = f16_at(b, 0);
            for (y, &q) in y.iter_mut().zip(&b[2..34]) {
                *y = d * (q as i8 as f32);
            }
        }),
        // MXFP4: E8M0 e, qs[16]; y = kvalues_mxfp4[code]·2^(e−128) (the table is E2M1 doubled).
        BlockFormat::MXFP4 => each_block(bytes, out, 17, 32, |b, y| {
            let d = e8m0_half(b[0]);
            split_nibbles(&b[1..17], y, |_, c| MXFP4_VALUES[c as usize] * d);
        }),
        // Q4_0: f16 d, qs[16]; y = (q − 8)·d.
        BlockFormat::Q4_0 => each_block(bytes, out, 18, 32, |b, y| {
            let d = f16_at(b, 0);
            split_nibbles(&b[2..18], y, |_, q| (q as i32 - 8) as f32 * d);
        }),
        // Q4_1: f16 d, f16 m, qs[16]; y = q·d + m.
        BlockFormat::Q4_1 => each_block(bytes, out, 20, 32, |b, y| {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            split_nibbles(&b[4..20], y, |_, q| q as f32 * d + m);
        }),
        // Q5_0: f16 d, u32 qh, qs[16]; bit j of qh is bit 4 of value j; y = (q5 − 16)·d.
        BlockFormat::Q5_0 => each_block(bytes, out, 22, 32, |b, y| {
            let d = f16_at(b, 0);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            split_nibbles(&b[6..22], y, |j, q| (five_bit(qh, j, q) as i32 - 16) as f32 * d);
        }),
        // Q5_1: f16 d, f16 m, u32 qh, qs[16]; y = q5·d + m.
        BlockFormat::Q5_1 => each_block(bytes, out, 24, 32, |b, y| {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            split_nibbles(&b[8..24], y, |j, q| five_bit(qh, j, q) as f32 * d + m);
        }),
        // IQ4_NL: f16 d, qs[16]; y = d·kvalues_iq4nl[code].
        BlockFormat::IQ4_NL => each_block(bytes, out, 18, 32, |b, y| {
            let d = f16_at(b, 0);
            split_nibbles(&b[2..18], y, |_, c| d * IQ4_NL_VALUES[c as usize] as f32);
        }),
        BlockFormat::Q4_K => each_block(bytes, out, 144, 256, decode_q4_k),
        BlockFormat::Q6_K => each_block(bytes, out, 210, 256, decode_q6_k),
    }
}

/// Run `decode` over each `block_bytes`-byte block of `bytes` and its `block_values` outputs.
#[inline(always)]
fn each_block(
    bytes: &[u8],
    out: &mut [f32],
    block_bytes: usize,
    block_values: usize,
    decode: impl Fn(&[u8], &mut [f32]),
) {
    for (b, y) in bytes.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block_values)) {
        decode(b, y);
    }
}

/// Q4_K: f16 d, f16 dmin, scales[12] (eight 6-bit scale/min pairs), qs[128]. Each 64-value chunk c takes the low
/// nibbles of qs[32c..32c+32] with sub-block 2c, then the high nibbles with sub-block 2c+1; y = d·sc·q − dmin·m.
fn decode_q4_k(b: &[u8], out: &mut [f32]) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let scales = &b[4..16];
    let qs = &b[16..144];
    for (c, (q, y)) in qs.chunks_exact(32).zip(out.chunks_exact_mut(64)).enumerate() {
        let (lo, hi) = y.split_at_mut(32);
        for (half, shift, y) in [(0, 0, lo), (1, 4, hi)] {
            let (sc, m) = q4_k_scale_min(scales, 2 * c + half);
            let (d1, m1) = (d * sc as f32, dmin * m as f32);
            for (y, &q) in y.iter_mut().zip(q) {
                *y = d1 * ((q >> shift) & 0xF) as f32 - m1;
            }
        }
    }
}

/// `get_scale_min_k4`: sub-blocks 0–3 keep their 6 bits in scales[s] / scales[s+4]; 4–7 take their low 4 bits from
/// scales[s+4] and their top 2 bits from the spare top bits of scales[s−4] (scale) and scales[s] (min).
fn q4_k_scale_min(scales: &[u8], s: usize) -> (u8, u8) {
    if s < 4 {
        (scales[s] & 63, scales[s + 4] & 63)
    } else {
        ((scales[s + 4] & 0xF) | ((scales[s - 4] >> 6) << 4), (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4))
    }
}

/// Q6_K: ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16], f16 d at the end; per 128-value half,
/// y = d·sc·(q6 − 32) with the four 32-value quarters taking ql low/high nibbles and qh bit pairs 0–1 … 6–7.
fn decode_q6_k(b: &[u8], out: &mut [f32]) {
    let d = f16_at(b, 208);
    for (h, y) in out.chunks_exact_mut(128).enumerate() {
        let ql = &b[64 * h..64 * h + 64];
        let qh = &b[128 + 32 * h..128 + 32 * h + 32];
        let sc = |i: usize| b[192 + 8 * h + i] as i8 as f32;
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            y[l] = d * sc(is) * q1 as f32;
            y[l + 32] = d * sc(is + 2) * q2 as f32;
            y[l + 64] = d * sc(is + 4) * q3 as f32;
            y[l + 96] = d * sc(is + 6) * q4 as f32;
        }
    }
}

/// Write `value(j, code)` for the 32 4-bit codes of a 16-byte `qs` in ggml's split order: the low nibble of qs[j]
/// is value j, the high nibble value j + 16.
#[inline(always)]
fn split_nibbles(qs: &[u8], y: &mut [f32], value: impl Fn(usize, u8) -> f32) {
    let (lo, hi) = y.split_at_mut(16);
    for (j, ((&q, lo), hi)) in qs.iter().zip(lo).zip(hi).enumerate() {
        *lo = value(j, q & 0xF);
        *hi = value(j + 16, q >> 4);
    }
}

/// Q5_0/Q5_1: bit j of `qh` is bit 4 of value j.
#[inline(always)]
fn five_bit(qh: u32, j: usize, code: u8) -> u8 {
    code | ((((qh >> j) & 1) as u8) << 4)
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// bf16 is the upper 16 bits of an f32.
fn bf16_at(b: &[u8], at: usize) -> f32 {
    f32::from_bits((u16::from_le_bytes([b[at], b[at + 1]]) as u32) << 16)
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// `GGML_E8M0_TO_FP32_HALF`: 2^(e−128), built bit-exactly as ggml does (subnormal for e = 0 and 1; 255 is not NaN).
fn e8m0_half(e: u8) -> f32 {
    let e = e as u32;
    f32::from_bits(if e < 2 { 0x0020_0000 << e } else { (e - 1) << 23 })
}

/// `kvalues_mxfp4`: the E2M1 values doubled (the scale is halved to match).
const MXFP4_VALUES: [f32; 16] = [0., 1., 2., 3., 4., 6., 8., 12., 0., -1., -2., -3., -4., -6., -8., -12.];

/// `kvalues_iq4nl`.
const IQ4_NL_VALUES: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
