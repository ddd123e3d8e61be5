#include "technique/flat_unit.h"

#include <c10/core/StorageImpl.h>

namespace saturn {
namespace {

// The storage of `t` with nbytes of fresh memory (or none): tensors viewing it follow along.
void ResizeStorage(torch::Tensor& t, size_t nbytes, torch::Device device) {
  c10::StorageImpl* s = t.storage().unsafeGetStorageImpl();
  if (nbytes == 0) {
    s->set_data_ptr_noswap(at::DataPtr(nullptr, device));
  } else {
    // The allocator the storage was made with (LibTorch's caching allocator on CUDA).
    s->set_data_ptr_noswap(s->allocator()->allocate(nbytes));
  }
  s->set_nbytes(nbytes);
}

}  // namespace

FlatUnit::FlatUnit(std::vector<std::pair<std::string, torch::Tensor>> params, ProcessGroup& group, torch::Device device)
    : group_(group), device_(device) {
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : params) {
    names_.push_back(name);
    params_.push_back(p);
    offsets_.push_back(numel_);
    numel_ += p.numel();
  }
  const int64_t k = group.size();
  shard_size_ = (numel_ + k - 1) / k;
  padded_ = shard_size_ * k;
  torch::Tensor flat = torch::zeros({padded_}, torch::kFloat32);
  for (size_t i = 0; i < params_.size(); ++i)
    flat.narrow(0, offsets_[i], params_[i].numel()).copy_(params_[i].reshape({-1}));
  const torch::TensorOptions opt = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  shard_ = flat.narrow(0, int64_t(group.rank()) * shard_size_, shard_size_).to(opt, /*non_blocking=*/false, /*copy=*/true);
  shard_grad_ = torch::zeros({shard_size_}, opt);
  m_ = torch::zeros({shard_size_}, opt);
  v_ = torch::zeros({shard_size_}, opt);
  full_ = torch::empty({padded_}, opt);
  for (size_t i = 0; i < params_.size(); ++i)
    params_[i].set_data(full_.narrow(0, offsets_[i], params_[i].numel()).view(params_[i].sizes()));
  Free();  // after the views: LibTorch checks a view's bounds against the storage when making it
}

void FlatUnit::Alloc(torch::Tensor& buffer) { ResizeStorage(buffer, size_t(padded_) * sizeof(float), device_); }

void FlatUnit::StartGather() {
  if (gathered()) return;
  Alloc(full_);
  gather_ = group_.AllGather(full_, shard_);
}

Status FlatUnit::WaitGathered() {
  if (!gathered()) StartGather();
  if (gather_) {
    Status st = gather_->Wait();
    gather_ = nullptr;
    if (!st.ok()) return st;
    gathered_ = true;
  }
  return Status::Ok();
}

void FlatUnit::Free() {
  ResizeStorage(full_, 0, device_);
  gathered_ = false;
}

void FlatUnit::PrepareGrads() {
  full_grad_ = torch::zeros({padded_}, shard_.options());
  for (size_t i = 0; i < params_.size(); ++i)
    params_[i].mutable_grad() = full_grad_.narrow(0, offsets_[i], params_[i].numel()).view(params_[i].sizes());
}

void FlatUnit::StartReduceScatter() {
  Pending p;
  p.in = full_grad_;
  p.out = torch::empty({shard_size_}, shard_.options());
  p.work = group_.ReduceScatter(p.out, p.in);
  pending_.push_back(std::move(p));
  for (auto& param : params_) param.mutable_grad() = torch::Tensor();
  full_grad_ = torch::Tensor();
}

Status FlatUnit::FinishReduceScatter() {
  Status first = Status::Ok();
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    Status st = p.work->Wait();
    if (!st.ok() && first.ok()) first = st;
    torch::NoGradGuard no_grad;
    if (st.ok()) shard_grad_.add_(p.out);
  }
  return first;
}

std::vector<OptimSlot> FlatUnit::Slots(bool with_v) {
  std::vector<OptimSlot> out;
  const int64_t lo_mine = int64_t(group_.rank()) * shard_size_, hi_mine = lo_mine + shard_size_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const int64_t lo = std::max(offsets_[i], lo_mine), hi = std::min(offsets_[i] + params_[i].numel(), hi_mine);
    if (hi <= lo) continue;
    const int64_t at = lo - lo_mine, n = hi - lo;
    out.push_back({names_[i], shard_.narrow(0, at, n), shard_grad_.narrow(0, at, n), params_[i].dim() >= 2,
                   m_.narrow(0, at, n), with_v ? v_.narrow(0, at, n) : torch::Tensor()});
  }
  return out;
}

Result<std::vector<std::pair<std::string, torch::Tensor>>> FlatUnit::GatherWhole(const torch::Tensor& shard) {
  torch::NoGradGuard no_grad;
  torch::Tensor whole = torch::empty({padded_}, shard.options());
  Status st = group_.AllGather(whole, shard)->Wait();
  if (!st.ok()) return st;
  torch::Tensor cpu = whole.to(torch::kCPU);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i)  // views: the one gathered buffer serves them all
    out.emplace_back(names_[i], cpu.narrow(0, offsets_[i], params_[i].numel()).view(params_[i].sizes()));
  return out;
}

Status FlatUnit::LoadWhole(const std::map<std::string, torch::Tensor>& tensors,
                           const std::function<std::string(const std::string&)>& name_of, torch::Tensor& shard,
                           const std::string& what, const std::string& where) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat = torch::zeros({padded_}, torch::kFloat32);
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string name = name_of(names_[i]);
    auto it = tensors.find(name);
    if (it == tensors.end())
      return Status::UserError(where + ": " + what + " '" + name + "' is missing; the checkpoint is from another "
                               "model or optimizer");
    if (it->second.sizes() != params_[i].sizes())
      return Status::UserError(where + ": " + what + " '" + name + "' has the wrong shape for this model");
    flat.narrow(0, offsets_[i], params_[i].numel()).copy_(it->second.reshape({-1}));
  }
  shard.copy_(flat.narrow(0, int64_t(group_.rank()) * shard_size_, shard_size_));
  return Status::Ok();
}

}  // namespace saturn
