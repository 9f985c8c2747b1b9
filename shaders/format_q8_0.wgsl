// Q8_0 weights, repacked at upload: per matrix, the blocks' 32 int8 values (natural order, two chunks per block),
// then the f16 block scales two per word. Same numbers as the GGUF block (d · qs[j]), 16-byte aligned for WGSL.
// Composed before weights.wgsl.

const CHUNKS_PER_BLOCK: u32 = 2u;

fn int8x4(w: u32) -> vec4<f32> {
    // Arithmetic right shift sign-extends each byte.
    return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w << 24u, w << 16u, w << 8u, w)) >> vec4<u32>(24u));
}

fn chunk_vec(q: vec4<u32>, i: u32) -> vec4<f32> {
    return int8x4(q[i]);
}

fn chunk_scale(mat: u32, nblocks: u32, c: u32) -> f32 {
    let blk = c / CHUNKS_PER_BLOCK;
    return unpack2x16float(W[(mat >> 2u) + 2u * nblocks + blk / 8u][(blk / 2u) & 3u])[blk & 1u];
}
