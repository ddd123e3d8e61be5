// report.json in the sweep's output directory: for every job of the plan its planned and actual
// technique, devices, start and end, attempts, state, device-seconds and final loss; planned and
// actual makespan and the device-seconds left idle. Made from the journal alone (plus each job's metrics.jsonl),
// so it is the same whether one orchestrator ran the sweep or several resumed it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/sweep.h"
#include "plan/plan.h"
#include "util/status.h"

namespace saturn {

// The report as JSON. Times are seconds since the journal's first "run" event. Where a job ran:
// `placement` ([{"node", "device_ids"}], several nodes for a job wider than one), and its first
// node's as `node` and `device_ids`.
nlohmann::json RunReport(const Sweep& sweep, const Plan& plan, const std::string& plan_path,
                         const std::vector<nlohmann::json>& events);

// Writes RunReport to `path` atomically, and beside it report.md, executed.svg and loss.svg
// (run/report_views.h).
Status WriteRunReport(const Sweep& sweep, const Plan& plan, const std::string& plan_path,
                      const std::vector<nlohmann::json>& events, const std::string& path);

// "n:0,1", or across nodes "a:0,1+b:0,1", from a report's placement.
std::string FormatPlacement(const nlohmann::json& placement);

}  // namespace saturn
