// pipeline: the blocks cut into one stage per rank (stages.h: balanced by FLOPs, the
// embeddings on the first stage, the final norm and head on the last); every stage sees every
// micro-batch of the step. Activations go forward and their gradients back by send/recv, in a
// 1F1B schedule (after a warm-up of stages - rank - 1 forwards, each forward is followed by
// one backward, so a stage holds at most `stages` micro-batches' activations) or GPipe's
// (all forwards, then all backwards). Tied embeddings live on the first and the last stage;
// their two gradients are summed before the step, so both copies stay equal.
#include "technique/pipeline.h"

#include <set>

#include "technique/stages.h"
#include "train/autocast.h"

namespace saturn {
namespace {

// Tags stay below 32768, the least MPI_TAG_UB the standard allows. They may repeat: messages
// with the same source and tag arrive in the order they were sent, which is the order both
// sides issue them in.
constexpr int kTagSpan = 8192;
int ActivationTag(int micro_batch) { return micro_batch % kTagSpan; }
int GradTag(int micro_batch) { return kTagSpan + micro_batch % kTagSpan; }
constexpr int kTiedTag = 2 * kTagSpan;
int GatherTag(int k) { return 2 * kTagSpan + 1 + k % (2 * kTagSpan - 1); }

class PipelineStep : public StepBase {
 public:
  explicit PipelineStep(StepContext ctx) : StepBase(std::move(ctx)), model_(ctx_.model) {}

  Status Init() {
    torch::NoGradGuard no_grad;
    model_->train();
    gpipe_ = ctx_.knobs.count("schedule") && ctx_.knobs.at("schedule") == "gpipe";
    micro_ = MicroBatch(job(), 1, 0);
    micro_batches_ = job().batch_size / micro_;
    first_block_ = BalanceStages(model_->config(), job().seq_len, ranks());
    for (int s = 0; s < ranks(); ++s) owned_.push_back(Owned(s));
    tied_ = model_->tied() && ranks() > 1;
    const std::set<std::string>& mine = owned_[size_t(rank())];
    std::vector<OptimSlot> slots;
    for (auto& [name, p] : NamedParams(model_)) {
      shapes_.emplace_back(name, p.sizes().vec());
      if (!mine.count(name)) {
        p.set_data(torch::empty({0}, p.options()));  // another stage's: release it
        continue;
      }
      p.set_data(p.to(ctx_.device));
      torch::Tensor g = torch::zeros_like(p);
      p.mutable_grad() = g;
      params_.emplace_back(name, p);
      slots.push_back({name, p, g, shapes_.back().second.size() >= 2, {}, {}});
    }
    opt_ = std::make_unique<Optimizer>(job().optimizer, std::move(slots));
    return Status::Ok();
  }

  Result<StepResult> Step(const BatchFn& batch, uint64_t first, double lr) override {
    opt_->zero_grad();
    double loss_sum = 0;
    const int m = micro_batches_;
    std::vector<Pass> passes(static_cast<size_t>(m));
    std::vector<WorkPtr> sends;
    auto forward = [&](int i) -> Status {
      return Forward(i, batch(first + uint64_t(i) * uint64_t(micro_), micro_), true, &passes[size_t(i)], &sends,
                     &loss_sum);
    };
    auto backward = [&](int i) -> Status { return Backward(i, &passes[size_t(i)], &sends); };
    const int warmup = gpipe_ ? m : std::min(ranks() - rank() - 1, m);
    for (int i = 0; i < warmup; ++i) SATURN_RETURN_IF_ERROR(forward(i));
    for (int i = warmup; i < m; ++i) {
      SATURN_RETURN_IF_ERROR(forward(i));
      SATURN_RETURN_IF_ERROR(backward(i - warmup));
    }
    for (int i = m - warmup; i < m; ++i) SATURN_RETURN_IF_ERROR(backward(i));
    SATURN_RETURN_IF_ERROR(WaitAll(sends));
    SATURN_RETURN_IF_ERROR(SumTiedGradients());

    StepResult r;
    double sq = opt_->grad_sq_norm();
    if (tied_ && rank() == ranks() - 1) sq -= TiedSq();  // the tied weight counts once
    Result<double> all = SumOverGroup(sq);
    if (!all.ok()) return all.status();
    r.grad_norm = std::sqrt(std::max(0.0, *all));
    opt_->clip_to(r.grad_norm);
    opt_->step(lr);
    Result<double> loss = FromRank(loss_sum / double(m), ranks() - 1);
    if (!loss.ok()) return loss.status();
    r.loss = *loss;
    return r;
  }

