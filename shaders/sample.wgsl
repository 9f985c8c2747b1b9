// Sampling on the GPU, so only a few numbers come back per token, never the 201,088 logits.
// Pass 1 (`partials`): each workgroup takes a slice of the vocabulary and reduces it to its max, Σexp, Σexp·y
// (for log-sum-exp and entropy), its Gumbel-max draw, and its top CANDIDATES logits.
// Pass 2 (`finalize`): one workgroup merges the slices: the chosen id, the top-5 ids with probabilities, the entropy
// of the full distribution and the log-sum-exp. y = logit / temperature (temperature 0 means greedy; stats then use
// temperature 1). Pure temperature sampling is exact over the whole vocabulary (Gumbel-max with a seeded hash per
// id); top-k / top-p act on the top CANDIDATES logits. THREADS, MAX_PER_THREAD, CANDIDATES, PARTIAL_WORDS (per group:
// max, Σexp, Σexp·y, Gumbel value and id, then CANDIDATES values and ids) and NONE are composed in from
// gpu/kernels.rs. Composed after step.wgsl.

struct Sample {
    vocab: u32,
    groups: u32,
    per_thread: u32,
    _pad0: u32,
}

// What comes back per token; gpu/params.rs `SampleResult` is its Rust twin.
struct SampleResult {
    token: u32,
    top_ids: array<u32, 5>,
    top_probs: array<f32, 5>,
    entropy: f32,                               // of the full distribution, nats
    logsumexp: f32,                             // of y
    nucleus: u32,                               // candidates in the top-p nucleus
    candidate_ids: array<u32, CANDIDATES>,      // descending logit
    candidate_logits: array<f32, CANDIDATES>,
}

@group(0) @binding(1) var<uniform> P: Sample;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> result: SampleResult;

const NEG: f32 = -3.0e38;
// NONE, "no id" (sampler.rs `NO_ID`): larger than any vocabulary, and as f32 bits a finite number (ids travel
// through f32 partials, and a NaN bit pattern in a constant expression is rejected by some WGSL compilers). Also
// the hash input of the top-k / top-p draw.

var<workgroup> red_v: array<f32, THREADS>;
var<workgroup> red_i: array<u32, THREADS>;

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Uniform in (0, 1), a pure function of (seed, step, id).
fn uniform01(id: u32) -> f32 {
    let h = pcg(pcg(pcg(S.seed) ^ S.step_index) ^ id);
    return (f32(h >> 8u) + 0.5) / 16777216.0;
}

fn inv_temperature() -> f32 {
    return select(1.0 / S.temperature, 1.0, S.temperature <= 0.0);
}

fn logit_base() -> u32 {
    return (S.logits_rows - 1u) * P.vocab;
}

// Workgroup argmax over (red_v, red_i); ties go to the lower id. Result in red_v[0], red_i[0].
fn reduce_argmax(li: u32) {
    workgroupBarrier();
    for (var s = THREADS / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            let ov = red_v[li + s];
            let oi = red_i[li + s];
            if (ov > red_v[li] || (ov == red_v[li] && oi < red_i[li])) {
                red_v[li] = ov;
                red_i[li] = oi;
            }
        }
        workgroupBarrier();
    }
}

// The workgroup's max of x.
fn workgroup_max(li: u32, x: f32) -> f32 {
    red_v[li] = x;
    red_i[li] = li;
    reduce_argmax(li);
    let m = red_v[0];
    workgroupBarrier();
    return m;
}

// The workgroup's sum of x.
fn workgroup_sum(li: u32, x: f32) -> f32 {
    red_v[li] = x;
    workgroupBarrier();
    for (var s = THREADS / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red_v[li] += red_v[li + s];
        }
        workgroupBarrier();
    }
    let sum = red_v[0];
    workgroupBarrier();
    return sum;
}

@compute @workgroup_size(THREADS)
fn partials_main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let inv_t = inv_temperature();
    let base = logit_base();
    var vals: array<f32, MAX_PER_THREAD>;
    var ids: array<u32, MAX_PER_THREAD>;
    var local_max = NEG;
    var gumbel_v = NEG;
    var gumbel_i = NONE;
    for (var e = 0u; e < MAX_PER_THREAD; e++) {
        let id = (wg.x * THREADS + li) * P.per_thread + e;
        if (e < P.per_thread && id < P.vocab) {
            let x = logits[base + id];
            vals[e] = x;
            ids[e] = id;
            local_max = max(local_max, x * inv_t);
            let g = x * inv_t - log(-log(uniform01(id)));
            if (g > gumbel_v) {
                gumbel_v = g;
                gumbel_i = id;
            }
        } else {
            vals[e] = NEG;
            ids[e] = NONE;
        }
    }
    let out = wg.x * PARTIAL_WORDS;
    // Max of y.
    let m = workgroup_max(li, local_max);
    // Σ exp(y − m) and Σ exp(y − m)·y.
    var z = 0.0;
    var u = 0.0;
    for (var e = 0u; e < MAX_PER_THREAD; e++) {
        if (ids[e] != NONE) {
            let y = vals[e] * inv_t;
            let w = exp(y - m);
            z += w;
            u += w * y;
        }
    }
    let z_sum = workgroup_sum(li, z);
    let u_sum = workgroup_sum(li, u);
    red_v[li] = gumbel_v;
    red_i[li] = gumbel_i;
    reduce_argmax(li);
    if (li == 0u) {
        partials[out] = m;
        partials[out + 1u] = z_sum;
        partials[out + 2u] = u_sum;
        partials[out + 3u] = red_v[0];
        partials[out + 4u] = bitcast<f32>(red_i[0]);
    }
    workgroupBarrier();
    // Top CANDIDATES by raw logit: repeated argmax, the winner retires its element.
    for (var r = 0u; r < CANDIDATES; r++) {
        var best_v = NEG;
        var best_i = NONE;
        for (var e = 0u; e < MAX_PER_THREAD; e++) {
            if (ids[e] != NONE && (vals[e] > best_v || (vals[e] == best_v && ids[e] < best_i))) {
                best_v = vals[e];
                best_i = ids[e];
            }
        }
        red_v[li] = best_v;
        red_i[li] = best_i;
        reduce_argmax(li);
        let win_i = red_i[0];
        let win_v = red_v[0];
        if (li == 0u) {
            partials[out + 5u + r] = win_v;
            partials[out + 5u + CANDIDATES + r] = bitcast<f32>(win_i);
        }
        for (var e = 0u; e < MAX_PER_THREAD; e++) {
            if (ids[e] == win_i) {
                ids[e] = NONE;
                vals[e] = NEG;
            }
        }
        workgroupBarrier();
    }
}

