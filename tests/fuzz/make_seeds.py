#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into DIR/<target>/ from files in the repository.

Deterministic and needs only Python's standard library. Usage: make_seeds.py ROOT DIR
(ROOT: the source tree; scripts/fuzz.sh calls it). Seeds are small valid inputs of each parser:
the fuzzer mutates from there.
"""
import bz2
import glob
import json
import os
import struct
import sys


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def lines_of(path, n):
    opener = bz2.open if path.endswith(".bz2") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return "".join(next(f) for _ in range(n))


def byte_to_char():
    # GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest above 255.
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    root, out = sys.argv[1], sys.argv[2]
    ev = os.path.join(root, "datasets", "eval")
    for p in sorted(glob.glob(os.path.join(root, "configs", "*sweep*.yaml"))):
        write(f"{out}/sweep_yaml_fuzz", os.path.basename(p), open(p, "rb").read())
    write(f"{out}/tasks_yaml_fuzz", "eval-tasks.yaml", open(os.path.join(root, "configs", "eval-tasks.yaml"), "rb").read())
    write(f"{out}/profile_json_fuzz", "example-profile.json",
          open(os.path.join(root, "configs", "example-profile.json"), "rb").read())
    for p in sorted(glob.glob(os.path.join(root, "tests", "fuzz", "seeds", "profile", "*.json"))):
        write(f"{out}/profile_json_fuzz", os.path.basename(p), open(p, "rb").read())
    for p in sorted(glob.glob(os.path.join(root, "tests", "fuzz", "seeds", "plan", "*.json"))):
        write(f"{out}/plan_json_fuzz", os.path.basename(p), open(p, "rb").read())
    for p in sorted(glob.glob(os.path.join(root, "models", "*.json"))):
        write(f"{out}/model_config_fuzz", os.path.basename(p), open(p, "rb").read())

    # safetensors: two tensors, F32 [2,3] and BF16 [4], header padded to 8 as writers do.
    header = {"__metadata__": {"format": "pt"},
              "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
              "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    write(f"{out}/safetensors_header_fuzz", "two.safetensors", struct.pack("<Q", len(h)) + h + bytes(range(32)))

    # tokenizer.json: the 256 byte tokens, a few merges, an added special token.
    b2c = byte_to_char()
    vocab = {b2c[b]: b for b in range(256)}
    g = b2c[ord(" ")]
    for i, tok in enumerate(["o" + g, "he", "ll", "hell", "hello", g + "w"]):
        vocab[tok] = 256 + i
    tj = {"version": "1.0", "normalizer": {"type": "NFC"},
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
          "decoder": {"type": "ByteLevel"},
          "added_tokens": [{"id": 262, "content": "<|endoftext|>", "special": True, "normalized": False}],
          "model": {"type": "BPE", "vocab": vocab, "merges": ["o " + g, "h e", "l l", "he ll", "hell o", g + " w"]}}
    write(f"{out}/tokenizer_json_fuzz", "tiny.json", json.dumps(tj, ensure_ascii=False))

    # eval tasks: byte 0 picks the layout (the order of kLayouts in eval_task_fuzz.cc), byte 1 the
    # few-shot count; then the first items of the shipped file in that layout.
    layouts = [(0, "composer/lambada_openai.jsonl.bz2", 4), (1, "composer/arc_easy.jsonl.bz2", 4),
               (2, "composer/winogrande.jsonl.bz2", 4), (3, "lambada_openai_test.jsonl.bz2", 3),
               (5, None, 0), (6, "hellaswag_val.txt.bz2", 18)]
    for idx, f, n in layouts:
        if f is None:
            continue
        write(f"{out}/eval_task_fuzz", f"layout{idx}", bytes([idx, 2]) + lines_of(os.path.join(ev, f), n).encode())
    piqa = lines_of(os.path.join(ev, "piqa", "valid.jsonl.bz2"), 3)
    labels = "".join(open(os.path.join(ev, "piqa", "valid-labels.lst")).readlines()[:3])
    write(f"{out}/eval_task_fuzz", "layout4", bytes([4, 1]) + (piqa + "\n@@\n" + labels).encode())
    hs = {"ctx": "A man is sitting on a roof. he", "label": 3,
          "endings": ["is using wrap.", "is ripping level tiles off.", "holds a rubik's cube.", "starts pulling up roofing."]}
    write(f"{out}/eval_task_fuzz", "layout5", bytes([5, 0]) + (json.dumps(hs) + "\n").encode())
    write(f"{out}/eval_task_fuzz", "layout7", bytes([7, 0]) + bz2.compress(lines_of(os.path.join(ev, "composer/copa.jsonl.bz2"), 3).encode()))

    # A token file (layout in src/data/token_file.h): 20 uint16 tokens of a 50257 vocabulary.
    toks = struct.pack("<20H", *[(i * 2654435761) % 50257 for i in range(20)])
    head = b"SATTOKv1" + struct.pack("<IIIIQQ", 2, 50257, 50256, 0, 20, fnv1a64(toks)) + b"gpt2".ljust(24, b"\0")
    write(f"{out}/token_file_fuzz", "small.tok", head + toks)

    text = lines_of(os.path.join(ev, "lambada_openai_test.jsonl.bz2"), 2)
    write(f"{out}/gpt2_encode_fuzz", "lambada", text)
    write(f"{out}/gpt2_encode_fuzz", "mixed", "Hello world! I'm here, we've 123 4567 \u00bd \u0661\u0662 "
          "\u4f60\u597d \U0001F600\U0001F44D\U0001F3FD  \t\r\n\u00a0\u3000 e\u0301 <|endoftext|>\n")
    write(f"{out}/gpt2_encode_fuzz", "bytes", bytes([0xff, 0xfe, 0x20, 0x61, 0xc3, 0x80, 0xed, 0xa0, 0x80]))


if __name__ == "__main__":
    main()
