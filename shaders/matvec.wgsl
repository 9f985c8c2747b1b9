// y = W·x (+ bias) for a quantised or plain weight matrix, one token per workgroup row of the grid.
// 8 rows per workgroup, 32 lanes per row striding over the row's 16-byte chunks (contiguous loads across a warp),
// a tree reduction in workgroup memory (WebGPU exposes no subgroups). f32 accumulation. `accumulate` adds into y (residual connections);
// `last_tokens` applies the matrix to the batch's trailing `logits_rows` tokens only (the LM head).
// Composed after a format_*.wgsl, matvec_core.wgsl and step.wgsl.

struct Matvec {
    rows: u32,          // rows in this binding (a row range for split tensors)
    blocks: u32,        // 32-element blocks per row
    mat: u32,           // word offset of the matrix in W
    x_stride: u32,      // vec4s per token in X
    y_stride: u32,      // floats per token in Y
    y_offset: u32,      // first row's index in Y (row ranges of split tensors)
    flags: u32,         // bit 0: add bias, bit 1: accumulate into Y, bit 2: last tokens only
    _pad: u32,
}

@group(0) @binding(1) var<uniform> P: Matvec;
@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<storage, read> B: array<f32>;

const ROWS_PER_GROUP: u32 = 8u;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let last_only = (P.flags & 4u) != 0u;
    let n_out = select(S.n_tokens, S.logits_rows, last_only);
    let t = wg.y;
    if (t >= n_out) {
        return;
    }
    let x_token = select(t, S.n_tokens - S.logits_rows + t, last_only);
    let lane = li % LANES;
    let row = wg.x * ROWS_PER_GROUP + li / LANES;
    var acc = 0.0;
    if (row < P.rows) {
        acc = row_dot(P.mat, P.rows * P.blocks, row, P.blocks * CHUNKS_PER_BLOCK, lane, x_token * P.x_stride);
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            partial[li] += partial[li + s];
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < P.rows) {
        var y = partial[li];
        if ((P.flags & 1u) != 0u) {
            y += B[row];
        }
        let i = t * P.y_stride + P.y_offset + row;
        if ((P.flags & 2u) != 0u) {
            Y[i] += y;
        } else {
            Y[i] = y;
        }
    }
}
