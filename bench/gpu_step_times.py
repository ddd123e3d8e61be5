#!/usr/bin/env python3
"""Measures what bench/workload.py's cost model needs from one real device: the time of one
training micro-batch (forward + backward, bf16 autocast over fp32 weights, flash attention) of
GPT-3-shaped decoder layers, as a function of width, micro-batch and activation checkpointing,
and the optimizer step's time per parameter.

Every width is measured at 2 and 4 layers, which splits the time into a per-layer part and a
fixed part (embedding, LM head, loss), and with --whole at the model's own depth where the model
and its gradients fit (up to 6.7B); the cost model goes piecewise-linearly in depth through those
points. The split alone over-predicts small launch-bound models (--check measures by how much),
hence the whole-model rows.

  python3 bench/gpu_step_times.py --out FILE.json     # 2 and 4 layers, on the GPU machine (~2 min)
  python3 bench/gpu_step_times.py --smoke             # tiny shapes on the CPU, checks the script
  python3 bench/gpu_step_times.py --check FILE.json   # whole models against FILE's split
  python3 bench/gpu_step_times.py --whole --out F.json # whole models (every layer) where they fit

Writes JSON: {"device", "torch", "seq_len", "rows": [{"d_model", "heads", "layers", "micro_batch",
"checkpointing", "seconds"}], "adamw_seconds_per_param"} and prints a table.
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.utils.checkpoint
import torch.nn.functional as F

VOCAB = 50257


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def attend(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch 1.13 (the smoke test here)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
            s = s.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            y = s.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))

    def forward(self, x):
        x = x + self.attend(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, d, heads, layers, seq):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, d), nn.Embedding(seq, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.checkpointing = False

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            if self.checkpointing:
                x = torch.utils.checkpoint.checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        logits = self.ln(x) @ self.wte.weight.t()  # tied head
        return F.cross_entropy(logits.float().view(-1, VOCAB), targets.view(-1))


def build(dev, d, heads, layers, seq):
    """On the device itself: a 6.7B model's initialization on the CPU takes minutes."""
    if dev.type == "cuda":
        with torch.device(dev):
            return GPT(d, heads, layers, seq)
    return GPT(d, heads, layers, seq)


