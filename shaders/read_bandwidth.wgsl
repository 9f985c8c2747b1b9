// The benchmark's ceiling: many workgroups stream a large buffer as vec4<u32> (what the weight kernels could read
// at best). The XOR result is written only if it equals a magic value, so the loads cannot be optimised away and
// almost nothing is written.
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = arrayLength(&src);
    let stride = groups.x * 256u;
    var acc = vec4<u32>(0u);
    for (var i = gid.x; i < n; i += stride) {
        acc ^= src[i];
    }
    let v = acc.x ^ acc.y ^ acc.z ^ acc.w;
    if (v == 0x9e3779b9u) {
        sink[gid.x % arrayLength(&sink)] = v;
    }
}
