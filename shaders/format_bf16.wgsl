// BF16 weights: two per word, element 2i in the low half; a bf16 is the top 16 bits of an f32. A chunk is 8 values.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset.

const CHUNKS_PER_BLOCK: u32 = 4u;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

fn bf16x2(w: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    return dot(vec4<f32>(bf16x2(q.x), bf16x2(q.y)), X[xb]) + dot(vec4<f32>(bf16x2(q.z), bf16x2(q.w)), X[xb + 1u]);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return bf16x2(word_at(mat + blk * 16u + j / 2u))[j & 1u];
}
