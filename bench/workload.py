#!/usr/bin/env python3
"""Synthetic but realistic Saturn workloads: a sweep (YAML) and its profile (JSON).

The profile is what `saturn profile` would measure, estimated by an analytic cost model of
GPT-style training on H100-class devices instead:

  * compute per micro-batch: measured on one H100 SXM (bench/gpu_step_times.py, the table in
    bench/data/h100_step_times.json): forward + backward of a GPT-3-shaped model of each width
    at micro-batches of 1-8 sequences of 2048 tokens, bf16 autocast, flash attention, with and
    without activation checkpointing, at 2 and 4 layers and at the model's own depth (up to
    6.7B: 13B does not fit with its gradients); other depths (pipeline stages, 13B) go
    piecewise-linearly through those points and the fixed part (embedding, LM head, loss) of the
    2/4-layer split. Micro-batches above 8 sequences run at the 8-sequence rate per token; other
    sequence lengths scale the layers' part by FLOPs per token. The optimizer step takes the
    measured fused-AdamW time per parameter;
  * ddp: full replica (16 bytes/param: bf16 params + grads, fp32 master + Adam m, v) plus
    activations; grads all-reduced once per step, overlapped with the last micro-batch's backward;
  * fsdp: params, grads and optimizer sharded (16 B/param / k); all-gather params forward and
    backward per micro-batch plus one reduce-scatter of grads (~3 x param bytes), partly overlapped;
  * pipeline: k stages of ceil(layers/k) layers, m micro-batches, 1F1B: time (m + k - 1) x stage
    time (bubble (k-1)/(m+k-1)), activations sent between stages, memory 16 B/param / k plus
    activations of up to k micro-batches in flight;
  * offload (ZeRO-Infinity style): params and optimizer on the host; params streamed over PCIe
    (~25 GB/s) each micro-batch, grads back once, Adam on the CPU; tiny device memory, slow;
  * links: NVLink ~300 GB/s per device inside a node, ~25 GB/s per device between nodes (any
    configuration wider than a node pays it), a per-collective latency growing with device count.

Each (model, seq_len, batch_size, technique, devices) gets a seeded +-5% jitter, so jobs that
differ only in learning rate get identical records. For data-parallel techniques the per-device
micro-batch size and activation checkpointing are tuned (fastest setting that fits in memory) and
reported as knobs. Deterministic given the seed.

CLI:
  python3 bench/workload.py --name NAME --jobs N --nodes M --devices-per-node 8 \
      --models 125m,1.3b --seed S --out DIR
writes DIR/sweep.yaml and DIR/profile.json. Importable: make_workload(...), write_workload(...).
"""

import argparse
import json
import math
import os
import random
import sys

GIB = 1024 ** 3

# Hardware (H100 SXM-class). Compute comes from measurements (below); links are modelled.
NVLINK_BW = 300e9            # bytes/s per device, intra-node collective bandwidth
INTER_BW = 25e9              # bytes/s per device between nodes (200 Gb/s NIC per GPU)
PCIE_BW = 25e9               # bytes/s host <-> device
CPU_ADAM_RATE = 1.0e9        # params/s of the host's Adam, per device
LAT_INTRA = 10e-6            # seconds per collective hop inside a node
LAT_INTER = 30e-6            # ... across nodes
STEP_OVERHEAD = 10e-3        # per step: data loading, optimizer launch, logging
DEVICE_MEMORY = 80 * GIB
WORKSPACE = 3 * GIB          # CUDA context, allocator fragmentation, temporary buffers
VOCAB = 50257

# GPT-3 paper sizes: name -> (params, layers, d_model, seq_len used in sweeps).
MODELS = {
    "125m": (125e6, 12, 768, 2048),
    "350m": (350e6, 24, 1024, 2048),
    "760m": (760e6, 24, 1536, 2048),
    "1.3b": (1.3e9, 24, 2048, 2048),
    "2.7b": (2.7e9, 32, 2560, 2048),
    "6.7b": (6.7e9, 32, 4096, 2048),
    "13b": (13e9, 40, 5120, 2048),
}
MODEL_ORDER = list(MODELS)

TECHNIQUES = ["ddp", "fsdp", "pipeline", "offload"]

