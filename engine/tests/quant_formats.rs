//! Every block format decoded from bytes written by hand, against values worked out here from the format
//! definitions (`gpt-oss.md` §2), not from the decoder. Each test also checks the fused `dot_row` against the
//! expected values and that a row of the wrong length is refused.

use gptoss_engine::gguf::GgmlType;
use gptoss_engine::quant::{dequantize_row, dot_row, BlockFormat};

// binary16 bit patterns.
const F16_ONE: [u8; 2] = [0x00, 0x3C];
const F16_HALF: [u8; 2] = [0x00, 0x38];
const F16_QUARTER: [u8; 2] = [0x00, 0x34];
const F16_EIGHTH: [u8; 2] = [0x00, 0x30];
const F16_TWO: [u8; 2] = [0x00, 0x40];
const F16_MINUS_ONE: [u8; 2] = [0x00, 0xBC];
const F16_ONE_AND_HALF: [u8; 2] = [0x00, 0x3E];

fn format(t: GgmlType) -> BlockFormat {
    BlockFormat::try_from(t).expect("decodable")
}

/// Decode `bytes`, compare with `expected` exactly, check `dot_row` and the length checks.
fn check(t: GgmlType, bytes: &[u8], expected: &[f32]) {
    let f = format(t);
    let mut got = vec![f32::NAN; expected.len()];
    dequantize_row(f, bytes, &mut got).expect("decode");
    for (j, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g.to_bits(), e.to_bits(), "{t} value {j}: got {g}, expected {e}");
    }
    let x: Vec<f32> = (0..expected.len()).map(|j| (j % 7) as f32 - 3.0).collect();
    let want: f64 = expected.iter().zip(&x).map(|(&e, &x)| e as f64 * x as f64).sum();
    let scale: f64 = expected.iter().zip(&x).map(|(&e, &x)| (e as f64 * x as f64).abs()).sum();
    let dot = dot_row(f, bytes, &x) as f64;
    // f32 accumulation over at most 256 terms.
    assert!((dot - want).abs() <= 1e-5 * scale, "{t} dot_row: {dot} vs {want}");
    assert!(dequantize_row(f, &bytes[..bytes.len() - 1], &mut got).is_err(), "{t}: short row accepted");
    let mut too_many = vec![0f32; expected.len() + f.block_values()];
    assert!(dequantize_row(f, bytes, &mut too_many).is_err(), "{t}: wrong value count accepted");
}

/// 16 bytes whose low nibbles are codes 0..15 and high nibbles 15..0: in ggml's split order, value j (j < 16) has
/// code j and value j + 16 has code 15 − j.
fn split_codes() -> ([u8; 16], [u8; 32]) {
    let mut qs = [0u8; 16];
    let mut codes = [0u8; 32];
    for j in 0..16 {
        qs[j] = j as u8 | ((15 - j as u8) << 4);
        codes[j] = j as u8;
        codes[j + 16] = 15 - j as u8;
    }
    (qs, codes)
}

#[test]
fn f32_f16_bf16() {
    let mut f32_bytes = Vec::new();
    for v in [1.5f32, -2.0, 0.1, 1e-40] {
        f32_bytes.extend_from_slice(&v.to_le_bytes());
    }
    check(GgmlType::F32, &f32_bytes, &[1.5, -2.0, 0.1, 1e-40]);
    // 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504 (largest), 0x0001 = 2^−24 (smallest subnormal), 0x3555 = 1365/4096 ≈ 1/3.
    let f16 = [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x55, 0x35];
    check(GgmlType::F16, &f16, &[1.0, -2.0, 65504.0, 2f32.powi(-24), 1365.0 / 4096.0]);
    // bf16 is the top half of an f32: 0x3F80 = 1, 0xC040 = −3, 0x4049 = 3.140625, 0x0001 = 2^−133.
    let bf16 = [0x80, 0x3F, 0x40, 0xC0, 0x49, 0x40, 0x01, 0x00];
    check(GgmlType::BF16, &bf16, &[1.0, -3.0, 3.140625, f32::from_bits(0x0001_0000)]);
}

#[test]
fn q8_0() {
    // d = 0.5, q_j = 8j − 128 (two's complement), except q_31 = 127.
    let mut b = F16_HALF.to_vec();
    let q: Vec<i32> = (0..32).map(|j| if j == 31 { 127 } else { 8 * j - 128 }).collect();
    b.extend(q.iter().map(|&q| q as i8 as u8));
    let expected: Vec<f32> = q.iter().map(|&q| 0.5 * q as f32).collect();
    assert_eq!((expected[0], expected[16], expected[31]), (-64.0, 0.0, 63.5));
    check(GgmlType::Q8_0, &b, &expected);
    // Two blocks in one row: the second with d = −1.
    let mut two = b.clone();
    two.extend_from_slice(&F16_MINUS_ONE);
    two.extend(q.iter().map(|&q| q as i8 as u8));
    let mut expected2 = expected.clone();
    expected2.extend(q.iter().map(|&q| -(q as f32)));
    check(GgmlType::Q8_0, &two, &expected2);
}

