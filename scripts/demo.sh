#!/usr/bin/env bash
# The main job, small and real: Saturn's loop on a small sweep on the CPU (a tiny GPT-2 on a
# generated corpus, two learning rates, a "cluster" of 2 CPU devices): profile it, plan it from
# the measured profile, execute the plan (report: runs/demo/report.json); then plan the example
# sweep from its example profile with every policy and replay the milp plan with noisy step
# times. Outputs go to runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target saturn
[ -f datasets/synthetic.txt ] || python3 datasets/make_synthetic.py
# Open MPI refuses root unless told; mpirun is what a cluster user runs (srun inside Slurm).
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Saturn's loop on this machine: measure the demo sweep (every technique and device count, real
# trials on MPI ranks), plan it from the measured profile, then execute the plan: each job on its
# planned technique and devices, under mpirun where it has two.
build/saturn profile configs/demo-sweep.yaml -o runs/demo/profile.json --restart --warmup 1 --steps 3 \
  --launcher "mpirun --oversubscribe" --threads 1
build/saturn plan configs/demo-sweep.yaml --profile runs/demo/profile.json -o runs/demo/plan-measured.json \
  --time-limit 10 | tail -n 4
build/saturn run configs/demo-sweep.yaml --plan runs/demo/plan-measured.json --restart --threads 1 \
  --launcher "mpirun --oversubscribe"
build/saturn status configs/demo-sweep.yaml
for job in runs/demo/*/metrics.jsonl; do
  echo "$job: $(head -n 1 "$job")"
  echo "$job: $(grep '"loss"' "$job" | tail -n 1)"
done
for policy in current-practice uniform greedy; do
  build/saturn plan configs/example-sweep.yaml --profile configs/example-profile.json \
    -o runs/demo/plan-$policy.json --policy $policy | tail -n 1
done
build/saturn plan configs/example-sweep.yaml --profile configs/example-profile.json \
  -o runs/demo/plan.json --time-limit "${TIME_LIMIT:-30}"
build/saturn plan --simulate runs/demo/plan.json --trials 20 --noise 0.1
echo "plan: runs/demo/plan.json, Gantt chart: runs/demo/plan.svg"
