// Shared by moe_gate_up.wgsl and moe_down.wgsl, the per-(token, slot) expert kernels: the routing binding, and
// what one thread computes. Composed after moe_experts.wgsl.

// Lanes per row and rows per thread (at most 4), pipeline constants (kernels.rs `RowSplit`): one lane for a short
// row, whose pipeline then has no reduction barriers.
override LANES: u32;
override ROWS_PER_THREAD: u32;
override ROWS_PER_GROUP: u32 = THREADS / LANES;
@group(0) @binding(5) var<storage, read> chosen: array<u32>;         // [layer][token][k]

// What one thread of a workgroup computes: ROWS_PER_THREAD outputs from `row` on of the (token t, slot k) pair, as
// lane `lane` of those rows, and the expert the pair reads: its id, whether it lives in this dispatch's pool, and
// its slot's word offset there. A thread reads each chunk of X once for all its rows (kernels.rs `RowSplit` says
// why).
struct ExpertRow {
    t: u32,
    slot_k: u32,
    id: u32,
    in_pool: bool,
    base: u32,
    lane: u32,
    row: u32,
}

fn expert_row(li: u32, wg: vec3<u32>) -> ExpertRow {
    let t = wg.z;
    let slot_k = wg.y;
    let e = chosen[(P.layer * P.max_tokens + t) * P.k + slot_k];
    let slot = expert_slot(e);
    let row = (wg.x * ROWS_PER_GROUP + li / LANES) * ROWS_PER_THREAD;
    return ExpertRow(t, slot_k, e, slot.in_pool, slot.base, li % LANES, row);
}

// Chunk c of rows `row` .. `row` + ROWS_PER_THREAD of the expert matrix at `mat` (of `nblocks` blocks, `chunks`
// chunks a row) against `x`, one row per component. A row past the matrix reads its last row, and is not stored.
fn rows_dot(mat: u32, nblocks: u32, row: u32, chunks: u32, c: u32, x: ChunkX) -> vec4<f32> {
    let last = P.rows - 1u;
    var sums = vec4<f32>(chunk_dot(mat, nblocks, min(row, last) * chunks + c, x), 0.0, 0.0, 0.0);
    if (ROWS_PER_THREAD > 1u) {
        sums.y = chunk_dot(mat, nblocks, min(row + 1u, last) * chunks + c, x);
    }
    if (ROWS_PER_THREAD > 2u) {
        sums.z = chunk_dot(mat, nblocks, min(row + 2u, last) * chunks + c, x);
    }
    if (ROWS_PER_THREAD > 3u) {
        sums.w = chunk_dot(mat, nblocks, min(row + 3u, last) * chunks + c, x);
    }
    return sums;
}
