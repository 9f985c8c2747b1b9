// F16 weights: two halves per word, element 2i in the low half; a chunk is 8 values. unpack2x16float is core
// WGSL, so this works without the shader-f16 feature. Composed before weights.wgsl.

const CHUNKS_PER_BLOCK: u32 = 4u;

fn chunk_vec(q: vec4<u32>, i: u32) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(q[2u * i]), unpack2x16float(q[2u * i + 1u]));
}

fn chunk_scale(mat: u32, nblocks: u32, c: u32) -> f32 {
    return 1.0;
}
