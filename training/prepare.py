#!/usr/bin/env python3
"""Tokenized conversations -> the arrays `train.py` reads.

    python3 prepare.py --conversations conversations.jsonl --ids ids.jsonl -o DIR

`ids.jsonl` is `gptoss tokenize <any gpt-oss GGUF> --conversations conversations.jsonl --reasoning low`: the
engine's own tokenizer and Harmony renderer, so training sees exactly the ids the app prompts with. Writes
`used_ids.npy` (every id of the training split, sorted), and per split `{split}.ids.npy` (uint16 indices into
used_ids; an id outside it, which only the held-out split can have, becomes len(used_ids)), `{split}.offsets.npy`
and `{split}.prompt.npy`.
"""
import argparse
import json
import os

import numpy as np

SPLITS = ("train", "held_out")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    with open(args.conversations, encoding="utf-8") as f:
        conversations = [json.loads(line) for line in f if line.strip()]
    with open(args.ids, encoding="utf-8") as f:
        encoded = [json.loads(line) for line in f if line.strip()]
    if len(conversations) != len(encoded):
        raise SystemExit(f"{len(conversations)} conversations but {len(encoded)} id lines")

    by_split = {s: [(c, e) for c, e in zip(conversations, encoded) if c["split"] == s] for s in SPLITS}
    used = np.unique(np.concatenate([np.asarray(e["ids"]) for _, e in by_split["train"]]))
    if len(used) >= np.iinfo(np.uint16).max:
        raise SystemExit(f"{len(used)} used ids do not fit uint16 indices")
    compact = np.full(201_088, len(used), dtype=np.int64)
    compact[used] = np.arange(len(used))
    os.makedirs(args.output, exist_ok=True)
    np.save(os.path.join(args.output, "used_ids.npy"), used.astype(np.int32))
    for split, rows in by_split.items():
        ids = np.concatenate([compact[np.asarray(e["ids"])] for _, e in rows]).astype(np.uint16)
        offsets = np.concatenate([[0], np.cumsum([len(e["ids"]) for _, e in rows])]).astype(np.int64)
        prompt = np.asarray([e["prompt_tokens"] for _, e in rows], dtype=np.int32)
        for name, array in (("ids", ids), ("offsets", offsets), ("prompt", prompt)):
            np.save(os.path.join(args.output, f"{split}.{name}.npy"), array)
        unknown = int((ids == len(used)).sum())
        print(f"{split}: {len(rows)} conversations, {len(ids):,} tokens ({unknown} outside the training ids), "
              f"{offsets[-1] / len(rows):.1f} tokens each, prompt {prompt.min()}-{prompt.max()}")
    print(f"{len(used)} ids used by the training split")


if __name__ == "__main__":
    main()