// Fills `result`; the candidates' logits are stashed there for the sampling step at the end.
@compute @workgroup_size(THREADS)
fn finalize_main(@builtin(local_invocation_index) li: u32) {
    let inv_t = inv_temperature();
    // Merge the groups' statistics.
    var m_local = NEG;
    for (var g = li; g < P.groups; g += THREADS) {
        m_local = max(m_local, partials[g * PARTIAL_WORDS]);
    }
    let m = workgroup_max(li, m_local);
    var z = 0.0;
    var u = 0.0;
    for (var g = li; g < P.groups; g += THREADS) {
        let o = g * PARTIAL_WORDS;
        let s = exp(partials[o] - m);
        z += partials[o + 1u] * s;
        u += partials[o + 2u] * s;
    }
    let z_all = workgroup_sum(li, z);
    let u_all = workgroup_sum(li, u);
    // Gumbel winner.
    var gv = NEG;
    var gi = NONE;
    for (var g = li; g < P.groups; g += THREADS) {
        let o = g * PARTIAL_WORDS;
        let v = partials[o + 3u];
        let i = bitcast<u32>(partials[o + 4u]);
        if (v > gv || (v == gv && i < gi)) {
            gv = v;
            gi = i;
        }
    }
    red_v[li] = gv;
    red_i[li] = gi;
    reduce_argmax(li);
    let gumbel_id = red_i[0];
    workgroupBarrier();
    // Global top CANDIDATES from the groups' lists (each list is sorted; retire winners in place).
    let n = P.groups * CANDIDATES;
    for (var r = 0u; r < CANDIDATES; r++) {
        var bv = NEG;
        var bi = NONE;
        var bslot = NONE;
        for (var c = li; c < n; c += THREADS) {
            let o = (c / CANDIDATES) * PARTIAL_WORDS + 5u;
            let v = partials[o + c % CANDIDATES];
            let i = bitcast<u32>(partials[o + CANDIDATES + c % CANDIDATES]);
            if (i != NONE && (v > bv || (v == bv && i < bi))) {
                bv = v;
                bi = i;
                bslot = c;
            }
        }
        red_v[li] = bv;
        red_i[li] = bi;
        reduce_argmax(li);
        let win = red_i[0];
        let win_v = red_v[0];
        workgroupBarrier();
        if (bi == win && bslot != NONE) {
            let o = (bslot / CANDIDATES) * PARTIAL_WORDS + 5u;
            partials[o + CANDIDATES + bslot % CANDIDATES] = bitcast<f32>(NONE);
        }
        if (li == 0u) {
            result.candidate_ids[r] = win;
            result.candidate_logits[r] = win_v;
        }
        workgroupBarrier();
    }
    if (li != 0u) {
        return;
    }
    let log_z = log(z_all);
    for (var r = 0u; r < 5u; r++) {
        result.top_ids[r] = result.candidate_ids[r];
        result.top_probs[r] = exp(result.candidate_logits[r] * inv_t - m - log_z);
    }
    result.entropy = log_z + m - u_all / z_all;
    result.logsumexp = m + log_z;
    var chosen = result.candidate_ids[0];
    var nucleus = 1u;
    if (S.temperature > 0.0) {
        if (S.top_k == 0u && S.top_p >= 1.0) {
            chosen = gumbel_id;
            nucleus = P.vocab;
        } else {
            var kk = CANDIDATES;
            if (S.top_k > 0u) {
                kk = min(S.top_k, CANDIDATES);
            }
            let y0 = result.candidate_logits[0] * inv_t;
            var mass = 0.0;
            for (var r = 0u; r < kk; r++) {
                mass += exp(result.candidate_logits[r] * inv_t - y0);
            }
            // Nucleus: the smallest prefix whose probability reaches top_p.
            var cum = 0.0;
            nucleus = kk;
            for (var r = 0u; r < kk; r++) {
                cum += exp(result.candidate_logits[r] * inv_t - y0) / mass;
                if (cum >= S.top_p) {
                    nucleus = r + 1u;
                    break;
                }
            }
            var kept = 0.0;
            for (var r = 0u; r < nucleus; r++) {
                kept += exp(result.candidate_logits[r] * inv_t - y0);
            }
            let draw = uniform01(NONE) * kept;
            var acc = 0.0;
            chosen = result.candidate_ids[nucleus - 1u];
            for (var r = 0u; r < nucleus; r++) {
                acc += exp(result.candidate_logits[r] * inv_t - y0);
                if (acc >= draw) {
                    chosen = result.candidate_ids[r];
                    break;
                }
            }
        }
    }
    result.token = chosen;
    result.nucleus = nucleus;
}
