#include "run/orchestrator.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "run/journal.h"
#include "run/report.h"
#include "util/files.h"
#include "util/signals.h"
#include "util/subprocess.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// The line each launch writes first in the job's log.
const std::string kLaunched = "saturn run: launched ";

enum class State { kWaiting, kRunning, kFinished, kFailed };

struct Job {
  int index = 0;  // in the plan
  const JobSpec* spec = nullptr;
  const Config* config = nullptr;
  const Assignment* planned = nullptr;
  int node = 0;
  std::vector<int> slots;  // the plan's device ids on its node
  State state = State::kWaiting;
  int attempts = 0;        // launches so far, in this orchestrator
  bool resume = false;     // its next launch continues from a checkpoint
  Subprocess proc;
  Clock::time_point started;
  std::string log;
};

std::string Join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

std::string Secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f s", s);
  return b;
}

class Orchestrator {
 public:
  Orchestrator(const Sweep& sweep, const Plan& plan, const ExecuteOptions& opt)
      : sweep_(sweep), plan_(plan), opt_(opt), dir_(sweep.output_dir) {}

  Status Run() {
    SATURN_RETURN_IF_ERROR(BuildJobs());
    if (opt_.dry_run) return DryRun();
    SATURN_RETURN_IF_ERROR(Prepare());
    const auto t0 = Clock::now();
    while (Pending()) {
      if (StopSignal() != 0) return Stop(StopSignal());
      for (Job& j : jobs_)
        if (j.state == State::kWaiting && Ready(j)) SATURN_RETURN_IF_ERROR(Launch(j));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      for (Job& j : jobs_)
        if (j.state == State::kRunning && j.proc.Poll()) SATURN_RETURN_IF_ERROR(Ended(j));
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    return Finish(wall);
  }

 private:
  Status BuildJobs() {
    const Instance& inst = plan_.instance;
    for (size_t i = 0; i < plan_.schedule.jobs.size(); ++i) {
      const Assignment& a = plan_.schedule.jobs[i];
      const PlanJob& pj = inst.jobs[i];
      Job j;
      j.index = int(i);
      j.spec = sweep_.find_job(pj.name);
      if (!j.spec)
        return Status::UserError(opt_.plan_path + ": job '" + pj.name + "' is not in " + sweep_.path +
                                 "; plan this sweep again (saturn plan)");
      j.config = &pj.configs[a.config];
      j.planned = &a;
      const Placement& pl = j.config->placements[a.placement];
      if (pl.nodes.size() != 1)
        return Status::UserError(opt_.plan_path + ": job '" + pj.name + "' spans " + std::to_string(pl.nodes.size()) +
                                 " nodes; executing jobs across nodes is not supported yet: plan with device counts "
                                 "up to one node's");
      j.node = pl.nodes[0];
      j.slots = a.device_ids[0];
      nodes_used_.insert(j.node);
      jobs_.push_back(std::move(j));
    }
    if (nodes_used_.size() > 1)
      return Status::UserError(opt_.plan_path + ": the plan uses " + std::to_string(nodes_used_.size()) +
                               " nodes; executing a plan on several nodes is not supported yet (one node's jobs run "
                               "here): plan for a cluster of one node");
    // Each device's jobs in planned order: a job starts when it heads the queue of all its devices.
    std::vector<int> order(jobs_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return jobs_[a].planned->start < jobs_[b].planned->start; });
    for (int i : order)
      for (int d : jobs_[i].slots) queues_[{jobs_[i].node, d}].push_back(i);
    return Status::Ok();
  }

  int NodeSlots(const Job& j) const { return plan_.instance.nodes[j.node].devices; }

