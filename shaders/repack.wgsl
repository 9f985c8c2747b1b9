// Upload-time repacking of GGUF blocks into the GPU layout (gpu/weights.rs): Q8_0 (34 bytes: f16 scale, 32 int8)
// and MXFP4 (17 bytes: E8M0 exponent, 16 bytes of nibbles) are not word-aligned, and the weight kernels read
// words, so each matrix keeps its blocks' values in one word-aligned region and their scales packed in another.
// The loader writes a piece of whole rows as the file has it into `raw`; each thread moves the blocks whose scales
// share one scale word (4 for MXFP4, 2 for Q8_0): their values, then that word (zero-padded past the last block).
// Done here, the browser's worker only copies bytes; splitting 700 M blocks in wasm held the load to a crawl.
// THREADS is composed in from gpu/kernels.rs.

struct Repack {
    blocks: u32,        // blocks in this piece
    block_bytes: u32,   // 34 or 17
    scale_bytes: u32,   // 2 or 1
    values_at: u32,     // word of `dst` where the piece's first block's values go
    scales_at: u32,     // word of `dst` where its first scale goes (the piece starts on a scale word)
    groups_x: u32,      // workgroups along x (a large piece spreads over y as well)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Repack;
@group(0) @binding(2) var<storage, read> raw: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

// Four bytes starting at byte `at` of `raw`, at any alignment (little-endian, as the file is).
fn word_at(at: u32) -> u32 {
    let w = at >> 2u;
    let shift = (at & 3u) * 8u;
    if (shift == 0u) {
        return raw[w];
    }
    return (raw[w] >> shift) | (raw[w + 1u] << (32u - shift));
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let thread = (wg.y * P.groups_x + wg.x) * THREADS + lid;
    let per_word = 4u / P.scale_bytes;
    let first = thread * per_word;
    if (first >= P.blocks) {
        return;
    }
    let value_words = (P.block_bytes - P.scale_bytes) / 4u;
    let scale_mask = (1u << (8u * P.scale_bytes)) - 1u;
    var scales = 0u;
    for (var j = 0u; j < per_word; j++) {
        let b = first + j;
        if (b >= P.blocks) {
            break;
        }
        let at = b * P.block_bytes;
        scales |= (word_at(at) & scale_mask) << (8u * P.scale_bytes * j);
        for (var v = 0u; v < value_words; v++) {
            dst[P.values_at + b * value_words + v] = word_at(at + P.scale_bytes + 4u * v);
        }
    }
    dst[P.scales_at + thread] = scales;
}
