// fsdp (ZeRO-3): parameters, gradients and optimizer state sharded over the job's ranks, each
// rank a share of the batch. A unit per transformer block plus one for everything outside the
// blocks (embeddings, final norm, head). A block's weights are all-gathered before its forward
// (the next block's gather already in flight) and freed after; gathered again for its backward
// (the previous block's prefetched), its gradient reduce-scattered into each rank's range and
// freed. The outer unit stays gathered for the whole step. Each rank steps only its range of
// the float32 master weights; with precision bf16 the blocks compute under bf16 autocast.
#include "technique/fsdp.h"

#include <deque>

#include <ATen/autocast_mode.h>

#include "technique/flat_unit.h"

namespace saturn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using RunFn = std::function<torch::Tensor(const torch::Tensor&)>;

class FsdpStep;

// One block's call, carried from its forward to its backward.
struct UnitCall : torch::CustomClassHolder {
  FsdpStep* step = nullptr;
  int64_t unit = 0;
  RunFn run;
  torch::Tensor x_in, y;  // the inner graph: y = run(x_in), x_in a leaf
};

class FsdpStep : public DataParallelStep {
 public:
  explicit FsdpStep(StepContext ctx) : DataParallelStep(std::move(ctx)) {}

  Status Init() {
    torch::NoGradGuard no_grad;
    model_->train();
    prefetch_ = KnobBool(ctx_.knobs, "prefetch");
    const int64_t blocks = model_->num_blocks();
    std::vector<std::vector<std::pair<std::string, torch::Tensor>>> members(size_t(blocks) + 1);
    for (auto& [name, p] : NamedParams(model_)) {
      size_t u = size_t(blocks);  // outside the blocks
      for (int64_t i = 0; i < blocks; ++i)
        if (name.rfind(model_->block_prefix(i), 0) == 0) u = size_t(i);
      members[u].emplace_back(name, p);
    }
    for (auto& m : members) units_.push_back(std::make_unique<FlatUnit>(std::move(m), group(), ctx_.device));
    std::vector<OptimSlot> slots;
    for (auto& u : units_)
      for (auto& s : u->Slots(job().optimizer.name != "sgd")) slots.push_back(std::move(s));
    opt_ = std::make_unique<Optimizer>(job().optimizer, std::move(slots));
    model_->set_block_wrapper([this](int64_t i, const RunFn& run, const torch::Tensor& x) { return RunBlock(i, run, x); });
    return Status::Ok();
  }

  ~FsdpStep() override {
    if (model_) model_->set_block_wrapper(nullptr);
  }

  Result<FullState> Gather() override {
    FullState s;
    std::map<std::string, torch::Tensor> weights, state;
    const auto names = OptimizerStateNames(job().optimizer, "");
    const bool keep = rank() == 0;  // every rank takes part; rank 0 alone keeps the result
    for (auto& u : units_) {
      auto w = u->GatherWhole(u->master());
      if (!w.ok()) return w.status();
      for (auto& [n, t] : *w)
        if (keep) weights[n] = t;
      for (size_t k = 0; k < names.size(); ++k) {
        auto st = u->GatherWhole(k == 0 ? u->m() : u->v());
        if (!st.ok()) return st.status();
        for (auto& [n, t] : *st)
          if (keep) state[n + names[k]] = t;
      }
    }
    if (!keep) {
      s.updates = opt_->updates();
      return s;
    }
    for (auto& [name, p] : NamedParams(model_)) {
      s.model.emplace_back(name, weights[name]);
      for (const auto& suffix : names) s.optimizer.emplace_back(name + suffix, state[name + suffix]);
    }
    s.updates = opt_->updates();
    return s;
  }

  Status Load(const std::map<std::string, torch::Tensor>& model, const std::map<std::string, torch::Tensor>& optimizer,
              long long updates, const std::string& where) override {
    const auto names = OptimizerStateNames(job().optimizer, "");
    for (auto& u : units_) {
      torch::Tensor master = u->master(), m = u->m(), v = u->v();
      SATURN_RETURN_IF_ERROR(u->LoadWhole(model, [](const std::string& n) { return n; }, master, "tensor",
                                          where + "/model.safetensors"));
      for (size_t k = 0; k < names.size(); ++k)
        SATURN_RETURN_IF_ERROR(u->LoadWhole(optimizer, [&](const std::string& n) { return n + names[k]; },
                                            k == 0 ? m : v, "optimizer state", where + "/optimizer.safetensors"));
    }
    opt_->set_updates(updates);
    return Status::Ok();
  }

  // The block wrapper: gathers around a block; in training through UnitFunction so that the
  // block's backward gathers again and reduce-scatters.
  torch::Tensor RunBlock(int64_t i, const RunFn& run, const torch::Tensor& x);

