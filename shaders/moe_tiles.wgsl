// Shared by moe_gate_up_tiles.wgsl and moe_down_tiles.wgsl, the expert kernels of a prefill batch: grid y walks
// the tiles moe_group.wgsl cut (a bound on their count; the rest return), and each workgroup computes its tile's
// pairs against TILE_ROWS rows of the tile's expert. Composed after moe_experts.wgsl and tile.wgsl.

@group(0) @binding(5) var<storage, read> groups: array<u32>;        // moe_group.wgsl's pairs and tiles

// A workgroup's job: the expert, the first index into the pairs, the pairs (0: nothing to do here), and the word
// offset of the expert's slot in this dispatch's pool.
struct TileJob {
    expert: u32,
    first: u32,
    pairs: u32,
    base: u32,
}

var<workgroup> job_shared: TileJob;

// The job of tile `tile`, read by one thread and shared: the workgroup's control flow depends on it, and
// workgroupUniformLoad is how WGSL knows every thread sees the same value.
fn tile_job(li: u32, tile: u32) -> TileJob {
    if (li == 0u) {
        let max_pairs = P.max_tokens * P.k;
        var job = TileJob(0u, 0u, 0u, 0u);
        if (tile < groups[max_pairs]) {
            let at = max_pairs + 4u + 4u * tile;
            let slot = expert_slot(groups[at]);
            if (slot.in_pool) {
                job = TileJob(groups[at], groups[at + 1u], groups[at + 2u], slot.base);
            }
        }
        job_shared = job;
    }
    return workgroupUniformLoad(&job_shared);
}

// The pair of tile token `tok` (< the job's pairs).
fn tile_pair(job: TileJob, tok: u32) -> u32 {
    return groups[job.first + tok];
}
