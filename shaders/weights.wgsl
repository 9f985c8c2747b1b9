// Composed after every format_*.wgsl: what a kernel reads weights with, written once over the format's two
// functions — `chunk_vec(q, i)`, the chunk's values 4i .. 4i + 3 (before the scale) from its 16 bytes `q`, and
// `chunk_scale(mat, nblocks, c)`, chunk c's scale — so a new format is those two and its CHUNKS_PER_BLOCK.
// A chunk is 16 bytes: 32 / CHUNKS_PER_BLOCK values, 8 / CHUNKS_PER_BLOCK vec4s.
// Needs the kernel to declare `W: array<vec4<u32>>` and `X: array<vec4<f32>>`; `mat` is a word offset (a multiple
// of 4: matrices start on a chunk), `nblocks` the matrix's 32-value blocks.

const CHUNK_VEC4S: u32 = 8u / CHUNKS_PER_BLOCK;

fn word_at(i: u32) -> u32 {
    return W[i >> 2u][i & 3u];
}

// A chunk's values of X, from X index `xb` (vec4 units) on: read once by a thread that applies them to several
// weight rows.
fn chunk_x(xb: u32) -> array<vec4<f32>, CHUNK_VEC4S> {
    var x: array<vec4<f32>, CHUNK_VEC4S>;
    for (var i = 0u; i < CHUNK_VEC4S; i++) {
        x[i] = X[xb + i];
    }
    return x;
}

// Σ w·x over the chunk whose 16 bytes `q` the caller loaded, against its values `x` (chunk_x), before its scale.
fn chunk_sum(q: vec4<u32>, x: array<vec4<f32>, CHUNK_VEC4S>) -> f32 {
    var acc = 0.0;
    for (var i = 0u; i < CHUNK_VEC4S; i++) {
        acc += dot(chunk_vec(q, i), x[i]);
    }
    return acc;
}

// Σ w·x over chunk `c` of the matrix, whose 16 bytes `q` the caller loaded; `xb` is the X index (vec4 units) of
// the chunk's first value.
fn chunk_dot(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    return chunk_sum(q, chunk_x(xb)) * chunk_scale(mat, nblocks, c);
}

// Value j (< 32) of block `blk`.
fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    let c = blk * CHUNKS_PER_BLOCK + j / (4u * CHUNK_VEC4S);
    let at = j % (4u * CHUNK_VEC4S);
    return chunk_vec(W[(mat >> 2u) + c], at / 4u)[at & 3u] * chunk_scale(mat, nblocks, c);
}
