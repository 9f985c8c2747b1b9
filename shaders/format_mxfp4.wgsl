// MXFP4 weights (ggml type 39), repacked at upload: per matrix, each block's 16 code bytes (one vec4), then the
// E8M0 exponents four per word. Element j (< 16) is the low nibble of byte j, element j + 16 its high nibble
// (split order, not interleaved). ggml's table is the E2M1 table doubled — {0, 1, 2, 3, 4, 6, 8, 12}, bit 3 the
// sign — hence the scale 2^(e − 128). The values are computed, not looked up: a dynamically indexed constant array
// lands in slow local memory on some GPUs.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset.

const CHUNKS_PER_BLOCK: u32 = 1u;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

fn block_exponent(mat: u32, nblocks: u32, blk: u32) -> i32 {
    return i32((word_at(mat + nblocks * 4u + blk / 4u) >> ((blk & 3u) * 8u)) & 0xffu);
}

// Two codes to their E2M1 values × 2^-14, in one conversion: a code's magnitude bits (2 exponent, 1 mantissa)
// placed at an f16's bits 9–11 and its sign at bit 15 make exactly that f16 (codes ±1, E2M1's ±0.5, land on f16
// subnormals, which the conversion keeps). The codes at bits 0–3 and 16–19 of `w` go to x and y. About 5
// integer operations per two weights where decoding through the table took about 14 per weight, which held the
// expert kernels to a fraction of an H200's bandwidth.
fn e2m1_pair(w: u32) -> vec2<f32> {
    return unpack2x16float(((w << 9u) & 0x0e000e00u) | ((w << 12u) & 0x80008000u));
}

fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    var acc = 0.0;
    let words = array<u32, 4>(q.x, q.y, q.z, q.w);
    for (var i = 0u; i < 4u; i++) {
        // Byte b of the word holds element 4i + b in its low nibble and 16 + 4i + b in its high one.
        let w = words[i];
        let lo_even = e2m1_pair(w);
        let lo_odd = e2m1_pair(w >> 8u);
        let hi_even = e2m1_pair(w >> 4u);
        let hi_odd = e2m1_pair(w >> 12u);
        acc += dot(vec4<f32>(lo_even.x, lo_odd.x, lo_even.y, lo_odd.y), X[xb + i])
            + dot(vec4<f32>(hi_even.x, hi_odd.x, hi_even.y, hi_odd.y), X[xb + 4u + i]);
    }
    // × 2^15 takes the pairs' E2M1 × 2^-14 to ggml's doubled E2M1, whose block scale is 2^(e − 128).
    return ldexp(acc * 32768.0, block_exponent(mat, nblocks, c) - 128);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    let byte = (word_at(mat + blk * 4u + (j & 15u) / 4u) >> ((j & 3u) * 8u)) & 0xffu;
    let code = select(byte & 15u, byte >> 4u, j >= 16u);
    return ldexp(e2m1_pair(code).x * 32768.0, block_exponent(mat, nblocks, blk) - 128);
}
