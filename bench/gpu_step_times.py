#!/usr/bin/env python3
"""Measures what bench/workload.py's cost model needs from one real device: the time of one
training micro-batch (forward + backward, bf16 autocast over fp32 weights, flash attention) of
GPT-3-shaped decoder layers, as a function of width, micro-batch and activation checkpointing,
and the optimizer step's time per parameter.

Whole 6.7B and 13B models do not fit one device with their Adam state, so every width is measured
with two depths (L1 and L2 layers) and the time split by least squares into a per-layer part and
a fixed part (embedding, LM head, loss); the cost model then builds any depth from those.

  python3 bench/gpu_step_times.py --out FILE.json     # on the GPU machine (~2-3 minutes)
  python3 bench/gpu_step_times.py --smoke             # tiny shapes on the CPU, checks the script

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
    a = ap.parse_args()
    if a.smoke:
        dev, seq, widths, depths, mbs, reps = torch.device("cpu"), 64, [(64, 2), (128, 2)], (1, 2), (1, 2), 1
    else:
        dev, seq, reps = torch.device("cuda"), 2048, 5
        # GPT-3 widths of bench/workload.py's models: 125m, 350m, 760m, 1.3b, 2.7b, 6.7b, 13b.
        widths = [(768, 12), (1024, 16), (1536, 16), (2048, 16), (2560, 20), (4096, 32), (5120, 40)]
        depths, mbs = (2, 4), (1, 2, 4, 8)
        torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(0)
    rows = []
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    print("device %s, torch %s, seq_len %d" % (name, torch.__version__, seq), flush=True)
    print("%6s %5s %6s %4s %5s %10s %12s" % ("d", "heads", "layers", "mb", "ckpt", "seconds", "TFLOP/s"))
    for d, heads in widths:
        for layers in depths:
            model = GPT(d, heads, layers, seq).to(dev)
            for ckpt in (False, True):
                if ckpt and layers != depths[-1]:
                    continue
                model.checkpointing = ckpt
                for mb in mbs:
                    try:
                        s = time_micro_batch(model, dev, mb, seq, reps)
                    except torch.cuda.OutOfMemoryError if dev.type == "cuda" else MemoryError:
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


if __name__ == "__main__":
    sys.exit(main())
