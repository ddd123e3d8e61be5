// offload (ZeRO-Offload style): data parallel as ddp, but the float32 master weights, their
// gradients and the optimizer state live in host memory and the optimizer steps on the CPU.
// The device holds float32 compute weights and their gradients (bf16 precision computes under
// autocast, as everywhere) and activations: per step, gradients go to the host after the
// all-reduce and updated weights come back. (bf16 device copies of the weights would halve the
// device's share again, but then gradients accumulate and reduce in bf16.)
#include "technique/offload.h"

#include "technique/ddp.h"
#include "technique/grad_buckets.h"

namespace saturn {
namespace {

class OffloadStep : public DataParallelStep {
 public:
  explicit OffloadStep(StepContext ctx) : DataParallelStep(std::move(ctx)) {}

  Status Init() {
    torch::NoGradGuard no_grad;
    const bool pin = ctx_.device.is_cuda();
    auto named = NamedParams(model_);
    std::vector<OptimSlot> slots;
    std::vector<torch::Tensor> params;
    for (auto& [name, p] : named) {
      torch::Tensor master = p.detach().to(torch::kFloat32).clone();
      if (pin) master = master.pin_memory();
      torch::Tensor host_grad = torch::zeros_like(master);
      if (pin) host_grad = host_grad.pin_memory();
      slots.push_back({name, master, host_grad, master.dim() >= 2, {}, {}});
      masters_.push_back(master);
      host_grads_.push_back(host_grad);
      p.set_data(p.to(ctx_.device, torch::kFloat32));
      params.push_back(p);
    }
    params_ = params;
    // Equal weights everywhere, whatever each rank built: rank 0's masters, through the device.
    if (ranks() > 1) {
      for (auto& m : masters_) {
        torch::Tensor t = m.to(ctx_.device);
        SATURN_RETURN_IF_ERROR(group().Broadcast(t, 0)->Wait());
        m.copy_(t);
      }
      CopyUp();
    }
    model_->train();
    buckets_ = std::make_unique<GradBuckets>(params, int64_t(KnobNumber(ctx_.knobs, "bucket_mb") * (1 << 20)), ctx_.group);
    opt_ = std::make_unique<Optimizer>(job().optimizer, std::move(slots));
    return Status::Ok();
  }

  Result<FullState> Gather() override {
    FullState s;
    auto named = NamedParams(model_);
    for (size_t i = 0; i < named.size(); ++i) s.model.emplace_back(named[i].first, masters_[i]);
    s.optimizer = opt_->state();
    s.updates = opt_->updates();
    return s;
  }

  Status Load(const std::map<std::string, torch::Tensor>& model, const std::map<std::string, torch::Tensor>& optimizer,
              long long updates, const std::string& where) override {
    torch::NoGradGuard no_grad;
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
    auto named = NamedParams(model_);
    for (auto& [name, p] : named) shapes.emplace_back(name, p.sizes().vec());
    SATURN_RETURN_IF_ERROR(CheckShapes(model, shapes, "tensor", where + "/model.safetensors"));
    for (size_t i = 0; i < named.size(); ++i) masters_[i].copy_(model.at(named[i].first));
    SATURN_RETURN_IF_ERROR(opt_->load_state(optimizer, updates, where + "/optimizer.safetensors"));
    CopyUp();
    return Status::Ok();
  }

 protected:
  Status BeginMicroBatch(bool last) override {
    if (last) buckets_->Arm();
    return Status::Ok();
  }
  Status FinishGradients() override {
    SATURN_RETURN_IF_ERROR(buckets_->Finish());
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < host_grads_.size(); ++i) host_grads_[i].copy_(buckets_->grad(i), /*non_blocking=*/true);
    Synchronize();
    return Status::Ok();
  }
  Status ApplyUpdate(double coef, double lr) override {
    SATURN_RETURN_IF_ERROR(DataParallelStep::ApplyUpdate(coef, lr));
    CopyUp();
    return Status::Ok();
  }
  void ZeroGradients() override { buckets_->Zero(); }

 private:
  // Host masters -> device compute weights.
  void CopyUp() {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) params_[i].copy_(masters_[i], /*non_blocking=*/true);
    Synchronize();
  }
  void Synchronize() {
    // A device-to-host copy of one element waits for every copy queued before it.
    if (ctx_.device.is_cuda() && !params_.empty()) (void)params_.front().view({-1}).slice(0, 0, 1).to(torch::kCPU);
  }

  std::unique_ptr<GradBuckets> buckets_;
  std::vector<torch::Tensor> params_, masters_, host_grads_;
};

class Offload : public Technique {
 public:
  std::string name() const override { return "offload"; }
  std::string summary() const override {
    return "data parallel with the master weights and optimizer state in host memory, stepped on the CPU";
  }
  Feasibility Feasible(const JobSpec& job, const ClusterSpec& cluster, int devices) const override {
    if (cluster.device != "cuda")
      return Feasibility::No("offload moves weights and optimizer state from device memory to host memory; on a "
                             "CPU cluster they are in host memory already (use ddp or fsdp)");
    return DataParallelSplit(job, devices, 0);
  }
  std::vector<KnobSpec> knobs() const override { return {BucketKnob()}; }
  Result<std::unique_ptr<TrainStep>> MakeStep(StepContext ctx) const override {
    if (ctx.device.is_cpu() && !ctx.allow_cpu_offload)
      return Status::UserError("offload needs CUDA devices: on the CPU there is nothing to offload (use ddp or fsdp)");
    return MakeInitialized<OffloadStep>(std::move(ctx));
  }
};

}  // namespace

const Technique& OffloadTechnique() {
  static const Offload t;
  return t;
}

}  // namespace saturn
