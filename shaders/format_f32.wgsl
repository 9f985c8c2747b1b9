// F32 weights, stored as raw bits; a chunk is 4 values. Composed before weights.wgsl.

const CHUNKS_PER_BLOCK: u32 = 8u;

fn chunk_vec(q: vec4<u32>, i: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(q);
}

fn chunk_scale(mat: u32, nblocks: u32, c: u32) -> f32 {
    return 1.0;
}
