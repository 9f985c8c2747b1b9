// F16 weights: two halves per word, element 2i in the low half; a chunk is 8 values. unpack2x16float is core
// WGSL, so this works without the shader-f16 feature.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset.

const CHUNKS_PER_BLOCK: u32 = 4u;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    return dot(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), X[xb])
        + dot(vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)), X[xb + 1u]);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return unpack2x16float(word_at(mat + blk * 16u + j / 2u))[j & 1u];
}
