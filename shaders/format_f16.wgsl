// F16 weights: two halves per word, element 2i in the low half. unpack2x16float is core WGSL, so this works without
// the shader-f16 feature. Needs the kernel to declare `W: array<u32>` and `X: array<vec4<f32>>`.

const BLOCK_WORDS: u32 = 16u;

fn block_dot(mat: u32, nblocks: u32, blk: u32, xb: u32) -> f32 {
    let base = mat + blk * BLOCK_WORDS;
    var acc = 0.0;
    for (var i = 0u; i < 8u; i++) {
        let w = vec4<f32>(unpack2x16float(W[base + 2u * i]), unpack2x16float(W[base + 2u * i + 1u]));
        acc += dot(w, X[xb + i]);
    }
    return acc;
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return unpack2x16float(W[mat + blk * BLOCK_WORDS + j / 2u])[j & 1u];
}
