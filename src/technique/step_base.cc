#include "technique/step_base.h"

#include "train/autocast.h"

namespace saturn {

StepBase::StepBase(StepContext ctx) : ctx_(std::move(ctx)) {}

torch::Tensor StepBase::MicroLoss(CausalLM& model, const torch::Tensor& rows) {
  const int64_t t = rows.size(1) - 1;
  Autocast ac(ctx_.bf16, ctx_.device.type());
  return model->loss(rows.slice(1, 0, t), rows.slice(1, 1));
}

Result<double> StepBase::SumOverGroup(double v) {
  if (ranks() == 1) return v;
  torch::Tensor t = torch::full({1}, v, torch::TensorOptions().dtype(torch::kFloat64).device(ctx_.device));
  Status st = group().AllReduce(t)->Wait();
  if (!st.ok()) return st;
  return t.item<double>();
}

Result<double> StepBase::FromRank(double v, int root) {
  if (ranks() == 1) return v;
  torch::Tensor t = torch::full({1}, v, torch::TensorOptions().dtype(torch::kFloat64).device(ctx_.device));
  Status st = group().Broadcast(t, root)->Wait();
  if (!st.ok()) return st;
  return t.item<double>();
}

DataParallelStep::DataParallelStep(StepContext ctx) : StepBase(std::move(ctx)) {
  model_ = ctx_.model;
  const int share = job().batch_size / ranks();
  micro_ = MicroBatch(job(), ranks(), 0);
  accum_ = share / micro_;
}

Result<StepResult> DataParallelStep::Step(const BatchFn& batch, uint64_t first, double lr) {
  SATURN_RETURN_IF_ERROR(BeginPass(true));
  ZeroGradients();
  // Rank r takes sequences [first + r x share, first + (r + 1) x share): together, the batch a
  // single process takes, in the same micro-batch sizes.
  const uint64_t mine = first + uint64_t(rank()) * uint64_t(micro_ * accum_);
  double loss_sum = 0;
  for (int k = 0; k < accum_; ++k) {
    SATURN_RETURN_IF_ERROR(BeginMicroBatch(k + 1 == accum_));
    torch::Tensor l = MicroLoss(model_, batch(mine + uint64_t(k) * uint64_t(micro_), micro_));
    (l / double(accum_)).backward();
    loss_sum += l.item<double>();
  }
  SATURN_RETURN_IF_ERROR(FinishGradients());
  double sq = opt_->grad_sq_norm();
  if (GradientsSharded()) {
    Result<double> all = SumOverGroup(sq);
    if (!all.ok()) return all.status();
    sq = *all;
  }
  StepResult r;
  r.grad_norm = std::sqrt(sq);
  const double clip = job().optimizer.grad_clip;
  const double coef = clip > 0 && r.grad_norm > clip ? clip / (r.grad_norm + 1e-6) : 1.0;
  SATURN_RETURN_IF_ERROR(ApplyUpdate(coef, lr));
  SATURN_RETURN_IF_ERROR(EndPass(true));
  Result<double> total = SumOverGroup(loss_sum);
  if (!total.ok()) return total.status();
  r.loss = *total / double(accum_ * ranks());
  return r;
}

Result<double> DataParallelStep::MeanLoss(const BatchFn& batch, uint64_t count) {
  torch::NoGradGuard no_grad;
  model_->eval();
  SATURN_RETURN_IF_ERROR(BeginPass(false));
  // Micro-batches dealt round-robin; every rank runs the same number of passes (FSDP's are
  // collective), the ones past the end with weight 0.
  const uint64_t micro = uint64_t(micro_), pieces = (count + micro - 1) / micro;
  const uint64_t rounds = (pieces + uint64_t(ranks()) - 1) / uint64_t(ranks());
  double sum = 0;
  for (uint64_t j = 0; j < rounds; ++j) {
    const uint64_t piece = j * uint64_t(ranks()) + uint64_t(rank());
    const bool real = piece < pieces;
    const uint64_t start = real ? piece * micro : 0;
    const int n = int(std::min(micro, count - start));
    torch::Tensor l = MicroLoss(model_, batch(start, n));
    if (real) sum += l.item<double>() * n;
  }
  SATURN_RETURN_IF_ERROR(EndPass(false));
  model_->train();
  Result<double> total = SumOverGroup(sum);
  if (!total.ok()) return total.status();
  return *total / double(count);
}

std::vector<std::pair<std::string, torch::Tensor>> NamedParams(CausalLM& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

Status CheckShapes(const std::map<std::string, torch::Tensor>& tensors,
                   const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes, const std::string& what,
                   const std::string& where) {
  for (const auto& [name, shape] : shapes) {
    auto it = tensors.find(name);
    if (it == tensors.end())
      return Status::UserError(where + ": " + what + " '" + name + "' is missing; the checkpoint is from another "
                               "model or optimizer");
    if (it->second.sizes().vec() != shape)
      return Status::UserError(where + ": " + what + " '" + name + "' has the wrong shape for this model");
  }
  return Status::Ok();
}

}  // namespace saturn
