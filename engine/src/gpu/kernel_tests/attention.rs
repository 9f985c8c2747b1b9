//! RoPE into the KV cache, and attention over it for any GQA group.

use super::*;

#[test]
fn rope_kv_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(4);
    let c = config(6, 2, 64, 0);
    let (tokens, pos0, capacity) = (3usize, 290usize, 300usize);
    let (q_width, kv_width) = (c.n_head * c.head_dim, c.n_head_kv * c.head_dim);
    let (q, k, v) = (rng.vec(tokens * q_width, 1.0), rng.vec(tokens * kv_width, 1.0), rng.vec(tokens * kv_width, 1.0));
    let rope = Rope::new(&c.rope, c.rope.freq_base);
    let (freqs, mscale) = crate::model::rope_frequencies(&c.rope, c.rope.freq_base);
    let freqs: Vec<f32> = freqs.iter().map(|&f| f as f32).collect();
    let (fb, qb, kb, vb) =
        (h.buffer(cast_slice(&freqs)), h.buffer(cast_slice(&q)), h.buffer(cast_slice(&k)), h.buffer(cast_slice(&v)));
    let cache = h.zeros(2 * capacity * kv_width * 4);
    let p = RopeParams {
        n_head: c.n_head as u32,
        n_head_kv: c.n_head_kv as u32,
        head_dim: c.head_dim as u32,
        capacity: capacity as u32,
        mscale: mscale as f32,
        ..Default::default()
    };
    let pairs = ((c.n_head + 2 * c.n_head_kv) * c.head_dim / 2) as u32;
    let run = Step {
        kernel: Kernel::RopeKv,
        variant: Variant::Kv(KvStorage::F32),
        entry: "main",
        specialise: vec![],
        params: bytes_of(&p),
        bindings: vec![(2, &fb), (3, &qb), (4, &kb), (5, &vb), (6, &cache)],
        grid: (pairs.div_ceil(ROPE_THREADS), tokens as u32, 1),
    };
    let out = h.run(step(tokens as u32, pos0 as u32), vec![], &[run], &[&qb, &cache]);
    let (got_q, got_cache) = (floats(&out[0], q.len()), floats(&out[1], 2 * capacity * kv_width));
    for t in 0..tokens {
        let pos = pos0 + t;
        let mut want_q = q[t * q_width..][..q_width].to_vec();
        let mut want_k = k[t * kv_width..][..kv_width].to_vec();
        rope.rotate_heads(&mut want_q, c.head_dim, pos);
        rope.rotate_heads(&mut want_k, c.head_dim, pos);
        let slot = pos % capacity;
        assert_close(&format!("kernel rope_kv, q of token {t}"), &got_q[t * q_width..][..q_width], &want_q, 1e-4);
        assert_close(
            &format!("kernel rope_kv, cached k of token {t}"),
            &got_cache[slot * kv_width..][..kv_width],
            &want_k,
            1e-4,
        );
        let v_at = (capacity + slot) * kv_width;
        assert_close(
            &format!("kernel rope_kv, cached v of token {t}"),
            &got_cache[v_at..][..kv_width],
            &v[t * kv_width..][..kv_width],
            0.0,
        );
    }
}

/// attention then attention_combine (the splits only mean something merged) against `cpu::attention`, for GQA
/// groups the old power-of-two kernel refused, over more keys than one split, full and sliding, for a batch of
/// tokens and for one (decode's finer splits).
#[test]
fn attention_matches_cpu_for_any_gqa_group() {
    let h = Harness::new();
    let mut rng = Rng(5);
    for (n_head, n_head_kv, head_dim) in [(4, 2, 16), (6, 2, 64), (5, 1, 64), (12, 1, 64), (16, 2, 32), (10, 2, 128)] {
        for (window, tokens) in [(0, 3), (7, 3), (0, 1), (7, 1)] {
            let c = config(n_head, n_head_kv, head_dim, window.max(1));
            let tiling = AttentionTiling::new(n_head, n_head_kv, head_dim).unwrap();
            let pos0 = 290usize;
            let capacity = pos0 + tokens;
            let (q_width, kv_width) = (n_head * head_dim, n_head_kv * head_dim);
            let q = rng.vec(tokens * q_width, 1.0);
            let (keys, values) = (rng.vec(capacity * kv_width, 1.0), rng.vec(capacity * kv_width, 1.0));
            let sinks = rng.vec(n_head, 2.0);
            let kv: Vec<f32> = keys.iter().chain(&values).copied().collect();
            let splits = AttentionSplits::new(capacity as u32);
            let (qb, kvb, sb) = (h.buffer(cast_slice(&q)), h.buffer(cast_slice(&kv)), h.buffer(cast_slice(&sinks)));
            let partials = h.zeros(splits.partial_floats(tokens as u64, n_head as u64, head_dim as u64) as usize * 4);
            let out = h.zeros(tokens * q_width * 4);
            let (head_dim32, window32) = (head_dim as u32, window as u32);
            let (n_splits, decode_splits) = (splits.batch, splits.decode);
            let ap = AttentionParams {
                n_head: n_head as u32,
                n_head_kv: n_head_kv as u32,
                head_dim: head_dim32,
                capacity: capacity as u32,
                window: window32,
                scale: 1.0 / (head_dim as f32).sqrt(),
                n_splits,
                decode_splits,
            };
            let cp = AttentionCombineParams {
                n_head: n_head as u32,
                head_dim: head_dim32,
                window: window32,
                n_splits,
                decode_splits,
                ..Default::default()
            };
            let steps = [
                Step {
                    kernel: Kernel::Attention,
                    variant: Variant::Kv(KvStorage::F32),
                    entry: "main",
                    specialise: vec![],
                    params: bytes_of(&ap),
                    bindings: vec![(2, &qb), (3, &kvb), (4, &partials)],
                    grid: (n_head_kv as u32 * tiling.chunks, splits.grid(), tokens as u32),
                },
                Step {
                    kernel: Kernel::AttentionCombine,
                    variant: Variant::Plain,
                    entry: "main",
                    specialise: vec![],
                    params: bytes_of(&cp),
                    bindings: vec![(2, &partials), (3, &sb), (4, &out)],
                    grid: (n_head as u32, tokens as u32, 1),
                },
            ];
            let got = floats(
                &h.run(step(tokens as u32, pos0 as u32), tiling.overrides(), &steps, &[&out])[0],
                tokens * q_width,
            );
            for t in 0..tokens {
                let pos = pos0 + t;
                let want = attention(
                    &c,
                    &sinks,
                    &keys[..(pos + 1) * kv_width],
                    &values[..(pos + 1) * kv_width],
                    &q[t * q_width..][..q_width],
                    pos,
                    window > 0,
                );
                let what = format!("kernel attention, {n_head} q / {n_head_kv} kv heads of {head_dim}, window {window}, {tokens} tokens, token {t} ({tiling:?})");
                assert_close(&what, &got[t * q_width..][..q_width], &want, 1e-5);
            }
        }
    }
}
