// Sampling on the GPU, so only a few numbers come back per token, never the 201,088 logits.
// Pass 1 (`partials`): each workgroup takes a slice of the vocabulary and reduces it to its max, Σexp, Σexp·y
// (for log-sum-exp and entropy), its Gumbel-max draw, and its top CANDIDATES logits.
// Pass 2 (`finalize`): one workgroup merges the slices: the chosen id, the top-5 ids with probabilities, the entropy
// of the full distribution and the log-sum-exp. y = logit / temperature (temperature 0 means greedy; stats then use
// temperature 1). Pure temperature sampling is exact over the whole vocabulary (Gumbel-max with a seeded hash per
// id); top-k / top-p act on the top CANDIDATES logits.
// Both passes find their top CANDIDATES the same way, over ENTRIES values per thread (logits, or the slices'
// candidates): bisecting the CANDIDATES-th largest value, one barrier a step, about 40 barriers a pass. Barriers
// are what SwiftShader pays for (32 rounds of a workgroup argmax took 320 of them and most of a token's time).
// THREADS, ENTRIES, CANDIDATES, PARTIAL_WORDS (per slice: max, Σexp, Σexp·y, Gumbel value and
// id, then CANDIDATES values and ids) and NONE are composed in from gpu/kernels.rs. Composed after step.wgsl.

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

