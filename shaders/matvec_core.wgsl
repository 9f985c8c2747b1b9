// Row dot products shared by the weight kernels (composed after a format_*.wgsl). A row is `chunks` 16-byte
// chunks; LANES lanes stride over them, so each step of a warp loads 512 contiguous bytes. (Holding several
// chunks per lane in a local array measured slower on NVIDIA: the array is not kept in registers.)

const LANES: u32 = 32u;

// Σ over row `row` of W[mat]·x, this lane's share; `xb0` is the X index (vec4 units) of the row's first value.
fn row_dot(mat: u32, nblocks: u32, row: u32, chunks: u32, lane: u32, xb0: u32) -> f32 {
    var acc = 0.0;
    let first = row * chunks;
    for (var c = lane; c < chunks; c += LANES) {
        acc += chunk_dot(W[(mat >> 2u) + first + c], mat, nblocks, first + c, xb0 + c * (8u / CHUNKS_PER_BLOCK));
    }
    return acc;
}

// The same for two matrices of one shape read against the same x (an expert's gate and up).
fn row_dot2(mat_a: u32, mat_b: u32, nblocks: u32, row: u32, chunks: u32, lane: u32, xb0: u32) -> vec2<f32> {
    var acc = vec2<f32>(0.0);
    let first = row * chunks;
    for (var c = lane; c < chunks; c += LANES) {
        let qa = W[(mat_a >> 2u) + first + c];
        let qb = W[(mat_b >> 2u) + first + c];
        let xb = xb0 + c * (8u / CHUNKS_PER_BLOCK);
        acc += vec2<f32>(chunk_dot(qa, mat_a, nblocks, first + c, xb), chunk_dot(qb, mat_b, nblocks, first + c, xb));
    }
    return acc;
}