# Learning rates a sweep draws from, in the order grids take them.
LRS = [1.0e-4, 3.0e-4, 1.0e-3, 6.0e-4, 2.0e-4, 3.0e-5, 5.0e-4, 1.5e-4, 8.0e-4, 6.0e-5, 2.5e-4, 4.0e-4,
       1.2e-3, 7.0e-5, 3.5e-4, 9.0e-4, 4.5e-4, 1.0e-5, 2.0e-3, 5.0e-5, 7.5e-4, 1.75e-4, 2.75e-4, 1.25e-4]


def model_key(name):
    k = name.lower().replace("gpt-", "").replace("gpt", "")
    if k not in MODELS:
        raise ValueError("unknown model '%s'; one of %s" % (name, ", ".join(MODEL_ORDER)))
    return k


# ----------------------------------------------------------------------------- cost model

def _load_measured(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "h100_step_times.json")):
    """{(d_model, micro_batch, checkpointing): [(layers, seconds)] by depth, with depth 0 (the
    fixed part: embedding, head, loss) from the 2- and 4-layer split}, seq_len, AdamW s/param."""
    with open(path) as f:
        m = json.load(f)
    t = {(r["d_model"], r["layers"], r["micro_batch"], r["checkpointing"]): r["seconds"] for r in m["rows"]}
    out = {}
    for (d, layers, mb, ckpt), sec in t.items():
        out.setdefault((d, mb, ckpt), []).append((layers, sec))
    for (d, mb, ckpt), pts in out.items():
        # Checkpointing recomputes layers only: the fixed part is the plain split's.
        fixed = 2.0 * t[(d, 2, mb, False)] - t[(d, 4, mb, False)]
        pts.append((0, fixed))
        pts.sort()
    return out, m["seq_len"], m["adamw_seconds_per_param"]


MEASURED, MEASURED_SEQ, ADAMW_SECONDS_PER_PARAM = _load_measured()


def _flops_per_token_layer(d_model, seq_len):
    return 72.0 * d_model * d_model + 12.0 * d_model * seq_len


def _at_depth(pts, layers):
    """Piecewise-linear in depth through the measured points, extended by the last two."""
    for (l0, t0), (l1, t1) in zip(pts, pts[1:]):
        if layers <= l1 or (l1, t1) == pts[-1]:
            return t0 + (t1 - t0) * (layers - l0) / (l1 - l0)
    raise ValueError("need two measured depths")


def _micro_batch_seconds(model, mb, checkpointing, layers):
    """Forward + backward of one micro-batch of `mb` sequences through `layers` layers plus the
    embedding, head and loss, from the measured table: whole models where they were measured,
    the 2- and 4-layer split beyond (13B; 6.7B at micro-batches that did not fit whole)."""
    _, _, d, seq = model
    have = sorted(k for (dd, k, c) in MEASURED if dd == d and c == checkpointing)
    if not have:
        raise ValueError("no measured step times for d_model %d" % d)
    # Sequences beyond the largest measured micro-batch run at its per-sequence rate.
    k = max([x for x in have if x <= mb] or [have[0]])
    pts = MEASURED[(d, k, checkpointing)]
    fixed = pts[0][1]
    # Other sequence lengths scale the layers' part by their FLOPs per token.
    per_layers = (_at_depth(pts, layers) - fixed) * _flops_per_token_layer(d, seq) / _flops_per_token_layer(d, MEASURED_SEQ)
    return mb / k * seq / MEASURED_SEQ * (fixed + per_layers)


def _compute_seconds(model, per_device_sequences, mb, checkpointing, layer_fraction=1.0):
    """One step's forward + backward over `per_device_sequences` in micro-batches of `mb`."""
    _, layers, _, _ = model
    return per_device_sequences / mb * _micro_batch_seconds(model, mb, checkpointing, layers * layer_fraction)


def _activation_bytes(model, micro_batch, layers, checkpointing):
    """Activations kept for backward by `layers` layers for one micro-batch (flash attention)."""
    _, _, d, seq = model
    tokens = micro_batch * seq
    if checkpointing:  # layer inputs only, plus one layer's full activations while recomputing
        return tokens * d * 2.0 * layers + tokens * d * 34.0
    return tokens * d * 34.0 * layers