// Order-preserving u32 key of an f32 (the order of Rust's total_cmp, which the CPU sampler sorts by).
fn order_key(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn key_value(k: u32) -> f32 {
    return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// This thread's entries: order keys and ids (NONE: no entry).
var<private> keys: array<u32, ENTRIES>;
var<private> ids: array<u32, ENTRIES>;

var<workgroup> max_key: atomic<u32>;
var<workgroup> gumbel_key: atomic<u32>;
var<workgroup> gumbel_id: atomic<u32>;
var<workgroup> tally: array<atomic<u32>, 3>;
var<private> count_round: u32;
var<workgroup> picked: atomic<u32>;
var<workgroup> red_zu: array<vec2<f32>, THREADS>;
var<workgroup> cand_key: array<u32, CANDIDATES>;
var<workgroup> cand_id: array<u32, CANDIDATES>;
// The top CANDIDATES in order (select_top): descending value, ties by lower id; NONE past the entries.
var<workgroup> top_key: array<u32, CANDIDATES>;
var<workgroup> top_id: array<u32, CANDIDATES>;

// The workgroup's max of x, returned; and the Gumbel winner of the (value, id) pairs, the largest value and then
// the lowest id, in gumbel_key and gumbel_id after the next barrier. Zeroes the atomics first: workgroup memory is
// not zeroed for us (plan.rs).
fn max_and_gumbel(li: u32, x: f32, gv: f32, gi: u32) -> f32 {
    if (li == 0u) {
        atomicStore(&max_key, 0u);
        atomicStore(&gumbel_key, 0u);
        atomicStore(&gumbel_id, NONE);
        atomicStore(&picked, 0u);
        for (var c = 0u; c < 3u; c++) {
            atomicStore(&tally[c], 0u);
        }
    }
    count_round = 0u;
    workgroupBarrier();
    atomicMax(&max_key, order_key(x));
    atomicMax(&gumbel_key, order_key(gv));
    workgroupBarrier();
    if (gi != NONE && order_key(gv) == atomicLoad(&gumbel_key)) {
        atomicMin(&gumbel_id, gi);
    }
    return key_value(atomicLoad(&max_key));
}

// The workgroup's sum of x.
fn workgroup_sum2(li: u32, x: vec2<f32>) -> vec2<f32> {
    red_zu[li] = x;
    workgroupBarrier();
    for (var s = THREADS / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red_zu[li] += red_zu[li + s];
        }
        workgroupBarrier();
    }
    let sum = red_zu[0];
    workgroupBarrier();
    return sum;
}

// The workgroup's sum of `mine`, one barrier: three counters rotate, so the one a round adds to was zeroed two
// rounds before, after every thread had read it.
fn count(li: u32, mine: u32) -> u32 {
    if (mine != 0u) {
        atomicAdd(&tally[count_round % 3u], mine);
    }
    workgroupBarrier();
    let n = atomicLoad(&tally[count_round % 3u]);
    if (li == 0u) {
        atomicStore(&tally[(count_round + 2u) % 3u], 0u);
    }
    count_round++;
    return n;
}

// A radix-select step's verdict, from thread 0 to all: the key bits fixed so far, how many entries with them are
// still wanted, k, and how many entries equal the whole key (last step).
struct Pick {
    prefix: u32,
    want: u32,
    k: u32,
    ties: u32,
}

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> pick: Pick;

// The workgroup's top CANDIDATES entries into top_key / top_id (after max_and_gumbel, which zeroes the counters).
// t, the k-th largest key (k = min(CANDIDATES, entries)), by radix select: four steps of a 256-bin histogram of
// one byte of the keys that match the bytes fixed so far. Fewer than k keys are > t; when more keys equal t than
// are still wanted, the ties of the lowest ids are kept: cut, bisected over the ids (id_bits of them), is the
// last tie kept.
fn select_top(li: u32, id_bits: u32) {
    var p = Pick(0u, CANDIDATES, CANDIDATES, 0u);
    for (var step = 0u; step < 4u; step++) {
        let shift = 24u - 8u * step;
        // The bits above this byte (none at the first step: a shift by 32 is not defined).
        let mask = select(0xffffffffu << (shift + 8u), 0u, step == 0u);
        for (var d = li; d < 256u; d += THREADS) {
            atomicStore(&hist[d], 0u);
        }
        workgroupBarrier();
        for (var e = 0u; e < ENTRIES; e++) {
            if (ids[e] != NONE && (keys[e] & mask) == p.prefix) {
                atomicAdd(&hist[(keys[e] >> shift) & 255u], 1u);
            }
        }
        workgroupBarrier();
        if (li == 0u) {
            var q = p;
            if (step == 0u) {
                var total = 0u;
                for (var d = 0u; d < 256u; d++) {
                    total += atomicLoad(&hist[d]);
                }
                q.k = min(CANDIDATES, total);
                q.want = q.k;
            }
            var above = 0u;
            var d = 255u;
            loop {
                let n = atomicLoad(&hist[d]);
                if (above + n >= q.want || d == 0u) {
                    q.ties = n;
                    break;
                }
                above += n;
                d--;
            }
            q.prefix = p.prefix | (d << shift);
            q.want -= above;
            pick = q;
        }
        p = workgroupUniformLoad(&pick);
    }
    let t = p.prefix;
    let need = p.want;
    let k = p.k;
    var cut = 0xffffffffu;
    if (p.ties > need) {
        cut = 0u;
        for (var bit = 1u << (id_bits - 1u); bit > 0u; bit >>= 1u) {
            let c = cut | bit;
            var below = 0u;
            for (var e = 0u; e < ENTRIES; e++) {
                below += select(0u, 1u, ids[e] != NONE && keys[e] == t && ids[e] < c);
            }
            if (count(li, below) < need) {
                cut = c;
            }
        }
    }
    for (var e = 0u; e < ENTRIES; e++) {
        if (ids[e] != NONE && (keys[e] > t || (keys[e] == t && ids[e] <= cut))) {
            let slot = atomicAdd(&picked, 1u);
            cand_key[slot] = keys[e];
            cand_id[slot] = ids[e];
        }
    }
    workgroupBarrier();
    // Exactly k were picked, in no particular order: each goes to its rank.
    if (li < CANDIDATES) {
        var key = 0u;
        var id = NONE;
        var rank = li;
        if (li < k) {
            key = cand_key[li];
            id = cand_id[li];
            rank = 0u;
            for (var j = 0u; j < k; j++) {
                let kj = cand_key[j];
                rank += select(0u, 1u, kj > key || (kj == key && cand_id[j] < id));
            }
        }
        top_key[rank] = key;
        top_id[rank] = id;
    }
    workgroupBarrier();
}

// Bits enough for every id below n.
fn bits_below(n: u32) -> u32 {
    return firstLeadingBit(max(n, 2u) - 1u) + 1u;
}

@compute @workgroup_size(THREADS)
fn partials_main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let inv_t = inv_temperature();
    let base = logit_base();
    var local_max = NEG;
    var gumbel_v = NEG;
    var gumbel_i = NONE;
    for (var e = 0u; e < ENTRIES; e++) {
        let id = (wg.x * THREADS + li) * P.per_thread + e;
        ids[e] = NONE;
        if (e < P.per_thread && id < P.vocab) {
            let x = logits[base + id];
            keys[e] = order_key(x);
            ids[e] = id;
            local_max = max(local_max, x * inv_t);
            let g = x * inv_t - log(-log(uniform01(id)));
            if (g > gumbel_v) {
                gumbel_v = g;
                gumbel_i = id;
            }
        }
    }
    let m = max_and_gumbel(li, local_max, gumbel_v, gumbel_i);
    // Σ exp(y − m) and Σ exp(y − m)·y.
    var zu = vec2<f32>(0.0, 0.0);
    for (var e = 0u; e < ENTRIES; e++) {
        if (ids[e] != NONE) {
            let y = key_value(keys[e]) * inv_t;
            let w = exp(y - m);
            zu += vec2<f32>(w, w * y);
        }
    }
    let zu_sum = workgroup_sum2(li, zu);
    select_top(li, bits_below(P.vocab));
    let out = wg.x * PARTIAL_WORDS;
    if (li == 0u) {
        partials[out] = m;
        partials[out + 1u] = zu_sum.x;
        partials[out + 2u] = zu_sum.y;
        partials[out + 3u] = key_value(atomicLoad(&gumbel_key));
        partials[out + 4u] = bitcast<f32>(atomicLoad(&gumbel_id));
    }
    if (li < CANDIDATES) {
        partials[out + 5u + li] = select(key_value(top_key[li]), NEG, top_id[li] == NONE);
        partials[out + 5u + CANDIDATES + li] = bitcast<f32>(top_id[li]);
    }
}

