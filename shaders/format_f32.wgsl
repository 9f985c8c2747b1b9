// F32 weights, stored as raw bits; a chunk is 4 values.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset.

const CHUNKS_PER_BLOCK: u32 = 8u;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    return dot(bitcast<vec4<f32>>(q), X[xb]);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return bitcast<f32>(word_at(mat + blk * 32u + j));
}
