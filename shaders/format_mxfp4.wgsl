// MXFP4 weights (ggml type 39), repacked at upload: per matrix, each block's 16 code bytes (one chunk), then the
// E8M0 exponents four per word. Element j (< 16) is the low nibble of byte j, element j + 16 its high nibble
// (split order, not interleaved). ggml's table is the E2M1 table doubled — {0, 1, 2, 3, 4, 6, 8, 12}, bit 3 the
// sign — hence the scale 2^(e − 128). The values are computed, not looked up: a dynamically indexed constant array
// lands in slow local memory on some GPUs. Composed before weights.wgsl.

const CHUNKS_PER_BLOCK: u32 = 1u;

// Two codes to their E2M1 values × 2^-14, in one conversion: a code's magnitude bits (2 exponent, 1 mantissa)
// placed at an f16's bits 9–11 and its sign at bit 15 make exactly that f16 (codes ±1, E2M1's ±0.5, land on f16
// subnormals, which the conversion keeps). The codes at bits 0–3 and 16–19 of `w` go to x and y. About 5
// integer operations per two weights where decoding through the table took about 14 per weight, which held the
// expert kernels to a fraction of an H200's bandwidth.
fn e2m1_pair(w: u32) -> vec2<f32> {
    return unpack2x16float(((w << 9u) & 0x0e000e00u) | ((w << 12u) & 0x80008000u));
}

// Values 4i .. 4i + 3: the low nibbles of word i's bytes for i < 4, the high nibbles of word i − 4's after.
fn chunk_vec(q: vec4<u32>, i: u32) -> vec4<f32> {
    let w = q[i & 3u] >> ((i >> 2u) * 4u);
    let even = e2m1_pair(w);
    let odd = e2m1_pair(w >> 8u);
    return vec4<f32>(even.x, odd.x, even.y, odd.y);
}

// × 2^15 takes the pairs' E2M1 × 2^-14 to ggml's doubled E2M1, whose block scale is 2^(e − 128).
fn chunk_scale(mat: u32, nblocks: u32, c: u32) -> f32 {
    let e = (W[(mat >> 2u) + nblocks + c / 16u][(c / 4u) & 3u] >> ((c & 3u) * 8u)) & 0xffu;
    return ldexp(32768.0, i32(e) - 128);
}
