// Shared by matvec.wgsl and matmul.wgsl, one projection's two forms (decode, prefill): Y = W·X (+ bias).

struct Matvec {
    rows: u32,          // rows in this binding (a row range for split tensors)
    blocks: u32,        // 32-element blocks per row
    mat: u32,           // word offset of the matrix in W
    x_stride: u32,      // vec4s per token in X
    y_stride: u32,      // floats per token in Y
    y_offset: u32,      // first row's index in Y (row ranges of split tensors)
    flags: u32,         // bit 0: add bias, bit 1: accumulate into Y, bit 2: last tokens only
    _pad0: u32,
}

@group(0) @binding(1) var<uniform> P: Matvec;
@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<storage, read> B: array<f32>;

// y into Y at `at`: plus the bias of `row` when asked, added to what is there when accumulating.
fn store_projection(at: u32, row: u32, y: f32) {
    var out = y;
    if ((P.flags & 1u) != 0u) {
        out += B[row];
    }
    if ((P.flags & 2u) != 0u) {
        Y[at] += out;
    } else {
        Y[at] = out;
    }
}
