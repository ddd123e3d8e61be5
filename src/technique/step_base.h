// What the techniques' steps share. StepBase: the context, a micro-batch's loss under
// autocast, sums over the group. DataParallelStep: the loop of the techniques whose ranks each
// take a share of the batch (ddp, fsdp, offload); they differ in where parameters, gradients
// and optimizer state live, which its hooks supply.
#pragma once

#include <memory>
#include <vector>

#include "technique/train_step.h"
#include "train/optimizer.h"

namespace saturn {

class StepBase : public TrainStep {
 protected:
  explicit StepBase(StepContext ctx);
  ProcessGroup& group() { return *ctx_.group; }
  int rank() const { return ctx_.group->rank(); }
  int ranks() const { return ctx_.group->size(); }
  const JobSpec& job() const { return ctx_.job; }

  // Mean next-token loss of batch rows [count, seq_len + 1] through `logits_of(ids)`, under
  // the job's autocast.
  torch::Tensor MicroLoss(CausalLM& model, const torch::Tensor& rows);
  // The sum of every rank's v (float64 on the group's device).
  Result<double> SumOverGroup(double v);
  // Root's v on every rank.
  Result<double> FromRank(double v, int root);

  StepContext ctx_;
};

class DataParallelStep : public StepBase {
 public:
  Result<StepResult> Step(const BatchFn& batch, uint64_t first, double lr) final;
  Result<double> MeanLoss(const BatchFn& batch, uint64_t count) final;

 protected:
  explicit DataParallelStep(StepContext ctx);

  // Before each micro-batch's forward; last: its gradients complete the step's.
  virtual Status BeginMicroBatch(bool last) = 0;
  // After the last backward: every rank's gradients summed, averaged and where the optimizer
  // reads them.
  virtual Status FinishGradients() = 0;
  // Whether each rank's optimizer sees only its shard of the gradient (the squared norms then
  // add up over ranks) rather than the whole of it.
  virtual bool GradientsSharded() const { return false; }
  // Scales every gradient by coef, then updates the weights at lr (offload also copies them back
  // to the device).
  virtual Status ApplyUpdate(double coef, double lr) {
    if (coef != 1.0) opt_->scale_grads(coef);
    opt_->step(lr);
    return Status::Ok();
  }
  // Around Step and MeanLoss (FSDP gathers the parameters outside the blocks here).
  virtual Status BeginPass(bool training) { (void)training; return Status::Ok(); }
  virtual Status EndPass(bool training) { (void)training; return Status::Ok(); }
  virtual void ZeroGradients() = 0;

  CausalLM model_{nullptr};
  std::unique_ptr<Optimizer> opt_;  // over what this rank updates; the technique's Init makes it
  int micro_ = 1, accum_ = 1;       // sequences per micro-batch; micro-batches per rank per step
};

// A step of type T built and initialized (T::Init), as a technique's MakeStep returns it.
template <typename T>
Result<std::unique_ptr<TrainStep>> MakeInitialized(StepContext ctx) {
  auto step = std::make_unique<T>(std::move(ctx));
  Status st = step->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<TrainStep>(std::move(step));
}

// The model's parameters by Hugging Face name, in registration order.
std::vector<std::pair<std::string, torch::Tensor>> NamedParams(CausalLM& model);
// A whole-model tensor map checked against `names`' shapes: missing or misshapen is a user error
// naming `where`.
Status CheckShapes(const std::map<std::string, torch::Tensor>& tensors,
                   const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes, const std::string& what,
                   const std::string& where);

}  // namespace saturn
