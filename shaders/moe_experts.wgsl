// Shared by moe_gate_up.wgsl and moe_down.wgsl: their parameters, the routing and location bindings, and the
// lookup of the expert a (token, slot) pair reads: (layer, expert) → pool << 16 | slot in pool.

struct Experts {
    rows: u32,         // output rows per expert matrix
    blocks: u32,       // 32-element blocks per row
    pool: u32,         // which pool this dispatch reads
    slot_words: u32,   // words per expert slot in the pool
    second: u32,       // word offset within a slot: of up for moe_gate_up, of down for moe_down
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
    x_stride: u32,     // vec4s per row of X
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Experts;
// Lanes per row, a pipeline constant (kernels.rs `row_lanes`): one for a short row, whose pipeline then has no
// reduction barriers.
override LANES: u32;
override ROWS_PER_GROUP: u32 = THREADS / LANES;
@group(0) @binding(5) var<storage, read> chosen: array<u32>;         // [layer][token][k]
@group(0) @binding(6) var<storage, read> location: array<u32>;       // [layer][expert] = pool << 16 | slot

// What one thread of a workgroup computes: output `row` of the (token t, slot k) pair, as lane `lane` of the row,
// and the expert the pair reads: its id, whether it lives in this dispatch's pool, and its slot's word offset there.
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
    let loc = location[P.layer * P.n_expert + e];
    let in_pool = (loc >> 16u) == P.pool;
    return ExpertRow(t, slot_k, e, in_pool, (loc & 0xffffu) * P.slot_words, li % LANES, wg.x * ROWS_PER_GROUP + li / LANES);
}
