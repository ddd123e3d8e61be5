// The profile file: measured step time and peak memory of each (job, technique, device count).
// Format: docs/profile.md. `saturn profile` writes it; `saturn plan` reads it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

struct ProfileRecord {
  std::string job;
  std::string technique;
  int devices = 0;
  std::string kind;  // the node kind measured on (ClusterSpec::kinds); "": nodes of no kind
  bool feasible = false;
  double step_seconds = 0;          // feasible records only
  long long peak_memory_bytes = 0;  // 0: not measured
  std::string knobs_json = "{}";    // technique settings, kept verbatim
  std::string reason;               // why infeasible
  double spread = -1;               // (slowest - fastest) / median of the timed steps; -1: not given
  int measured_steps = 0;           // timed steps behind step_seconds; 0: not given
  bool estimated = false;           // predicted by the analytic model (profile/estimate.h), not measured
  std::string estimate_json;        // its inputs and parts, an object kept verbatim ("" when none)
  int line = 0;                     // where the record starts in the file, for errors
};

// The machine one node kind's trials ran on. Each kind is profiled on its own nodes, perhaps with
// another device model and core count, so each has its own.
struct MachineProvenance {
  std::string kind;         // the node kind ("": nodes of no kind)
  std::string device_name;  // the CPU's or GPU's model where saturn profile ran ("": not said)
  // CPU devices: the cores a node's trials shared out among its `device_slots` device slots
  // (util/threads.h BindToSlotCores); 0: not said (GPUs). With fewer cores than slots, ranks
  // share cores, which the analytic model counts (profile/estimate.h) unless `packed`.
  int cores = 0, device_slots = 0;
  // Trials ran side by side on fewer cores than slots (--pack): their one-device steps already
  // shared cores, so the model counts no more sharing.
  bool packed = false;
};

// How `saturn profile` measured (version 2): enough for a plan to refuse a profile of other jobs
// or devices.
struct Provenance {
  bool present = false;
  std::string saturn_version, device, host, date;
  std::string launcher;  // how trials started their ranks: "mpirun", "srun in Slurm job 12" ("": not said)
  int warmup_steps = 0, timed_steps = 0;
  std::vector<MachineProvenance> machines;  // at most one a kind
  std::map<std::string, std::string> cost_keys;  // measured job -> its cost key (JobSpec::cost_key)
  const MachineProvenance* machine(const std::string& kind) const {
    for (const MachineProvenance& m : machines)
      if (m.kind == kind) return &m;
    return nullptr;
  }
};

// One measured point of a link (comm/link_bench.h): a collective over `ranks` ranks, within one
// node ("node") or over `nodes` whole nodes ("nodes", the ranks split evenly among them).
struct LinkRecord {
  std::string collective;  // all_reduce | all_gather | reduce_scatter | send_recv
  int ranks = 0;
  long long bytes = 0;
  double seconds = 0, algbw = 0, busbw = 0;  // per operation; bytes per second
  std::string scope = "node";                // "node" | "nodes"
  int nodes = 1;                             // > 1 exactly when scope is "nodes"
  std::string kind;                          // the node kind measured on; "": nodes of no kind
  bool across() const { return scope == "nodes"; }
};

// Version 2 adds "measured" (Provenance) and the records' "spread" and "measured_steps";
// version 1 files stay readable.
constexpr int kProfileVersion = 2;

struct Profile {
  std::string path;
  int version = kProfileVersion;
  std::string sweep;  // the sweep's name; empty when the file does not say
  Provenance measured;
  std::vector<LinkRecord> links;  // version 2
  std::vector<ProfileRecord> records;
  std::string where(const ProfileRecord& r) const;  // "profile.json:12"
};

// Parses the file and checks each record on its own (types, signs, known technique names).
// Checks against a sweep happen where the planning instance is built (plan/instance.h).
Result<Profile> LoadProfile(const std::string& path);
Result<Profile> ParseProfile(const std::string& json_text, const std::string& path_for_errors);
std::string ProfileToJson(const Profile& profile);

}  // namespace saturn
