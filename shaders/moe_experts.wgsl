// Shared by the expert kernels (moe_gate_up.wgsl, moe_down.wgsl and their tiled forms): their parameters and the
// lookup of where an expert's weights live: (layer, expert) → pool << 16 | slot in pool.

struct Experts {
    rows: u32,         // output rows per expert matrix
    blocks: u32,       // 32-element blocks per row
    pool: u32,         // which pool this dispatch reads
    slot_words: u32,   // words per expert slot in the pool
    second: u32,       // word offset within a slot: of up for the gate/up kernels, of down for the down kernels
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
    x_stride: u32,     // vec4s per row of X
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Experts;
@group(0) @binding(6) var<storage, read> location: array<u32>;       // [layer][expert] = pool << 16 | slot

// Whether expert `e` of this layer lives in this dispatch's pool, and its slot's word offset there.
struct ExpertSlot {
    in_pool: bool,
    base: u32,
}

fn expert_slot(e: u32) -> ExpertSlot {
    let loc = location[P.layer * P.n_expert + e];
    return ExpertSlot((loc >> 16u) == P.pool, (loc & 0xffffu) * P.slot_words);
}

// act = min(g, 7) · σ(1.702 · min(g, 7)) · (clamp(u, −7, 7) + 1), of the biased gate and up.
fn swiglu_oai(g: f32, u: f32) -> f32 {
    let xg = min(g, 7.0);
    return xg / (1.0 + exp(-1.702 * xg)) * (clamp(u, -7.0, 7.0) + 1.0);
}