def oom_error(dev):
    return torch.cuda.OutOfMemoryError if dev.type == "cuda" else MemoryError


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_micro_batch(model, dev, mb, seq, reps):
    idx = torch.randint(0, VOCAB, (mb, seq), device=dev)
    tgt = torch.randint(0, VOCAB, (mb, seq), device=dev)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", dtype=torch.bfloat16, enabled=False)
    times = []
    for i in range(reps + 2):
        sync(dev)
        t0 = time.perf_counter()
        with amp:
            loss = model(idx, tgt)
        loss.backward()
        sync(dev)
        if i >= 2:
            times.append(time.perf_counter() - t0)
        model.zero_grad(set_to_none=True)
    times.sort()
    return times[len(times) // 2]


def time_adamw(dev, params, reps):
    p = [torch.zeros(params, device=dev, requires_grad=True)]
    p[0].grad = torch.zeros_like(p[0])
    kw = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.AdamW(p, lr=1e-4, **kw)
    times = []
    for i in range(reps + 2):
        sync(dev)
        t0 = time.perf_counter()
        opt.step()
        sync(dev)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] / params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--check", help="a measured table: time whole models and compare with its layer split")
    ap.add_argument("--whole", action="store_true", help="time whole models (bench/workload.py's depths)")
    a = ap.parse_args()
    if a.check:
        return check(a.check, a.smoke)
    if a.smoke:
        dev, seq, widths, depths, mbs, reps = torch.device("cpu"), 64, [(64, 2), (128, 2)], (1, 2), (1, 2), 1
    else:
        dev, seq, reps = torch.device("cuda"), 2048, 5
        # GPT-3 widths of bench/workload.py's models: 125m, 350m, 760m, 1.3b, 2.7b, 6.7b, 13b.
        widths = [(768, 12), (1024, 16), (1536, 16), (2048, 16), (2560, 20), (4096, 32), (5120, 40)]
        depths, mbs = (2, 4), (1, 2, 4, 8)
        torch.backends.cuda.matmul.allow_tf32 = True
    if a.whole:  # (name, d_model, heads, layers) of bench/workload.py's MODELS
        # 13B does not fit with its gradients (8 bytes a parameter, 104 GB): the split covers it.
        widths = [(768, 12, 12), (1024, 16, 24), (1536, 16, 24), (2048, 16, 24), (2560, 20, 32), (4096, 32, 32)]
        widths = widths if not a.smoke else [(64, 2, 3)]
    else:
        widths = [(d, h, depth) for d, h in widths for depth in depths]
    torch.manual_seed(0)
    rows = []
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    print("device %s, torch %s, seq_len %d" % (name, torch.__version__, seq), flush=True)
    print("%6s %5s %6s %4s %5s %10s %12s" % ("d", "heads", "layers", "mb", "ckpt", "seconds", "TFLOP/s"))
    for d, heads, layers in widths:
        try:
            model = build(dev, d, heads, layers, seq)
        except oom_error(dev):
            print("%6d %5d %6d %4s %5s %10s" % (d, heads, layers, "-", "-", "oom"), flush=True)
            torch.cuda.empty_cache()
            continue
        for ckpt in (False, True):
            if ckpt and not a.whole and layers != depths[-1]:
                continue
            model.checkpointing = ckpt
            for mb in mbs:
                try:
                    s = time_micro_batch(model, dev, mb, seq, reps)
                except oom_error(dev):
                    model.zero_grad(set_to_none=True)
                    torch.cuda.empty_cache()
                    print("%6d %5d %6d %4d %5s %10s" % (d, heads, layers, mb, ckpt, "oom"), flush=True)
                    continue
                params = sum(p.numel() for p in model.parameters())
                flops = (6.0 * params + 12.0 * layers * d * seq) * mb * seq * (4.0 / 3.0 if ckpt else 1.0)
                rows.append({"d_model": d, "heads": heads, "layers": layers, "micro_batch": mb,
                             "checkpointing": ckpt, "seconds": s})
                print("%6d %5d %6d %4d %5s %10.5f %12.1f" % (d, heads, layers, mb, ckpt, s, flops / s / 1e12), flush=True)
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    adam = time_adamw(dev, 1 << 28 if dev.type == "cuda" else 1 << 20, reps)
    print("fused AdamW: %.3g s per parameter (%.1f GB/s at 16 B/param read+write)" % (adam, 16 * 2 / adam / 1e9))
    out = {"device": name, "torch": torch.__version__, "seq_len": seq, "vocab": VOCAB,
           "dtype": "bf16 autocast, fp32 weights", "rows": rows, "adamw_seconds_per_param": adam}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def check(path, smoke):
    """Whole GPT-3 models (every layer, as bench/workload.py's MODELS) timed directly, against
    fixed + layers x per-layer from the shallow (at most 4-layer) rows of the table at `path`."""
    with open(path) as f:
        m = json.load(f)
    t = {(r["d_model"], r["layers"], r["micro_batch"], r["checkpointing"]): r["seconds"] for r in m["rows"]}
    if smoke:
        dev, seq, reps, models = torch.device("cpu"), m["seq_len"], 1, [("tiny", 64, 2, 4)]
    else:
        dev, seq, reps = torch.device("cuda"), m["seq_len"], 5
        torch.backends.cuda.matmul.allow_tf32 = True
        models = [("125m", 768, 12, 12), ("350m", 1024, 16, 24), ("760m", 1536, 16, 24), ("1.3b", 2048, 16, 24)]
    print("%6s %4s %5s %12s %12s %8s" % ("model", "mb", "ckpt", "measured s", "split s", "ratio"))
    for name, d, heads, layers in models:
        model = build(dev, d, heads, layers, seq)
        for ckpt in (False, True):
            model.checkpointing = ckpt
            for mb in (1, 4):
                depths = sorted(k[1] for k in t if k[0] == d and k[2] == mb and not k[3] and k[1] <= 4)
                if len(depths) < 2:
                    continue
                lo, hi = depths[0], depths[-1]
                layer = (t[(d, hi, mb, False)] - t[(d, lo, mb, False)]) / (hi - lo)
                fixed = t[(d, lo, mb, False)] - lo * layer
                if ckpt:
                    if (d, hi, mb, True) not in t:
                        continue
                    layer = (t[(d, hi, mb, True)] - fixed) / hi
                predicted = fixed + layers * layer
                s = time_micro_batch(model, dev, mb, seq, reps)
                print("%6s %4d %5s %12.5f %12.5f %8.3f" % (name, mb, ckpt, s, predicted, s / predicted), flush=True)
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
