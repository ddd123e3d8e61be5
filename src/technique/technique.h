// A parallelism technique: how one job trains on K ranks. Each technique is one file
// (ddp.cc, fsdp.cc, pipeline.cc, offload.cc) and one line in registry.cc; docs/techniques.md
// shows how to add one. This header needs no LibTorch: the planner and the profiler ask
// techniques questions (Feasible, knobs) without building a model.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/sweep.h"
#include "util/status.h"

namespace saturn {

class TrainStep;    // train_step.h
struct StepContext;  // train_step.h

// A setting that changes a technique's speed, not its results (up to float rounding).
struct KnobSpec {
  std::string name;
  std::string type;  // number | bool | choice
  std::string def;   // the default, as written in a knobs object
  std::vector<std::string> choices;  // type choice
  double min = 0, max = 0;           // type number: the accepted range
  std::string meaning;
};

// Knob values by name, as written ("25", "true", "1f1b"); every knob of the technique present.
using Knobs = std::map<std::string, std::string>;

// Whether a technique can train a job on `devices` devices of a cluster: ok, or why not (a
// query: it never throws and never builds anything).
struct Feasibility {
  bool ok = true;
  std::string reason;
  static Feasibility Yes() { return {}; }
  static Feasibility No(std::string why) { return {false, std::move(why)}; }
};

class Technique {
 public:
  virtual ~Technique() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;  // one line for --help and docs
  virtual Feasibility Feasible(const JobSpec& job, const ClusterSpec& cluster, int devices) const = 0;
  // The technique's own knobs; every technique also takes the job-level ones (CommonKnobs).
  virtual std::vector<KnobSpec> knobs() const = 0;
  // The step object that trains ctx's model on ctx's group (train_step.h); collective over the group.
  virtual Result<std::unique_ptr<TrainStep>> MakeStep(StepContext ctx) const = 0;
};

// Knobs every technique takes, overriding the job's fields: micro_batch_size,
// activation_checkpointing.
const std::vector<KnobSpec>& CommonKnobs();

// Parses a knobs object (JSON text, "" or "{}" for defaults) for technique t: unknown names
// (with the nearest known one), wrong types and out-of-range values are user errors naming
// `where`. The result holds every knob, defaults filled in.
Result<Knobs> ParseKnobs(const Technique& t, const std::string& json_text, const std::string& where);
// The knobs as a JSON object a later ParseKnobs accepts, typed, with the job-level ones resolved
// to what `job` (the job as the knobs changed it) trains with: what a profile records.
std::string ResolvedKnobsJson(const Technique& t, const Knobs& k, const JobSpec& job);
// `saturn profile`'s knob search (Saturn's `search`), as knobs objects (JSON text). SearchKnobs:
// a small set that may change speed, the defaults first ("{}"): smaller micro-batches (for a
// pipeline, more micro-batches and a smaller bubble), smaller ddp buckets. MemoryKnobs: what to
// try when every setting ran out of memory (activation checkpointing, then also half the
// micro-batch); empty when the job checkpoints already.
std::vector<std::string> SearchKnobs(const Technique& t, const JobSpec& job, int devices);
std::vector<std::string> MemoryKnobs(const Technique& t, const JobSpec& job, int devices);
double KnobNumber(const Knobs& k, const std::string& name);
bool KnobBool(const Knobs& k, const std::string& name);

// The batch arithmetic of data-parallel techniques: each of `devices` ranks takes batch_size /
// devices sequences per step (its share), in micro-batches of MicroBatch: micro_batch (a knob;
// 0: the job's micro_batch_size; 0 there too: the whole share), at most the share.
int MicroBatch(const JobSpec& job, int devices, int micro_batch);
Feasibility DataParallelSplit(const JobSpec& job, int devices, int micro_batch);

}  // namespace saturn
