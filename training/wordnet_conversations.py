#!/usr/bin/env python3
"""WordNet 3.0 (Debian's `wordnet-base`) -> "What does WORD mean?" conversations, one JSON object per line.

Each single, lower-case word of WordNet's index gets one conversation: its most frequent part of speech (by the
index's tagged-sense count), the first of that part's first three senses whose gloss has a quoted example (else
the first sense), answered with the definition and the example. About 2% of the words, chosen by a hash of the
word, are held out of training.

    python3 training/wordnet_conversations.py [--wordnet /usr/share/wordnet] -o conversations.jsonl
"""
import argparse
import hashlib
import json
import os
import re

POS_FILES = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}
# How the user asks; the page's default prompt is the first form.
QUESTIONS = ['What does "{w}" mean?', 'Define "{w}".', 'What is the meaning of "{w}"?']
HELD_OUT_PERCENT = 2
# A sense is searched for an example among this many of a word's most frequent senses.
SENSES_SEARCHED = 3
WORD = re.compile(r"^[a-z]{3,}$")


def read_glosses(path):
    """synset offset -> gloss text (`data.*`: the gloss follows ` | `)."""
    glosses = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # the licence header
                continue
            offset, _, gloss = line.partition(" | ")
            glosses[offset.split(" ", 1)[0]] = gloss.strip()
    return glosses


def read_index(path):
    """lemma -> (tagged sense count, [synset offsets in frequency order]) (`index.*`, see wndb(5))."""
    entries = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, synset_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
            rest = fields[4 + pointer_count :]
            tagged = int(rest[1])
            offsets = rest[2 : 2 + synset_count]
            entries[lemma] = (tagged, offsets)
    return entries


def split_gloss(gloss):
    """`definition; "example"; "example"` -> (definition, [examples])."""
    examples = re.findall(r'"([^"]+)"', gloss)
    definition = gloss.split('"', 1)[0].strip().rstrip(";").strip()
    # WordNet marks elisions in quotations with "..", e.g. "apartheid..is".
    return definition, [re.sub(r"\s*\.\.+\s*", " ", e).strip() for e in examples if e.strip()]


def answer(word, pos, definition, example):
    text = f'"{word}" ({POS_FILES[pos]}): {definition}.'
    if example:
        text += f" Example: {example[0].upper()}{example[1:]}."
    return text.replace("..", ".")


def conversations(wordnet):
    best = {}  # word -> (tagged count, synset count, pos, offsets)
    glosses = {}
    for pos in POS_FILES:
        glosses[pos] = read_glosses(os.path.join(wordnet, f"data.{pos}"))
        for lemma, (tagged, offsets) in read_index(os.path.join(wordnet, f"index.{pos}")).items():
            if not WORD.match(lemma):
                continue
            key = (tagged, len(offsets))
            if lemma not in best or key > best[lemma][:2]:
                best[lemma] = (tagged, len(offsets), pos, offsets)
    for word in sorted(best):
        _, _, pos, offsets = best[word]
        senses = [split_gloss(glosses[pos][o]) for o in offsets]
        with_example = [s for s in senses[:SENSES_SEARCHED] if s[1]]
        definition, examples = with_example[0] if with_example else senses[0]
        if not definition:
            continue
        digest = int(hashlib.sha256(word.encode()).hexdigest(), 16)
        yield {
            "word": word,
            "split": "held_out" if digest % 100 < HELD_OUT_PERCENT else "train",
            "user": QUESTIONS[digest // 100 % len(QUESTIONS)].format(w=word),
            "analysis": f'The user asks what "{word}" means. It is a{"n" if pos in ("adj", "adv") else ""} '
            f"{POS_FILES[pos]}: give its definition{' and an example' if examples else ''}.",
            "final": answer(word, pos, definition, examples[0] if examples else None),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    count = {"train": 0, "held_out": 0}
    with open(args.output, "w", encoding="utf-8") as out:
        for c in conversations(args.wordnet):
            count[c["split"]] += 1
            out.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{args.output}: {count['train']} training and {count['held_out']} held-out conversations")


if __name__ == "__main__":
    main()
