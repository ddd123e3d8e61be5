#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace saturn {
namespace {

// The first index of the largest value: numpy's argmax.
int Argmax(const std::vector<double>& v) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(v.size()); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

struct Slot {
  const Request* request = nullptr;
  const Score* score = nullptr;
  int chars = 0;
};

}  // namespace

Result<TaskMetrics> ComputeMetrics(const EvalTask& task, const std::vector<Request>& requests,
                                   const std::vector<Score>& scores,
                                   const std::vector<int>& answer_chars) {
  const std::string name = "task '" + task.spec.name + "'";
  if (scores.size() != requests.size() || answer_chars.size() != requests.size()) {
    return Status::Internal(name + ": " + std::to_string(requests.size()) + " requests but " +
                            std::to_string(scores.size()) + " scores and " +
                            std::to_string(answer_chars.size()) + " answer lengths");
  }
  // Per item, its requests by choice; items without any stay empty and are not scored.
  std::vector<std::vector<Slot>> by_item(task.items.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    if (r.item < 0 || r.item >= static_cast<int>(task.items.size())) {
      return Status::Internal(name + ": request " + std::to_string(i) + " names item " +
                              std::to_string(r.item) + " of " + std::to_string(task.items.size()));
    }
    std::vector<Slot>& slots = by_item[r.item];
    const int n = task.items[r.item].num_requests();
    if (slots.empty()) slots.resize(n);
    if (r.choice < 0 || r.choice >= n || slots[r.choice].request) {
      return Status::Internal(name + ": request " + std::to_string(i) + " for item " +
                              std::to_string(r.item) + " has choice " + std::to_string(r.choice) +
                              (r.choice >= 0 && r.choice < n ? ", already scored"
                                                             : ", out of range"));
    }
    slots[r.choice] = {&r, &scores[i], answer_chars[i]};
  }

  const std::string& kind = task.spec.kind;
  TaskMetrics m;
  m.task = task.spec.name;
  double acc = 0, acc_norm = 0, acc_token = 0, ll_sum = 0;
  for (size_t item = 0; item < by_item.size(); ++item) {
    const std::vector<Slot>& slots = by_item[item];
    if (slots.empty()) continue;
    for (size_t c = 0; c < slots.size(); ++c) {
      if (!slots[c].request) {
        return Status::Internal(name + ": item " + std::to_string(item) +
                                " has no score for choice " + std::to_string(c));
      }
    }
    ++m.n;
    const int gold = task.items[item].gold;
    if (kind == "lm") {
      acc += slots[0].score->greedy ? 1 : 0;
      ll_sum += slots[0].score->loglikelihood;
      continue;
    }
    std::vector<double> ll, per_char, per_token;
    for (const Slot& s : slots) {
      const double l = s.score->loglikelihood;
      ll.push_back(l);
      per_char.push_back(l / std::max(1, s.chars));
      per_token.push_back(l / std::max<size_t>(1, s.request->continuation.size()));
    }
    acc += Argmax(ll) == gold;
    acc_norm += Argmax(per_char) == gold;
    acc_token += Argmax(per_token) == gold;
  }
  if (m.n == 0) return m;  // nothing scored: no values
  const double n = m.n;
  m.values["acc"] = acc / n;
  if (kind == "lm") {
    m.values["perplexity"] = std::exp(-ll_sum / n);
  } else if (kind == "mc") {
    m.values["acc_norm"] = acc_norm / n;
    m.values["acc_mean_token"] = acc_token / n;
  }
  return m;
}

Result<TaskMetrics> ComputeMetrics(const EvalTask& task, const TaskRequests& requests,
                                   const std::vector<Score>& scores) {
  return ComputeMetrics(task, requests.requests, scores, requests.answer_chars);
}

}  // namespace saturn
