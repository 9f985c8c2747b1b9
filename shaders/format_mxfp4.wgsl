// MXFP4 weights (ggml type 39), repacked at upload: per matrix, `nblocks` blocks of 4 words (the 16 code bytes),
// then the E8M0 exponents four per word. Element j (< 16) is the low nibble of byte j, element j + 16 its high
// nibble (split order, not interleaved). ggml's table is the E2M1 table doubled, hence the scale 2^(e - 128).
// Needs the kernel to declare `W: array<u32>` and `X: array<vec4<f32>>`.

const BLOCK_WORDS: u32 = 4u;
const MXFP4_VALUES = array<f32, 16>(0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 0.0, -1.0, -2.0, -3.0, -4.0, -6.0, -8.0, -12.0);

fn block_scale(mat: u32, nblocks: u32, blk: u32) -> f32 {
    let e = (W[mat + nblocks * BLOCK_WORDS + blk / 4u] >> ((blk & 3u) * 8u)) & 0xffu;
    return ldexp(1.0, i32(e) - 128);
}

fn block_dot(mat: u32, nblocks: u32, blk: u32, xb: u32) -> f32 {
    let base = mat + blk * BLOCK_WORDS;
    var acc = 0.0;
    for (var i = 0u; i < 4u; i++) {
        let q = W[base + i];
        let lo = vec4<f32>(MXFP4_VALUES[q & 15u], MXFP4_VALUES[(q >> 8u) & 15u], MXFP4_VALUES[(q >> 16u) & 15u], MXFP4_VALUES[(q >> 24u) & 15u]);
        let hi = vec4<f32>(MXFP4_VALUES[(q >> 4u) & 15u], MXFP4_VALUES[(q >> 12u) & 15u], MXFP4_VALUES[(q >> 20u) & 15u], MXFP4_VALUES[q >> 28u]);
        acc += dot(lo, X[xb + i]) + dot(hi, X[xb + 4u + i]);
    }
    return acc * block_scale(mat, nblocks, blk);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    let byte = (W[mat + blk * BLOCK_WORDS + (j & 15u) / 4u] >> ((j & 3u) * 8u)) & 0xffu;
    let code = select(byte & 15u, byte >> 4u, j >= 16u);
    return MXFP4_VALUES[code] * block_scale(mat, nblocks, blk);
}