def _layer_param_bytes(model):
    _, _, d, _ = model
    return 12.0 * d * d * 2.0  # bf16


def _link(devices, devices_per_node):
    """(bandwidth per device, latency per hop) of collectives over `devices` devices."""
    if devices <= devices_per_node:
        return NVLINK_BW, LAT_INTRA
    return INTER_BW, LAT_INTER


def _allreduce(nbytes, k, dpn, buckets=1):
    if k <= 1:
        return 0.0
    bw, lat = _link(k, dpn)
    return 2.0 * (k - 1) / k * nbytes / bw + buckets * 2 * (k - 1) * lat


def _gather(nbytes, k, dpn, buckets=1):
    """All-gather or reduce-scatter of a tensor of `nbytes` in total."""
    if k <= 1:
        return 0.0
    bw, lat = _link(k, dpn)
    return (k - 1.0) / k * nbytes / bw + buckets * (k - 1) * lat


def _pow2_divisors(n):
    out, m = [], 1
    while m <= n:
        if n % m == 0:
            out.append(m)
        m *= 2
    return out


def _data_parallel(model, technique, k, batch, dpn, memory=DEVICE_MEMORY, slow=1.0):
    """Best (seconds, peak bytes, knobs) over micro-batch size and checkpointing, or a reason."""
    params, layers, d, seq = model
    if batch % k:
        return None, "batch size %d does not split over %d devices" % (batch, k)
    per_device = batch // k
    best, smallest_peak = None, None
    for ckpt in (False, True):
        for mb in _pow2_divisors(per_device):
            ga = per_device // mb
            act = _activation_bytes(model, mb, layers, ckpt)
            compute = _compute_seconds(model, per_device, mb, ckpt) * slow + STEP_OVERHEAD
            mb_backward = compute / ga * (2.0 / 3.0)
            if technique == "ddp":
                peak = 16.0 * params + act + WORKSPACE
                buckets = max(1, int(2.0 * params / 25e6))
                comm = _allreduce(2.0 * params, k, dpn, buckets)
                exposed = 0.1 * comm + max(0.0, 0.9 * comm - 0.8 * mb_backward)
                opt = params * ADAMW_SECONDS_PER_PARAM
                t = compute + exposed + opt
            elif technique == "fsdp":
                peak = 16.0 * params / k + 4.0 * _layer_param_bytes(model) + act + WORKSPACE
                ag = _gather(2.0 * params, k, dpn, layers)
                rs = _gather(2.0 * params, k, dpn, layers)
                comm = 2.0 * ag * ga + rs
                exposed = 0.15 * comm + max(0.0, 0.85 * comm - 0.8 * compute)
                opt = params / k * ADAMW_SECONDS_PER_PARAM
                overhead = 1.03 if k == 1 else 1.0  # wrapping without sharding still costs a little
                t = compute * overhead + exposed + opt
            else:  # offload
                peak = 4.0 * _layer_param_bytes(model) + VOCAB * d * 4.0 + act + WORKSPACE + 1.0 * GIB
                ag = _gather(2.0 * params, k, dpn, layers)
                rs = _gather(2.0 * params, k, dpn, layers)
                comm = 2.0 * ag * ga + rs
                pcie = (4.0 * ga + 2.0) * params / k / PCIE_BW
                exposed = 0.5 * (comm + pcie) + max(0.0, 0.5 * (comm + pcie) - 0.7 * compute)
                adam = params / k / CPU_ADAM_RATE
                t = compute + exposed + adam
            if smallest_peak is None or peak < smallest_peak:
                smallest_peak = peak
            if peak > memory:
                continue
            knobs = {"micro_batch_size": mb, "grad_accum": ga, "activation_checkpointing": ckpt}
            if best is None or t < best[0]:
                best = (t, peak, knobs)
    if best is None:
        return None, "out of memory", smallest_peak
    return best