#[test]
fn mxfp4() {
    // OCP MX: value = E2M1(code)·2^(e−127); E2M1 magnitudes for codes 0..7, bit 3 the sign. ggml's table holds
    // code 8 (−0) as +0.
    let e2m1 = |c: u8| {
        let mag = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0][(c & 7) as usize];
        if c & 8 != 0 && mag != 0.0 {
            -mag
        } else {
            mag
        }
    };
    let (qs, codes) = split_codes();
    for e in [128u8, 120, 200, 1, 0] {
        let mut b = vec![e];
        b.extend_from_slice(&qs);
        let scale = 2f64.powi(e as i32 - 127);
        let expected: Vec<f32> = codes.iter().map(|&c| (e2m1(c) * scale) as f32).collect();
        check(GgmlType::MXFP4, &b, &expected);
    }
    // Spot values with e = 128 (×2): value 5 is code 5 = 3.0 → 6; value 16 is code 15 = −6 → −12; value 23 is
    // code 8 = −0 → 0; value 7 is code 7 = 6 → 12.
    let mut b = vec![128u8];
    b.extend_from_slice(&qs);
    let mut y = [0f32; 32];
    dequantize_row(format(GgmlType::MXFP4), &b, &mut y).expect("decode");
    assert_eq!((y[5], y[16], y[23], y[7]), (6.0, -12.0, 0.0, 12.0));
}

#[test]
fn q4_0() {
    // d = 2: value = (code − 8)·2.
    let (qs, codes) = split_codes();
    let mut b = F16_TWO.to_vec();
    b.extend_from_slice(&qs);
    let expected: Vec<f32> = codes.iter().map(|&c| (c as f32 - 8.0) * 2.0).collect();
    assert_eq!((expected[0], expected[15], expected[16]), (-16.0, 14.0, 14.0));
    check(GgmlType::Q4_0, &b, &expected);
}

#[test]
fn q4_1() {
    // d = 0.5, m = −1: value = code·0.5 − 1.
    let (qs, codes) = split_codes();
    let mut b = F16_HALF.to_vec();
    b.extend_from_slice(&F16_MINUS_ONE);
    b.extend_from_slice(&qs);
    let expected: Vec<f32> = codes.iter().map(|&c| c as f32 * 0.5 - 1.0).collect();
    assert_eq!((expected[0], expected[31]), (-1.0, -1.0));
    check(GgmlType::Q4_1, &b, &expected);
}

/// qh = 0xF0F0_5555 as little-endian bytes: bit j set for j even below 16, and for j in 20..24 and 28..32.
const QH: u32 = 0xF0F0_5555;

fn five_bit_codes() -> ([u8; 16], Vec<u32>) {
    let (qs, codes) = split_codes();
    let q5 = codes.iter().enumerate().map(|(j, &c)| c as u32 + 16 * ((QH >> j) & 1)).collect();
    (qs, q5)
}

#[test]
fn q5_0() {
    // d = 1: value = q5 − 16 where q5 = code + 16·(bit j of qh).
    let (qs, q5) = five_bit_codes();
    let mut b = F16_ONE.to_vec();
    b.extend_from_slice(&QH.to_le_bytes());
    b.extend_from_slice(&qs);
    let expected: Vec<f32> = q5.iter().map(|&q| q as f32 - 16.0).collect();
    // value 0: code 0, bit set → 0; value 1: code 1, bit clear → −15; value 31: code 0, bit set → 0;
    // value 16: code 15, bit clear → −1; value 20: code 11, bit set → 11.
    assert_eq!((expected[0], expected[1], expected[31], expected[16], expected[20]), (0.0, -15.0, 0.0, -1.0, 11.0));
    check(GgmlType::Q5_0, &b, &expected);
}

#[test]
fn q5_1() {
    // d = 0.25, m = 1.5: value = q5·0.25 + 1.5.
    let (qs, q5) = five_bit_codes();
    let mut b = F16_QUARTER.to_vec();
    b.extend_from_slice(&F16_ONE_AND_HALF);
    b.extend_from_slice(&QH.to_le_bytes());
    b.extend_from_slice(&qs);
    let expected: Vec<f32> = q5.iter().map(|&q| q as f32 * 0.25 + 1.5).collect();
    assert_eq!((expected[0], expected[1], expected[20]), (5.5, 1.75, 8.25));
    check(GgmlType::Q5_1, &b, &expected);
}

#[test]
fn iq4_nl() {
    // d = 1/8: value = T[code]/8 with ggml's non-linear table.
    const T: [f32; 16] = [-127., -104., -83., -65., -49., -35., -22., -10., 1., 13., 25., 38., 53., 69., 89., 113.];
    let (qs, codes) = split_codes();
    let mut b = F16_EIGHTH.to_vec();
    b.extend_from_slice(&qs);
    let expected: Vec<f32> = codes.iter().map(|&c| T[c as usize] * 0.125).collect();
    assert_eq!((expected[0], expected[15], expected[23]), (-15.875, 14.125, 0.125));
    check(GgmlType::IQ4_NL, &b, &expected);
}

