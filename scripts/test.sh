#!/usr/bin/env bash
# Set-up if needed, configure, build, run every test, then a short fuzzing pass over every parser.
# Usage: scripts/test.sh [--sanitize | --tsan] [ctest args...]
#   (none)      build/: the tests (ctest), then scripts/fuzz.sh --runs (deterministic, ~3 min)
#   --sanitize  build-asan/: every test under AddressSanitizer + UndefinedBehaviorSanitizer
#   --tsan      build-tsan/: the threaded parts (tokenizer threads, in-process collectives, the
#               orchestrator's background re-plan) under
#               ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
mode=plain
case ${1:-} in
  --sanitize) mode=asan; shift ;;
  --tsan) mode=tsan; shift ;;
esac
bash scripts/setup.sh
case $mode in
  plain)
    BUILD=${BUILD_DIR:-build}
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATURN_SANITIZE=
    cmake --build "$BUILD" -j"$(nproc)"
    (cd "$BUILD" && ctest --output-on-failure -j"$(nproc)" "$@")
    # Fixed seeds and run counts: the same inputs on every machine, so a failure is reproducible.
    bash scripts/fuzz.sh --runs 20000
    ;;
  asan)
    BUILD=${BUILD_DIR:-build-asan}
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATURN_SANITIZE=address,undefined
    cmake --build "$BUILD" -j"$(nproc)"
    # protect_shadow_gap=0: the CUDA runtime maps memory there when it probes for devices.
    export ASAN_OPTIONS=protect_shadow_gap=0:detect_leaks=0:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1
    (cd "$BUILD" && ctest --output-on-failure -j"$(nproc)" "$@")
    ;;
  tsan)
    BUILD=${BUILD_DIR:-build-tsan}
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATURN_SANITIZE=thread
    cmake --build "$BUILD" -j"$(nproc)" --target saturn_light_tests saturn_tests
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    export OMP_NUM_THREADS=1  # LibTorch's pool is not instrumented: keep it out of the picture
    "$BUILD/tests/saturn_light_tests" "[tokenizer],[data],[threads]" "$@"
    "$BUILD/tests/saturn_tests" "[pg]" "$@"
    ;;
esac
