#!/usr/bin/env bash
# Installs what Saturn needs on Debian 12 / Ubuntu 22.04+ with apt. Idempotent: when every
# package is already there it only checks and returns.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev catch2
  coinor-libcbc-dev
  libopenmpi-dev openmpi-bin
  libtorch-dev libopenblas0-openmp
  python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