// Fills `result`; the candidates' logits are kept there for the sampling step at the end.
@compute @workgroup_size(THREADS)
fn finalize_main(@builtin(local_invocation_index) li: u32) {
    let inv_t = inv_temperature();
    // The slices' statistics, and their candidates, ENTRIES per thread (BufferSizes::new refuses a vocabulary
    // that needs more).
    var m_local = NEG;
    var gv = NEG;
    var gi = NONE;
    for (var g = li; g < P.groups; g += THREADS) {
        let o = g * PARTIAL_WORDS;
        m_local = max(m_local, partials[o]);
        let v = partials[o + 3u];
        let i = bitcast<u32>(partials[o + 4u]);
        if (v > gv || (v == gv && i < gi)) {
            gv = v;
            gi = i;
        }
    }
    for (var e = 0u; e < ENTRIES; e++) {
        let c = e * THREADS + li;
        ids[e] = NONE;
        if (c < P.groups * CANDIDATES) {
            let o = (c / CANDIDATES) * PARTIAL_WORDS + 5u + c % CANDIDATES;
            keys[e] = order_key(partials[o]);
            ids[e] = bitcast<u32>(partials[o + CANDIDATES]);
        }
    }
    let m = max_and_gumbel(li, m_local, gv, gi);
    var zu = vec2<f32>(0.0, 0.0);
    for (var g = li; g < P.groups; g += THREADS) {
        let o = g * PARTIAL_WORDS;
        let s = exp(partials[o] - m);
        zu += vec2<f32>(partials[o + 1u], partials[o + 2u]) * s;
    }
    let zu_all = workgroup_sum2(li, zu);
    select_top(li, bits_below(P.vocab));
    if (li != 0u) {
        return;
    }
    let z_all = zu_all.x;
    let u_all = zu_all.y;
    let gumbel = atomicLoad(&gumbel_id);
    for (var r = 0u; r < CANDIDATES; r++) {
        result.candidate_ids[r] = top_id[r];
        result.candidate_logits[r] = select(key_value(top_key[r]), NEG, top_id[r] == NONE);
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
            chosen = gumbel;
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
