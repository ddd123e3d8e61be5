// Gradients of a model replicated on every rank, all-reduced in buckets while backward runs
// (DDP, offload). Each parameter's .grad is a view into its bucket, so backward accumulates
// straight into the buffers that go on the wire. Buckets fill in reverse registration order,
// roughly the order backward finishes parameters; a bucket goes out when the last of its
// parameters has its gradient accumulated (an autograd post-hook on each parameter's
// AccumulateGrad node), and buckets go out in index order on every rank, as collectives must.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "comm/process_group.h"
#include "util/status.h"

namespace saturn {

class GradBuckets {
 public:
  // params: the model's parameters (fp32, on the group's device); bucket_bytes: the target size.
  GradBuckets(const std::vector<torch::Tensor>& params, int64_t bucket_bytes, std::shared_ptr<ProcessGroup> group);
  ~GradBuckets();
  GradBuckets(const GradBuckets&) = delete;
  GradBuckets& operator=(const GradBuckets&) = delete;

  // The gradient view of params[i] (what the optimizer reads).
  torch::Tensor grad(size_t i) const;
  void Zero();
  // Arms the hooks for the micro-batch whose backward completes the step's gradients; the
  // accumulation micro-batches before it communicate nothing.
  void Arm();
  // After that backward: sends the buckets not yet sent (parameters that got no gradient), waits
  // for all, divides by the rank count. Disarms.
  Status Finish();
  int buckets() const;
  // Buckets sent since Arm: after a backward that reached every parameter, all of them went out
  // from the hooks, before Finish.
  int sent() const;

  struct State;  // shared with the hooks, which outlive nothing but may outlive this object

 private:
  std::shared_ptr<State> state_;
};

}  // namespace saturn