#[test]
fn q4_k() {
    // Eight sub-blocks of 32 with 6-bit (scale, min); d = 1, dmin = 0.5: value = sc·q − 0.5·m.
    let sc = [1u8, 2, 3, 63, 40, 17, 33, 5];
    let mn = [0u8, 5, 10, 62, 21, 48, 7, 63];
    // Packing, worked out by hand: bytes 0–3 = sc[0..4] | (sc[4..8] >> 4) << 6; bytes 4–7 = mn[0..4] | (mn[4..8] >> 4) << 6;
    // bytes 8–11 = (sc[4..8] & 15) | (mn[4..8] & 15) << 4.
    // sc[4..8] = 40, 17, 33, 5 → top bits 2, 1, 2, 0, low nibbles 8, 1, 1, 5; mn[4..8] = 21, 48, 7, 63 → 1, 3, 0, 3 / 5, 0, 7, 15.
    let scales = [0x81, 0x42, 0x83, 0x3F, 0x40, 0xC5, 0x0A, 0xFE, 0x58, 0x01, 0x71, 0xF5];
    let qs: Vec<u8> = (0..128).map(|i| i as u8).collect();
    let mut b = F16_ONE.to_vec();
    b.extend_from_slice(&F16_HALF);
    b.extend_from_slice(&scales);
    b.extend_from_slice(&qs);
    // Value v: chunk c = v / 64 reads qs[32c..32c+32]; its first 32 values are the low nibbles (sub-block 2c), the
    // next 32 the high nibbles (sub-block 2c + 1).
    let expected: Vec<f32> = (0..256)
        .map(|v| {
            let (c, w) = (v / 64, v % 64);
            let byte = qs[32 * c + w % 32];
            let (s, q) = if w < 32 { (2 * c, byte & 15) } else { (2 * c + 1, byte >> 4) };
            sc[s] as f32 * q as f32 - 0.5 * mn[s] as f32
        })
        .collect();
    // Spot values: v = 0 → 1·0 − 0 = 0; v = 33 → sub-block 1, qs[1] >> 4 = 0 → −2.5; v = 191 → sub-block 5,
    // qs[95] = 0x5F → high nibble 5 → 17·5 − 24 = 61; v = 255 → sub-block 7, qs[127] >> 4 = 7 → 5·7 − 31.5 = 3.5.
    assert_eq!((expected[0], expected[33], expected[191], expected[255]), (0.0, -2.5, 61.0, 3.5));
    check(GgmlType::Q4_K, &b, &expected);
}

#[test]
fn q6_k() {
    // ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16], f16 d = 0.5 at the end: value = d·sc·(q6 − 32).
    let ql: Vec<u8> = (0..128).map(|i| (i * 37 % 256) as u8).collect();
    let qh: Vec<u8> = (0..64).map(|i| (i * 53 % 256) as u8).collect();
    let sc: Vec<i8> = (0..16).map(|i| i as i8 - 8).collect();
    let mut b = ql.clone();
    b.extend_from_slice(&qh);
    b.extend(sc.iter().map(|&s| s as u8));
    b.extend_from_slice(&F16_HALF);
    // Value v: half h = v / 128 (ql from 64h, qh from 32h, scales from 8h); quarter t = (v % 128) / 32, l = v % 32.
    // Quarter 0: ql[l] low, qh[l] bits 0–1; 1: ql[l+32] low, bits 2–3; 2: ql[l] high, bits 4–5; 3: ql[l+32] high,
    // bits 6–7. Scale index is l / 16 + 2t.
    let expected: Vec<f32> = (0..256)
        .map(|v| {
            let (h, t, l) = (v / 128, (v % 128) / 32, v % 32);
            let low_byte = ql[64 * h + l + if t % 2 == 1 { 32 } else { 0 }];
            let low = if t < 2 { low_byte & 15 } else { low_byte >> 4 };
            let high = (qh[32 * h + l] >> (2 * t)) & 3;
            let q6 = (low | (high << 4)) as f32 - 32.0;
            0.5 * sc[8 * h + l / 16 + 2 * t] as f32 * q6
        })
        .collect();
    // Spot values: v = 0 → ql[0] = 0, qh[0] = 0 → q6 = −32, sc[0] = −8 → 0.5·−8·−32 = 128;
    // v = 1 → ql[1] = 37 (low 5), qh[1] = 53 (bits 0–1 = 1) → q6 = 21 − 32 = −11 → 0.5·−8·−11 = 44.
    assert_eq!((expected[0], expected[1]), (128.0, 44.0));
    check(GgmlType::Q6_K, &b, &expected);
}

#[test]
fn unsupported_types_are_refused() {
    for t in [GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q5_K, GgmlType::Q8_1, GgmlType::I32] {
        let err = BlockFormat::try_from(t).expect_err("not decodable");
        assert!(err.to_string().contains(t.name()), "{err}");
    }
    for t in GgmlType::ALL {
        if let Some(f) = BlockFormat::from_ggml(t) {
            assert_eq!(f.ggml_type(), t);
            assert_eq!((f.block_values() as u64, f.block_bytes() as u64), (t.block_size(), t.type_size()));
        }
    }
}
