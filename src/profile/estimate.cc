#include "profile/estimate.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "util/bus_bandwidth.h"

namespace saturn {

long long StateBytesPerRank(const JobShape& shape, const std::string& technique, int devices) {
  const long long state = (8 + shape.optimizer_bytes_per_parameter) * shape.parameters;
  if (technique == "ddp") return state;
  if (technique == "fsdp" || technique == "pipeline") return state / std::max(1, devices);
  return 0;
}

Estimator::Estimator(const Profile& p, int node_devices, std::string kind)
    : profile_(p), node_devices_(node_devices), kind_(std::move(kind)) {
  // Per collective and scope, on the widest rank count: alpha from the smallest size, busbw from
  // the largest.
  using Group = std::pair<std::string, bool>;
  std::map<Group, int> widest;
  for (const LinkRecord& l : p.links) {
    int& n = widest[{l.collective, l.across()}];
    n = std::max(n, l.ranks);
  }
  for (const auto& [group, n] : widest) {
    const LinkRecord *small = nullptr, *large = nullptr;
    for (const LinkRecord& l : p.links) {
      if (Group(l.collective, l.across()) != group || l.ranks != n) continue;
      if (!small || l.bytes < small->bytes) small = &l;
      if (!large || l.bytes > large->bytes) large = &l;
    }
    LinkFit f;
    f.alpha = small->seconds;
    f.busbw = large->bytes > small->bytes && large->seconds > small->seconds
                  ? double(large->bytes - small->bytes) * BusFactor(group.first, n) / (large->seconds - small->seconds)
                  : large->busbw;
    fits_[group] = f;
  }
}

const LinkFit* Estimator::FitOf(const std::string& c, bool across) const {
  auto it = fits_.find({c, across});
  if (it == fits_.end()) it = fits_.find({c, false});
  return it == fits_.end() || !(it->second.busbw > 0) ? nullptr : &it->second;
}

double Estimator::CollectiveSeconds(const std::string& c, int ranks, double bytes, bool across) const {
  if (ranks <= 1) return 0;
  const LinkFit* f = FitOf(c, across);
  return f ? f->alpha + bytes * BusFactor(c, ranks) / f->busbw : -1;
}

int Estimator::CoreShare(int ranks_on_node) const {
  const MachineProvenance* m = profile_.measured.machine(kind_);
  if (profile_.measured.device != "cpu" || !m || m->packed || m->cores <= 0 || m->device_slots <= m->cores) return 1;
  const int n = std::min(std::max(1, ranks_on_node), m->device_slots);
  return (n + m->cores - 1) / m->cores;
}

Estimate Estimator::Predict(const JobSpec& job, const JobShape& shape, const std::string& technique, int k) const {
  Estimate e;
  // The one-device measurement this job's cost key has: the same technique's, else ddp's.
  const ProfileRecord* one = nullptr;
  for (const std::string& t : {technique, std::string("ddp"), std::string("fsdp"), std::string("pipeline")}) {
    for (const ProfileRecord& r : profile_.records)
      if (r.job == job.name && r.technique == t && r.devices == 1 && r.feasible && !r.estimated) one = &r;
    if (one) break;
  }
  if (!one) {
    e.why = "no feasible one-device measurement of " + job.name + " to start from";
    return e;
  }
  e.from_technique = one->technique;
  e.from_seconds = one->step_seconds;
  // Ranks sharing a core run as many times slower than the one-device trial did on its own.
  const int nodes = node_devices_ > 0 ? (k + node_devices_ - 1) / node_devices_ : 1;
  e.core_share = CoreShare((k + nodes - 1) / nodes);
  const double t1 = one->step_seconds * e.core_share;
  const double params = double(shape.parameters);
  const double state = 16.0 * params;  // fp32 weights, gradients, two Adam moments
  // Runtime and activations at one device; unknown (0) when the measurement has no peak.
  const bool known = one->peak_memory_bytes > 0;
  const double rest = std::max(0.0, double(one->peak_memory_bytes) - state);
  double comm = 0;
  const bool across = node_devices_ > 0 && k > node_devices_;
  e.links = across ? "nodes" : "node";
  // Seconds of one collective on `ranks` ranks of this job's placement.
  auto coll = [&](const std::string& c, double bytes, int ranks) {
    double s = CollectiveSeconds(c, ranks, bytes, across);
    if (const LinkFit* f = ranks > 1 ? FitOf(c, across) : nullptr) e.fits[c] = *f;
    if (s < 0) e.why = "the profile has no " + c + " link measurements (saturn profile --links)";
    else if (across && !MeasuredAcross(c)) e.links = "node (none measured across nodes)";
    return std::max(0.0, s);
  };
  if (technique == "ddp") {
    e.compute_seconds = t1 / k;
    comm = coll("all_reduce", 4 * params, k);
    e.peak_memory_bytes = (long long)(rest + state);
  } else if (technique == "fsdp") {
    e.compute_seconds = t1 / k;
    // A unit per block, gathered for its forward and again for its backward (but the last
    // block, kept from its forward) and its gradient reduce-scattered, in every micro-batch of
    // the rank's share; one unit for the rest, gathered and reduce-scattered once a step.
    const int layers = std::max(1, shape.layers);
    const bool known = shape.block_parameters > 0;
    const double block = known ? double(shape.block_parameters) : params / layers;
    const double outer = known ? std::max(0.0, params - layers * block) : 0.0;
    // Micro-batches per rank, as technique.h's MicroBatch splits a share (without linking it).
    const int share = std::max(1, job.batch_size / k);
    const int accum = job.micro_batch_size > 0 ? std::max(1, share / std::min(job.micro_batch_size, share)) : 1;
    comm = accum * ((2 * layers - 1) * coll("all_gather", 4 * block, k) + layers * coll("reduce_scatter", 4 * block, k));
    if (outer > 0) comm += coll("all_gather", 4 * outer, k) + coll("reduce_scatter", 4 * outer, k);
    e.peak_memory_bytes = (long long)(rest + state / k + 2 * 4 * params / std::max(1, shape.layers));
  } else if (technique == "pipeline") {
    if (k > shape.layers) {
      e.why = "more stages than the model has blocks";
      return e;
    }
    const int micro = job.micro_batch_size > 0 ? std::min(job.micro_batch_size, job.batch_size) : job.batch_size;
    const int m = std::max(1, job.batch_size / micro);
    e.micro_batches = m;
    e.compute_seconds = t1 / k * double(m + k - 1) / m;
    const double act = double(micro) * job.seq_len * shape.hidden * shape.bytes_per_activation;
    // Across nodes every hop is priced as one between nodes: the slowest hop paces the pipeline.
    comm = k > 1 ? 2.0 * (m + k - 2) * coll("send_recv", act, 2) : 0;
    // The first and last stage swap their gradients of the tied embedding, at once both ways.
    if (k > 1 && shape.tied_parameters > 0) comm += coll("send_recv", 4.0 * double(shape.tied_parameters), 2);
    e.peak_memory_bytes = (long long)(rest + state / k);
  } else {
    e.why = "no model for " + technique + " yet";
    return e;
  }
  if (!e.why.empty()) return e;
  if (!known) e.peak_memory_bytes = 0;
  e.comm_seconds = comm;
  e.step_seconds = e.compute_seconds + comm;
  e.ok = true;
  return e;
}

}  // namespace saturn