def _pipeline(model, k, batch, dpn, memory=DEVICE_MEMORY, slow=1.0):
    params, layers, d, seq = model
    if k > layers:
        return None, "%d pipeline stages but only %d layers" % (k, layers)
    stage_layers = math.ceil(layers / k)
    best, smallest_peak = None, None
    for ckpt in (False, True):
        for mb in _pow2_divisors(batch):
            m = batch // mb
            in_flight = min(k, m)
            act = in_flight * _activation_bytes(model, mb, stage_layers, ckpt)
            # The first stage also holds the embedding (and last the LM head): counted in params.
            peak = 16.0 * params / k * (stage_layers / (layers / k)) + act + WORKSPACE
            if smallest_peak is None or peak < smallest_peak:
                smallest_peak = peak
            if peak > memory:
                continue
            # The last stage also runs the head and loss: it is the slowest one.
            stage = _micro_batch_seconds(model, mb, ckpt, stage_layers) * slow
            if k > 1:
                bw = INTER_BW if k > dpn else NVLINK_BW
                p2p = 2.0 * mb * seq * d * 2.0 / bw + 2 * (LAT_INTER if k > dpn else LAT_INTRA)
                stage += 0.5 * p2p  # send/recv half hidden behind the next micro-batch
            t = (m + k - 1) * stage + params / k * ADAMW_SECONDS_PER_PARAM + STEP_OVERHEAD
            knobs = {"stages": k, "micro_batch_size": mb, "micro_batches": m, "activation_checkpointing": ckpt}
            if best is None or t < best[0]:
                best = (t, peak, knobs)
    if best is None:
        return None, "out of memory", smallest_peak
    return best


def estimate(model_name, seq_len, batch_size, technique, devices, devices_per_node=8, memory=DEVICE_MEMORY, slow=1.0):
    """Step time of one configuration: (step_seconds, peak_bytes, knobs) or (None, reason[, peak]).
    memory: bytes per device; slow: compute time relative to the measured H100 (2.0: half as fast)."""
    params, layers, d, _ = MODELS[model_key(model_name)]
    model = (params, layers, d, seq_len)
    if technique == "pipeline":
        return _pipeline(model, devices, batch_size, devices_per_node, memory, slow)
    if technique in ("ddp", "fsdp", "offload"):
        return _data_parallel(model, technique, devices, batch_size, devices_per_node, memory, slow)
    raise ValueError("unknown technique " + technique)


def _jitter(seed, model_name, seq_len, batch_size, technique, devices):
    rng = random.Random("%s|%s|%d|%d|%s|%d" % (seed, model_name, seq_len, batch_size, technique, devices))
    return rng.uniform(0.95, 1.05)


# Node kinds of a mixed cluster: name, nodes, device memory (GiB), compute time relative to an
# H100 (A100 bf16 dense: 312 of 989 TFLOP/s peak; about 2.2x slower in practice on these models).
MIXED_KINDS = [
    {"name": "a100-40gb", "nodes": 8, "memory_gib": 40, "slow": 2.2},
    {"name": "h100-80gb", "nodes": 4, "memory_gib": 80, "slow": 1.0},
]


def records_for(job, seed, devices_per_node, kinds=None):
    """Profile records of one job (dict with name, model, seq_len, batch_size, techniques, devices);
    with `kinds` (MIXED_KINDS' form), one set per kind, each marked with it."""
    if kinds:
        out = []
        for kind in kinds:
            hw = dict(memory=kind["memory_gib"] * GIB, slow=kind["slow"], kind=kind["name"])
            out += _records(job, seed, devices_per_node, **hw)
        return out
    return _records(job, seed, devices_per_node)


def _records(job, seed, devices_per_node, memory=DEVICE_MEMORY, slow=1.0, kind=None):
    out = []
    for tech in job["techniques"]:
        for k in job["devices"]:
            r = estimate(job["model"], job["seq_len"], job["batch_size"], tech, k, devices_per_node, memory, slow)
            rec = {"job": job["name"], "technique": tech, "devices": k}
            if kind:
                rec["kind"] = kind
            if r[0] is None:
                rec["feasible"] = False
                rec["reason"] = r[1]
                if len(r) > 2 and r[2] is not None:
                    rec["peak_memory_bytes"] = int(r[2])
            else:
                t, peak, knobs = r
                t *= _jitter("%s|%s" % (seed, kind) if kind else seed, model_key(job["model"]), job["seq_len"],
                             job["batch_size"], tech, k)
                rec["feasible"] = True
                rec["step_seconds"] = round(t, 6)
                rec["peak_memory_bytes"] = int(peak)
                rec["knobs"] = knobs
            out.append(rec)
    return out


