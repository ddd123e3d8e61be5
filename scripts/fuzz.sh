#!/usr/bin/env bash
# Fuzzes every parser a user feeds Saturn with libFuzzer (clang), under AddressSanitizer and
# UndefinedBehaviorSanitizer. Usage: scripts/fuzz.sh [--time SECONDS] [TARGET...]
#   --time S   seconds per target (default 60); targets: tests/fuzz/*_fuzz.cc (default all)
# Seeds come from the repository (tests/fuzz/make_seeds.py); the corpus grows in
# build-fuzz/corpus/TARGET across runs; an input that crashes or breaks a target's contract is
# kept in build-fuzz/findings/TARGET/. Prints one line per target (executions, rate, corpus,
# findings) and exits 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
runs=
targets=()
while (($#)); do
  case $1 in
    --time) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
B=${FUZZ_BUILD_DIR:-build-fuzz}
if ! command -v clang++ > /dev/null; then
  echo "fuzz: clang++ is missing (apt-get install clang libclang-rt-dev)" >&2; exit 2
fi
mkdir -p "$B"
CXX=clang++ cmake -S tests/fuzz -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$B/configure.log" 2>&1 ||
  { cat "$B/configure.log" >&2; exit 2; }
cmake --build "$B" -j"$(nproc)" > "$B/build.log" 2>&1 || { tail -40 "$B/build.log" >&2; exit 2; }
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi
rm -rf "$B/seeds" && python3 tests/fuzz/make_seeds.py . "$B/seeds"
found=0
if [[ -n $runs ]]; then limit=(-runs="$runs" -seed=1); else limit=(-max_total_time="$seconds"); fi
printf '%-26s %8s %12s %10s %8s %9s\n' target seconds executions exec/s corpus findings
for t in "${targets[@]}"; do
  [[ -x $B/$t ]] || { echo "fuzz: no target $t (tests/fuzz/$t.cc)" >&2; exit 2; }
  corpus=$B/corpus/$t findings=$B/findings/$t
  mkdir -p "$corpus" "$findings"
  cp -n "$B/seeds/$t"/* "$corpus"/ 2>/dev/null || true
  log=$B/logs/$t.log
  mkdir -p "$B/logs"
  set +e
  (cd "$findings" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$OLDPWD/$B/$t" "${limit[@]}" -max_len=65536 -timeout=20 -rss_limit_mb=3072 \
    -print_final_stats=1 "$OLDPWD/$corpus" > "$OLDPWD/$log" 2>&1)
  rc=$?
  set -e
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -oE '[0-9]+ second' | grep -oE '[0-9]+' || echo "$seconds")
  [[ -z $secs ]] && secs=$seconds
  n_found=$(find "$findings" -type f | wc -l)
  printf '%-26s %8s %12s %10s %8s %9s\n' "$t" "$secs" "$runs" $((runs / (secs > 0 ? secs : 1))) \
    "$(find "$corpus" -type f | wc -l)" "$n_found"
  if ((rc != 0 || n_found > 0)); then
    found=1
    echo "fuzz: $t failed (exit $rc); its log: $log; inputs: $findings" >&2
    grep -m3 -E 'ERROR|contract violated|runtime error' "$log" >&2 || true
  fi
done
exit $found
