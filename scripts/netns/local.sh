#!/usr/bin/env bash
# Nodes with a real network between them, on this machine: each node is a network and host-name
# namespace (saturn-n1..saturn-nN, address 10.77.0.K, host name saturn-nK) wired to a bridge in
# this namespace (satbr0, 10.77.0.254) by a veth pair whose two ends are shaped to RATE (Linux's
# tbf). Ranks on one node talk through shared memory; ranks on two talk TCP through the kernel's
# network stack at RATE, which is what Open MPI does between real nodes without InfiniBand.
#
#   scripts/netns/local.sh start N [RATE]   # N nodes (2-9), RATE as tc takes it (default 1gbit)
#   scripts/netns/local.sh stop             # removes every namespace, link and qdisc it made
#
# Then a sweep names the nodes by address (`host: 10.77.0.1`) and saturn launches with
#   --launcher "mpirun --mca plm_rsh_agent $PWD/scripts/netns/rsh.sh
#               --mca oob_tcp_if_include 10.77.0.0/24 --mca btl self,vader,tcp
#               --mca btl_tcp_if_include 10.77.0.0/24"
# rsh.sh stands in for ssh: it runs Open MPI's daemon inside the node's namespaces. Needs root
# (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 and util-linux's unshare.
set -euo pipefail

stop() {
  for ns in $(ip netns list 2>/dev/null | awk '/^saturn-n[0-9]/ {print $1}'); do ip netns del "$ns" || true; done
  ip link del satbr0 2>/dev/null || true
}

case "${1:-}" in
start)
  n=${2:-}
  rate=${3:-1gbit}
  if [[ ! $n =~ ^[2-9]$ ]]; then echo "usage: $0 start N(2-9) [RATE] | stop" >&2; exit 2; fi
  stop
  trap 'stop; exit 1' ERR
  ip link add satbr0 type bridge
  ip addr add 10.77.0.254/24 dev satbr0
  ip link set satbr0 up
  for k in $(seq "$n"); do
    ns=saturn-n$k
    ip netns add "$ns"
    ip link add "satveth$k" type veth peer name eth0 netns "$ns"
    ip link set "satveth$k" master satbr0 up
    ip -n "$ns" addr add "10.77.0.$k/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" route add default via 10.77.0.254
    # Both directions: this end shapes what enters the node, the namespace's end what leaves it.
    tc qdisc add dev "satveth$k" root tbf rate "$rate" burst 256kb latency 50ms
    ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
  done
  ;;
stop) stop ;;
*) echo "usage: $0 start N(2-9) [RATE] | stop" >&2; exit 2 ;;
esac
