#!/usr/bin/env python3
"""Checks saturn's model layer against transformers, both ways, for gpt2, gpt_neox and llama:
a checkpoint transformers saves (f32, bf16, sharded) loads in saturn with the same logits, and a
checkpoint saturn saves loads in transformers with the same logits. Then a few bf16-autocast
training steps on CUDA. Usage: run.py BUILD_DIR OUT_DIR. Prints a report; exit 1 on a mismatch."""
import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM

BIN = os.path.join(sys.argv[1], "hf_compat")
OUT = sys.argv[2]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEV = "cuda" if torch.cuda.is_available() else "cpu"
failures = []
os.makedirs(OUT, exist_ok=True)


def hf_logits(model_dir, ids, dtype=torch.float32):
    m = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=dtype).to(DEV).float().eval()
    with torch.no_grad():
        return m(ids.to(DEV)).logits.float().cpu()


def our_logits(model_dir, ids, dev):
    i, o = os.path.join(OUT, "ids.safetensors"), os.path.join(OUT, "logits.safetensors")
    save_file({"ids": ids}, i)
    subprocess.run([BIN, "logits", model_dir, i, o, dev], check=True)
    return load_file(o)["logits"]


def compare(what, a, b, tol):
    d = (a - b).abs().max().item()
    ok = d <= tol
    print("%-62s max |diff| %.2e  %s" % (what, d, "ok" if ok else "MISMATCH (tol %.0e)" % tol))
    if not ok:
        failures.append(what)


for name in ["gpt2-tiny", "neox-tiny", "llama-tiny"]:
    cfg_path = os.path.join(ROOT, "models", name + ".json")
    cfg = AutoConfig.from_pretrained(cfg_path)
    torch.manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (2, 24), dtype=torch.int64)
    # transformers -> saturn
    torch.manual_seed(1)
    hf = AutoModelForCausalLM.from_config(cfg)
    d = os.path.join(OUT, name + "-hf")
    hf.save_pretrained(d, safe_serialization=True)
    ref = hf_logits(d, ids)
    for dev in ["cpu", DEV]:
        compare("%s: transformers f32 checkpoint, saturn on %s" % (name, dev), our_logits(d, ids, dev), ref, 2e-4)
    d16 = os.path.join(OUT, name + "-hf-bf16")
    hf.to(torch.bfloat16).save_pretrained(d16, safe_serialization=True)
    compare("%s: transformers bf16 checkpoint" % name, our_logits(d16, ids, "cpu"), hf_logits(d16, ids, torch.bfloat16), 2e-4)
    ds = os.path.join(OUT, name + "-hf-sharded")
    AutoModelForCausalLM.from_config(cfg).save_pretrained(ds, safe_serialization=True, max_shard_size="2MB")
    print("   sharded files:", sorted(f for f in os.listdir(ds) if "safetensors" in f)[:3], "...")
    compare("%s: transformers sharded checkpoint" % name, our_logits(ds, ids, "cpu"), hf_logits(ds, ids), 2e-4)
    # saturn -> transformers
    for dtype, shard in [("f32", 0), ("bf16", 0), ("f32", 3000000)]:
        o = os.path.join(OUT, "%s-ours-%s-%d" % (name, dtype, shard))
        subprocess.run([BIN, "save", cfg_path, "7", o, dtype, str(shard)], check=True)
        compare("%s: saturn %s checkpoint%s, in transformers" % (name, dtype, " (sharded)" if shard else ""),
                hf_logits(o, ids, torch.bfloat16 if dtype == "bf16" else torch.float32), our_logits(o, ids, "cpu"), 2e-4)

print()
for name in ["gpt2-tiny", "llama-tiny"]:
    r = subprocess.run([BIN, "train", os.path.join(ROOT, "models", name + ".json"), DEV, "30"], check=True,
                       capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    print("%s: bf16 autocast training on %s: %s ... %s" % (name, DEV, lines[0], lines[-1]))
    first, last = float(lines[0].split()[3]), float(lines[-1].split()[3])
    if not (last < first * 0.5):
        failures.append(name + " training")
        print("   loss did not fall by half: FAIL")
print()
print("FAILURES: " + ", ".join(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)
