#!/usr/bin/env python3
"""Trains the bundled gpt-oss (`gptoss_model.py`) on the WordNet conversations that `prepare.py` tokenized.

    python3 train.py --data DIR --out DIR [--minutes 5] [--device cuda]

Runs for a fixed wall-clock budget with a cosine learning-rate schedule over that time, evaluates the held-out
split as it goes, and writes a checkpoint (`checkpoint-NN.pt` shards of at most 15 MiB, so each comes back from
the GPU machine) and `train.log` under --out at every evaluation, so a run that is killed still leaves its last
checkpoint. Loss is the next-token cross-entropy over the full 201,088-id softmax on the assistant's reply (the
tokens after the prompt), plus a small router load-balancing term.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from gptoss_model import Config, GptOss

SHARD_BYTES = 15 << 20
BALANCE_WEIGHT = 0.01


class Split:
    """One split's conversations: `{name}.ids.npy` (uint16 indices into used_ids, concatenated),
    `{name}.offsets.npy` (int64, N + 1) and `{name}.prompt.npy` (int32 prompt lengths)."""

    def __init__(self, data, name):
        self.ids = np.load(os.path.join(data, f"{name}.ids.npy")).astype(np.int64)
        self.offsets = np.load(os.path.join(data, f"{name}.offsets.npy"))
        self.prompt = np.load(os.path.join(data, f"{name}.prompt.npy"))

    def __len__(self):
        return len(self.prompt)

    def batch(self, rows, device):
        """Padded inputs [B, T], targets [B, T] and the mask of reply targets."""
        lengths = [self.offsets[r + 1] - self.offsets[r] for r in rows]
        width = max(lengths) - 1
        inputs = np.zeros((len(rows), width), dtype=np.int64)
        targets = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=bool)
        for i, (r, n) in enumerate(zip(rows, lengths)):
            seq = self.ids[self.offsets[r] : self.offsets[r + 1]]
            inputs[i, : n - 1] = seq[:-1]
            targets[i, : n - 1] = seq[1:]
            # Position j predicts token j + 1; the reply starts at token prompt[r].
            mask[i, self.prompt[r] - 1 : n - 1] = True
        as_tensor = lambda a: torch.from_numpy(a).to(device)
        return as_tensor(inputs), as_tensor(targets), as_tensor(mask), int(mask.sum())


def evaluate(model, split, rows, device, batch_size):
    """Mean negative log-likelihood per reply token (full softmax, float32)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            inputs, targets, mask, n = split.batch(rows[i : i + batch_size], device)
            y, _ = model.hidden(inputs)
            total += -model.log_probs(y, targets)[mask].sum().item()
            count += n
    model.train()
    return total / count


def save_checkpoint(model, cfg, out, meta):
    """The parameters as shards of at most SHARD_BYTES (big tensors split by rows), written then renamed."""
    shards, current, size = [], {}, 0
    for key, param in model.params.items():
        tensor = param.detach().float().cpu()
        rows_per_piece = max(1, SHARD_BYTES // max(1, tensor[0].numel() * 4)) if tensor.dim() > 1 else len(tensor)
        pieces = list(torch.split(tensor, rows_per_piece)) if tensor.dim() > 1 else [tensor]
        for n, piece in enumerate(pieces):
            nbytes = piece.numel() * 4
            if current and size + nbytes > SHARD_BYTES:
                shards.append(current)
                current, size = {}, 0
            current[f"{key}#{n}"] = piece.clone()
            size += nbytes
    shards.append(current)
    for n, shard in enumerate(shards):
        if n == 0:
            shard["used_ids"] = model.used_ids.cpu().to(torch.int32)
            shard["meta"] = json.dumps({"config": cfg.__dict__, "shards": len(shards), **meta})
        path = os.path.join(out, f"checkpoint-{n:02d}.pt")
        torch.save(shard, path + ".partial")
        os.replace(path + ".partial", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=192)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--eval-every", type=float, default=60.0, help="seconds between evaluations")
    parser.add_argument("--eval-rows", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "train.log"), "a")

    def log(message):
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = Config()
    used_ids = np.load(os.path.join(args.data, "used_ids.npy"))
    train, held_out = Split(args.data, "train"), Split(args.data, "held_out")
    model = GptOss(cfg, used_ids)
    model.initialise(torch.Generator().manual_seed(args.seed))
    model.to(device)
    trained = sum(p.numel() for p in model.params.values())
    log(f"config {cfg.__dict__}; {len(used_ids)} used ids; {trained:,} trained parameters; "
        f"{len(train)} training and {len(held_out)} held-out conversations, "
        f"{len(train.ids):,} training tokens; device {device}")

    matrices = [p for k, p in model.params.items() if p.dim() > 1 and "token_embd" not in k]
    others = [p for k, p in model.params.items() if not (p.dim() > 1 and "token_embd" not in k)]
    optimizer = torch.optim.AdamW(
        [{"params": matrices, "weight_decay": 0.01}, {"params": others, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
    )
    rng = np.random.default_rng(args.seed)
    eval_rows = np.arange(min(args.eval_rows, len(held_out)))
    budget = args.minutes * 60.0
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    started = time.time()
    last_eval, step, tokens_seen, recent = started, 0, 0, []
    while True:
        elapsed = time.time() - started
        done = elapsed >= budget or (args.max_steps and step >= args.max_steps)
        if done or time.time() - last_eval >= args.eval_every:
            held = evaluate(model, held_out, eval_rows, device, 256)
            train_loss = float(np.mean(recent)) if recent else float("nan")
            log(f"step {step} {elapsed:.0f}s tokens {tokens_seen:,} train {train_loss:.4f} "
                f"held-out {held:.4f} (ppl {math.exp(held):.2f})")
            save_checkpoint(model, cfg, args.out, {"step": step, "held_out_nll": held, "train_nll": train_loss,
                                                   "seconds": elapsed, "tokens": tokens_seen})
            recent, last_eval = [], time.time()
        if done:
            break
        warmup = 0.02 * budget
        frac = min(1.0, elapsed / budget)
        lr = args.lr * (elapsed / warmup if elapsed < warmup else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, targets, mask, n = train.batch(rng.integers(0, len(train), args.batch), device)
        with autocast:
            y, balance = model.hidden(inputs)
        lp = model.log_probs(y.float(), targets)
        nll = -lp[mask].mean()
        loss = nll + BALANCE_WEIGHT * balance.float()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 10 == 0:  # .item() waits for the GPU
            recent.append(nll.item())
        tokens_seen += n
        step += 1
    log(f"done: {step} steps in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
