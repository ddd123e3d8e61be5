// The training step a technique supplies: the unit the loop (job/trainer.h) calls once per
// optimizer update and `saturn profile` times. A step owns what differs between techniques:
// where the model's pieces live, forward and backward over micro-batches, gradient
// synchronisation, clipping to the global norm, the optimizer step, and how its state maps to
// the canonical checkpoint layout. The loop owns data order, learning rate, metrics,
// validation and checkpoint policy.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "comm/process_group.h"
#include "config/sweep.h"
#include "model/gpt.h"
#include "model/safetensors.h"
#include "technique/technique.h"

namespace saturn {

// Sequences [first, first + count) of the job's sample order as [count, seq_len + 1] int64 on
// the step's device: ids are [:, :-1], targets [:, 1:]. Any rank may ask for any sequences.
using BatchFn = std::function<torch::Tensor(uint64_t first, int count)>;

struct StepContext {
  JobSpec job;  // knobs already applied (micro_batch_size, activation_checkpointing)
  ClusterSpec cluster;
  // Built and initialized identically on every rank, in float32 on the CPU; the step moves to
  // its device what this rank keeps and releases the rest.
  CausalLM model{nullptr};
  torch::Device device = torch::kCPU;
  bool bf16 = false;                    // bf16 autocast for forward and backward
  std::shared_ptr<ProcessGroup> group;  // the job's ranks, on `device`
  Knobs knobs;                          // every knob of the technique (ParseKnobs)
  // Tests only: lets offload run with the CPU as its "device", to check its mechanics.
  bool allow_cpu_offload = false;
};

struct StepResult {
  double loss = 0;       // mean over the global batch
  double grad_norm = 0;  // global, before clipping
};

// The canonical layout: every tensor whole, under its Hugging Face name, float32 on the CPU;
// optimizer state as Optimizer::state() names it for the whole model.
struct FullState {
  NamedTensors model;
  NamedTensors optimizer;
  long long updates = 0;
};

class TrainStep {
 public:
  virtual ~TrainStep() = default;
  // One optimizer update on the global batch [first, first + job.batch_size) at learning rate
  // lr. Collective over the group; the result is the same on every rank.
  virtual Result<StepResult> Step(const BatchFn& batch, uint64_t first, double lr) = 0;
  // Mean loss over sequences [0, count) of `batch`, without gradients. Collective; the same on
  // every rank.
  virtual Result<double> MeanLoss(const BatchFn& batch, uint64_t count) = 0;
  // The whole model and optimizer state, complete on rank 0 of the group (other ranks may get
  // less). Collective.
  virtual Result<FullState> Gather() = 0;
  // Takes this rank's part of a whole state (as Gather gives it; every rank passes all of it),
  // so a job resumes under any technique and rank count. Errors name `where` and the tensor.
  virtual Status Load(const std::map<std::string, torch::Tensor>& model,
                      const std::map<std::string, torch::Tensor>& optimizer, long long updates,
                      const std::string& where) = 0;
};

}  // namespace saturn
