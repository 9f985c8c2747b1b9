// F32 weights, stored as raw bits. Needs the kernel to declare `W: array<u32>` and `X: array<vec4<f32>>`.

const BLOCK_WORDS: u32 = 32u;

fn block_dot(mat: u32, nblocks: u32, blk: u32, xb: u32) -> f32 {
    let base = mat + blk * BLOCK_WORDS;
    var acc = 0.0;
    for (var i = 0u; i < 8u; i++) {
        let o = base + 4u * i;
        acc += dot(bitcast<vec4<f32>>(vec4<u32>(W[o], W[o + 1u], W[o + 2u], W[o + 3u])), X[xb + i]);
    }
    return acc;
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return bitcast<f32>(W[mat + blk * BLOCK_WORDS + j]);
}
