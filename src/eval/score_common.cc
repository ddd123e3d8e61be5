#include "eval/score_common.h"

#include <algorithm>

#include "model/layers.h"

namespace saturn {

void CheckRequests(const std::vector<Request>& reqs, int max_positions) {
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Request& r = reqs[i];
    TORCH_CHECK(!r.context.empty(), "request ", i, " (item ", r.item, "): empty context (use the end-of-text token)");
    TORCH_CHECK(!r.continuation.empty() && r.continuation.size() <= static_cast<size_t>(max_positions), "request ", i,
                " (item ", r.item, "): continuation of ", r.continuation.size(), " tokens, outside 1..", max_positions);
  }
}

EvalScope::EvalScope(CausalLM& model, const std::string& device)
    : model_(model), was_training_(model->is_training()), device_(device) {
  auto params = model_->parameters();
  TORCH_CHECK(!params.empty(), "model has no parameters");
  const torch::Device on = params[0].device();
  TORCH_CHECK(on.type() == device_.type() && (!device_.has_index() || on.index() == device_.index()),
              "the model is on ", on.str(), ", not on the scoring device ", device_.str());
  device_ = on;
  model_->eval();
}

EvalScope::~EvalScope() { model_->train(was_training_); }

std::vector<int64_t> TruncatedInput(const Request& r, int max_positions) {
  std::vector<int64_t> whole(r.context.begin(), r.context.end());
  whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
  whole.pop_back();
  const size_t keep = std::min<size_t>(whole.size(), static_cast<size_t>(max_positions));
  return std::vector<int64_t>(whole.end() - keep, whole.end());
}

TokenScores ScoreRows(const torch::Tensor& rows, const torch::Tensor& targets,
                      const std::function<torch::Tensor(const torch::Tensor&)>& head) {
  // Rows per head application: bounds the logits alive at once (chunk x vocab x 4 bytes). On the
  // CPU, ~13 MB at GPT-2's vocabulary, which glibc's allocator reuses from its heap; a chunk of
  // hundreds of MB is a fresh mmap each time, paid in page faults (the kernel zeroes every page):
  // with 1024 rows, system time was as large as compute time on HellaSwag. CUDA's caching
  // allocator reuses blocks of any size, and there larger chunks fill the device better.
  const int64_t chunk = rows.device().is_cuda() ? 1024 : 64;
  const int64_t n = rows.size(0);
  std::vector<torch::Tensor> logprobs, greedy;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t len = std::min(chunk, n - start);
    torch::Tensor logits = rows.narrow(0, start, len);
    if (head) logits = head(logits);
    logits = logits.to(AtLeastFloat32(logits.scalar_type()));
    torch::Tensor t = targets.narrow(0, start, len).unsqueeze(1);
    // log_softmax(x)[t] = x[t] - logsumexp(x), without a second chunk x vocab tensor.
    logprobs.push_back((logits.gather(1, t) - torch::logsumexp(logits, -1, /*keepdim=*/true)).squeeze(1));
    greedy.push_back(logits.argmax(-1).eq(t.squeeze(1)));
  }
  TokenScores out;
  if (n == 0) return out;
  torch::Tensor lp = torch::cat(logprobs).to(torch::kCPU, torch::kFloat64).contiguous();
  torch::Tensor g = torch::cat(greedy).to(torch::kCPU).contiguous();
  out.logprob.assign(lp.data_ptr<double>(), lp.data_ptr<double>() + n);
  out.greedy.assign(g.data_ptr<bool>(), g.data_ptr<bool>() + n);
  return out;
}

}  // namespace saturn
