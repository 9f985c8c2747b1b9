// Q8_0 weights, repacked at upload: per matrix, the blocks' 32 int8 values (natural order, 2 vec4 per block),
// then the f16 block scales two per word. Same numbers as the GGUF block (d · qs[j]), 16-byte aligned for WGSL.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset.

const CHUNKS_PER_BLOCK: u32 = 2u;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

fn block_scale(mat: u32, nblocks: u32, blk: u32) -> f32 {
    return unpack2x16float(word_at(mat + nblocks * 8u + blk / 2u))[blk & 1u];
}

fn int8x4(w: u32) -> vec4<f32> {
    // Arithmetic right shift sign-extends each byte.
    return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w << 24u, w << 16u, w << 8u, w)) >> vec4<u32>(24u));
}

// Σ w·x over chunk `c` of the matrix (values 16c .. 16c + 15), whose 16 bytes `q` the caller loaded; `xb` is the
// X index (vec4 units) of the chunk's first value.
fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    let acc = dot(int8x4(q.x), X[xb]) + dot(int8x4(q.y), X[xb + 1u]) + dot(int8x4(q.z), X[xb + 2u]) + dot(int8x4(q.w), X[xb + 3u]);
    return acc * block_scale(mat, nblocks, c / CHUNKS_PER_BLOCK);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    return int8x4(word_at(mat + blk * 8u + j / 4u))[j & 3u] * block_scale(mat, nblocks, blk);
}
