#include "run/status.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/sweep.h"
#include "plan/plan.h"
#include "run/journal.h"
#include "run/report.h"
#include "util/dir_lock.h"
#include "util/files.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Secs(const json& v) {
  if (!v.is_number()) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.0fs", v.get<double>());
  return b;
}

// The last `n` lines of a file, indented.
std::string Tail(const std::string& path, int n) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  std::vector<std::string> lines;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > size_t(n) ? lines.size() - size_t(n) : 0; i < lines.size(); ++i)
    out += "      | " + lines[i] + "\n";
  return out;
}

// The journal's path and, from its last "run" event, the sweep and plan it executed.
struct Located {
  std::string journal, sweep, plan;
};

Result<Located> Locate(const std::string& arg) {
  Located l;
  if (fs::is_directory(arg)) {
    l.journal = arg + "/journal.jsonl";
  } else {
    Result<Sweep> sweep = LoadSweep(arg);
    if (!sweep.ok()) return sweep.status();
    l.journal = sweep->output_dir + "/journal.jsonl";
    l.sweep = arg;
  }
  if (!fs::exists(l.journal))
    return Status::UserError(l.journal + ": no journal: this sweep has not been run with --plan (saturn run SWEEP "
                             "--plan PLAN.json), or its output directory is elsewhere");
  return l;
}

}  // namespace

Result<SweepStatus> GetSweepStatus(const std::string& arg) {
  Result<Located> where = Locate(arg);
  if (!where.ok()) return where.status();
  Result<std::vector<json>> events = ReadJournal(where->journal);
  if (!events.ok()) return events.status();
  std::string plan_path, sweep_path = where->sweep;
  for (const json& e : *events)
    if (e.value("event", "") == "run") {
      plan_path = e.value("plan", "");
      if (sweep_path.empty()) sweep_path = e.value("sweep", "");
    }
  if (plan_path.empty()) return Status::UserError(where->journal + ": no \"run\" event names the plan it executed");
  Result<Sweep> sweep = LoadSweep(sweep_path);
  if (!sweep.ok()) return sweep.status();
  Result<Plan> plan = LoadPlan(plan_path);
  if (!plan.ok()) return plan.status();
  const json r = RunReport(*sweep, *plan, plan_path, *events);
  const std::string holder = DirLock::Holder(sweep->output_dir);

  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-11s %-12s %-10s %5s %-16s %9s %9s %9s %9s %9s\n", "job", "state",
                "technique", "devices", "tries", "progress", "loss", "plan_beg", "plan_end", "start", "end");
  out << line;
  int finished = 0, failed = 0;
  std::string failures;
  for (json j : r["job_results"]) {
    std::string state = j["state"];
    if (state == "interrupted" && !holder.empty()) state = "running";
    finished += state == "finished";
    failed += state == "failed";
    std::string progress = "-";
    if (j["step"].is_number()) progress = std::to_string(j["step"].get<long long>()) + "/" + std::to_string(j["steps"].get<long long>());
    if (state == "running" && j["step"].is_number() && j["seconds_per_step"].is_number())
      progress += " ETA " + Secs(std::max(0.0, j["steps"].get<double>() - j["step"].get<double>()) *
                                 j["seconds_per_step"].get<double>());
    const std::string devices = FormatPlacement(j["placement"]);
    char loss[32] = "-";
    if (j["loss"].is_number()) std::snprintf(loss, sizeof loss, "%.4f", j["loss"].get<double>());
    std::snprintf(line, sizeof line, "%-24s %-11s %-12s %-10s %5d %-16s %9s %9s %9s %9s %9s\n",
                  j["job"].get<std::string>().c_str(), state.c_str(),
                  (j["technique"].get<std::string>() + " x" + std::to_string(j["devices"].get<int>())).c_str(),
                  devices.c_str(), j["attempts"].get<int>(), progress.c_str(), loss,
                  Secs(j["planned_start_seconds"]).c_str(), Secs(j["planned_end_seconds"]).c_str(),
                  Secs(j["actual_start_seconds"]).c_str(), Secs(j["actual_end_seconds"]).c_str());
    out << line;
    if (state == "failed") {
      const std::string log = sweep->output_dir + "/" + j["job"].get<std::string>() + "/run.log";
      failures += "  " + j["job"].get<std::string>() + " failed; the end of " + log + ":\n" + Tail(log, 5);
    }
  }
  out << failures;
  for (const json& x : r["excluded_devices"]) {
    std::string jobs;
    for (const json& n : x["jobs"]) jobs += (jobs.empty() ? "" : ", ") + n.get<std::string>();
    out << "out of use: " << x["where"].get<std::string>() << " (launches of " << jobs << " failed there)\n";
  }
  const int total = int(r["job_results"].size());
  std::snprintf(line, sizeof line, "%d of %d jobs finished, %d failed; planned makespan %s", finished, total, failed,
                Secs(r["planned_makespan_seconds"]).c_str());
  out << line;
  if (r["actual_makespan_seconds"].is_number()) {
    out << ", actual " << Secs(r["actual_makespan_seconds"]);
  } else if (r["started_epoch_seconds"].is_number() && (!holder.empty() || finished + failed < total)) {
    // The makespan so far, while the sweep is under way or can go on (--resume): since the first
    // run began, downtime between runs included. A sweep that ended with failures has none.
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out << ", " << Secs(json(std::max(0.0, now - r["started_epoch_seconds"].get<double>()))) << " so far";
  }
  out << (holder.empty() ? "; no orchestrator is running" : "; being run by " + holder) << "\n";
  SweepStatus s;
  s.text = out.str();
  s.exit_code = finished == total ? 0 : failed > 0 && holder.empty() ? 1 : 3;
  return s;
}

}  // namespace saturn
