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
@group(0) @binding(5) var<storage, read> chosen: array<u32>;         // [layer][token][k]
@group(0) @binding(6) var<storage, read> location: array<u32>;       // [layer][expert] = pool << 16 | slot

struct ExpertSlot {
    id: u32,
    in_pool: bool,     // whether it lives in this dispatch's pool
    base: u32,         // word offset of its slot in the pool
}

fn expert_slot(t: u32, slot_k: u32) -> ExpertSlot {
    let e = chosen[(P.layer * P.max_tokens + t) * P.k + slot_k];
    let loc = location[P.layer * P.n_expert + e];
    return ExpertSlot(e, (loc >> 16u) == P.pool, (loc & 0xffffu) * P.slot_words);
}
