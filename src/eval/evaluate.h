// Scoring a model on tasks with every rank of a communicator: each rank scores its shard of each
// task's batches (ScoreShard), rank 0 gathers the scores, checks each request was scored once,
// and computes the metrics. `saturn eval` and the trainer's evaluation during training
// (eval.every_steps, and the final weights) both run it.
#pragma once

#include <vector>

#include "comm/communicator.h"
#include "data/tokenizer.h"
#include "eval/metrics.h"
#include "eval/requests.h"
#include "eval/scorer.h"
#include "eval/task.h"
#include "util/status.h"

namespace saturn {

struct TaskOutcome {
  TaskRequests requests;
  std::vector<Score> scores;  // gathered, one per request (rank 0)
  TaskMetrics metrics;        // rank 0
  double seconds = 0;
};

// One outcome per task, complete on rank 0 (the other ranks' hold only their requests). Collective:
// every rank of `comm` must call it with the same tasks. A failure is every rank's.
Result<std::vector<TaskOutcome>> EvaluateTasks(CausalLM& model, const Tokenizer& tok, const std::vector<EvalTask>& tasks,
                                               const ScoreOptions& opt, Communicator& comm);

}  // namespace saturn
