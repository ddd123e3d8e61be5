#!/usr/bin/env bash
# `saturn profile` inside a real Slurm allocation: scripts/slurm/local.sh starts munge, slurmctld
# and slurmd on this machine; sbatch runs the profiler, which (with no --launcher) makes every
# trial an srun job step (2 ranks: an MPI world wired by PMIx). Checks the measured profile, that
# each trial's log shows its srun line, that a trial past --trial-timeout is cancelled as a step
# (no step or rank left behind), and that `saturn plan` plans from the profile. Stops Slurm after.
set -euo pipefail
src=${1:?usage: slurm_profile.sh SOURCE_DIR SATURN_BINARY}
saturn=${2:?usage: slurm_profile.sh SOURCE_DIR SATURN_BINARY}
source "$(dirname "$0")/slurm_lib.sh"
slurm_test_start slurm_profile "$src" 0
{
  printf 'name: slurm-profile\noutput_dir: %s\n' "$work/runs"
  echo "cluster: {device: cpu, device_memory_gib: 8, nodes: [{name: localhost, devices: 2}]}"
  echo "jobs:"
  tiny_job tiny 50 "    techniques: [ddp, fsdp]" "    devices: [1, 2]" "    grid:" "      optimizer.lr: [1.0e-3, 3.0e-3]"
} > "$work/sweep.yaml"
cat > "$work/profile.sbatch" <<SH
#!/bin/bash
set -e
common="--no-search --threads 1"
$saturn profile $work/sweep.yaml -o $work/profile.json \$common --warmup 1 --steps 2 --links-max-bytes 65536
# Trials that would train for hours, stopped after 4 s: their steps must be cancelled.
$saturn profile $work/sweep.yaml -o $work/timeout.json \$common --warmup 1 --steps 100000 --no-links \
  --trial-timeout 4 &
pid=\$!
# Trial ranks seen running before the profiler ends: polled until some appear, since under
# sanitizers a rank takes seconds to start and one look at a fixed time may come before any.
seen=0
while kill -0 \$pid 2>/dev/null && [ \$seen -eq 0 ]; do
  n=\$(pgrep -fc 'profile-tria[l] $work/' || true)
  [ "\$n" -gt "\$seen" ] && seen=\$n
  sleep 0.2
done
echo "ranks during: \$seen"
wait \$pid
sleep 2  # srun has returned; give slurmd a moment to retire the cancelled steps
steps=\$(squeue -h -s -j \$SLURM_JOB_ID -o %j) || { echo "squeue failed"; exit 1; }
echo "steps left: \$(grep -c saturn- <<< "\$steps" || true)"
echo "ranks left: \$(pgrep -fc 'profile-tria[l] $work/' || true)"
SH
# Bounded twice: Slurm's time limit, and ours around sbatch (ctest's timeout would SIGKILL this
# script, and the trap would not stop Slurm).
timeout 400 sbatch --wait --time=6 --ntasks=2 --output="$work/profile.out" "$work/profile.sbatch" ||
  { cat "$work/profile.out" >&2; fail "the batch job failed"; }
cat "$work/profile.out"

python3 - "$work" <<'PY' || fail "the profiles are not what srun trials should give"
import glob, json, sys
work = sys.argv[1]
p = json.load(open(f"{work}/profile.json"))
assert p["measured"]["launcher"].startswith("srun in Slurm job "), p["measured"]
recs = p["records"]
assert len(recs) == 4 and all(r["feasible"] and r["step_seconds"] > 0 for r in recs), recs
assert sorted((r["technique"], r["devices"]) for r in recs) == [("ddp", 1), ("ddp", 2), ("fsdp", 1), ("fsdp", 2)]
assert {l["ranks"] for l in p["links"]} == {2}, p["links"]
logs = glob.glob(f"{work}/runs/profile/*.log")
assert logs
for log in logs:
    first = open(log).readline()
    assert first.startswith("saturn profile: launched: srun --exact --nodes=1"), (log, first)
t = json.load(open(f"{work}/timeout.json"))
assert len(t["records"]) == 4 and all(not r["feasible"] and "timed out" in r["reason"] for r in t["records"]), t
print("slurm_profile: 4 trials measured as srun steps, links over 2 ranks, 4 timeouts cancelled")
PY
grep -Eq "^ranks during: [1-9]" "$work/profile.out" || fail "no trial rank was running before the timeout"
grep -q "^steps left: 0$" "$work/profile.out" || fail "a timed-out trial's job step was left running"
grep -q "^ranks left: 0$" "$work/profile.out" || fail "a timed-out trial's ranks were left running"
"$saturn" plan "$work/sweep.yaml" --profile "$work/profile.json" -o "$work/plan.json" --time-limit 5 >/dev/null ||
  fail "saturn plan could not plan from the profile measured under Slurm"
echo "slurm_profile: passed"
