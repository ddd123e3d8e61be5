#!/usr/bin/env python3
"""Rebuilds datasets/reference from ../shared/data (see README.md): a sample of each corpus (the
first 96 KB and 96 KB from the middle, each cut at a newline) and the GPT-NeoX tokenizer.json,
bzip2-compressed, with SHA256SUMS of the uncompressed files."""
import bz2, hashlib, pathlib, sys

here = pathlib.Path(__file__).resolve().parent
shared = here.parents[2] / "shared" / "data"
if not shared.is_dir():
    sys.exit(f"{shared}: not found; this script reads the originals from there")

def sample(text: bytes, size: int) -> bytes:
    if len(text) <= 2 * size:
        return text
    def piece(start):
        b = 0 if start == 0 else text.index(b"\n", start) + 1
        e = text.find(b"\n", b + size)
        return text[b:] if e < 0 else text[b:e]
    return piece(0) + piece(len(text) // 2)

sums = []
def put(name: str, data: bytes):
    (here / (name + ".bz2")).write_bytes(bz2.compress(data, 9))
    sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")

for f in sorted((shared / "corpus").iterdir()):
    put(f"corpus/{f.stem}.sample.txt", sample(f.read_bytes(), 96 * 1024))
put("neox/tokenizer.json", (shared / "tokenizers" / "neox" / "tokenizer.json").read_bytes())
(here / "SHA256SUMS").write_text("".join(sums))
