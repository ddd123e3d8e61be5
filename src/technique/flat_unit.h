// A group of parameters flattened into one buffer and sharded over a process group: FSDP's
// unit (one transformer block, or everything outside the blocks). Rank r owns elements
// [r x S, (r + 1) x S) of the flat buffer (padded with zeros to a multiple of the rank count):
// the float32 master copy, its gradient and the optimizer state of that range. The parameters
// themselves become views into a full buffer whose storage exists only while gathered, so a
// block's weights take memory only around its forward and its backward.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "comm/process_group.h"
#include "train/optimizer.h"

namespace saturn {

class FlatUnit {
 public:
  // params: the module's own parameter tensors (float32, any device), in a fixed order. They
  // are re-pointed at the full buffer on `device`, which starts freed.
  FlatUnit(std::vector<std::pair<std::string, torch::Tensor>> params, ProcessGroup& group, torch::Device device);

  // All-gather the master shards into the full buffer (allocating it); idempotent until Free.
  void StartGather();
  Status WaitGathered();
  bool gathered() const { return gathered_ || gather_ != nullptr; }
  // Releases the full buffer's storage (the parameters' views stay, pointing at nothing).
  void Free();

  // Zeroed full gradient buffer; each parameter's .grad a view into it (backward accumulates
  // there).
  void PrepareGrads();
  // Reduce-scatters the full gradient into this rank's range (summed into shard_grad) and
  // releases it; Finish waits. Several may be in flight; they finish in order.
  void StartReduceScatter();
  Status FinishReduceScatter();
  bool reduce_scatter_pending() const { return !pending_.empty(); }

  // Optimizer slots for this rank's pieces of each parameter (views into the shards).
  std::vector<OptimSlot> Slots(bool with_v);
  void ZeroShardGrad() { shard_grad_.zero_(); }
  torch::Tensor shard_grad() const { return shard_grad_; }

  // The whole unit gathered to every rank: each parameter as a whole CPU float32 tensor (views
  // into one buffer), from the master shards or from the optimizer state shards m or v.
  Result<std::vector<std::pair<std::string, torch::Tensor>>> GatherWhole(const torch::Tensor& shard);
  // Copies this rank's range of whole tensors (looked up by `name_of(param name)`) into shard.
  Status LoadWhole(const std::map<std::string, torch::Tensor>& tensors, const std::function<std::string(const std::string&)>& name_of,
                   torch::Tensor& shard, const std::string& what, const std::string& where);

  torch::Tensor master() { return shard_; }
  torch::Tensor m() { return m_; }
  torch::Tensor v() { return v_; }
  int64_t numel() const { return numel_; }

 private:
  void Alloc(torch::Tensor& buffer);
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_;
  std::vector<int64_t> offsets_;
  int64_t numel_ = 0, padded_ = 0, shard_size_ = 0;
  ProcessGroup& group_;
  torch::Device device_;
  torch::Tensor full_, shard_, shard_grad_, m_, v_, full_grad_;
  WorkPtr gather_;
  bool gathered_ = false;
  struct Pending {
    WorkPtr work;
    torch::Tensor out, in;
  };
  std::deque<Pending> pending_;
};

}  // namespace saturn
