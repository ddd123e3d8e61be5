// What a job's metrics.jsonl says last: read by the report, `saturn status` and the
// orchestrator's re-planning (a running job's step rate).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace saturn {

// The last training line's step, loss and training seconds (cumulative over resumes); nulls
// when the file is missing or has no training line yet.
struct LastMetrics {
  nlohmann::json step = nullptr, loss = nullptr, seconds = nullptr, tokens_per_second = nullptr;
  // The first training line's: the rate between it and the last leaves out the first step's warm-up.
  nlohmann::json first_step = nullptr, first_seconds = nullptr;
  // The last evaluation line's scores ({task: {metric: value}}), step, and whether it was the
  // final weights' (eval.every_steps).
  nlohmann::json eval = nullptr, eval_step = nullptr, eval_final = false;
};

LastMetrics ReadLastMetrics(const std::string& metrics_path);

// Seconds a step takes between the first and last training lines, which leaves the first step's
// warm-up out; 0 until two steps are logged. The one rate behind every ETA: the live status
// line's, `saturn status`'s (report.json `seconds_per_step`) and the re-planner's fallback.
double SecondsPerStep(const LastMetrics& m);

}  // namespace saturn