  // Around a block's forward and backward (UnitFunction). Errors are kept and rethrown as a
  // c10::Error that Step turns back into the kept Status.
  void BeforeForward(int64_t i) {
    Check(units_[size_t(i)]->WaitGathered());
    if (prefetch_ && i + 1 < model_->num_blocks()) units_[size_t(i) + 1]->StartGather();
  }
  void AfterForward(int64_t i, bool training) {
    // Autocast caches its bf16 copies of weights until the outermost autocast ends: drop them
    // with the block (those its backward needs stay saved in the block's graph).
    if (ctx_.bf16) at::autocast::clear_cache();
    // The last block's backward comes next: keep it gathered.
    if (!(training && i + 1 == model_->num_blocks())) units_[size_t(i)]->Free();
  }
  void BeforeBackward(int64_t i) {
    Check(units_[size_t(i)]->WaitGathered());
    if (prefetch_ && i > 0) units_[size_t(i) - 1]->StartGather();
    units_[size_t(i)]->PrepareGrads();
  }
  void AfterBackward(int64_t i) {
    FlatUnit& u = *units_[size_t(i)];
    u.StartReduceScatter();
    u.Free();
    // At most two reduce-scatters in flight: the gradient buffers they hold are whole blocks.
    if (pending_.size() >= 2) {
      Check(units_[size_t(pending_.front())]->FinishReduceScatter());
      pending_.pop_front();
    }
    pending_.push_back(i);
  }

 protected:
  Status BeginPass(bool training) override {
    FlatUnit& outer = *units_.back();
    SATURN_RETURN_IF_ERROR(outer.WaitGathered());
    if (training) outer.PrepareGrads();
    return Status::Ok();
  }
  Status EndPass(bool /*training*/) override {
    units_.back()->Free();
    return Status::Ok();
  }
  Status BeginMicroBatch(bool) override { return error_; }
  Status FinishGradients() override {
    SATURN_RETURN_IF_ERROR(error_);
    for (int64_t i : pending_) SATURN_RETURN_IF_ERROR(units_[size_t(i)]->FinishReduceScatter());
    pending_.clear();
    FlatUnit& outer = *units_.back();
    outer.StartReduceScatter();
    SATURN_RETURN_IF_ERROR(outer.FinishReduceScatter());
    torch::NoGradGuard no_grad;
    for (auto& u : units_) u->shard_grad().div_(double(ranks()));
    return Status::Ok();
  }
  bool GradientsSharded() const override { return true; }
  void ZeroGradients() override {
    for (auto& u : units_) u->ZeroShardGrad();
  }

 private:
  void Check(const Status& st) {
    if (st.ok()) return;
    if (error_.ok()) error_ = st;
    TORCH_CHECK(false, "fsdp: ", st.message());
  }

  std::vector<std::unique_ptr<FlatUnit>> units_;  // blocks 0..L-1, then the outer unit
  std::deque<int64_t> pending_;  // blocks whose reduce-scatter is in flight, oldest first
  bool prefetch_ = true;
  Status error_ = Status::Ok();
};

class UnitFunction : public torch::autograd::Function<UnitFunction> {
 public:
  // Function::apply runs this with grad mode off; the block records its own inner graph.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, c10::intrusive_ptr<UnitCall> call) {
    call->step->BeforeForward(call->unit);
    call->x_in = x.detach().requires_grad_(true);
    {
      torch::AutoGradMode enable(true);
      call->y = call->run(call->x_in);
    }
    call->step->AfterForward(call->unit, /*training=*/true);
    torch::Tensor out = call->y.detach();
    ctx->saved_data["call"] = c10::IValue::make_capsule(std::move(call));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto call = c10::static_intrusive_pointer_cast<UnitCall>(ctx->saved_data["call"].toCapsule());
    call->step->BeforeBackward(call->unit);
    torch::Tensor g = grads[0].defined() ? grads[0] : torch::zeros_like(call->y);
    torch::autograd::backward({call->y}, {g});
    call->step->AfterBackward(call->unit);
    torch::Tensor gx = call->x_in.grad();
    call->y = torch::Tensor();
    call->x_in = torch::Tensor();
    return {gx, torch::Tensor()};
  }
};

torch::Tensor FsdpStep::RunBlock(int64_t i, const RunFn& run, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled()) {
    BeforeForward(i);
    torch::Tensor y = run(x);
    AfterForward(i, /*training=*/false);
    return y;
  }
  auto call = c10::make_intrusive<UnitCall>();
  call->step = this;
  call->unit = i;
  call->run = run;
  return UnitFunction::apply(x, call);
}

class Fsdp : public Technique {
 public:
  std::string name() const override { return "fsdp"; }
  std::string summary() const override {
    return "parameters, gradients and optimizer state sharded; a block's weights gathered around its forward and backward";
  }
  Feasibility Feasible(const JobSpec& job, const ClusterSpec&, int devices) const override {
    return DataParallelSplit(job, devices, 0);
  }
  std::vector<KnobSpec> knobs() const override {
    return {{"prefetch", "bool", "true", {}, 0, 0, "gather the next block's weights while this block computes"}};
  }
  Result<std::unique_ptr<TrainStep>> MakeStep(StepContext ctx) const override {
    return MakeInitialized<FsdpStep>(std::move(ctx));
  }
};

}  // namespace

const Technique& FsdpTechnique() {
  static const Fsdp t;
  return t;
}

}  // namespace saturn
