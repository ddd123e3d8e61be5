// Task metrics from the scores of a task's requests. Definitions (docs/eval.md "Metrics") follow
// lm-evaluation-harness (acc, acc_norm, perplexity) and MosaicML's in-context-learning evaluator
// (acc_mean_token):
//   lm:     acc = mean over items of [every continuation token greedy];
//           perplexity = exp(-(1/N) sum over items of the continuation's summed loglikelihood).
//   mc:     acc = mean [argmax_c ll_c == gold];
//           acc_norm = mean [argmax_c ll_c / chars_c == gold] (chars: the choice's characters);
//           acc_mean_token = mean [argmax_c ll_c / tokens_c == gold] (tokens: continuation ids).
//   schema: acc = mean [argmax_o ll_o == gold], ll_o: the shared continuation after option o.
// Ties go to the lowest index, as numpy's argmax does.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/request.h"
#include "eval/requests.h"
#include "eval/task.h"
#include "util/status.h"

namespace saturn {

struct TaskMetrics {
  std::string task;  // the task's name
  int n = 0;         // items scored
  std::map<std::string, double> values;  // metric name -> value
};

// `scores[i]` is the score of `requests[i]`; `answer_chars` is parallel to them (TaskRequests).
// Requests may cover a subset of the items (a limited run): the metrics are over the items that
// have requests, each of which must have every one of its choices (options) exactly once.
// Anything else (sizes that differ, an index out of range, a missing or repeated choice) is an
// internal error: the scoring side broke its contract.
Result<TaskMetrics> ComputeMetrics(const EvalTask& task, const std::vector<Request>& requests,
                                   const std::vector<Score>& scores,
                                   const std::vector<int>& answer_chars);
Result<TaskMetrics> ComputeMetrics(const EvalTask& task, const TaskRequests& requests,
                                   const std::vector<Score>& scores);

}  // namespace saturn