  Result<double> MeanLoss(const BatchFn& batch, uint64_t count) override {
    torch::NoGradGuard no_grad;
    model_->eval();
    double sum = 0;
    std::vector<WorkPtr> sends;
    const uint64_t micro = uint64_t(micro_);
    int i = 0;
    for (uint64_t start = 0; start < count; start += micro, ++i) {
      const int n = int(std::min(micro, count - start));
      Pass pass;
      double loss = 0;
      SATURN_RETURN_IF_ERROR(Forward(i, batch(start, n), false, &pass, &sends, &loss));
      sum += loss * n;
    }
    SATURN_RETURN_IF_ERROR(WaitAll(sends));
    model_->train();
    Result<double> total = FromRank(sum, ranks() - 1);
    if (!total.ok()) return total.status();
    return *total / double(count);
  }

  Result<FullState> Gather() override {
    // Rank 0 receives every other stage's tensors, in the order of the model's parameters.
    FullState s;
    s.updates = opt_->updates();
    std::map<std::string, torch::Tensor> state;
    for (auto& [n, t] : opt_->state()) state[n] = t;
    std::map<std::string, torch::Tensor> weights;
    for (auto& [n, p] : params_) weights[n] = p;
    std::vector<WorkPtr> works;
    int k = 0;  // every rank counts the same tensors in the same order
    for (const auto& [name, shape] : shapes_) {
      const int owner = OwnerOf(name);
      std::vector<std::string> names = {name};
      for (const auto& n : OptimizerStateNames(job().optimizer, name)) names.push_back(n);
      for (size_t j = 0; j < names.size(); ++j, ++k) {
        const std::string& n = names[j];
        const int tag = GatherTag(k);
        NamedTensors& out = j == 0 ? s.model : s.optimizer;
        if (rank() == owner) {
          const torch::Tensor& src = j == 0 ? weights[n] : state[n];
          if (owner == 0) out.emplace_back(n, src.to(torch::kCPU, torch::kFloat32, false, true));
          else works.push_back(group().Send(ToDevice(src), 0, tag));
        } else if (rank() == 0) {
          torch::Tensor buf = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).device(ctx_.device));
          SATURN_RETURN_IF_ERROR(group().Recv(buf, owner, tag)->Wait());
          out.emplace_back(n, buf.to(torch::kCPU));
        }
      }
    }
    SATURN_RETURN_IF_ERROR(WaitAll(works));
    return s;
  }

  Status Load(const std::map<std::string, torch::Tensor>& model, const std::map<std::string, torch::Tensor>& optimizer,
              long long updates, const std::string& where) override {
    torch::NoGradGuard no_grad;
    std::vector<std::pair<std::string, std::vector<int64_t>>> mine, mine_state;
    for (const auto& [name, shape] : shapes_) {
      if (!owned_[size_t(rank())].count(name)) continue;
      mine.emplace_back(name, shape);
      for (const auto& n : OptimizerStateNames(job().optimizer, name)) mine_state.emplace_back(n, shape);
    }
    SATURN_RETURN_IF_ERROR(CheckShapes(model, mine, "tensor", where + "/model.safetensors"));
    SATURN_RETURN_IF_ERROR(CheckShapes(optimizer, mine_state, "optimizer state", where + "/optimizer.safetensors"));
    for (auto& [name, p] : params_) p.copy_(model.at(name));
    for (auto& [name, t] : opt_->state()) t.copy_(optimizer.at(name));
    opt_->set_updates(updates);
    return Status::Ok();
  }

 private:
  // One micro-batch in flight on this stage.
  struct Pass {
    torch::Tensor input;   // received activation (a leaf), stages after the first
    torch::Tensor output;  // sent activation with its graph, stages before the last
    torch::Tensor loss;    // the last stage's
  };

  bool first() const { return rank() == 0; }
  bool last() const { return rank() == ranks() - 1; }
  torch::Tensor ToDevice(const torch::Tensor& t) { return t.to(ctx_.device).contiguous(); }

  // The parameter names stage s holds.
  std::set<std::string> Owned(int s) {
    std::set<std::string> out;
    for (auto& [name, p] : NamedParams(model_))
      for (int b = first_block_[size_t(s)]; b < first_block_[size_t(s) + 1]; ++b)
        if (name.rfind(model_->block_prefix(b), 0) == 0) out.insert(name);
    if (s == 0)
      for (const auto& n : model_->embedding_names()) out.insert(n);
    if (s == ranks() - 1) {
      for (const auto& n : model_->final_names()) out.insert(n);
      if (model_->tied()) out.insert(model_->embedding_names()[0]);
    }
    return out;
  }
  // The stage whose copy is canonical: the first that holds the tensor.
  int OwnerOf(const std::string& name) {
    for (int s = 0; s < ranks(); ++s)
      if (owned_[size_t(s)].count(name)) return s;
    return 0;
  }

  torch::Tensor ActivationLike(int n) {
    return torch::empty({n, job().seq_len, model_->config().hidden},
                        torch::TensorOptions().dtype(torch::kFloat32).device(ctx_.device));
  }

