// BF16 weights: two per word, element 2i in the low half; a bf16 is the top 16 bits of an f32. A chunk is 8 values.
// Composed before weights.wgsl.

const CHUNKS_PER_BLOCK: u32 = 4u;

fn bf16x2(w: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

fn chunk_vec(q: vec4<u32>, i: u32) -> vec4<f32> {
    return vec4<f32>(bf16x2(q[2u * i]), bf16x2(q[2u * i + 1u]));
}

fn chunk_scale(mat: u32, nblocks: u32, c: u32) -> f32 {
    return 1.0;
}
