// BF16 weights: two per word, element 2i in the low half; a bf16 is the top 16 bits of an f32.
// Needs the kernel to declare `W: array<u32>` and `X: array<vec4<f32>>`.

const BLOCK_WORDS: u32 = 16u;

fn bf16x2(w: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

fn block_dot(mat: u32, nblocks: u32, blk: u32, xb: u32) -> f32 {
    let base = mat + blk * BLOCK_WORDS;
    var acc = 0.0;
    for (var i = 0u; i < 8u; i++) {
        let w = vec4<f32>(bf16x2(W[base + 2u * i]), bf16x2(W[base + 2u * i + 1u]));
        acc += dot(w, X[xb + i]);
    }
    return acc;
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return bf16x2(W[mat + blk * BLOCK_WORDS + j / 2u])[j & 1u];
}