  Status Forward(int i, const torch::Tensor& rows, bool training, Pass* pass, std::vector<WorkPtr>* sends,
                 double* loss_sum) {
    const int n = int(rows.size(0));
    const int64_t t = job().seq_len;
    Autocast ac(ctx_.bf16, ctx_.device.type());
    torch::Tensor x;
    if (first()) {
      x = model_->embed(rows.slice(1, 0, t));
    } else {
      torch::Tensor in = ActivationLike(n);
      SATURN_RETURN_IF_ERROR(group().Recv(in, rank() - 1, ActivationTag(i))->Wait());
      x = training ? in.requires_grad_(true) : in;
      pass->input = x;
    }
    x = model_->run_blocks(x, first_block_[size_t(rank())], first_block_[size_t(rank()) + 1]);
    if (last()) {
      torch::Tensor l = CausalLMImpl::LossFromLogits(model_->head_logits(model_->final_norm(x)), rows.slice(1, 1));
      *loss_sum += l.item<double>();
      if (training) pass->loss = l;
    } else {
      torch::Tensor out = x.to(torch::kFloat32);
      sends->push_back(group().Send(out.detach().contiguous(), rank() + 1, ActivationTag(i)));
      if (training) pass->output = out;
    }
    return Status::Ok();
  }

  Status Backward(int i, Pass* pass, std::vector<WorkPtr>* sends) {
    if (last()) {
      (pass->loss / double(micro_batches_)).backward();
    } else {
      torch::Tensor g = torch::empty_like(pass->output);
      SATURN_RETURN_IF_ERROR(group().Recv(g, rank() + 1, GradTag(i))->Wait());
      pass->output.backward(g);
    }
    if (!first()) sends->push_back(group().Send(pass->input.grad().contiguous(), rank() - 1, GradTag(i)));
    *pass = Pass();
    return Status::Ok();
  }

  torch::Tensor TiedGrad() {
    const std::string name = model_->embedding_names()[0];
    for (auto& [n, p] : params_)
      if (n == name) return p.grad();
    return {};
  }
  double TiedSq() {
    torch::Tensor g = TiedGrad();
    return SquaredNorm(g).item<double>();
  }
  // First and last stage exchange their gradients of the tied embedding; both add them.
  Status SumTiedGradients() {
    if (!tied_ || (!first() && !last())) return Status::Ok();
    torch::NoGradGuard no_grad;
    torch::Tensor g = TiedGrad();
    torch::Tensor other = torch::empty_like(g);
    const int peer = first() ? ranks() - 1 : 0;
    WorkPtr send = group().Send(g.clone(), peer, kTiedTag);
    SATURN_RETURN_IF_ERROR(group().Recv(other, peer, kTiedTag)->Wait());
    SATURN_RETURN_IF_ERROR(send->Wait());
    g.add_(other);
    return Status::Ok();
  }

  CausalLM model_;
  std::unique_ptr<Optimizer> opt_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;  // this stage's, on its device
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes_;  // every parameter's
  std::vector<std::set<std::string>> owned_;                          // per stage
  std::vector<int> first_block_;
  int micro_ = 1, micro_batches_ = 1;
  bool gpipe_ = false, tied_ = false;
};

class Pipeline : public Technique {
 public:
  std::string name() const override { return "pipeline"; }
  std::string summary() const override {
    return "blocks cut into one stage per rank, micro-batches pipelined 1F1B with send/recv";
  }
  Feasibility Feasible(const JobSpec& job, const ClusterSpec&, int devices) const override {
    if (devices < 1) return Feasibility::No("needs at least one device");
    Result<ModelConfig> cfg = LoadModelConfig(ModelConfigPath(job.model));
    if (!cfg.ok()) return Feasibility::No(cfg.status().message());
    if (devices > cfg->layers)
      return Feasibility::No("a stage per device needs a block each: the model has " + std::to_string(cfg->layers) +
                             " blocks, fewer than " + std::to_string(devices) + " devices");
    const int micro = MicroBatch(job, 1, 0);
    if (job.batch_size % micro != 0)
      return Feasibility::No("micro_batch_size " + std::to_string(micro) + " does not divide batch_size " +
                             std::to_string(job.batch_size));
    return Feasibility::Yes();
  }
  std::vector<KnobSpec> knobs() const override {
    return {{"schedule", "choice", "1f1b", {"1f1b", "gpipe"}, 0, 0,
             "1f1b keeps at most `stages` micro-batches of activations; gpipe runs all forwards first"}};
  }
  Result<std::unique_ptr<TrainStep>> MakeStep(StepContext ctx) const override {
    const int layers = ctx.model->config().layers, stages = ctx.group->size();
    if (stages > layers)
      return Status::UserError("pipeline: " + std::to_string(stages) + " stages, but the model has only " +
                               std::to_string(layers) + " blocks; use at most " + std::to_string(layers) + " ranks");
    return MakeInitialized<PipelineStep>(std::move(ctx));
  }
};

}  // namespace

const Technique& PipelineTechnique() {
  static const Pipeline t;
  return t;
}

}  // namespace saturn
