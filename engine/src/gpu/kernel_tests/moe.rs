//! The MoE kernels: routing, and the experts' gate/up and down through the pools.

use super::*;

#[test]
fn moe_route_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(6);
    let (n_expert, k, tokens, layer) = (7usize, 3usize, 2usize, 1usize);
    let logits = rng.vec(tokens * n_expert, 3.0);
    let lb = h.buffer(cast_slice(&logits));
    let (chosen, weights) = (h.zeros(2 * tokens * k * 4), h.zeros(2 * tokens * k * 4));
    let p = RouteParams { n_expert: n_expert as u32, k: k as u32, layer: layer as u32, max_tokens: tokens as u32 };
    let run = Step {
        kernel: Kernel::MoeRoute,
        variant: Variant::Plain,
        entry: "main",
        specialise: vec![],
        params: bytes_of(&p),
        bindings: vec![(2, &lb), (3, &chosen), (4, &weights)],
        grid: (1, tokens as u32, 1),
    };
    let out = h.run(step(tokens as u32, 0), vec![], &[run], &[&chosen, &weights]);
    let at = layer * tokens * k;
    let (ids, ws) = (&cast_slice::<u8, u32>(&out[0])[at..at + tokens * k], &floats(&out[1], 2 * tokens * k)[at..]);
    for t in 0..tokens {
        let want = route(&logits[t * n_expert..][..n_expert], k);
        let want_ids: Vec<u32> = want.iter().map(|c| c.expert as u32).collect();
        assert_eq!(&ids[t * k..][..k], &want_ids[..], "kernel moe_route, token {t}: chosen experts");
        let want_w: Vec<f32> = want.iter().map(|c| c.weight).collect();
        assert_close(&format!("kernel moe_route, token {t}: weights"), &ws[t * k..][..k], &want_w, 1e-6);
    }
}

/// Experts of random weights in pools whose slots hold them out of order (expert e in slot (e + 2) mod n), their
/// biases, and their CPU twins: `dot_row` + `swiglu_oai`.
struct ExpertFixture {
    format: BlockFormat,
    n_expert: usize,
    k: usize,
    n_embd: usize,
    n_ff: usize,
    pools: ExpertPools,
    location: wgpu::Buffer,
    /// Per expert: gate, up and down in GGUF rows.
    matrices: Vec<[Vec<u8>; 3]>,
    bias_gate: Vec<f32>,
    bias_up: Vec<f32>,
    bias_down: Vec<f32>,
}

impl ExpertFixture {
    fn new(h: &Harness, rng: &mut Rng, format: BlockFormat, n_expert: usize, k: usize, slots_per_pool: u64) -> Self {
        let (n_embd, n_ff) = (64usize, 96usize);
        let gate = MatrixLayout::new(format, n_ff as u64, n_embd as u64, "gate").unwrap();
        let down = MatrixLayout::new(format, n_embd as u64, n_ff as u64, "down").unwrap();
        let sizes = PoolSizes { gate, down, slots: n_expert as u64, slots_per_pool };
        let pools = ExpertPools {
            sizes,
            pools: sizes.pools().into_iter().map(|slots| h.zeros((slots * sizes.slot_bytes()) as usize)).collect(),
        };
        let slot_of = |e: usize| ((e + 2) % n_expert) as u64;
        let upload = h.upload(n_ff.max(n_embd) * format.block_bytes() * n_ff.max(n_embd) / 32);
        let matrices = (0..n_expert)
            .map(|e| {
                [(ExpertPart::Gate, n_ff, n_embd), (ExpertPart::Up, n_ff, n_embd), (ExpertPart::Down, n_embd, n_ff)]
                    .map(|(part, rows, cols)| {
                        let bytes: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
                        pools.write_rows(&upload, slot_of(e), part, 0, &bytes).unwrap();
                        bytes
                    })
            })
            .collect();
        let location: Vec<u32> = (0..n_expert).map(|e| pools.location(slot_of(e))).collect();
        ExpertFixture {
            format,
            n_expert,
            k,
            n_embd,
            n_ff,
            location: h.buffer(cast_slice(&location)),
            pools,
            matrices,
            bias_gate: rng.vec(n_expert * n_ff, 0.5),
            bias_up: rng.vec(n_expert * n_ff, 0.5),
            bias_down: rng.vec(n_expert * n_embd, 0.5),
        }
    }

