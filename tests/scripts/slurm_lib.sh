# Sourced by the Slurm tests: a real single-node Slurm of their own (scripts/slurm/local.sh:
# munge, slurmctld, slurmd here), stopped however the test ends, and the inputs every tiny job
# needs. Usage: slurm_test_start NAME SOURCE_DIR PORT_OFFSET [NODES]. Sets work, gpt2, corpus;
# defines fail and tiny_job.
slurm_test_start() {
  test_name=$1
  src=$2
  work=$(mktemp -d "/tmp/saturn-$test_name-XXXXXX")
  chmod 755 "$work"  # munged runs as user munge and must reach its folder inside
  # Ports of its own (below the ephemeral range), so that two checkouts testing at once do not meet.
  export SATURN_SLURM_PORT=$((10000 + ($$ % 5000) * 4 + $3))  # slurmctld and up to 3 slurmds
  trap 'bash "$src/scripts/slurm/local.sh" stop "$work/slurm" || true; rm -rf "$work"' EXIT
  bash "$src/scripts/slurm/local.sh" start "$work/slurm" "${4:-1}"
  export SLURM_CONF="$work/slurm/slurm.conf"
  corpus=$work/corpus.txt
  python3 "$src/datasets/make_synthetic.py" --mb 0.3 --out "$corpus" >/dev/null
  gpt2="$src/third_party/tokenizers/gpt2"
  [[ -f $gpt2/encoder.json ]] || fail "$gpt2: GPT-2 tokenizer files missing (scripts/setup.sh fetches them)"
}

fail() { echo "$test_name: FAILED: $*" >&2; exit 1; }

# A sweep's job entry: a tiny GPT-2 on the synthetic corpus. $1: name, $2: steps, then more YAML
# lines of the job (already indented by four spaces).
tiny_job() {
  local name=$1 steps=$2
  shift 2
  printf '  - name: %s\n    model: %s\n    tokenizer: {kind: gpt2, path: %s}\n    data: {train: %s}\n' \
    "$name" "$src/models/gpt2-tiny.json" "$gpt2" "$corpus"
  printf '    seq_len: 32\n    batch_size: 8\n    steps: %s\n' "$steps"
  printf '%s\n' "$@"
}
