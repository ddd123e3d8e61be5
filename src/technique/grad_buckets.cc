#include "technique/grad_buckets.h"

#include <mutex>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace saturn {

struct GradBuckets::State {
  struct Bucket {
    torch::Tensor flat;
    int pending = 0, size = 0;  // parameters still to report this step; all of them
    WorkPtr work;
  };
  std::shared_ptr<ProcessGroup> group;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;       // per parameter
  std::vector<torch::Tensor> views;    // per parameter: its .grad
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;  // kept alive: they hold the hooks
  std::vector<bool> reported;
  std::mutex mu;
  bool armed = false;
  size_t next = 0;  // the next bucket to send
  Status status = Status::Ok();

  // Sends every ready bucket from `next` on, in order.
  void SendReady() {
    while (next < buckets.size() && buckets[next].pending == 0) {
      buckets[next].work = group->AllReduce(buckets[next].flat);
      ++next;
    }
  }
  void Report(size_t param) {
    std::lock_guard<std::mutex> l(mu);
    if (!armed) return;
    if (reported[param]) {
      // A parameter accumulated twice in one backward (used on both sides of a checkpointed
      // region): its bucket may already be on the wire with a partial gradient.
      status = Status::Internal("ddp: a parameter's gradient was accumulated twice in one backward; "
                                "its bucket was sent early");
      return;
    }
    reported[param] = true;
    --buckets[bucket_of[param]].pending;
    SendReady();
  }
};

namespace {

class ReportHook : public torch::autograd::FunctionPostHook {
 public:
  ReportHook(std::weak_ptr<GradBuckets::State> s, size_t i) : s_(std::move(s)), i_(i) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    if (auto s = s_.lock()) s->Report(i_);
    return outputs;
  }

 private:
  std::weak_ptr<GradBuckets::State> s_;
  size_t i_;
};

}  // namespace

GradBuckets::GradBuckets(const std::vector<torch::Tensor>& params, int64_t bucket_bytes,
                         std::shared_ptr<ProcessGroup> group)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.group = std::move(group);
  const size_t n = params.size();
  s.bucket_of.assign(n, 0);
  s.views.resize(n);
  s.reported.assign(n, false);
  // Reverse order; a new bucket once the current one reaches bucket_bytes.
  std::vector<std::vector<size_t>> members(1);
  int64_t bytes = 0;
  for (size_t k = n; k-- > 0;) {
    if (bytes >= bucket_bytes && !members.back().empty()) {
      members.emplace_back();
      bytes = 0;
    }
    members.back().push_back(k);
    bytes += params[k].numel() * int64_t(params[k].element_size());
  }
  torch::NoGradGuard no_grad;
  for (const auto& m : members) {
    int64_t numel = 0;
    for (size_t k : m) numel += params[k].numel();
    State::Bucket b;
    b.flat = torch::zeros({numel}, params[m.front()].options());
    b.size = int(m.size());
    int64_t off = 0;
    for (size_t k : m) {
      s.bucket_of[k] = s.buckets.size();
      s.views[k] = b.flat.narrow(0, off, params[k].numel()).view(params[k].sizes());
      off += params[k].numel();
      torch::Tensor p = params[k];
      p.mutable_grad() = s.views[k];
    }
    s.buckets.push_back(std::move(b));
  }
  if (s.group->size() == 1) return;  // alone: nothing to send, no hooks needed
  for (size_t k = 0; k < n; ++k) {
    auto acc = torch::autograd::impl::grad_accumulator(params[k]);
    acc->add_post_hook(std::make_unique<ReportHook>(state_, k));
    s.accumulators.push_back(std::move(acc));
  }
}

GradBuckets::~GradBuckets() = default;

torch::Tensor GradBuckets::grad(size_t i) const { return state_->views[i]; }

int GradBuckets::buckets() const { return int(state_->buckets.size()); }

int GradBuckets::sent() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return int(state_->next);
}

void GradBuckets::Zero() {
  torch::NoGradGuard no_grad;
  for (auto& b : state_->buckets) b.flat.zero_();
}

void GradBuckets::Arm() {
  State& s = *state_;
  if (s.group->size() == 1) return;
  std::lock_guard<std::mutex> l(s.mu);
  s.armed = true;
  s.next = 0;
  s.reported.assign(s.reported.size(), false);
  for (auto& b : s.buckets) {
    b.pending = b.size;
    b.work = nullptr;
  }
}

Status GradBuckets::Finish() {
  State& s = *state_;
  if (s.group->size() == 1) return Status::Ok();
  {
    std::lock_guard<std::mutex> l(s.mu);
    for (auto& b : s.buckets) b.pending = 0;  // parameters that got no gradient: zeros go out
    s.SendReady();
    s.armed = false;
  }
  Status st = s.status;
  torch::NoGradGuard no_grad;
  for (auto& b : s.buckets) {
    Status w = b.work->Wait();
    if (st.ok() && !w.ok()) st = w;
    b.flat.div_(double(s.group->size()));
  }
  s.status = Status::Ok();
  return st;
}

}  // namespace saturn
