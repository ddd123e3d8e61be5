// Where a cluster's nodes are: the machine each node's ranks start on. Under mpirun a node is a
// host (`--host H:K`); inside a Slurm allocation it is one of the allocation's nodes (`srun
// --nodelist=N`). The rules, documented in docs/run.md:
//   - mpirun: a node's `host:` in the sweep, else its name; a cluster of one node without `host:`
//     is this machine (launched without --host, as on a laptop).
//   - srun: when every node's host (or name) is in the allocation's node list, by name; else in
//     order, the sweep's k-th node on the allocation's k-th node. Nodes beyond the allocation's
//     are out of reach: a plan may not use them, and re-plans avoid them.
#pragma once

#include <string>
#include <vector>

#include "launch/launcher.h"
#include "util/status.h"

namespace saturn {

// Slurm's hostlist syntax expanded in order: "gpu[01-03,7],login" -> gpu01 gpu02 gpu03 gpu7 login;
// several bracket groups multiply ("r[1-2]n[1-2]"); zero padding is kept. A malformed list (an
// unclosed bracket, a range that runs backwards, more than 1,000,000 names) is an error.
Result<std::vector<std::string>> ExpandHostList(const std::string& list);

struct NodeAddress {
  std::string name;  // the sweep's node name
  std::string host;  // the sweep's `host:`, "" when not given
};

struct NodeTarget {
  bool reachable = false;
  std::string host;  // where its ranks start; "" is this machine (or, in Slurm, this process's node)
};

struct NodeMap {
  std::vector<NodeTarget> nodes;  // per node of the cluster, in its order
  std::string how;                // one line for the log: "mpirun hosts", "Slurm nodes n1,n2 by order"
};

// The target of every node for launches of `kind`. An allocation whose node list cannot be read
// is an error naming SLURM_JOB_NODELIST.
Result<NodeMap> MapNodes(const std::vector<NodeAddress>& nodes, LaunchKind kind, const SlurmAllocation& slurm);

}  // namespace saturn
