// Row dot products shared by the weight kernels (composed after a format_*.wgsl). A row is `chunks` 16-byte
// chunks; LANES lanes stride over them, each loading UNROLL chunks before using any, so several loads per lane are
// in flight (batch-1 decode is a stream of weight bytes: latency hiding decides the speed).

const LANES: u32 = 32u;
const UNROLL: u32 = 4u;

// Σ over row `row` of W[mat]·x, this lane's share; `xb0` is the X index (vec4 units) of the row's first value.
fn row_dot(mat: u32, nblocks: u32, row: u32, chunks: u32, lane: u32, xb0: u32) -> f32 {
    var acc = 0.0;
    let first = row * chunks;
    for (var c0 = lane; c0 < chunks; c0 += LANES * UNROLL) {
        var q: array<vec4<u32>, UNROLL>;
        for (var i = 0u; i < UNROLL; i++) {
            let c = c0 + i * LANES;
            if (c < chunks) {
                q[i] = W[(mat >> 2u) + first + c];
            }
        }
        for (var i = 0u; i < UNROLL; i++) {
            let c = c0 + i * LANES;
            if (c < chunks) {
                acc += chunk_dot(q[i], mat, nblocks, first + c, xb0 + c * (8u / CHUNKS_PER_BLOCK));
            }
        }
    }
    return acc;
}

// The same for two matrices of one shape read against the same x (an expert's gate and up).
fn row_dot2(mat_a: u32, mat_b: u32, nblocks: u32, row: u32, chunks: u32, lane: u32, xb0: u32) -> vec2<f32> {
    var acc = vec2<f32>(0.0);
    let first = row * chunks;
    for (var c0 = lane; c0 < chunks; c0 += LANES * UNROLL) {
        var qa: array<vec4<u32>, UNROLL>;
        var qb: array<vec4<u32>, UNROLL>;
        for (var i = 0u; i < UNROLL; i++) {
            let c = c0 + i * LANES;
            if (c < chunks) {
                qa[i] = W[(mat_a >> 2u) + first + c];
                qb[i] = W[(mat_b >> 2u) + first + c];
            }
        }
        for (var i = 0u; i < UNROLL; i++) {
            let c = c0 + i * LANES;
            if (c < chunks) {
                let xb = xb0 + c * (8u / CHUNKS_PER_BLOCK);
                acc += vec2<f32>(chunk_dot(qa[i], mat_a, nblocks, first + c, xb), chunk_dot(qb[i], mat_b, nblocks, first + c, xb));
            }
        }
    }
    return acc;
}