    /// moe_gate_up's and moe_down's parameters for pool `pool` and batches of `max_tokens`.
    fn params(&self, pool: usize, max_tokens: usize) -> (ExpertParams, ExpertParams) {
        let (gate, down) = (self.pools.sizes.gate, self.pools.sizes.down);
        let gp = ExpertParams {
            rows: self.n_ff as u32,
            blocks: gate.blocks as u32,
            pool: pool as u32,
            slot_words: self.pools.slot_words() as u32,
            second: gate.words() as u32,
            n_expert: self.n_expert as u32,
            k: self.k as u32,
            layer: 0,
            max_tokens: max_tokens as u32,
            x_stride: (self.n_embd / 4) as u32,
            ..Default::default()
        };
        let dp = ExpertParams {
            rows: self.n_embd as u32,
            blocks: down.blocks as u32,
            second: 2 * gate.words() as u32,
            x_stride: (self.n_ff / 4) as u32,
            ..gp
        };
        (gp, dp)
    }

    /// Check every pair's activations and outputs against the CPU; moe_down's check reads the GPU's activations, so
    /// it does not inherit gate_up's rounding.
    fn check(&self, what: &str, chosen: &[u32], x: &[f32], got_act: &[f32], got_y: &[f32]) {
        let (n_embd, n_ff, format) = (self.n_embd, self.n_ff, self.format);
        for (pair, &e) in chosen.iter().enumerate() {
            let (t, j, e) = (pair / self.k, pair % self.k, e as usize);
            let [g, u, d] = &self.matrices[e];
            let xt = &x[t * n_embd..][..n_embd];
            let want_act: Vec<f32> = (0..n_ff)
                .map(|r| {
                    let gv = dot_row(format, gguf_row(g, r, n_ff), xt) + self.bias_gate[e * n_ff + r];
                    let uv = dot_row(format, gguf_row(u, r, n_ff), xt) + self.bias_up[e * n_ff + r];
                    swiglu_oai(gv, uv)
                })
                .collect();
            let got_row = &got_act[pair * n_ff..][..n_ff];
            assert_close(
                &format!("{what} gate/up+{format:?}, token {t} slot {j} (expert {e})"),
                got_row,
                &want_act,
                1e-4,
            );
            let want_y: Vec<f32> = (0..n_embd)
                .map(|r| dot_row(format, gguf_row(d, r, n_embd), got_row) + self.bias_down[e * n_embd + r])
                .collect();
            let got_y = &got_y[pair * n_embd..][..n_embd];
            assert_close(&format!("{what} down+{format:?}, token {t} slot {j} (expert {e})"), got_y, &want_y, 1e-4);
        }
    }
}

