// Q8_0 weights, repacked at upload: per matrix, `nblocks` blocks of 8 words (32 int8 values, natural order), then
// the f16 block scales two per word. Same numbers as the GGUF block (d · qs[j]), 4-byte aligned for WGSL.
// Needs the kernel to declare `W: array<u32>` and `X: array<vec4<f32>>`.

const BLOCK_WORDS: u32 = 8u;

fn block_scale(mat: u32, nblocks: u32, blk: u32) -> f32 {
    return unpack2x16float(W[mat + nblocks * BLOCK_WORDS + blk / 2u])[blk & 1u];
}

fn int8x4(w: u32) -> vec4<f32> {
    // Arithmetic right shift sign-extends each byte.
    return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w << 24u, w << 16u, w << 8u, w)) >> vec4<u32>(24u));
}

// Σ_j w[blk][j] · x[xb*4 + j] over the block's 32 values; `xb` indexes X in vec4 units.
fn block_dot(mat: u32, nblocks: u32, blk: u32, xb: u32) -> f32 {
    let base = mat + blk * BLOCK_WORDS;
    var acc = 0.0;
    for (var i = 0u; i < 8u; i++) {
        acc += dot(int8x4(W[base + i]), X[xb + i]);
    }
    return acc * block_scale(mat, nblocks, blk);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return int8x4(W[mat + blk * BLOCK_WORDS + j / 4u])[j & 3u] * block_scale(mat, nblocks, blk);
}
