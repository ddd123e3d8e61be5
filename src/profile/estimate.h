// The analytic model `saturn profile --estimate` uses for what was not measured (device counts
// above a node, techniques not tried): per technique, compute from the job's measured one-device
// step time, communication from the measured links, memory from parameter and optimizer sizes
// added to the measured one-device peak. Assumptions (docs/profile.md, "Estimates"):
// - compute divides evenly over ranks (data-parallel: each rank takes batch / k; pipeline:
//   stages of equal cost, with the 1F1B bubble (k - 1) / (m + k - 1) of m micro-batches), each
//   rank on a core set of its own; on a CPU node with fewer cores than device slots, ranks
//   that share a core take as many times longer (the one-device measurement had its core alone);
// - communication is what each technique sends: ddp all-reduces the gradients; fsdp gathers the
//   parts outside the blocks once a step and each block twice (forward and backward; the last
//   block once, kept for its backward), and reduce-scatters every gradient, the blocks' once a
//   micro-batch (accumulation repeats them); a pipeline sends activations and their gradients
//   between stages, and its first and last stage exchange the tied embedding's gradient;
// - a collective of B bytes over k ranks takes alpha + B x factor(k) / busbw, alpha and busbw
//   fitted per collective and scope on the widest rank count measured: the links within a node
//   for k up to a node's devices, those across nodes above (a ring is as fast as its slowest
//   link); where nothing was measured across nodes, the links within one (optimistic, and said);
// - communication does not overlap compute (an upper bound for ddp, which overlaps buckets with
//   backward);
// - fp32 weights, gradients and Adam moments are 16 bytes a parameter; a rank keeps all of them
//   (ddp), 1/k of them plus one gathered block (fsdp), or its stage's 1/k (pipeline).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/sweep.h"
#include "profile/profile.h"
#include "util/status.h"

namespace saturn {

// What the model needs of a job's model and batch.
struct JobShape {
  long long parameters = 0;
  long long block_parameters = 0;  // one transformer block's (0: unknown, taken as parameters / layers)
  long long tied_parameters = 0;   // the embedding the head shares (0: untied)
  int layers = 1;
  int hidden = 0;
  int bytes_per_activation = 4;  // 2 under bf16
  int optimizer_bytes_per_parameter = 8;  // Adam's two fp32 moments; SGD's momentum: 4
};

// A collective's fitted cost: alpha + bytes x factor(ranks) / busbw seconds.
struct LinkFit {
  double alpha = 0, busbw = 0;
};

struct Estimate {
  bool ok = false;
  std::string why;  // when !ok: what is missing
  double step_seconds = 0;
  long long peak_memory_bytes = 0;  // 0: unknown (the one-device record has no peak)
  double compute_seconds = 0, comm_seconds = 0;  // the parts of step_seconds
  // The links the communication was priced by: "node", "nodes", or "node (none measured across
  // nodes)" when the ranks span nodes but only links within one were measured.
  std::string links;
  // The model's inputs, kept in the record: the one-device record it starts from (technique,
  // seconds), how many ranks share a core at the widest (CPU nodes with fewer cores than device
  // slots; 1 elsewhere), pipeline micro-batches (0: not pipeline), and the fit of each
  // collective it priced.
  std::string from_technique;
  double from_seconds = 0;
  int core_share = 1;
  int micro_batches = 0;
  std::map<std::string, LinkFit> fits;
};

// What every rank of `technique` on `devices` devices holds at the least, whatever the knobs: the
// fp32 weights, gradients and optimizer state (16 bytes a parameter with Adam, 12 with SGD's
// momentum), all of them (ddp) or at least
// an even share (fsdp; pipeline: the largest stage holds at least the mean). 0 where the
// technique keeps them off the device (offload) or is unknown. A trial whose bound exceeds the
// device's memory cannot fit and is not launched.
long long StateBytesPerRank(const JobShape& shape, const std::string& technique, int devices);

class Estimator {
 public:
  // `node_devices`: the devices of the widest node; a job on more spans nodes. `kind`: the node
  // kind whose records `measured` holds; its machine (Provenance::machine) says its cores.
  Estimator(const Profile& measured, int node_devices, std::string kind = "");
  // The estimate of `job` under `technique` on `devices` devices. `job` names a job with records
  // of its own (the measured job of its cost key).
  Estimate Predict(const JobSpec& job, const JobShape& shape, const std::string& technique, int devices) const;
  // Seconds of one collective of `bytes` over `ranks` ranks by the fitted links, those across
  // nodes when `across` and measured; < 0 when the profile has no links for it.
  double CollectiveSeconds(const std::string& collective, int ranks, double bytes, bool across = false) const;
  bool MeasuredAcross(const std::string& collective) const { return fits_.count({collective, true}) > 0; }
  // How many of `ranks_on_node` ranks share the busiest core, as BindToSlotCores places them on
  // the profile's CPU nodes (ranks on slots 0, 1, ..., slot s on core s mod cores when there are
  // fewer cores than slots); 1 on GPUs, where the profile does not say its cores, and where its
  // trials ran packed (their one-device steps already shared cores).
  int CoreShare(int ranks_on_node) const;

 private:
  const LinkFit* FitOf(const std::string& collective, bool across) const;
  const Profile& profile_;
  const int node_devices_;
  const std::string kind_;
  std::map<std::pair<std::string, bool>, LinkFit> fits_;  // by collective, across nodes
};

}  // namespace saturn
