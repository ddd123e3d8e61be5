// The reference loop and the padded-to-max baseline of scorer.h.
#include <algorithm>

#include "eval/score_common.h"
#include "eval/scorer.h"

namespace saturn {

std::vector<Score> ScorePlain(CausalLM& model, const std::vector<Request>& reqs, const std::string& device,
                              PlainHead head) {
  const int max_positions = model->config().max_positions;
  CheckRequests(reqs, max_positions);
  EvalScope scope(model, device);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  std::vector<Score> out(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Request& r = reqs[i];
    std::vector<int64_t> inp = TruncatedInput(r, max_positions);
    const int64_t n = static_cast<int64_t>(inp.size()), c = static_cast<int64_t>(r.continuation.size());
    torch::Tensor ids = torch::tensor(inp, i64).unsqueeze(0).to(scope.device());
    torch::Tensor rows;  // the logits at the positions that predict the continuation
    if (head == PlainHead::kAllRows) {
      rows = model->forward(ids)[0].narrow(0, n - c, c);
    } else {
      torch::Tensor positions = torch::arange(n, i64).unsqueeze(0).to(scope.device());
      torch::Tensor mask = torch::ones({1, n, n}, torch::kBool).tril().to(scope.device());
      rows = model->head_logits(model->hidden_states(ids, positions, mask)[0].narrow(0, n - c, c));
    }
    std::vector<int64_t> cont(r.continuation.begin(), r.continuation.end());
    // Log-softmax is row-wise: the continuation rows alone give the full log_softmax's values.
    TokenScores s = ScoreRows(rows, torch::tensor(cont, i64).to(scope.device()));
    out[i].greedy = true;
    for (int64_t j = 0; j < c; ++j) {
      out[i].loglikelihood += s.logprob[j];
      out[i].greedy = out[i].greedy && s.greedy[j];
    }
  }
  return out;
}

std::vector<Score> ScorePaddedToMax(CausalLM& model, const std::vector<Request>& reqs, int batch_size,
                                    const std::string& device) {
  TORCH_CHECK(batch_size >= 1, "batch_size must be positive");
  const int64_t max_positions = model->config().max_positions;
  CheckRequests(reqs, static_cast<int>(max_positions));
  EvalScope scope(model, device);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  std::vector<Score> out(reqs.size());
  for (size_t begin = 0; begin < reqs.size(); begin += batch_size) {
    const size_t end = std::min(reqs.size(), begin + batch_size);
    const int64_t b = static_cast<int64_t>(end - begin);
    // Right padding with token 0: causal attention keeps it out of every real position.
    torch::Tensor ids = torch::zeros({b, max_positions}, i64);
    std::vector<int64_t> rows, targets;
    for (size_t i = begin; i < end; ++i) {
      std::vector<int64_t> inp = TruncatedInput(reqs[i], static_cast<int>(max_positions));
      const int64_t n = static_cast<int64_t>(inp.size()), c = static_cast<int64_t>(reqs[i].continuation.size());
      const int64_t row = static_cast<int64_t>(i - begin);
      ids[row].narrow(0, 0, n).copy_(torch::tensor(inp, i64));
      for (int64_t j = 0; j < c; ++j) {
        rows.push_back(row * max_positions + n - c + j);
        targets.push_back(reqs[i].continuation[j]);
      }
    }
    torch::Tensor logits = model->forward(ids.to(scope.device()));
    logits = logits.reshape({-1, logits.size(-1)}).index_select(0, torch::tensor(rows, i64).to(scope.device()));
    TokenScores s = ScoreRows(logits, torch::tensor(targets, i64).to(scope.device()));
    size_t k = 0;
    for (size_t i = begin; i < end; ++i) {
      out[i].greedy = true;
      for (size_t j = 0; j < reqs[i].continuation.size(); ++j, ++k) {
        out[i].loglikelihood += s.logprob[k];
        out[i].greedy = out[i].greedy && s.greedy[k];
      }
    }
  }
  return out;
}

}  // namespace saturn
