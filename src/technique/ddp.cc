// ddp: the model replicated on every rank, each rank a share of the batch, gradients averaged
// by all-reduce in buckets that go out while backward still runs (grad_buckets.h); no
// communication on accumulation micro-batches. Every rank steps the whole optimizer, so the
// replicas stay equal bit for bit. One rank is plain single-device training.
#include "technique/ddp.h"

#include "technique/grad_buckets.h"

namespace saturn {
namespace {

class DdpStep : public DataParallelStep {
 public:
  explicit DdpStep(StepContext ctx) : DataParallelStep(std::move(ctx)) {}

  Status Init() {
    torch::NoGradGuard no_grad;
    model_->to(ctx_.device);
    model_->train();
    auto named = NamedParams(model_);
    // Equal weights everywhere, whatever each rank built (as torch DDP does at construction).
    if (ranks() > 1) {
      std::vector<WorkPtr> works;
      for (auto& [name, p] : named) works.push_back(group().Broadcast(p, 0));
      SATURN_RETURN_IF_ERROR(WaitAll(works));
    }
    std::vector<torch::Tensor> params;
    for (auto& [name, p] : named) params.push_back(p);
    buckets_ = std::make_unique<GradBuckets>(params, int64_t(KnobNumber(ctx_.knobs, "bucket_mb") * (1 << 20)), ctx_.group);
    std::vector<OptimSlot> slots;
    for (size_t i = 0; i < named.size(); ++i)
      slots.push_back({named[i].first, named[i].second, buckets_->grad(i), named[i].second.dim() >= 2, {}, {}});
    opt_ = std::make_unique<Optimizer>(job().optimizer, std::move(slots));
    return Status::Ok();
  }

  Result<FullState> Gather() override {
    FullState s;
    s.model = model_->hf_tensors();
    s.optimizer = opt_->state();
    s.updates = opt_->updates();
    return s;
  }

  Status Load(const std::map<std::string, torch::Tensor>& model, const std::map<std::string, torch::Tensor>& optimizer,
              long long updates, const std::string& where) override {
    SATURN_RETURN_IF_ERROR(LoadReplica(model_, *opt_, model, optimizer, updates, where));
    return Status::Ok();
  }

 protected:
  Status BeginMicroBatch(bool last) override {
    if (last) buckets_->Arm();
    return Status::Ok();
  }
  Status FinishGradients() override { return buckets_->Finish(); }
  void ZeroGradients() override { buckets_->Zero(); }

 private:
  std::unique_ptr<GradBuckets> buckets_;
};

class Ddp : public Technique {
 public:
  std::string name() const override { return "ddp"; }
  std::string summary() const override {
    return "the model on every rank, a share of the batch each, gradients all-reduced in buckets during backward";
  }
  Feasibility Feasible(const JobSpec& job, const ClusterSpec&, int devices) const override {
    return DataParallelSplit(job, devices, 0);
  }
  std::vector<KnobSpec> knobs() const override { return {BucketKnob()}; }
  Result<std::unique_ptr<TrainStep>> MakeStep(StepContext ctx) const override {
    return MakeInitialized<DdpStep>(std::move(ctx));
  }
};

}  // namespace

KnobSpec BucketKnob() {
  return {"bucket_mb", "number", "25", {}, 0.001, 4096, "gradient bucket size in MiB: smaller buckets start sending sooner"};
}

Status LoadReplica(CausalLM& model, Optimizer& opt, const std::map<std::string, torch::Tensor>& weights,
                   const std::map<std::string, torch::Tensor>& state, long long updates, const std::string& where) {
  SATURN_RETURN_IF_ERROR(model->load_hf_tensors(weights, where + "/model.safetensors"));
  return opt.load_state(state, updates, where + "/optimizer.safetensors");
}

const Technique& DdpTechnique() {
  static const Ddp t;
  return t;
}

}  // namespace saturn
