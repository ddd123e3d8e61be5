#!/usr/bin/env bash
# A whole sweep under a real Slurm of two nodes (scripts/slurm/local.sh: munge, slurmctld, and a
# slurmd per node, all here): `sbatch --nodes=2 scripts/slurm/sweep.sbatch` profiles, plans and
# executes a CPU sweep of three tiny jobs on both nodes (every job an srun step on its node), and
# a job wider than a node runs as one step over both, and so do the links measured across them. Mid-run the batch shell gets SIGUSR1 (as `--signal=B:USR1@N` sends
# before a time limit): every job checkpoints, the script requeues the job, and the second run
# resumes from the journal. Then every job's final weights must equal those of the job trained
# alone with its planned technique, ranks and knobs. Stops Slurm after.
set -euo pipefail
src=${1:?usage: slurm_sweep.sh SOURCE_DIR SATURN_BINARY MPIRUN...}
saturn=${2:?usage: slurm_sweep.sh SOURCE_DIR SATURN_BINARY MPIRUN...}
shift 2
mpirun=("$@")
source "$(dirname "$0")/slurm_lib.sh"
slurm_test_start slurm_sweep "$src" 1000 2
write_sweep() {  # $1: file, $2: output dir
  local every=("    checkpoint_every: 4" "    log_every: 1")
  {
    printf 'name: slurm-sweep\noutput_dir: %s\n' "$2"
    echo "cluster: {device: cpu, device_memory_gib: 8, nodes: [{name: node1, devices: 2}, {name: node2, devices: 2}]}"
    echo "jobs:"
    tiny_job a 24 "${every[@]}" "    techniques: [fsdp]" "    devices: [2]"
    tiny_job b 24 "${every[@]}" "    techniques: [ddp]" "    devices: [1]" "    grid:" "      optimizer.lr: [1.0e-3, 3.0e-3]"
  } > "$1"
}
write_sweep "$work/sweep.yaml" "$work/runs"
write_sweep "$work/alone.yaml" "$work/alone"

cd "$work"
export SATURN="$saturn" SATURN_DIR="$work/saturn"
export SATURN_PROFILE_ARGS="--warmup 1 --steps 2 --no-search --no-links --threads 1"
export SATURN_PLAN_ARGS="--time-limit 10" SATURN_RUN_ARGS="--threads 1"
job=$(sbatch --parsable --nodes=2 --ntasks=4 --overcommit --time=10 --output="$work/sweep.out" \
  "$src/scripts/slurm/sweep.sbatch" "$work/sweep.yaml")
job_state() { scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true; }
ended() { [[ $1 == COMPLETED || $1 == FAILED || $1 == CANCELLED || $1 == TIMEOUT || $1 == NODE_FAIL ]]; }
# Until $job has ended, checking every 0.2 s, at most $1 times; leaves its last state in $state.
wait_ended() {
  for _ in $(seq "$1"); do
    state=$(job_state)
    ended "$state" && break
    sleep 0.2
  done
}
# Mid-run: once job a has a checkpoint, the early warning the batch shell would get.
for _ in $(seq 1500); do
  [[ -d $work/runs/a/checkpoints/step-4 ]] && break
  ended "$(job_state)" && break
  sleep 0.2
done
[[ -d $work/runs/a/checkpoints/step-4 ]] || { cat "$work/sweep.out" >&2; fail "job a never wrote its first checkpoint"; }
scancel --signal=USR1 --batch "$job"
# Until the requeued job has finished (bounded: 5 minutes).
wait_ended 1500
cat "$work/sweep.out"
[[ $state == COMPLETED ]] || fail "the sweep's batch job ended $state, not COMPLETED"
grep -q "requeueing job $job" "$work/sweep.out" || fail "the batch job was not requeued after the signal"
grep -q "run 2 on" "$work/sweep.out" || fail "no second run after the requeue"
grep -q "stopped after step" "$work/runs/a/run.log" || fail "job a did not stop at a checkpoint"
"$saturn" status "$work/sweep.yaml" || fail "saturn status says the sweep did not finish"
# Jobs ran on both nodes: the journal says so, and so does each node's slurmd, which started the
# steps pinned to it (--nodelist).
for node in node1 node2; do
  grep -q "\"event\":\"start\".*\"node\":\"$node\"" "$work/runs/journal.jsonl" || fail "no job was started on $node"
  grep -q "launch task StepId=$job\.[0-9]* request" "$work/slurm/slurmd-$node.log" ||
    fail "$node's slurmd launched no step of job $job"
done

# Each job alone with its planned technique, ranks and knobs.
python3 - "$work/saturn/plan.json" > "$work/alone.txt" <<'PY'
import json, sys
for j in json.load(open(sys.argv[1]))["jobs"]:
    print(j["job"], j["technique"], j["devices"], json.dumps(j.get("knobs", {}), separators=(",", ":")))
