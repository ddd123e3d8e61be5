#!/usr/bin/env python3
"""Saturn's model layer against transformers itself, on a machine with torch + transformers.

For tiny random models of each architecture and variant:
  1. transformers builds the model (eager attention), randomizes every parameter and saves it;
     Saturn's hf_parity loads that directory and its logits and loss must equal transformers'
     (on cpu, and on cuda when there is one), and activation checkpointing must change nothing.
  2. Saturn saves a model from the same config.json; transformers must load it with no missing,
     unexpected or mismatched tensor and give Saturn's logits.
Usage: parity.py PATH/TO/hf_parity [WORK_DIR]. Prints one PASS/FAIL line per check, then
"N passed, M failed"; exits 1 on any failure.
"""
import os
import subprocess
import sys
import tempfile
import traceback

import torch
import transformers
from safetensors.torch import load_file, save_file

TOOL = sys.argv[1]
WORK = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="hf_parity_")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
RESULTS = []


def case_configs():
    from transformers import GPT2Config, GPTNeoXConfig, LlamaConfig

    common = dict(vocab_size=101)
    return {
        "gpt2": lambda: GPT2Config(n_positions=32, n_embd=64, n_layer=2, n_head=4, **common),
        "gpt2_untied_relu": lambda: GPT2Config(n_positions=32, n_embd=64, n_layer=2, n_head=4, n_inner=80,
                                               activation_function="relu", tie_word_embeddings=False, **common),
        "neox_parallel": lambda: GPTNeoXConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                               intermediate_size=96, max_position_embeddings=32, rotary_pct=0.5,
                                               use_parallel_residual=True, **common),
        "neox_sequential": lambda: GPTNeoXConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                                 intermediate_size=96, max_position_embeddings=32, rotary_pct=0.25,
                                                 rotary_emb_base=500, use_parallel_residual=False, **common),
        "llama_gqa": lambda: LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                         num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=32,
                                         rms_norm_eps=1e-5, rope_theta=1000.0, **common),
        "llama_bias_tied": lambda: LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=1,
                                               num_attention_heads=4, max_position_embeddings=32,
                                               attention_bias=True, mlp_bias=True, tie_word_embeddings=True,
                                               **common),
    }


def record(name, ok, detail):
    RESULTS.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def run_tool(*args):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"hf_parity {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")


def rel_diff(a, b):
    return ((a.double() - b.double()).abs().max() / (1 + b.double().abs().max())).item()


def hf_outputs(model, ids):
    with torch.no_grad():
        logits = model(ids).logits.float()
        loss = model(ids, labels=ids).loss.float()
    return logits, loss