/// moe_gate_up then moe_down through one pool, against the CPU.
#[test]
fn moe_experts_match_cpu() {
    let h = Harness::new();
    let mut rng = Rng(7);
    let (n_expert, k, tokens) = (5usize, 2usize, 3usize);
    for format in [BlockFormat::MXFP4, BlockFormat::Q8_0] {
        let f = ExpertFixture::new(&h, &mut rng, format, n_expert, k, n_expert as u64);
        let chosen: Vec<u32> = (0..tokens * k).map(|i| ((i * 3 + 1) % n_expert) as u32).collect();
        let x = rng.vec(tokens * f.n_embd, 1.0);
        let b = |v: &[f32]| h.buffer(cast_slice(v));
        let (xb, cb) = (b(&x), h.buffer(cast_slice(&chosen)));
        let (bg, bu, bd) = (b(&f.bias_gate), b(&f.bias_up), b(&f.bias_down));
        let (act, y) = (h.zeros(tokens * k * f.n_ff * 4), h.zeros(tokens * k * f.n_embd * 4));
        let (gp, dp) = f.params(0, tokens);
        let (pool, lb) = (&f.pools.pools[0], &f.location);
        // Lane counts a row can get (one: no reduction; several: the tree) by one to four rows a thread, whatever
        // the row's width (96 and 64 rows are not whole numbers of a workgroup's rows in most of them).
        let splits = [(1, 1), (4, 1), (32, 1), (1, 4), (4, 3), (32, 4), (32, 2)];
        for split in splits.map(|(lanes, r)| RowSplit { lanes, rows_per_thread: r }) {
            let steps = [
                Step {
                    kernel: Kernel::MoeGateUp,
                    variant: Variant::Weights(format),
                    entry: "main",
                    specialise: split.overrides().to_vec(),
                    params: bytes_of(&gp),
                    bindings: vec![(2, pool), (3, &xb), (4, &act), (5, &cb), (6, lb), (7, &bg), (8, &bu)],
                    grid: (split.groups(f.n_ff as u32, EXPERT_THREADS), k as u32, tokens as u32),
                },
                Step {
                    kernel: Kernel::MoeDown,
                    variant: Variant::Weights(format),
                    entry: "main",
                    specialise: split.overrides().to_vec(),
                    params: bytes_of(&dp),
                    bindings: vec![(2, pool), (3, &act), (4, &y), (5, &cb), (6, lb), (7, &bd)],
                    grid: (split.groups(f.n_embd as u32, EXPERT_THREADS), k as u32, tokens as u32),
                },
            ];
            let out = h.run(step(tokens as u32, 0), vec![], &steps, &[&act, &y]);
            let (got_act, got_y) = (floats(&out[0], tokens * k * f.n_ff), floats(&out[1], tokens * k * f.n_embd));
            f.check(&format!("kernel moe ({split:?})"), &chosen, &x, &got_act, &got_y);
        }
    }
}

/// moe_group's tiles against a CPU grouping: every pair once, in its expert's run, runs in expert order, each cut
/// into tiles of at most TILE_TOKENS; for a batch shorter than the buffers' (the pairs of layer 1 of 2).
#[test]
fn moe_group_matches_cpu() {
    let h = Harness::new();
    let (n_expert, k, max_tokens, tokens, layer) = (6usize, 3usize, 40usize, 37usize, 1usize);
    // Expert 0 takes one slot of every token (two tiles of its 37 pairs), expert 5 one pair, expert 4 none.
    let chosen_layer: Vec<u32> = (0..max_tokens * k)
        .map(|p| match (p / k, p % k) {
            (_, 0) => 0,
            (0, _) => 5,
            (t, s) => (1 + (t + s) % 3) as u32,
        })
        .collect();
    let chosen: Vec<u32> = [vec![0; max_tokens * k], chosen_layer.clone()].concat();
    let cb = h.buffer(cast_slice(&chosen));
    let max_pairs = max_tokens * k;
    let words = group_words(max_pairs as u64, n_expert as u64) as usize;
    let groups = h.zeros(words * 4);
    let p = RouteParams { n_expert: n_expert as u32, k: k as u32, layer: layer as u32, max_tokens: max_tokens as u32 };
    let run = Step {
        kernel: Kernel::MoeGroup,
        variant: Variant::Plain,
        entry: "main",
        specialise: vec![],
        params: bytes_of(&p),
        bindings: vec![(2, &cb), (3, &groups)],
        grid: (1, 1, 1),
    };
    let out = h.run(step(tokens as u32, 0), vec![], &[run], &[&groups]);
    let g: &[u32] = &cast_slice::<u8, u32>(&out[0])[..words];
    let pairs = tokens * k;
    let mut want_tiles = Vec::new();
    let mut start = 0;
    for e in 0..n_expert {
        let mut run: Vec<u32> = (0..pairs as u32).filter(|&p| chosen_layer[p as usize] == e as u32).collect();
        let mut got_run: Vec<u32> = g[start..start + run.len()].to_vec();
        got_run.sort();
        run.sort();
        assert_eq!(got_run, run, "kernel moe_group: expert {e}'s pairs");
        for s in (0..run.len()).step_by(TILE_TOKENS as usize) {
            want_tiles.push([e, start + s, (run.len() - s).min(TILE_TOKENS as usize), 0].map(|v| v as u32));
        }
        start += run.len();
    }
    let n_tiles = g[max_pairs] as usize;
    let got_tiles: Vec<[u32; 4]> = (0..n_tiles).map(|i| g[max_pairs + 4 + 4 * i..][..4].try_into().unwrap()).collect();
    assert_eq!(got_tiles, want_tiles, "kernel moe_group: tiles");
    assert!(n_tiles as u32 <= expert_tiles(pairs as u32, n_expert as u32), "kernel moe_group: over the tile bound");
}

