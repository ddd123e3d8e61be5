#!/usr/bin/env bash
# On the GPU machine (pip's torch with CUDA; no apt, no network): builds saturn against that
# torch, with yaml-cpp, CBC, CLI11, nlohmann-json and bzip2 unpacked from Debian packages into
# DEPS (made here by bench/gpu_deps.sh), then
#   1. `saturn eval --device cuda` and `--device cpu` on the first ITEMS items of five tasks
#      (every layout, few-shot included): per-example log-likelihoods compared;
#   2. bench/eval --device cuda: (a) plain loop, (b) padded to the model length, (c) saturn eval,
#      LAMBADA and PIQA in full for (c).
# Usage: bench/eval_gpu.sh DEPS DATA OUT   (DATA: a copy of ../shared/data's eval/ and tokenizers/)
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=$(realpath "$1"); DATA=$(realpath "$2"); OUT=$3
ITEMS=${ITEMS:-300}
W=/tmp/saturn-gpu-work  # models and bulky outputs; OUT gets the small ones
mkdir -p "$OUT" $W
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
head -2 /etc/os-release
TORCH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
L=$DEPS/usr/lib/x86_64-linux-gnu
export PKG_CONFIG_PATH=$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEPS LD_LIBRARY_PATH=$L:${LD_LIBRARY_PATH:-}
B=/tmp/saturn-gpu-build
t0=$(date +%s)
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH;$DEPS/usr;$L/cmake" -DCMAKE_CXX_FLAGS="-I$DEPS/usr/include" \
  -DBZIP2_INCLUDE_DIR=$DEPS/usr/include -DBZIP2_LIBRARY_RELEASE=$L/libbz2.so \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$L" > "$OUT/configure.log" 2>&1 || { tail -40 "$OUT/configure.log"; exit 1; }
grep "saturn:" "$OUT/configure.log"
cmake --build $B -j"$(nproc)" --target saturn saturn_bench_eval > "$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -30; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"
mkdir -p build && ln -sf $B/saturn build/saturn && ln -sf $B/saturn_bench_eval build/saturn_bench_eval

# 1. cuda against cpu, end to end through the CLI.
M=$W/model
echo '{"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 640, "n_layer": 6, "n_head": 10}' > $W/config.json
$B/saturn_bench_eval make-model $W/config.json 1 $M
GPT2=$DATA/tokenizers/gpt2
cat > $OUT/tasks.yaml <<EOF
tokenizer: {kind: gpt2, path: $GPT2}
tasks:
  - {name: lambada, kind: lm, path: $DATA/eval/lambada_openai_test.jsonl, format: lambada}
  - {name: piqa, kind: mc, path: $DATA/eval/piqa/valid.jsonl, format: piqa}
  - {name: hellaswag, kind: mc, path: $DATA/eval/hellaswag_val.txt.bz2, format: hellaswag-text}
  - {name: arc_easy, kind: mc, path: $DATA/eval/composer/arc_easy.jsonl, num_fewshot: 5}
  - {name: winogrande, kind: schema, path: $DATA/eval/composer/winogrande.jsonl}
EOF
for dev in cuda cpu; do
  $B/saturn eval --model $M --tasks $OUT/tasks.yaml -o $OUT/r-$dev.json --per-example $W/ex-$dev.jsonl \
    --device $dev --limit $ITEMS --threads "$(nproc)" --batch-tokens 32768 --quiet
done
python3 - "$OUT" "$W" <<'EOF'
import json, sys
out, work = sys.argv[1], sys.argv[2]
rows = {d: [json.loads(l) for l in open(f"{work}/ex-{d}.jsonl")] for d in ("cuda", "cpu")}
assert len(rows["cuda"]) == len(rows["cpu"]) > 0
worst, flips, n = 0.0, 0, 0
for a, b in zip(rows["cuda"], rows["cpu"]):
    assert (a["task"], a["index"]) == (b["task"], b["index"])
    for x, y, gx, gy in zip(a["loglikelihoods"], b["loglikelihoods"], a["greedy"], b["greedy"]):
        worst = max(worst, abs(x - y)); flips += gx != gy; n += 1
r = {d: json.load(open(f"{out}/r-{d}.json")) for d in ("cuda", "cpu")}
print(f"cuda vs cpu: {len(rows['cpu'])} items, {n} requests, max |dll| {worst:.2e}, greedy flags differing {flips}")
for t in r["cuda"]["tasks"]:
    mc, mp = r["cuda"]["tasks"][t]["metrics"], r["cpu"]["tasks"][t]["metrics"]
    print(f"  {t}: cuda {mc}  cpu {mp}")
EOF

# 2. The speed benchmark on the GPU.
SATURN_DATA=$DATA python3 bench/eval --device cuda --items 500 --batch-tokens 65536 --threads "$(nproc)" \
  --out $W/bench | tee $OUT/bench.md
cp $W/bench/results.json $OUT/bench-results.json
