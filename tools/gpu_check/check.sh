#!/usr/bin/env bash
# On the GPU machine: build tools/gpu_check against the pip torch's LibTorch (CUDA) and run
# run.py. Needs nlohmann/json headers in .device/include (copied there by the caller).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
PREFIX=$(python3 -c "import torch.utils; print(torch.utils.cmake_prefix_path)")
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, torch.cuda.get_device_name(0))"
cmake -S tools/gpu_check -B /tmp/gpu_check_build -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DNLOHMANN_INCLUDE="$PWD/.device/include" -DCMAKE_BUILD_TYPE=Release 2>&1 | grep -E "Torch|CUDA|Error|error" || true
cmake --build /tmp/gpu_check_build -j16 2>&1 | grep -E "error|warning: .*deprecated|Built target" || true
python3 tools/gpu_check/run.py /tmp/gpu_check_build "$OUT/work" 2>&1 | tee "$OUT/report.txt"
