#!/usr/bin/env python3
"""A checkpoint from `train.py` -> the tensors of a gpt-oss GGUF, and PyTorch's reference log-probabilities.

    python3 export.py --checkpoint DIR --data DIR --conversations conversations.jsonl --ids ids.jsonl \
        --out DIR [--cases 12]

1. Quantises every tensor to its type in the published files (`gpt-oss.md` §4.1): Q8_0 for the embedding, the
   attention projections and the LM head, MXFP4 for the experts, F32 for norms, biases, sinks and the router.
   Writes `model.tensors.bin` and `model.manifest.json` for `gptoss pack --manifest`.
2. Dequantises those same bytes and loads them into the PyTorch model, so the reference below is the exported
   model to float32 rounding.
3. On held-out conversations: every position's log-probability of the next token, the greedy continuation of
   the prompt (32 tokens; the replies are longer) with its smallest top-1/top-2 logit gap, and the held-out
   split's perplexity on reply tokens -> `reference.json`.
"""
import argparse
import glob
import json
import math
import os

import numpy as np
import torch

from gptoss_model import VOCAB_SIZE, Config, GptOss

GREEDY_TOKENS = 32
HELD_OUT_BATCH = 64
# `kvalues_mxfp4`: the E2M1 values doubled; the block scale is 2^(e - 128) (`gpt-oss.md` §2.2).
MXFP4_VALUES = np.array([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12], dtype=np.float32)


def quantize_q8_0(x):
    """float32 [..., K] -> Q8_0 bytes (per 32 values: f16 scale d, 32 int8 codes; value = d * code)."""
    blocks = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=1)
    d = (amax / 127.0).astype(np.float32)
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0).astype(np.float32)
    codes = np.clip(np.rint(blocks * inv[:, None]), -127, 127).astype(np.int8)
    out = np.empty((len(blocks), 34), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = codes.view(np.uint8)
    return out.tobytes()


def dequantize_q8_0(raw, shape):
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 34)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    codes = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (d * codes).reshape(shape)


def quantize_mxfp4(x):
    """float32 [..., K] -> MXFP4 bytes (per 32 values: E8M0 exponent e, 16 bytes of 4-bit codes; element j is the
    low nibble of byte j, element j + 16 its high nibble; value = MXFP4_VALUES[code] * 2^(e - 128))."""
    blocks = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=1)
    # The smallest power-of-two scale that fits the block's largest value under the table's largest, 12.
    exponent = np.where(amax > 0, np.ceil(np.log2(np.maximum(amax, 1e-30) / 12.0)), -127.0)
    e = np.clip(exponent + 128, 1, 254).astype(np.uint8)
    scale = np.exp2(e.astype(np.float64) - 128).astype(np.float32)
    scaled = blocks / scale[:, None]
    codes = np.abs(scaled[:, :, None] - MXFP4_VALUES[None, None, :]).argmin(axis=2).astype(np.uint8)
    out = np.empty((len(blocks), 17), dtype=np.uint8)
    out[:, 0] = e
    out[:, 1:] = codes[:, :16] | (codes[:, 16:] << 4)
    return out.tobytes()


def dequantize_mxfp4(raw, shape):
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 17)
    scale = np.exp2(blocks[:, 0].astype(np.float64) - 128).astype(np.float32)
    codes = np.concatenate([blocks[:, 1:] & 0xF, blocks[:, 1:] >> 4], axis=1)
    return (MXFP4_VALUES[codes] * scale[:, None]).reshape(shape)


def gguf_type(name):
    if name.endswith("_exps.weight"):
        return "MXFP4"
    dense = ("token_embd.weight", "output.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
             "attn_output.weight")
    return "Q8_0" if name.endswith(dense) else "F32"