  std::vector<std::string> Command(const Job& j) const {
    std::vector<std::string> argv = {opt_.saturn, "run", sweep_.path, "--only", j.spec->name, "--technique",
                                     j.config->technique, "--slots", Join(j.slots)};
    if (j.config->knobs_json != "{}" && !j.config->knobs_json.empty())
      argv.insert(argv.end(), {"--knobs", j.config->knobs_json});
    if (sweep_.cluster.device == "cuda") argv.insert(argv.end(), {"--device", "cuda"});
    if (opt_.threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(opt_.threads)});
    if (j.resume) argv.push_back("--resume");
    else if (opt_.restart) argv.push_back("--restart");
    return opt_.launcher.Command(j.config->devices, NodeSlots(j), argv, "saturn-" + j.spec->name);
  }

  Status DryRun() {
    std::vector<const Job*> order;
    for (const Job& j : jobs_) order.push_back(&j);
    std::stable_sort(order.begin(), order.end(),
                     [](const Job* a, const Job* b) { return a->planned->start < b->planned->start; });
    for (const Job* j : order)
      std::printf("%s: %s x%d on %s devices %s, planned %s .. %s\n  %s\n", j->spec->name.c_str(),
                  j->config->technique.c_str(), j->config->devices, plan_.instance.nodes[j->node].name.c_str(),
                  Join(j->slots).c_str(), Secs(j->planned->start).c_str(), Secs(j->planned->end).c_str(),
                  ShellLine(Command(*j)).c_str());
    std::printf("%zu jobs, planned makespan %s; launched with %s; nothing run (--dry-run)\n", jobs_.size(),
                Secs(plan_.makespan()).c_str(), opt_.launcher.Describe().c_str());
    return Status::Ok();
  }

  // The journal: refused when an earlier run left one and neither --resume nor --restart says
  // what to do with it; with --resume, the jobs it saw finish are done.
  Status Prepare() {
    const std::string path = dir_ + "/journal.jsonl";
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return Status::UserError(dir_ + ": cannot create the sweep's output directory: " + ec.message());
    const bool had = fs::exists(path);
    if (had && !opt_.resume && !opt_.restart)
      return Status::UserError(path + ": an earlier run of this sweep left its journal; pass --resume to continue it "
                               "(finished jobs stay done) or --restart to run every job again");
    if (!had && !opt_.restart) {
      for (const Job& j : jobs_) {
        const std::string jd = dir_ + "/" + j.spec->name;
        if (!opt_.resume && (fs::exists(jd + "/metrics.jsonl") || fs::exists(jd + "/checkpoints")))
          return Status::UserError(jd + ": job '" + j.spec->name + "' has results of an earlier run; pass --resume "
                                   "to continue it or --restart to start it over");
      }
    }
    if (had && opt_.restart) fs::remove(path, ec);
    if (had && opt_.resume) {
      Result<std::vector<json>> events = ReadJournal(path);
      if (!events.ok()) return events.status();
      for (const json& e : *events) {
        if (e["event"] == "finish" && e.contains("job")) done_.insert(e["job"].get<std::string>());
        if (e["event"] == "run" && !origin_ && e.contains("time")) origin_ = e["time"].get<double>();
      }
    }
    Result<Journal> j = Journal::Open(path);
    if (!j.ok()) return j.status();
    journal_ = std::make_unique<Journal>(std::move(*j));
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "run"},
                                             {"sweep", fs::absolute(sweep_.path).string()},
                                             {"plan", fs::absolute(opt_.plan_path).string()},
                                             {"planned_makespan_seconds", plan_.makespan()},
                                             {"resume", opt_.resume},
                                             {"launcher", opt_.launcher.Describe()}}));
    for (Job& j : jobs_) {
      if (done_.count(j.spec->name)) {
        j.state = State::kFinished;
        Release(j);
        Say(j.spec->name + ": finished in an earlier run");
      } else {
        j.resume = opt_.resume;
      }
    }
    return Status::Ok();
  }

  bool Pending() const {
    for (const Job& j : jobs_)
      if (j.state == State::kWaiting || j.state == State::kRunning) return true;
    return false;
  }

  bool Ready(const Job& j) const {
    for (int d : j.slots) {
      auto q = queues_.find({j.node, d});
      if (q == queues_.end() || q->second.empty() || q->second.front() != j.index) return false;
    }
    return true;
  }

  // The job no longer holds its devices: the next job of each device's queue may start.
  void Release(const Job& j) {
    for (int d : j.slots) {
      auto& q = queues_[{j.node, d}];
      q.erase(std::remove(q.begin(), q.end(), j.index), q.end());
    }
  }

  Status Launch(Job& j) {
    std::error_code ec;
    const std::string jd = dir_ + "/" + j.spec->name;
    fs::create_directories(jd, ec);
    j.log = jd + "/run.log";
    const std::vector<std::string> argv = Command(j);
    ++j.attempts;
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "start"},
                                             {"job", j.spec->name},
                                             {"technique", j.config->technique},
                                             {"devices", j.config->devices},
                                             {"node", plan_.instance.nodes[j.node].name},
                                             {"device_ids", j.slots},
                                             {"attempt", j.attempts},
                                             {"resume", j.resume},
                                             {"command", ShellLine(argv)}}));
    {
      FILE* f = std::fopen(j.log.c_str(), j.attempts == 1 && !j.resume ? "w" : "a");
      if (!f) return Status::UserError(j.log + ": cannot write the job's log");
      std::fprintf(f, "%s(attempt %d): %s\n", kLaunched.c_str(), j.attempts, ShellLine(argv).c_str());
      std::fclose(f);
    }
    // Should the orchestrator die, its jobs checkpoint and stop rather than train on unwatched.
    Result<Subprocess> p = Subprocess::Start(argv, j.log, SIGUSR1);
    if (!p.ok()) return Status::UserError("cannot start job '" + j.spec->name + "': " + p.status().message());
    j.proc = std::move(*p);
    j.started = Clock::now();
    j.state = State::kRunning;
    Say("started " + j.spec->name + ": " + j.config->technique + " x" + std::to_string(j.config->devices) +
        " on devices " + Join(j.slots) + (j.attempts > 1 ? " (attempt " + std::to_string(j.attempts) + ")" : "") +
        "; log " + j.log);
    return Status::Ok();
  }

  Status Ended(Job& j) {
    const double took = std::chrono::duration<double>(Clock::now() - j.started).count();
    const int code = j.proc.exit_code();
    if (code == 0) {
      j.state = State::kFinished;
      Release(j);
      SATURN_RETURN_IF_ERROR(
          journal_->Append({{"event", "finish"}, {"job", j.spec->name}, {"attempt", j.attempts}, {"seconds", took}}));
      Say("finished " + j.spec->name + " in " + Secs(took) + " (planned " +
          Secs(j.planned->end - j.planned->start) + ")");
      return Status::Ok();
    }
    const std::string why = LastError(j.log);
    // Exit 2 is a user error (a bad sweep, a job that cannot train so): a retry would fail alike.
    const bool retry = code != 2 && j.attempts <= opt_.max_retries;
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "fail"},
                                             {"job", j.spec->name},
                                             {"attempt", j.attempts},
                                             {"exit_code", code},
                                             {"reason", why},
                                             {"retry", retry}}));
    Say(j.spec->name + " failed (exit " + std::to_string(code) + (why.empty() ? "" : ": " + why) + ")" +
        (retry ? "; restarting it from its newest checkpoint" : "; giving up on it, see " + j.log));
    if (retry) {
      j.resume = true;
      return Launch(j);
    }
    j.state = State::kFailed;
    Release(j);
    return Status::Ok();
  }

  // SIGINT/SIGTERM/SIGUSR1: each job's launcher gets SIGUSR1 and passes it to the ranks (SIGTERM
  // would make mpirun end them itself), which write a checkpoint at their next step boundary and
  // exit; the orchestrator waits for them (a second signal ends it at once).
  Status Stop(int sig) {
    Say(std::string("stopping on ") + SignalName(sig) + ": every running job writes a checkpoint and stops");
    for (Job& j : jobs_)
      if (j.state == State::kRunning) j.proc.Signal(SIGUSR1);
    for (Job& j : jobs_)
      while (j.state == State::kRunning && !j.proc.Poll()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)journal_->Append({{"event", "signal"}, {"signal", SignalName(sig)}});
    WriteReport();
    return Status::Stopped(sig, std::string("stopped by ") + SignalName(sig) + "; continue with the same command and --resume");
  }

  Status Finish(double wall) {
    int failed = 0;
    std::string names;
    for (const Job& j : jobs_)
      if (j.state == State::kFailed) ++failed, names += (names.empty() ? "" : ", ") + j.spec->name + " (" + j.log + ")";
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "end"}, {"failed", failed}, {"seconds", wall}}));
    SATURN_RETURN_IF_ERROR(WriteReport());
    Say("ran " + std::to_string(jobs_.size() - size_t(failed)) + " of " + std::to_string(jobs_.size()) +
        " jobs in " + Secs(wall) + " (planned makespan " + Secs(plan_.makespan()) + "); report " + dir_ + "/report.json");
    if (failed > 0) return Status::Internal(std::to_string(failed) + " job(s) failed: " + names);
    return Status::Ok();
  }

  Status WriteReport() {
    Result<std::vector<json>> events = ReadJournal(journal_->path());
    if (!events.ok()) return events.status();
    return WriteRunReport(sweep_, plan_, opt_.plan_path, *events, dir_ + "/report.json");
  }

  void Say(const std::string& line) {
    if (opt_.quiet) return;
    std::printf("run: %s\n", line.c_str());
    std::fflush(stdout);
  }

  // The last "error: " line of the job's latest launch in its log, or "".
  static std::string LastError(const std::string& log) {
    Result<std::string> text = ReadFile(log);
    if (!text.ok()) return "";
    std::string why;
    const size_t launched = text->rfind(kLaunched);
    size_t at = launched == std::string::npos ? 0 : launched + kLaunched.size();
    while ((at = text->find("error: ", at)) != std::string::npos) {
      const size_t end = text->find('\n', at);
      why = text->substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
      at += 7;
    }
    return why.size() > 300 ? why.substr(0, 300) + "..." : why;
  }

  const Sweep& sweep_;
  const Plan& plan_;
  const ExecuteOptions& opt_;
  const std::string dir_;
  std::vector<Job> jobs_;
  std::set<int> nodes_used_;
  std::map<std::pair<int, int>, std::deque<int>> queues_;
  std::set<std::string> done_;
  std::optional<double> origin_;
  std::unique_ptr<Journal> journal_;
};

}  // namespace

Status ExecutePlan(const Sweep& sweep, const Plan& plan, const ExecuteOptions& opt) {
  Orchestrator o(sweep, plan, opt);
  return o.Run();
}

}  // namespace saturn
