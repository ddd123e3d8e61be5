#!/usr/bin/env bash
# On a machine with pip's torch and transformers (the GPU machine): builds hf_parity against that
# torch (LibTorch 2.x, CUDA) and runs parity.py. nlohmann/json, when not installed there, comes
# as a copy of its include directory: JSON_INCLUDE=dir containing nlohmann/json.hpp.
# Usage: tools/hf_parity/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")"
BUILD=${1:-/tmp/hf_parity_build}
PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DJSON_INCLUDE="${JSON_INCLUDE:-$PWD/../../.json-include}" > "$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" -- -k 2>&1 | grep -E "error|warning: .*deprecated|Error" || true
test -x "$BUILD/hf_parity"
python3 parity.py "$BUILD/hf_parity"