/// moe_group, then the tiled gate/up and down, through two pools (each dispatch computes only its pool's
/// experts), against the CPU: an expert with two tiles, one with a single pair, one with none.
#[test]
fn moe_tiles_match_cpu() {
    let h = Harness::new();
    let mut rng = Rng(13);
    let (n_expert, k, tokens) = (5usize, 2usize, 40usize);
    for format in [BlockFormat::MXFP4, BlockFormat::Q8_0] {
        let f = ExpertFixture::new(&h, &mut rng, format, n_expert, k, 3);
        // Expert 1 takes every token's first slot; token 0's second goes to expert 4, the rest to 0 and 2.
        let chosen: Vec<u32> = (0..tokens * k)
            .map(|p| match (p / k, p % k) {
                (_, 0) => 1,
                (0, _) => 4,
                (t, _) => 2 * (t % 2) as u32,
            })
            .collect();
        let x = rng.vec(tokens * f.n_embd, 1.0);
        let b = |v: &[f32]| h.buffer(cast_slice(v));
        let (xb, cb) = (b(&x), h.buffer(cast_slice(&chosen)));
        let (bg, bu, bd) = (b(&f.bias_gate), b(&f.bias_up), b(&f.bias_down));
        let (act, y) = (h.zeros(tokens * k * f.n_ff * 4), h.zeros(tokens * k * f.n_embd * 4));
        let groups = h.zeros(group_words((tokens * k) as u64, n_expert as u64) as usize * 4);
        let route = RouteParams { n_expert: n_expert as u32, k: k as u32, layer: 0, max_tokens: tokens as u32 };
        let tiles = expert_tiles((tokens * k) as u32, n_expert as u32);
        let params: Vec<(ExpertParams, ExpertParams)> = (0..f.pools.pools.len()).map(|p| f.params(p, tokens)).collect();
        let mut steps = vec![Step {
            kernel: Kernel::MoeGroup,
            variant: Variant::Plain,
            entry: "main",
            specialise: vec![],
            params: bytes_of(&route),
            bindings: vec![(2, &cb), (3, &groups)],
            grid: (1, 1, 1),
        }];
        for (pool, (gp, dp)) in f.pools.pools.iter().zip(&params) {
            let lb = &f.location;
            steps.push(Step {
                kernel: Kernel::MoeGateUpTiles,
                variant: Variant::Weights(format),
                entry: "main",
                specialise: vec![],
                params: bytes_of(gp),
                bindings: vec![(2, pool), (3, &xb), (4, &act), (5, &groups), (6, lb), (7, &bg), (8, &bu)],
                grid: ((f.n_ff as u32).div_ceil(TILE_ROWS / 2), tiles, 1),
            });
            steps.push(Step {
                kernel: Kernel::MoeDownTiles,
                variant: Variant::Weights(format),
                entry: "main",
                specialise: vec![],
                params: bytes_of(dp),
                bindings: vec![(2, pool), (3, &act), (4, &y), (5, &groups), (6, lb), (7, &bd)],
                grid: ((f.n_embd as u32).div_ceil(TILE_ROWS), tiles, 1),
            });
        }
        let out = h.run(step(tokens as u32, 0), vec![], &steps, &[&act, &y]);
        let (got_act, got_y) = (floats(&out[0], tokens * k * f.n_ff), floats(&out[1], tokens * k * f.n_embd));
        f.check("kernel moe tiles", &chosen, &x, &got_act, &got_y);
    }
}
