#!/bin/sh
# Open MPI's ssh, for the nodes of scripts/netns/local.sh: `rsh.sh 10.77.0.K COMMAND...` runs
# COMMAND in node K's network namespace with its own host name (Open MPI tells nodes apart by
# host name, and uses shared memory only between ranks of one).
host=$1
shift
k=${host##*.}
case "$host" in
10.77.0.[1-9]) ;;
*) echo "rsh.sh: $host is not a node of scripts/netns/local.sh (10.77.0.1-9)" >&2; exit 255 ;;
esac
exec ip netns exec "saturn-n$k" unshare --uts sh -c "hostname saturn-n$k && $*"
