// MXFP4 weights (ggml type 39), repacked at upload: per matrix, each block's 16 code bytes (one vec4), then the
// E8M0 exponents four per word. Element j (< 16) is the low nibble of byte j, element j + 16 its high nibble
// (split order, not interleaved). ggml's table is the E2M1 table doubled — {0, 1, 2, 3, 4, 6, 8, 12}, bit 3 the
// sign — hence the scale 2^(e − 128). The table is computed, not looked up: a dynamically indexed constant array
// lands in slow local memory on some GPUs.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset.

const CHUNKS_PER_BLOCK: u32 = 1u;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

fn block_scale(mat: u32, nblocks: u32, blk: u32) -> f32 {
    let e = (word_at(mat + nblocks * 4u + blk / 4u) >> ((blk & 3u) * 8u)) & 0xffu;
    return ldexp(1.0, i32(e) - 128);
}

// Four codes (one per component, in the low 4 bits) to their doubled E2M1 values.
fn e2m1x4(codes: vec4<u32>) -> vec4<f32> {
    let mag = codes & vec4<u32>(7u);
    // mag ≥ 2: (2 + m) << (e − 1) with e = mag >> 1, m = mag & 1; mag < 2: mag itself.
    let big = (vec4<u32>(2u) + (mag & vec4<u32>(1u))) << ((mag >> vec4<u32>(1u)) - vec4<u32>(1u));
    let v = vec4<f32>(select(mag, big, mag >= vec4<u32>(2u)));
    return select(v, -v, (codes & vec4<u32>(8u)) != vec4<u32>(0u));
}

fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    var acc = 0.0;
    let words = array<u32, 4>(q.x, q.y, q.z, q.w);
    for (var i = 0u; i < 4u; i++) {
        let w = words[i];
        let lo = e2m1x4(vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u));
        let hi = e2m1x4(vec4<u32>(w >> 4u, w >> 12u, w >> 20u, w >> 28u) & vec4<u32>(15u));
        acc += dot(lo, X[xb + i]) + dot(hi, X[xb + 4u + i]);
    }
    return acc * block_scale(mat, nblocks, c);
}

fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    let byte = (word_at(mat + blk * 4u + (j & 15u) / 4u) >> ((j & 3u) * 8u)) & 0xffu;
    let code = select(byte & 15u, byte >> 4u, j >= 16u);
    return e2m1x4(vec4<u32>(code))[0] * block_scale(mat, nblocks, blk);
}