PY
while read -r name technique devices knobs; do
  launch=()
  [[ $devices -gt 1 ]] && launch=("${mpirun[@]}" -n "$devices")
  ${launch[@]+"${launch[@]}"} "$saturn" run "$work/alone.yaml" --only "$name" --technique "$technique" \
    --knobs "$knobs" --threads 1 -q || fail "$name alone did not train"
  cmp "$work/alone/$name/final/model.safetensors" "$work/runs/$name/final/model.safetensors" ||
    fail "$name: final weights differ from the job trained alone"
done < "$work/alone.txt"
# A job wider than a node: fsdp on 4 ranks, one srun step over both nodes (2 tasks on each),
# planned from a canned profile; its weights equal those of 4 ranks under mpirun.
write_wide() {  # $1: file, $2: output dir
  {
    printf 'name: wide\noutput_dir: %s\n' "$2"
    echo "cluster: {device: cpu, device_memory_gib: 8, nodes: [{name: node1, devices: 2}, {name: node2, devices: 2}]}"
    echo "jobs:"
    tiny_job w 6 "    techniques: [fsdp]" "    devices: [4]"
  } > "$1"
}
write_wide "$work/wide.yaml" "$work/wide"
write_wide "$work/wide-alone.yaml" "$work/wide-alone"
echo '{"version": 1, "sweep": "wide", "records": [{"job": "w", "technique": "fsdp", "devices": 4, "feasible": true, "step_seconds": 1.0}]}' \
  > "$work/wide-profile.json"
"$saturn" plan "$work/wide.yaml" --profile "$work/wide-profile.json" -o "$work/wide-plan.json" --time-limit 5 > /dev/null ||
  fail "the wide sweep did not plan"
# Open MPI's shared-memory transport names its segments by host name and local rank, and both
# "nodes" here are this one host: the ranks of different nodes would share segments. Across real
# nodes the ranks talk over the network anyway; here TCP stands in for it.
# Runs the command $2 as a batch job over both nodes, 2 tasks each, TCP between them (output in
# $work/$1.out; its id in $job) and fails unless it completed.
batch_on_both() {
  job=$(OMPI_MCA_btl=self,tcp sbatch --parsable --nodes=2 --ntasks=4 --overcommit --time=5 --output="$work/$1.out" \
    --wrap "$2")
  wait_ended 900
  cat "$work/$1.out"
  [[ $state == COMPLETED ]] || fail "the $1 batch job ended $state, not COMPLETED"
}
batch_on_both wide "$saturn run $work/wide.yaml --plan $work/wide-plan.json --threads 1"
grep -q -- "--nodes=2 --ntasks=4 --ntasks-per-node=2 .*--nodelist=node1,node2 " "$work/wide/journal.jsonl" ||
  fail "job w was not launched as one step over both nodes"
for node in node1 node2; do
  grep -q "launch task StepId=$job\.[0-9]* request" "$work/slurm/slurmd-$node.log" || fail "$node ran no task of job w"
done
"${mpirun[@]}" -n 4 "$saturn" run "$work/wide-alone.yaml" --only w --technique fsdp --threads 1 -q || fail "w alone did not train"
cmp "$work/wide-alone/w/final/model.safetensors" "$work/wide/w/final/model.safetensors" ||
  fail "w: final weights across two nodes differ from 4 ranks under mpirun"
# The links across the allocation's two nodes: a trial within a node (2 ranks) and one over both
# (4 ranks, an srun step on node1 and node2), stored with their scope.
batch_on_both links "$saturn profile $work/wide.yaml -o $work/links.json --links --links-max-bytes 65536 --threads 1"
grep -q -- "--nodes=2 --ntasks=4 --ntasks-per-node=2 .*--nodelist=node1,node2 " "$work/wide/profile/links_x4_over_2_nodes.log" ||
  fail "the links across nodes were not one srun step over both nodes"
python3 - "$work/links.json" <<'PY' || fail "the profile's links are not one trial within a node and one across both"
import json, sys
links = json.load(open(sys.argv[1]))["links"]
seen = {(l["ranks"], l["scope"], l.get("nodes")) for l in links}
assert seen == {(2, "node", None), (4, "nodes", 2)}, seen
assert all(l["busbw"] > 0 for l in links), links
assert len({l["collective"] for l in links if l["scope"] == "nodes"}) == 4, links
PY
echo "slurm_sweep: passed (profiled, planned, run on two nodes, stopped by SIGUSR1, requeued, resumed; weights equal;" \
  "a job across both nodes; links across both nodes)"