def load_checkpoint(directory):
    shards = [torch.load(p) for p in sorted(glob.glob(os.path.join(directory, "checkpoint-*.pt")))]
    meta = json.loads(shards[0]["meta"])
    if len(shards) != meta["shards"]:
        raise SystemExit(f"{directory}: {len(shards)} checkpoint shards, the first says {meta['shards']}")
    pieces = {}
    for shard in shards:
        for key, tensor in shard.items():
            if "#" in key:
                name, n = key.rsplit("#", 1)
                pieces.setdefault(name, {})[int(n)] = tensor
    cfg = Config(**meta["config"])
    model = GptOss(cfg, shards[0]["used_ids"].long())
    with torch.no_grad():
        for name, parts in pieces.items():
            model.params[name].copy_(torch.cat([parts[i] for i in range(len(parts))]))
    return model, meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--conversations", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--name", default="gpt-oss WordNet tiny (trained on WordNet 3.0 definitions)")
    parser.add_argument("--license", default="WordNet 3.0 license (Princeton University); code Apache-2.0")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    os.makedirs(args.out, exist_ok=True)
    trained, meta = load_checkpoint(args.checkpoint)
    cfg = trained.cfg

    # 1. Quantise, in the published order.
    tensors, blob, offset = [], bytearray(), 0
    dequantized = {}
    for name, value in trained.gguf_tensors():
        array = value.numpy()
        kind = gguf_type(name)
        raw = {"Q8_0": quantize_q8_0, "MXFP4": quantize_mxfp4}.get(kind, lambda a: a.astype("<f4").tobytes())(array)
        dequantized[name] = {"Q8_0": dequantize_q8_0, "MXFP4": dequantize_mxfp4}.get(
            kind, lambda r, s: np.frombuffer(r, dtype="<f4").reshape(s))(raw, array.shape)
        # GGUF dims are ne0 first: PyTorch's shape reversed.
        tensors.append({"name": name, "dims": list(reversed(array.shape)), "type": kind, "offset": offset,
                        "n_bytes": len(raw)})
        blob += raw
        offset += len(raw)
        worst = float(np.abs(dequantized[name] - array).max())
        print(f"{name:32} {kind:5} {str(array.shape):18} max |quantisation error| {worst:.3g}")
    parameters = sum(int(np.prod(t["dims"])) for t in tensors)
    with open(os.path.join(args.out, "model.tensors.bin"), "wb") as f:
        f.write(blob)
    manifest = {"name": args.name, "size_label": f"{math.ceil(parameters / 1e6)}M", "license": args.license,
                "shape": cfg.shape(), "data": "model.tensors.bin", "tensors": tensors}
    with open(os.path.join(args.out, "model.manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)

    # 2. The exported model in PyTorch, full vocabulary.
    exported = GptOss(cfg, torch.arange(VOCAB_SIZE))
    for name, array in dequantized.items():
        exported.p(name).copy_(torch.from_numpy(array.copy()))

    # 3. Reference outputs on held-out conversations.
    with open(args.conversations, encoding="utf-8") as f:
        conversations = [json.loads(line) for line in f if line.strip()]
    with open(args.ids, encoding="utf-8") as f:
        encoded = [json.loads(line) for line in f if line.strip()]
    held_out = [(c, e) for c, e in zip(conversations, encoded) if c["split"] == "held_out"]

    # The split's perplexity through the compact head (`GptOss.log_probs`; exact, as every id outside the training
    # ids has the same quantised head row), which is far faster than 201,088 logits per token.
    used = trained.used_ids
    compact = GptOss(cfg, used)
    for name, array in dequantized.items():
        value = torch.from_numpy(array.copy())
        if name in ("token_embd.weight", "output.weight"):
            compact.p(name).copy_(value[used])
        else:
            compact.p(name).copy_(value)
    other = int(np.setdiff1d(np.arange(VOCAB_SIZE), used.numpy())[0])
    head = torch.from_numpy(dequantized["output.weight"])
    unused_rows = torch.ones(VOCAB_SIZE, dtype=torch.bool)
    unused_rows[used] = False
    if not torch.equal(head[unused_rows], head[other].expand(int(unused_rows.sum()), -1)):
        raise SystemExit("the quantised LM head's rows outside the training ids differ")
    compact.p("output.shared_row").copy_(head[other])
    index = torch.full((VOCAB_SIZE,), len(used), dtype=torch.long)
    index[used] = torch.arange(len(used))
    total, count = 0.0, 0
    for start in range(0, len(held_out), HELD_OUT_BATCH):
        rows = held_out[start : start + HELD_OUT_BATCH]
        width = max(len(e["ids"]) for _, e in rows)
        # Padded on the right: causal attention keeps the padding out of every real position.
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width - 1, dtype=torch.bool)
        for i, (_, e) in enumerate(rows):
            ids[i, : len(e["ids"])] = index[torch.tensor(e["ids"])]
            mask[i, e["prompt_tokens"] - 1 : len(e["ids"]) - 1] = True
        y, _ = compact.hidden(ids[:, :-1])
        reply = compact.log_probs(y, ids[:, 1:])[mask]
        total -= reply.double().sum().item()
        count += len(reply)
    held_out_nll = total / count
    print(f"held-out ({len(held_out)} conversations, {count} reply tokens): NLL {held_out_nll:.4f}, "
          f"perplexity {math.exp(held_out_nll):.3f} (training run's last: {meta['held_out_nll']:.4f} unquantised)")

    cases = []
    for c, e in held_out[: args.cases]:
        ids = e["ids"]
        y, _ = exported.hidden(torch.tensor(ids)[None, :-1])
        # float32 logits (what the engine computes), normalised in float64: a float32 log-sum-exp over 201,088
        # logits is off by ~4e-4, a fifth of the tolerance.
        logp = torch.log_softmax(exported.full_logits(y).double(), -1)[0]
        log_probs = logp.gather(-1, torch.tensor(ids[1:])[:, None])[:, 0]
        greedy, gaps, sequence = [], [], list(ids[: e["prompt_tokens"]])
        while len(greedy) < GREEDY_TOKENS:
            y, _ = exported.hidden(torch.tensor(sequence)[None])
            top = exported.full_logits(y[0, -1]).topk(2)
            greedy.append(int(top.indices[0]))
            gaps.append(float(top.values[0] - top.values[1]))
            sequence.append(greedy[-1])
        cases.append({"word": c["word"], "user": c["user"], "tokens": ids, "prompt_tokens": e["prompt_tokens"],
                      "log_probs": [round(float(v), 6) for v in log_probs], "greedy": greedy,
                      "min_greedy_gap": round(min(gaps), 6)})
        print(f"{c['word']:16} mean reply log-prob {log_probs[e['prompt_tokens'] - 1:].mean():.3f}, greedy "
              f"{len(greedy)} tokens, smallest top-1/top-2 gap {min(gaps):.4f}")
    reference = {
        "about": "PyTorch (training/gptoss_model.py) on the dequantised exported weights, float32: log_probs[i] is "
                 "log p(tokens[i + 1] | tokens[..= i]); greedy continues tokens[..prompt_tokens].",
        "held_out_conversations": len(held_out), "held_out_reply_tokens": count, "held_out_nll": held_out_nll,
        "training": {k: meta[k] for k in ("step", "seconds", "tokens", "train_nll", "held_out_nll")},
        "cases": cases,
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
