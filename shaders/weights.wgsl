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

// A chunk's values of X, from X index `xb` (vec4 units) on (CHUNK_VEC4S of the eight): read once by a thread that
// applies them to several weight rows (the expert kernels). Named fields, not an array: a private array indexed in
// a loop can land in memory on CPU drivers; the conditions below are constants.
struct ChunkX {
    v0: vec4<f32>,
    v1: vec4<f32>,
    v2: vec4<f32>,
    v3: vec4<f32>,
    v4: vec4<f32>,
    v5: vec4<f32>,
    v6: vec4<f32>,
    v7: vec4<f32>,
}

fn chunk_x(xb: u32) -> ChunkX {
    var x: ChunkX;
    x.v0 = X[xb];
    if (CHUNK_VEC4S > 1u) {
        x.v1 = X[xb + 1u];
    }
    if (CHUNK_VEC4S > 2u) {
        x.v2 = X[xb + 2u];
        x.v3 = X[xb + 3u];
    }
    if (CHUNK_VEC4S > 4u) {
        x.v4 = X[xb + 4u];
        x.v5 = X[xb + 5u];
        x.v6 = X[xb + 6u];
        x.v7 = X[xb + 7u];
    }
    return x;
}

// Σ w·x over the chunk whose 16 bytes `q` the caller loaded, against its values `x` (chunk_x), before its scale.
fn chunk_sum(q: vec4<u32>, x: ChunkX) -> f32 {
    var acc = dot(chunk_vec(q, 0u), x.v0);
    if (CHUNK_VEC4S > 1u) {
        acc += dot(chunk_vec(q, 1u), x.v1);
    }
    if (CHUNK_VEC4S > 2u) {
        acc += dot(chunk_vec(q, 2u), x.v2);
        acc += dot(chunk_vec(q, 3u), x.v3);
    }
    if (CHUNK_VEC4S > 4u) {
        acc += dot(chunk_vec(q, 4u), x.v4);
        acc += dot(chunk_vec(q, 5u), x.v5);
        acc += dot(chunk_vec(q, 6u), x.v6);
        acc += dot(chunk_vec(q, 7u), x.v7);
    }
    return acc;
}

// chunk_sum of chunk `c` of the matrix (at `mat`, of `nblocks` blocks) against `x`, times the chunk's scale.
fn chunk_dot(mat: u32, nblocks: u32, c: u32, x: ChunkX) -> f32 {
    return chunk_sum(W[(mat >> 2u) + c], x) * chunk_scale(mat, nblocks, c);
}

// Σ w·x over chunk `c` of the matrix, whose 16 bytes `q` the caller loaded, x read from X index `xb` on as it is
// used: for a thread of one row (the mat-vecs), where nothing reuses x. Through chunk_x SwiftShader ran the bundled
// model's LM head 2.3× slower.
fn chunk_dot_x(q: vec4<u32>, mat: u32, nblocks: u32, c: u32, xb: u32) -> f32 {
    var acc = 0.0;
    for (var i = 0u; i < CHUNK_VEC4S; i++) {
        acc += dot(chunk_vec(q, i), X[xb + i]);
    }
    return acc * chunk_scale(mat, nblocks, c);
}

// Value j (< 32) of block `blk`.
fn weight_at(mat: u32, nblocks: u32, blk: u32, j: u32) -> f32 {
    let c = blk * CHUNKS_PER_BLOCK + j / (4u * CHUNK_VEC4S);
    let at = j % (4u * CHUNK_VEC4S);
    return chunk_vec(W[(mat >> 2u) + c], at / 4u)[at & 3u] * chunk_scale(mat, nblocks, c);
}