# ----------------------------------------------------------------------------- sweeps

def _steps(model_name, seq_len, seed):
    """Steps so the job takes roughly 8-32 device-hours (clamped to 1000-20000 steps)."""
    params, layers, d, _ = MODELS[model_name]
    one_device = _compute_seconds((params, layers, d, seq_len), 16, 8, False)
    rng = random.Random("steps|%s|%s" % (seed, model_name))
    target = rng.uniform(8.0, 32.0) * 3600.0
    steps = int(round(target / one_device / 500.0)) * 500
    return max(1000, min(20000, steps))


def _fmt(x):
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def _lr_list(n):
    """At least n distinct learning rates: LRS, then a fine grid between 1e-5 and 2e-3 (large
    sweeps at cluster scale), skipping values already taken."""
    out = list(LRS)
    seen = set(out)
    k = 0
    while len(out) < n:
        lr = round(1e-5 + k * 1e-7, 12)
        k += 1
        if lr not in seen:
            seen.add(lr)
            out.append(lr)
    return out


def make_jobs(models, jobs=None, lrs=None, batch_sizes=(16, 32), device_counts=(1, 2, 4, 8, 16),
              techniques=TECHNIQUES, total_devices=8, seed=0):
    """Jobs of a sweep: each model's lr x batch-size grid. `jobs`: total count, split over the
    models as evenly as possible (earlier models get the remainder); `lrs`: learning rates per
    model (count or list) when `jobs` is not given."""
    models = [model_key(m) for m in models]
    if jobs is None:
        nlr = lrs if isinstance(lrs, int) else len(lrs or LRS[:4])
        per_model = [nlr * len(batch_sizes)] * len(models)
    else:
        per_model = [jobs // len(models) + (1 if i < jobs % len(models) else 0) for i in range(len(models))]
    lr_list = list(lrs) if isinstance(lrs, (list, tuple)) else LRS
    if jobs is not None and lrs is None:
        lr_list = _lr_list(-(-max(per_model + [0]) // len(batch_sizes)))
    devices = [k for k in device_counts if k <= total_devices]
    out = []
    for m, n in zip(models, per_model):
        _, _, _, seq = MODELS[m]
        combos = [(lr, bs) for lr in lr_list for bs in batch_sizes]
        if n > len(combos):
            raise ValueError("model %s: %d jobs but only %d lr x batch-size combinations" % (m, n, len(combos)))
        steps = _steps(m, seq, seed)
        for lr, bs in combos[:n]:
            out.append({
                "name": "gpt-%s.lr_%s.bs_%d" % (m, _fmt(lr), bs),  # "=" is not allowed in written names
                "model": "gpt-" + m, "model_path": "models/gpt-%s.json" % m,
                "seq_len": seq, "batch_size": bs, "steps": steps, "lr": lr,
                "techniques": list(techniques), "devices": devices,
            })
    return out


def sweep_yaml(name, nodes, devices_per_node, jobs, kinds=None):
    lines = ["# Generated by bench/workload.py: synthetic planner benchmark, not meant to be run.",
             "name: %s" % name,
             "cluster:",
             "  device: cuda",
             "  device_memory_gib: %d" % (DEVICE_MEMORY // GIB)]
    if kinds:
        lines.append("  kinds:")
        for kind in kinds:
            lines.append("    - {name: %s, device_memory_gib: %d}" % (kind["name"], kind["memory_gib"]))
    lines.append("  nodes:")
    node_kinds = [kind["name"] for kind in kinds for _ in range(kind["nodes"])] if kinds else [None] * nodes
    for i, kind in enumerate(node_kinds):
        lines.append("    - {name: node%d, devices: %d%s}" % (i, devices_per_node, ", kind: " + kind if kind else ""))
    lines.append("jobs:")
    for j in jobs:
        lines += [
            "  - name: %s" % j["name"],
            "    model: %s" % j["model_path"],
            "    tokenizer: gpt2",
            "    data: {train: datasets/openwebtext.tokens}",
            "    seq_len: %d" % j["seq_len"],
            "    batch_size: %d" % j["batch_size"],
            "    steps: %d" % j["steps"],
            "    optimizer: {name: adamw, lr: %s, weight_decay: 0.1}" % _fmt(j["lr"]),
            "    techniques: [%s]" % ", ".join(j["techniques"]),
            "    devices: [%s]" % ", ".join(str(k) for k in j["devices"]),
        ]
    return "\n".join(lines) + "\n"


def profile_json(name, jobs, seed, devices_per_node, kinds=None):
    recs = []
    for j in jobs:
        recs += records_for(j, seed, devices_per_node, kinds)
    # One record a line, like `saturn profile` writes.
    body = ",\n  ".join(json.dumps(r, sort_keys=False) for r in recs)
    return '{"version": 1, "sweep": %s,\n "records": [\n  %s]}\n' % (json.dumps(name), body)


def make_workload(name, nodes, devices_per_node=8, models=("125m", "1.3b"), jobs=None, lrs=None,
                  batch_sizes=(16, 32), device_counts=(1, 2, 4, 8, 16), techniques=TECHNIQUES, seed=0, kinds=None):
    """Returns (sweep_yaml_text, profile_json_text, jobs). With `kinds` (MIXED_KINDS' form) the
    cluster is their nodes (`nodes` must be their sum) and the profile has records per kind."""
    if kinds and sum(k["nodes"] for k in kinds) != nodes:
        raise ValueError("%d nodes, but the kinds have %d" % (nodes, sum(k["nodes"] for k in kinds)))
    js = make_jobs(models, jobs=jobs, lrs=lrs, batch_sizes=batch_sizes, device_counts=device_counts,
                   techniques=techniques, total_devices=nodes * devices_per_node, seed=seed)
    return (sweep_yaml(name, nodes, devices_per_node, js, kinds),
            profile_json(name, js, seed, devices_per_node, kinds), js)


def write_workload(out_dir, *args, **kwargs):
    sweep, profile, js = make_workload(*args, **kwargs)
    os.makedirs(out_dir, exist_ok=True)
    sp, pp = os.path.join(out_dir, "sweep.yaml"), os.path.join(out_dir, "profile.json")
    with open(sp, "w") as f:
        f.write(sweep)
    with open(pp, "w") as f:
        f.write(profile)
    return sp, pp, js


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate a synthetic Saturn sweep and its profile.")
    ap.add_argument("--name", required=True, help="sweep name")
    ap.add_argument("--jobs", type=int, help="number of jobs (default: every lr x batch size combination)")
    ap.add_argument("--lrs", type=int, default=4, help="learning rates per model when --jobs is not given")
    ap.add_argument("--batch-sizes", default="16,32", help="batch sizes in the grid (default 16,32)")
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--devices-per-node", type=int, default=8)
    ap.add_argument("--device-counts", default="1,2,4,8,16", help="allowed device counts (<= cluster size kept)")
    ap.add_argument("--techniques", default=",".join(TECHNIQUES))
    ap.add_argument("--models", default="125m,1.3b", help="comma list of " + ",".join(MODEL_ORDER))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mixed", action="store_true",
                    help="a mixed cluster: " + ", ".join("%d %s nodes" % (k["nodes"], k["name"]) for k in MIXED_KINDS) +
                         " (overrides --nodes)")
    ap.add_argument("--out", required=True, help="directory for sweep.yaml and profile.json")
    a = ap.parse_args(argv)
    try:
        kinds = MIXED_KINDS if a.mixed else None
        nodes = sum(k["nodes"] for k in kinds) if kinds else a.nodes
        sp, pp, js = write_workload(
            a.out, a.name, nodes, a.devices_per_node, kinds=kinds, models=a.models.split(","), jobs=a.jobs,
            lrs=a.lrs, batch_sizes=[int(x) for x in a.batch_sizes.split(",")],
            device_counts=[int(x) for x in a.device_counts.split(",")],
            techniques=a.techniques.split(","), seed=a.seed)
    except ValueError as e:
        print("workload.py: " + str(e), file=sys.stderr)
        return 2
    print("%s: %d jobs; wrote %s and %s" % (a.name, len(js), sp, pp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
