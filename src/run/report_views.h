// The executed sweep for people, made from report.json (run/report.h): report.md, the Gantt chart
// of what ran where and when (executed.svg, the planned chart's colours), and every job's loss
// curve (loss.svg). Written beside report.json each time it is.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plan/plan.h"

namespace saturn {

// One row per device of the nodes jobs ran on, a bar per launch (hatched when it did not finish).
std::string ExecutedSvg(const Plan& plan, const nlohmann::json& report);

// Loss against step for every job with metrics in `output_dir`/<job>/metrics.jsonl.
std::string LossSvg(const Plan& plan, const nlohmann::json& report, const std::string& output_dir);

// The summary, a table of jobs (planned and actual), the re-plans adopted, and the charts.
std::string ReportMarkdown(const nlohmann::json& report);

}  // namespace saturn
