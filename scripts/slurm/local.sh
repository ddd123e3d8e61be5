#!/usr/bin/env bash
# A real Slurm on this machine, for tests and for trying saturn under Slurm without a cluster:
# munged (as user munge), slurmctld and slurmd on localhost, every file of theirs in one folder
# (the config, munge's key and socket, state, logs). Nothing outside it is touched.
#
#   scripts/slurm/local.sh start DIR [NODES]   # starts them; waits until every node is idle
#   export SLURM_CONF=DIR/slurm.conf   # then sbatch, srun, salloc, squeue, scancel work as usual
#   scripts/slurm/local.sh stop DIR    # stops them (also when start failed half-way)
#
# Needs Debian's slurm-wlm and munge (scripts/setup.sh installs them) and root (slurmd
# runs jobs as their users). The node declares this machine's real CPUs and memory; steps with
# more tasks than CPUs need `srun --overcommit`. Plugins as a container without systemd allows:
# proctrack/linuxproc, task/none, select/cons_tres, MpiDefault=pmix (pmi2 fails with Debian's
# Open MPI). Ports: SATURN_SLURM_PORT (default 6817) and the next NODES.
#
# NODES (default 1): one node named localhost; more are node1..nodeN, one slurmd each on this
# machine (slurmd -N, each with its own port, spool, log and TmpFS, which Slurm's PMIx plugin
# puts its per-step folders in), each declaring the machine's CPUs and a share of its memory: a
# multi-node allocation for trying plans across nodes. Jobs see SLURMD_NODENAME=nodeK.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
nodes=${3:-1}
if [[ -z "$cmd" || -z "$dir" || ! $nodes =~ ^[1-9][0-9]?$ ]]; then
  echo "usage: $0 start|stop DIR [NODES (1-99)]" >&2
  exit 2
fi

stop() {
  # Jobs first, while slurmctld is there to cancel them (their steps' ranks go with them).
  if [[ -f "$dir/slurm.conf" && -f "$dir/slurmctld.pid" ]] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    SLURM_CONF="$dir/slurm.conf" scancel --full --quiet --user=root 2>/dev/null || true
    for _ in $(seq 50); do
      [[ -z $(SLURM_CONF="$dir/slurm.conf" squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  for pidf in "$dir"/slurmd*.pid "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [[ -f "$pidf" ]] || continue
    local pid
    pid=$(cat "$pidf" 2>/dev/null || true)
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$pidf"
  done
}

fail() {
  echo "slurm/local.sh: $1" >&2
  for log in munge/munged.log slurmctld.log $(cd "$dir" 2>/dev/null && ls slurmd*.log 2>/dev/null); do
    [[ -f "$dir/$log" ]] && { echo "--- last lines of $dir/$log:" >&2; tail -n 15 "$dir/$log" >&2; }
  done
  stop
  exit 1
}

start() {
  for tool in munged mungekey slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "slurm/local.sh: $tool not found; run scripts/setup.sh (it installs slurm-wlm and munge)" >&2; exit 2; }
  done
  [[ $(id -u) == 0 ]] || { echo "slurm/local.sh: run as root (slurmd starts jobs as their users)" >&2; exit 2; }
  stop
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/munge" "$dir/state"
  # munged insists on a key only munge can read and a socket folder only munge can write that
  # everyone can enter (clients: slurmctld, slurmd, srun).
  chown munge:munge "$dir/munge"
  chmod 755 "$dir/munge"
  runuser -u munge -- test -x "$dir/munge" ||
    fail "user munge cannot enter $dir/munge: give every folder above it o+x (mktemp -d makes 0700 ones)"
  [[ -f "$dir/munge/munge.key" ]] || runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
    fail "munged did not start"

  local port=${SATURN_SLURM_PORT:-6817}
  local cpus mem
  cpus=$(nproc --all)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  # One node: localhost, as slurmd names it. More: node1..nodeN, each a slurmd with its own
  # port and files (%n: the node's name).
  local names=(localhost)
  [[ $nodes -gt 1 ]] && names=($(seq -f 'node%g' 1 "$nodes"))
  local node_lines="" name k=0
  for name in "${names[@]}"; do
    k=$((k + 1))
    mkdir -p "$dir/spool-$name" "$dir/tmp-$name"
    node_lines+="NodeName=$name NodeHostname=localhost Port=$((port + k)) CPUs=$cpus RealMemory=$((mem / nodes)) State=UNKNOWN"$'\n'
  done
  cat > "$dir/slurm.conf" <<CONF
ClusterName=saturn-local
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool-%n
TmpFS=$dir/tmp-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=300
KillWait=5
${node_lines}PartitionName=local Nodes=$(IFS=,; echo "${names[*]}") Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -i -f "$dir/slurm.conf" || fail "slurmctld did not start"
  for name in "${names[@]}"; do
    slurmd -N "$name" -f "$dir/slurm.conf" || fail "slurmd $name did not start"
  done
  for _ in $(seq 100); do
    if [[ $(sinfo -h -N -o %t 2>/dev/null | grep -c '^idle$') == "$nodes" ]]; then
      echo "slurm: up (SLURM_CONF=$dir/slurm.conf, nodes ${names[*]}, $cpus CPUs each, partition local)"
      return 0
    fi
    sleep 0.2
  done
  fail "the nodes did not become idle in 20 s (sinfo: $(sinfo -h -N -o '%t %E' 2>&1))"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