def check_case(name, make_config):
    torch.manual_seed(0)
    cfg = make_config()
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float().eval()
    with torch.no_grad():  # every tensor O(1) and random, biases and norm gains included
        for p in model.parameters():
            p.normal_(0, 0.3)
    hf_dir = os.path.join(WORK, name, "hf")
    model.save_pretrained(hf_dir)
    ids = torch.randint(0, cfg.vocab_size, (2, 16))
    ids_file = os.path.join(WORK, name, "ids.safetensors")
    save_file({"ids": ids}, ids_file)
    want_logits, want_loss = hf_outputs(model, ids)

    for device in DEVICES:
        out = os.path.join(WORK, name, f"saturn_{device}.safetensors")
        run_tool("logits", hf_dir, ids_file, out, device, "ckpt")
        got = load_file(out)
        tol = 1e-5 if device == "cpu" else 1e-4
        d = rel_diff(got["logits"], want_logits)
        record(f"{name} {device} logits of transformers' checkpoint", d < tol, f"relative max diff {d:.2e}")
        d = abs(got["loss"].item() - want_loss.item())
        record(f"{name} {device} loss", d < tol * (1 + want_loss.item()), f"|diff| {d:.2e}")
        d = got["grad_max_diff"].item()
        record(f"{name} {device} activation checkpointing", d == 0.0, f"max |loss/grad diff| {d:.2e}")

    saturn_dir = os.path.join(WORK, name, "saturn")
    run_tool("save", os.path.join(hf_dir, "config.json"), "7", saturn_dir)
    loaded, info = transformers.AutoModelForCausalLM.from_pretrained(
        saturn_dir, attn_implementation="eager", output_loading_info=True)
    loaded = loaded.float().eval()
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    record(f"{name} transformers loads Saturn's checkpoint", not problems, str(problems) if problems else "all tensors")
    out = os.path.join(WORK, name, "saturn_saved.safetensors")
    run_tool("logits", saturn_dir, ids_file, out, "cpu")
    d = rel_diff(load_file(out)["logits"], hf_outputs(loaded, ids)[0])
    record(f"{name} cpu logits of Saturn's checkpoint in transformers", d < 1e-5, f"relative max diff {d:.2e}")

    # bf16 and sharded files, both ways: the same weights must give the same logits.
    for dtype, shard in (("bf16", 0), ("f32", 20000)):
        d_ours = os.path.join(WORK, name, f"saturn_{dtype}_{shard}")
        run_tool("save", os.path.join(hf_dir, "config.json"), "7", d_ours, dtype, str(shard))
        m = transformers.AutoModelForCausalLM.from_pretrained(d_ours, attn_implementation="eager").float().eval()
        out = os.path.join(WORK, name, f"saturn_{dtype}_{shard}.safetensors")
        run_tool("logits", d_ours, ids_file, out, "cpu")
        d = rel_diff(load_file(out)["logits"], hf_outputs(m, ids)[0])
        files = sorted(f for f in os.listdir(d_ours) if "safetensors" in f)
        record(f"{name} Saturn's {dtype} checkpoint {files[:2]}... in transformers", d < 1e-5, f"relative max diff {d:.2e}")
    for dtype, shard in ((torch.bfloat16, None), (torch.float32, "20KB")):
        d_hf = os.path.join(WORK, name, f"hf_{dtype}_{shard}")
        kw = {"max_shard_size": shard} if shard else {}
        model.to(dtype).save_pretrained(d_hf, **kw)
        model.float()
        m = transformers.AutoModelForCausalLM.from_pretrained(d_hf, attn_implementation="eager").float().eval()
        out = os.path.join(WORK, name, f"hf_{dtype}_{shard}.safetensors")
        run_tool("logits", d_hf, ids_file, out, "cpu")
        d = rel_diff(load_file(out)["logits"], hf_outputs(m, ids)[0])
        n = len([f for f in os.listdir(d_hf) if f.endswith(".safetensors")])
        record(f"{name} transformers' {dtype} checkpoint ({n} files) in Saturn", d < 1e-5, f"relative max diff {d:.2e}")


def main():
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, devices {DEVICES}, work {WORK}")
    for name, make_config in case_configs().items():
        try:
            check_case(name, make_config)
        except Exception:  # one broken case must not hide the others
            record(name, False, traceback.format_exc().strip().splitlines()[-1])
            traceback.print_exc()
    # Training with Saturn's optimizer, bf16 autocast on cuda: the loss of a repeating pattern falls.
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    for cfg in ("gpt2-tiny", "neox-tiny", "llama-tiny"):
        device = DEVICES[-1]
        try:
            p = subprocess.run([TOOL, "train", os.path.join(root, "models", cfg + ".json"), device, "60"],
                               capture_output=True, text=True, check=True)
            lines = p.stdout.strip().splitlines()
            first, last = float(lines[0].split()[3]), float(lines[-1].split()[3])
            record(f"{cfg} training on {device} ({'bf16 autocast' if device == 'cuda' else 'fp32'})",
                   last < 0.5 * first, f"loss {first:.3f} -> {last:.3f}")
        except Exception:
            record(f"{cfg} training", False, traceback.format_exc().strip().splitlines()[-1])
    # saturn eval's scorer on the device against the plain loop on the CPU.
    for cfg in ("gpt2-tiny", "neox-tiny", "llama-tiny"):
        device = DEVICES[-1]
        try:
            p = subprocess.run([TOOL, "score", os.path.join(root, "models", cfg + ".json"), device],
                               capture_output=True, text=True, check=True)
            f = p.stdout.split()
            worst, greedy = float(f[3]), int(f[5])
            record(f"{cfg} eval scorer on {device} vs plain loop on cpu", worst < 1e-3 and greedy == 0, p.stdout.strip())
        except Exception:
            record(f"{cfg} eval scorer", False, traceback.format_exc().strip().splitlines()[-1])
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    sys.exit(0 if passed == len(RESULTS) else 1)


if __name__ == "__main__":
    main()
