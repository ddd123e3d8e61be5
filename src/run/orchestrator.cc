#include "run/orchestrator.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
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

#include "plan/replan.h"
#include "profile/profiler.h"
#include "run/background_replan.h"
#include "run/journal.h"
#include "run/live_status.h"
#include "run/metrics.h"
#include "run/report.h"
#include "util/clock.h"
#include "util/dir_lock.h"
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

// kStopped: stopped at a checkpoint by a signal; --resume continues it.
enum class State { kWaiting, kRunning, kFinished, kFailed, kStopped };

// A job's devices on one node (an index into the plan's nodes).
struct Part {
  int node = 0;
  std::vector<int> slots;
  bool operator==(const Part& o) const { return node == o.node && slots == o.slots; }
  bool operator!=(const Part& o) const { return !(*this == o); }
};

struct Job {
  int index = 0;  // in the plan
  const JobSpec* spec = nullptr;
  const Config* config = nullptr;  // in the plan's instance, or an adopted re-plan's
  double order = 0;                 // planned start, seconds since the sweep started
  double planned_seconds = 0;
  // The plan's nodes and device ids there: one node, or whole nodes for a job wider than one.
  std::vector<Part> parts;  // node by index into the plan's nodes
  State state = State::kWaiting;
  int attempts = 0;        // launches so far, in this orchestrator
  bool resume = false;     // its next launch continues from a checkpoint
  bool restart = false;    // its next launch deletes what an earlier run left
  long long checkpoint = 0;  // the newest checkpoint step journaled
  bool restart_launch = false;      // its current launch starts it over (--restart)
  fs::file_time_type launched_at;   // on the file system's clock
  // Its launch's time to train: seconds from the launch until a step was first seen logged,
  // and that step (-1: none seen yet), counted from the step it started at.
  double first_log_seconds = -1, first_log_train_seconds = 0;  // and its metrics' training seconds
  long long first_log_step = 0, start_step = 0;
  // An adopted re-plan moves it: where it goes once the SIGUSR1 it got has stopped it.
  struct Move {
    const Config* config;
    std::vector<Part> parts;
    double order, planned_seconds;
  };
  std::optional<Move> moving;
  Subprocess proc;
  Clock::time_point started;
  std::string log;
};

class Orchestrator {
 public:
  Orchestrator(const Sweep& sweep, const Plan& plan, const ExecuteOptions& opt)
      : sweep_(sweep), plan_(plan), opt_(opt), dir_(sweep.output_dir) {}

  Status Run() {
    SATURN_RETURN_IF_ERROR(BuildJobs());
    if (opt_.dry_run) return DryRun();
    SATURN_RETURN_IF_ERROR(Prepare());
    t0_ = Clock::now();
    Status st = Loop();
    live_.Clear();
    // Anything else that went wrong (the journal cannot be written): the jobs still stop at a
    // checkpoint rather than being killed with the orchestrator.
    if (!st.ok() && st.exit_code() < 128) StopJobs();
    return st;
  }

 private:
  Status Loop() {
    last_replan_ = Clock::now();
    while (Pending()) {
      if (StopSignal() != 0) return Stop(StopSignal());
      // A finished re-plan first, then launches, then the next re-plan: while one is in flight
      // nothing starts (it may give the devices that just freed to another job), but between
      // two re-plans every ready job does, however often jobs end.
      if (opt_.replan) SATURN_RETURN_IF_ERROR(TakeReplan());
      if (!replan_.in_flight())
        for (Job& j : jobs_)
          if (j.state == State::kWaiting && Ready(j)) SATURN_RETURN_IF_ERROR(Launch(j));
      if (opt_.replan) StartReplanIfDue();
      SATURN_RETURN_IF_ERROR(FailStrandedIfNoReplan());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (Clock::now() - last_scan_ > std::chrono::seconds(1)) {
        last_scan_ = Clock::now();
        for (Job& j : jobs_)
          if (j.state == State::kRunning) SATURN_RETURN_IF_ERROR(JournalCheckpoint(j));
        if (opt_.replan_move) SeeFirstSteps();
        ShowRunning();
      }
      for (Job& j : jobs_)
        if (j.state == State::kRunning && j.proc.Poll()) SATURN_RETURN_IF_ERROR(Ended(j, /*stopping=*/false));
      // A job stopped by a signal the orchestrator did not send (Slurm signals every step at its
      // time limit or on preemption): the whole sweep is being stopped.
      if (outside_stop_ != 0) return Stop(outside_stop_);
    }
    return Finish();
  }

  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

  Status BuildJobs() {
    const Instance& inst = plan_.instance;
    for (size_t i = 0; i < plan_.schedule.jobs.size(); ++i) {
      const Assignment& a = plan_.schedule.jobs[i];
      const PlanJob& pj = inst.jobs[i];
      Job j;
      j.index = int(i);
      j.spec = sweep_.find_job(pj.name);
      if (!j.spec)  // ExecutePlan's contract: CheckPlanFitsSweep passed
        return Status::Internal(opt_.plan_path + ": job '" + pj.name + "' is not in " + sweep_.path +
                                " (the plan was not checked against the sweep)");
      j.config = &pj.configs[a.config];
      j.order = a.start;
      j.planned_seconds = a.end - a.start;
      const Placement& pl = j.config->placements[a.placement];
      for (size_t k = 0; k < pl.nodes.size(); ++k) {
        const int n = pl.nodes[k];
        j.parts.push_back({n, a.device_ids[k]});
        if (!Reachable(n))
          return Status::UserError(opt_.plan_path + ": job '" + pj.name + "' is planned on node '" + inst.nodes[n].name +
                                   "' (node " + std::to_string(n + 1) + " of the plan's " + std::to_string(inst.nodes.size()) +
                                   "), which is out of reach here (" + opt_.nodes.how +
                                   "): run in an allocation with that many nodes (sbatch --nodes), or plan for the nodes at hand");
      }
      jobs_.push_back(std::move(j));
    }
    return Status::Ok();
  }

  // Each device's queue: the job running on it, then the waiting jobs in planned order. A job
  // starts when it heads the queue of all its devices.
  void RebuildQueues() {
    queues_.clear();
    for (const Job& j : jobs_)
      if (j.state == State::kRunning)
        for (const Part& p : j.parts)
          for (int d : p.slots) queues_[{p.node, d}].push_back(j.index);
    // A job being moved also waits, in its new place, on the devices it moves to: the jobs planned
    // after it there do not take them meanwhile.
    auto next = [&](const Job& j) { return j.moving ? j.moving->order : j.order; };
    std::vector<int> order;
    for (const Job& j : jobs_)
      if (j.state == State::kWaiting || j.moving) order.push_back(j.index);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return next(jobs_[a]) < next(jobs_[b]); });
    for (int i : order)
      for (const Part& p : jobs_[i].moving ? jobs_[i].moving->parts : jobs_[i].parts)
        for (int d : p.slots) queues_[{p.node, d}].push_back(i);
  }

  int NodeSlots(const Job& j) const { return plan_.instance.nodes[j.parts[0].node].devices; }
  bool Reachable(int node) const {
    assert(opt_.nodes.nodes.size() == plan_.instance.nodes.size() && "run_command maps every node of the plan");
    return opt_.nodes.nodes[node].reachable;
  }

  std::vector<std::string> Hosts(const Job& j) const {
    std::vector<std::string> hosts;
    for (const Part& p : j.parts) hosts.push_back(opt_.nodes.nodes[p.node].host);
    return hosts;
  }

  std::vector<std::string> Command(const Job& j) const {
    std::vector<std::string> argv = {opt_.saturn, "run", sweep_.path, "--only", j.spec->name, "--technique",
                                     j.config->technique};
    // Across nodes a job has every device of each (plan/instance.cc), so each rank's slot is its
    // local rank; the order of ranks over nodes is the launcher's.
    argv.insert(argv.end(), {"--slots", j.parts.size() == 1 ? FormatSlots(j.parts[0].slots) : "local"});
    // The trainer shares out the widest node's cores unless told its node is narrower.
    if (j.parts.size() == 1 && NodeSlots(j) != sweep_.cluster.max_node_devices())
      argv.insert(argv.end(), {"--node-slots", std::to_string(NodeSlots(j))});
    if (j.config->knobs_json != "{}" && !j.config->knobs_json.empty())
      argv.insert(argv.end(), {"--knobs", j.config->knobs_json});
    if (sweep_.cluster.device == "cuda") argv.insert(argv.end(), {"--device", "cuda"});
    if (opt_.threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(opt_.threads)});
    if (j.resume) argv.push_back("--resume");
    else if (j.restart) argv.push_back("--restart");
    const std::vector<std::string> hosts = Hosts(j);
    if (hosts.size() == 1)
      return opt_.launcher.Command(j.config->devices, NodeSlots(j), argv, "saturn-" + j.spec->name, hosts[0]);
    return opt_.launcher.Command(j.config->devices, NodeSlots(j), argv, "saturn-" + j.spec->name, hosts);
  }

  // The journal's and report's form: [{"node": "a", "device_ids": [0, 1]}, ...].
  json PlacementJson(const std::vector<Part>& parts) const {
    json out = json::array();
    for (const Part& p : parts) out.push_back({{"node", plan_.instance.nodes[p.node].name}, {"device_ids", p.slots}});
    return out;
  }

  // "n:0,1" or, across nodes, "a:0,1+b:0,1".
  std::string Where(const std::vector<Part>& parts) const { return FormatPlacement(PlacementJson(parts)); }

  Status DryRun() {
    std::vector<const Job*> order;
    for (const Job& j : jobs_) order.push_back(&j);
    std::stable_sort(order.begin(), order.end(), [](const Job* a, const Job* b) { return a->order < b->order; });
    for (const Job* j : order)
      std::printf("%s: %s x%d on %s, planned %s .. %s\n  %s\n", j->spec->name.c_str(),
                  j->config->technique.c_str(), j->config->devices, Where(j->parts).c_str(), HumanSeconds(j->order).c_str(), HumanSeconds(j->order + j->planned_seconds).c_str(),
                  ShellLine(Command(*j)).c_str());
    std::printf("%zu jobs, planned makespan %s; launched with %s; nothing run (--dry-run)\n", jobs_.size(),
                HumanSeconds(plan_.makespan()).c_str(), opt_.launcher.Describe().c_str());
    return Status::Ok();
  }

  // The journal: refused when an earlier run left one and neither --resume nor --restart says
  // what to do with it; with --resume, the jobs it saw finish are done.
  Status Prepare() {
    const std::string path = dir_ + "/journal.jsonl";
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return Status::UserError(dir_ + ": cannot create the sweep's output directory: " + ec.message());
    // One orchestrator per sweep: a second (a --resume while the first still runs) is refused.
    Result<std::unique_ptr<DirLock>> lock = DirLock::Acquire(dir_, "sweep '" + sweep_.name + "'", "being run");
    if (!lock.ok()) return lock.status();
    lock_ = std::move(*lock);
    std::vector<std::string> names;
    for (const Job& j : jobs_) names.push_back(j.spec->name);
    SATURN_RETURN_IF_ERROR(CheckEarlierRun(dir_, names, opt_.resume, opt_.restart));
    const bool had = fs::exists(path);
    if (had && opt_.restart) fs::remove(path, ec);
    if (had && opt_.resume) SATURN_RETURN_IF_ERROR(Recall(path));
    if (origin_ < 0) origin_ = WallSeconds();
    // The re-plans adopted before, in order: the jobs not yet done follow the latest.
    for (const std::string& adopted : adopted_paths_) {
      Result<Plan> p = LoadPlan(adopted);
      if (!p.ok()) return Status::UserError(path + " names the re-plan " + adopted + ": " + p.status().message());
      adopted_.push_back(std::move(*p));
      SATURN_RETURN_IF_ERROR(Apply(adopted_.back(), adopted));
    }
    Result<Journal> j = Journal::Open(path);
    if (!j.ok()) return j.status();
    journal_ = std::make_unique<Journal>(std::move(*j));
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "run"},
                                             {"sweep", fs::absolute(sweep_.path).string()},
                                             {"plan", fs::absolute(opt_.plan_path).string()},
                                             {"planned_makespan_seconds", plan_.makespan()},
                                             {"resume", opt_.resume},
                                             {"restart", opt_.restart},
                                             {"launcher", opt_.launcher.Describe()}}));
    for (Job& j : jobs_) {
      if (done_.count(j.spec->name)) {
        j.state = State::kFinished;
        Release(j);
        Say(j.spec->name + ": finished in an earlier run");
      } else if (opt_.resume) {
        // A job a --restart run never got to launch still has the results of the run before:
        // it starts over too; every other job continues from its newest checkpoint.
        j.restart = restarting_ && !started_.count(j.spec->name);
        j.resume = !j.restart;
        // A job that trained before goes ahead of the jobs not yet started on its devices: a
        // re-plan adopted while it ran ordered those from its own moment, maybe before it.
        if (started_.count(j.spec->name)) j.order -= 1e12;
      } else {
        j.restart = opt_.restart;
      }
    }
    RebuildQueues();
    return Status::Ok();
  }

  // What the journal of the runs before says: jobs finished, jobs started, failures so far (the
  // retry budget spans resumes; --restart renews it), and whether the first run restarted.
  Status Recall(const std::string& path) {
    Result<std::vector<json>> events = ReadJournal(path);
    if (!events.ok()) return events.status();
    bool first = true;
    for (const json& e : *events) {
      const std::string ev = e["event"], job = e.value("job", "");
      if (ev == "run" && first) {
        restarting_ = e.value("restart", false), first = false;
        origin_ = e.value("time", -1.0);
      }
      if (ev == "plan") adopted_paths_.push_back(e.value("path", ""));
      if (ev == "finish") done_.insert(job);
      if (ev == "start") started_.insert(job);
      if (ev == "fail" && !e.value("stranded", false)) ++failures_[job];
      const json parts = ev == "exclude" ? e.value("placement", json()) : json();
      if (parts.is_array())
        for (const json& part : parts) {
          int node = -1;
          for (int n = 0; part.is_object() && part.value("node", json()).is_string() && n < int(plan_.instance.nodes.size()); ++n)
            if (plan_.instance.nodes[n].name == part["node"].get<std::string>()) node = n;
          const json ids = node < 0 ? json::array() : part.value("device_ids", json());
          if (!ids.is_array()) continue;
          for (const json& d : ids)
            if (d.is_number_integer() && d.get<int>() >= 0 && d.get<int>() < plan_.instance.nodes[node].devices)
              excluded_.insert({node, d.get<int>()}), replan_due_ = true;
        }
      if (Job* j = ev == "checkpoint" && e.value("step", json()).is_number_integer() ? Find(job) : nullptr)
        j->checkpoint = std::max(j->checkpoint, e["step"].get<long long>());
    }
    return Status::Ok();
  }

  bool Pending() const {
    for (const Job& j : jobs_)
      if (j.state == State::kWaiting || j.state == State::kRunning) return true;
    return false;
  }

  bool Ready(const Job& j) const {
    if (OnExcluded(j)) return false;
    for (const Part& p : j.parts)
      for (int d : p.slots) {
        auto q = queues_.find({p.node, d});
        if (q == queues_.end() || q->second.empty() || q->second.front() != j.index) return false;
      }
    return true;
  }

  bool OnExcluded(const Job& j) const {
    for (const Part& p : j.parts)
      for (int d : p.slots)
        if (excluded_.count({p.node, d})) return true;
    return false;
  }

  // The devices out of use as "n:2,3" (nodes in order).
  std::string ExcludedText() const {
    std::vector<Part> parts;
    for (const auto& [node, d] : excluded_) {
      if (parts.empty() || parts.back().node != node) parts.push_back({node, {}});
      parts.back().slots.push_back(d);
    }
    return Where(parts);
  }

  // The job no longer holds or awaits devices: the next job of each device's queue may start.
  // Every queue, since a job being moved also waits where it was moved to.
  void Release(const Job& j) {
    for (auto& [device, q] : queues_) q.erase(std::remove(q.begin(), q.end(), j.index), q.end());
  }

  static double WallSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  Job* Find(const std::string& name) {
    for (Job& j : jobs_)
      if (j.spec->name == name) return &j;
    return nullptr;
  }

  // A finished re-plan, adopted if it is worth it.
  Status TakeReplan() {
    if (auto done = replan_.Take()) return Consider(done->first, done->second);
    return Status::Ok();
  }

  // Starts a re-plan when a job has ended or replan_every has passed while jobs wait.
  void StartReplanIfDue() {
    if (replan_.in_flight()) return;
    // A move under way first ends (its job stops, then waits to be launched where it goes).
    if (std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.moving.has_value(); })) return;
    const bool waiting = std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state == State::kWaiting; });
    const bool movable = opt_.replan_move &&
                         std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state == State::kRunning; });
    const double since = std::chrono::duration<double>(Clock::now() - last_replan_).count();
    if (!(waiting || movable) || !(replan_due_ || since >= opt_.replan_every)) return;
    replan_due_ = false;
    last_replan_ = Clock::now();
    ReplanOptions ro;
    ro.time_limit_seconds = opt_.replan_time_limit;
    for (const Job& j : jobs_) snapshot_attempts_[j.spec->name] = j.attempts;
    replan_.Start(plan_.instance, Snapshot(), ro);
  }

  // Steps a job trained so far and its measured seconds per step (0 when none yet), from its
  // metrics: between its first and last logged steps when it logged two, past the warm-up.
  std::pair<double, double> Measured(const Job& j) const {
    const LastMetrics m = ReadLastMetrics(dir_ + "/" + j.spec->name + "/metrics.jsonl");
    if (!m.step.is_number() || !m.seconds.is_number() || m.step.get<double>() <= 0) return {0, 0};
    const double step = m.step.get<double>(), seconds = m.seconds.get<double>();
    // This launch's rate once it logged two steps (--replan-move watches for its first): a job
    // moved or resumed under another technique runs at another rate than before.
    if (j.state == State::kRunning && j.first_log_seconds >= 0 && step > double(j.first_log_step))
      return {step, (seconds - j.first_log_train_seconds) / (step - double(j.first_log_step))};
    if (const double per = SecondsPerStep(m); per > 0) return {step, per};
    return {step, seconds / step};
  }

  SweepState Snapshot() const {
    SweepState s;
    s.plan = fs::absolute(opt_.plan_path).string();
    s.now = std::max(0.0, WallSeconds() - origin_);
    s.move_gain = opt_.replan_threshold;
    for (int n = 0; n < int(plan_.instance.nodes.size()); ++n)  // where jobs can run from here
      if (Reachable(n)) s.nodes.push_back(plan_.instance.nodes[n].name);
    for (const auto& [node, d] : excluded_) {
      const std::string& name = plan_.instance.nodes[node].name;
      if (s.excluded.empty() || s.excluded.back().node != name) s.excluded.push_back({name, {}});
      s.excluded.back().device_ids.push_back(d);
    }
    for (const Job& j : jobs_) {
      JobState js;
      js.job = j.spec->name;
      js.technique = j.config->technique;
      js.devices = j.config->devices;
      for (const Part& p : j.parts) js.placement.push_back({plan_.instance.nodes[p.node].name, p.slots});
      const double steps = double(plan_.instance.jobs[j.index].steps);
      // Metrics are read only where they matter: a sweep may have many finished jobs.
      const bool measure = j.state == State::kRunning || (j.state == State::kWaiting && j.resume);
      const auto [step, per_step] = measure ? Measured(j) : std::make_pair(0.0, 0.0);
      if (j.state == State::kRunning) {
        js.state = "running";
        // The measured rate once the job logged a step; until then the profile's, less the time
        // it has run.
        const double ran = std::chrono::duration<double>(Clock::now() - j.started).count();
        js.remaining_seconds = per_step > 0 ? std::max(0.0, steps - step) * per_step
                                            : std::max(0.0, j.config->seconds - ran);
        // Movable once its rate and its launch's time to train are measured. The stop ends the
        // step under way and writes a checkpoint: taken as two steps; what is left is counted
        // from the step after the last one logged.
        if (opt_.replan_move && per_step > 0 && j.first_log_seconds >= 0 && step > double(j.first_log_step)) {
          js.movable = true;
          js.remaining_fraction = std::clamp((steps - step - 1) / steps, 1.0 / steps, 1.0);
          js.stop_seconds = 2 * per_step;
          js.restart_seconds =
              std::max(0.0, j.first_log_seconds - per_step * double(j.first_log_step - j.start_step));
        }
      } else if (j.state == State::kWaiting) {
        js.state = "waiting";
        js.order = j.order;
        // A job continuing from a checkpoint has fewer steps left.
        if (j.resume && step > 0) js.remaining_fraction = std::clamp(1 - step / steps, 1.0 / steps, 1.0);
      } else {
        js.state = "finished";
      }
      s.jobs.push_back(std::move(js));
    }
    return s;
  }

  // A finished re-plan: adopted when its waiting jobs still wait, it runs where this orchestrator
  // can launch, and it ends the sweep sooner by the threshold.
  Status Consider(const SweepState& state, const Result<Replanned>& r) {
    if (!r.ok()) {
      Say("re-plan failed (" + r.status().message() + "); keeping the plan");
      return Status::Ok();
    }
    size_t excluded = 0;
    for (const PlacedOn& on : state.excluded) excluded += on.device_ids.size();
    bool stale = excluded != excluded_.size();
    for (const JobState& js : state.jobs) {
      const State now = Find(js.job)->state;
      stale = stale || (js.state == "waiting" && now != State::kWaiting) || (js.state == "running" && now == State::kWaiting);
    }
    // A job moved must still run the launch the state measured.
    for (const std::string& name : r->moved)
      stale = stale || Find(name)->state != State::kRunning || Find(name)->attempts != snapshot_attempts_[name];
    if (stale) {
      replan_due_ = true;  // the state moved on meanwhile: plan again from the new one
      return Status::Ok();
    }
    // Jobs the devices in use cannot host any more fail now, whether or not the plan changes.
    for (const std::string& name : r->unplaceable)
      if (Job* j = Find(name); j->state == State::kWaiting)
        SATURN_RETURN_IF_ERROR(FailStranded(*j, "no configuration of it fits on the devices left in use"));
    if (!r->Worth(opt_.replan_threshold)) return Status::Ok();
    const Plan& p = r->plan;
    std::vector<std::string> changed;
    for (size_t i = 0; i < p.instance.jobs.size(); ++i) {
      const Assignment& a = p.schedule.jobs[i];
      const Job& j = *Find(p.instance.jobs[i].name);
      const Config& c = p.instance.jobs[i].configs[a.config];
      Result<std::vector<Part>> parts = PartsIn(p, i, "the re-plan");
      if (!parts.ok()) {
        Say("a re-plan is unusable (" + parts.status().message() + "); keeping the plan");
        return Status::Ok();
      }
      const bool moved = std::count(r->moved.begin(), r->moved.end(), j.spec->name) > 0;
      if (c.technique != j.config->technique || c.devices != j.config->devices || *parts != j.parts)
        changed.push_back(j.spec->name + ": " + c.technique + " x" + std::to_string(c.devices) + " on " + Where(*parts) +
                          (moved ? " (moved from " + j.config->technique + " x" + std::to_string(j.config->devices) +
                                       " on " + Where(j.parts) + " at its next checkpoint)"
                                 : ""));
    }
    const int n = int(adopted_.size()) + 1;
    const std::string plan_path = dir_ + "/plan-" + std::to_string(n) + ".json";
    const std::string state_path = dir_ + "/state-" + std::to_string(n) + ".json";
    // A re-plan is optional: one that cannot be saved (a full disk) is not adopted.
    Status saved = WriteFileAtomic(state_path, SweepStateToJson(state));
    if (saved.ok()) saved = WriteFileAtomic(plan_path, PlanToJson(p));
    if (saved.ok()) saved = WriteFileAtomic(dir_ + "/plan-" + std::to_string(n) + ".svg", PlanSvg(p));
    if (!saved.ok()) {
      Say("a re-plan could not be saved (" + saved.message() + "); keeping the plan");
      return Status::Ok();
    }
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "plan"},
                                             {"number", n},
                                             {"path", fs::absolute(plan_path).string()},
                                             {"state", fs::absolute(state_path).string()},
                                             {"now_seconds", state.now},
                                             {"kept_seconds", r->kept_blocked() ? json() : json(r->kept_seconds)},
                                             {"new_seconds", r->new_seconds},
                                             {"changed", changed},
                                             {"moved", r->moved}}));
    adopted_.push_back(p);
    SATURN_RETURN_IF_ERROR(Apply(adopted_.back(), plan_path));
    RebuildQueues();
    for (Job& j : jobs_)
      if (j.moving) SATURN_RETURN_IF_ERROR(StartMove(j));
    std::string what;
    for (const std::string& c : changed) what += (what.empty() ? "" : "; ") + c;
    const std::string instead = r->kept_blocked() ? " without the devices out of use (" + ExcludedText() + ")"
                                                  : " instead of " + HumanSeconds(r->kept_seconds);
    Say("re-planned at " + HumanSeconds(state.now) + ": the rest now takes " + HumanSeconds(r->new_seconds) + instead +
        (what.empty() ? "" : " (" + what + ")") + "; " + plan_path);
    return Status::Ok();
  }

  // Job i's nodes and devices in re-plan `p`, its nodes as indices into the executed plan's.
  Result<std::vector<Part>> PartsIn(const Plan& p, size_t i, const std::string& path) const {
    const Assignment& a = p.schedule.jobs[i];
    const Placement& pl = p.instance.jobs[i].configs[a.config].placements[a.placement];
    std::vector<Part> parts;
    for (size_t k = 0; k < pl.nodes.size(); ++k) {
      const std::string& node = p.instance.nodes[pl.nodes[k]].name;
      int at = -1;
      for (int n = 0; n < int(plan_.instance.nodes.size()); ++n)
        if (plan_.instance.nodes[n].name == node) at = n;
      if (at < 0 || !Reachable(at))
        return Status::UserError(path + ": job '" + p.instance.jobs[i].name + "' placed on node '" + node +
                                 "', which is out of reach here (" + opt_.nodes.how + ")");
      parts.push_back({at, a.device_ids[k]});
    }
    return parts;
  }

  // The jobs of re-plan `p` that are not done take its choices and order.
  Status Apply(const Plan& p, const std::string& path) {
    for (size_t i = 0; i < p.instance.jobs.size(); ++i) {
      Job* j = Find(p.instance.jobs[i].name);
      if (!j) return Status::UserError(path + ": job '" + p.instance.jobs[i].name + "' is not in the plan executed");
      const Assignment& a = p.schedule.jobs[i];
      Result<std::vector<Part>> parts = PartsIn(p, i, path);
      if (!parts.ok()) return parts.status();
      Job::Move to{&p.instance.jobs[i].configs[a.config], *parts, p.offset_seconds + a.start, a.end - a.start};
      if (j->state == State::kRunning) j->moving = to;  // once it has stopped (StartMove)
      else Place(*j, to);
    }
    return Status::Ok();
  }

  static void Place(Job& j, const Job::Move& to) {
    j.config = to.config;
    j.parts = to.parts;
    j.order = to.order;
    j.planned_seconds = to.planned_seconds;
  }

  // A running job an adopted re-plan moves: SIGUSR1 makes its ranks checkpoint at the next step
  // boundary and exit; Ended then puts it where it goes, to be launched from that checkpoint.
  Status StartMove(Job& j) {
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "move"},
                                             {"job", j.spec->name},
                                             {"attempt", j.attempts},
                                             {"from", PlacementJson(j.parts)},
                                             {"to", PlacementJson(j.moving->parts)},
                                             {"technique", j.moving->config->technique},
                                             {"devices", j.moving->config->devices}}));
    Say("moving " + j.spec->name + " to " + j.moving->config->technique + " x" + std::to_string(j.moving->config->devices) +
        " on " + Where(j.moving->parts) + ": it stops at its next checkpoint and continues from there");
    j.proc.Signal(SIGUSR1);
    return Status::Ok();
  }

  // Whether a re-plan moved `j`, which has just ended without finishing: it goes where it was
  // moved, waiting to be launched there from its newest checkpoint.
  bool TakeMove(Job& j) {
    if (!j.moving) return false;
    Place(j, *j.moving);
    j.moving.reset();
    j.state = State::kWaiting;
    RebuildQueues();
    return true;
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
                                             {"node", plan_.instance.nodes[j.parts[0].node].name},
                                             {"device_ids", j.parts[0].slots},
                                             {"placement", PlacementJson(j.parts)},
                                             {"attempt", j.attempts},
                                             {"resume", j.resume},
                                             {"command", ShellLine(argv)}}));
    FILE* f = std::fopen(j.log.c_str(), j.attempts == 1 && !j.resume ? "w" : "a");
    if (f) {
      std::fprintf(f, "%s(attempt %d): %s\n", kLaunched.c_str(), j.attempts, ShellLine(argv).c_str());
      std::fclose(f);
    }
    // Should the orchestrator die, its jobs checkpoint and stop rather than train on unwatched.
    Result<Subprocess> p = f ? Subprocess::Start(argv, j.log, SIGUSR1, opt_.launcher.Environment(Hosts(j), NodeSlots(j)))
                             : Result<Subprocess>(Status::UserError(j.log + ": cannot write the job's log"));
    if (!p.ok()) {  // this job cannot start; the others go on
      j.state = State::kFailed;
      Release(j);
      Say(j.spec->name + " cannot start: " + p.status().message());
      return journal_->Append(
          {{"event", "fail"}, {"job", j.spec->name}, {"attempt", j.attempts}, {"reason", p.status().message()},
           {"retry", false}});
    }
    j.proc = std::move(*p);
    j.started = Clock::now();
    j.first_log_seconds = -1;
    j.start_step = j.resume ? j.checkpoint : 0;
    j.state = State::kRunning;
    j.resume = true;  // any later launch continues from its checkpoint
    j.restart_launch = j.restart;
    j.launched_at = fs::file_time_type::clock::now();
    j.restart = false;
    Say("started " + j.spec->name + ": " + j.config->technique + " x" + std::to_string(j.config->devices) +
        " on " + Where(j.parts) + (j.attempts > 1 ? " (attempt " + std::to_string(j.attempts) + ")" : "") +
        "; log " + j.log);
    return Status::Ok();
  }

  // The signal that stopped a job which then exited by itself (a trainer that checkpointed on
  // SIGINT, SIGTERM or SIGUSR1 exits 128 + it), or 0.
  static int StoppedBy(const Subprocess& p) {
    for (int sig : {SIGINT, SIGTERM, SIGUSR1})
      if (p.exit_code() == 128 + sig || p.signal() == sig) return sig;
    return 0;
  }

  // A job's process ended. While stopping, nothing is retried.
  // A checkpoint newer than the last one journaled: its step. The trainer renames step-N into
  // place whole (train/checkpoint.h), so a step-N directory is a complete checkpoint.
  // After --restart the folder still holds the earlier run's until the trainer deletes them: those
  // written before this launch do not count.
  Status JournalCheckpoint(Job& j) {
    std::error_code ec;
    long long newest = 0;
    for (fs::directory_iterator it(dir_ + "/" + j.spec->name + "/checkpoints", ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::error_code t;
      if (j.restart_launch && fs::last_write_time(it->path(), t) < j.launched_at) continue;
      if (name.rfind("step-", 0) != 0 || name.size() > 20 || name.find_first_not_of("0123456789", 5) != std::string::npos ||
          name.size() == 5)
        continue;
      newest = std::max(newest, std::stoll(name.substr(5)));
    }
    if (newest <= j.checkpoint) return Status::Ok();
    j.checkpoint = newest;
    return journal_->Append({{"event", "checkpoint"}, {"job", j.spec->name}, {"attempt", j.attempts}, {"step", newest}});
  }

  Status Ended(Job& j, bool stopping) {
    SATURN_RETURN_IF_ERROR(JournalCheckpoint(j));  // the one a stop wrote, before the stop
    const double took = std::chrono::duration<double>(Clock::now() - j.started).count();
    const int code = j.proc.exit_code();
    if (code == 0) {
      j.state = State::kFinished;
      j.moving.reset();  // it finished before its stop: nothing left to move
      Release(j);
      // A job trained to its end there: earlier failures on those devices were not theirs.
      for (const Part& p : j.parts)
        for (int d : p.slots) failed_on_.erase({p.node, d});
      replan_due_ = true;
      SATURN_RETURN_IF_ERROR(
          journal_->Append({{"event", "finish"}, {"job", j.spec->name}, {"attempt", j.attempts}, {"seconds", took}}));
      Say("finished " + j.spec->name + " in " + HumanSeconds(took) + " (planned " +
          HumanSeconds(j.planned_seconds) + ")");
      return Status::Ok();
    }
    if (const int sig = StoppedBy(j.proc)) {
      if (!stopping && j.moving && sig == SIGUSR1) {  // the stop a move asked for
        const long long step = j.checkpoint;
        TakeMove(j);
        Say(j.spec->name + " stopped at step " + std::to_string(step) + " to move; it continues on " + Where(j.parts));
        return journal_->Append({{"event", "stopped"}, {"job", j.spec->name}, {"attempt", j.attempts},
                                 {"signal", SignalName(sig)}, {"seconds", took}, {"moved", true}});
      }
      if (j.moving) Place(j, *j.moving), j.moving.reset();  // --resume launches it there
      j.state = State::kStopped;
      if (!stopping && outside_stop_ == 0) outside_stop_ = sig;
      Say(j.spec->name + " stopped on " + SignalName(sig) + " at a checkpoint");
      return journal_->Append({{"event", "stopped"}, {"job", j.spec->name}, {"attempt", j.attempts},
                               {"signal", SignalName(sig)}, {"seconds", took}});
    }
    const std::string why = LastError(j.log);
    const int failures = ++failures_[j.spec->name];
    // Exit 2 is a user error (a bad sweep, a job that cannot train so): a retry would fail alike.
    const bool retry = !stopping && code != 2 && failures <= opt_.max_retries;
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "fail"},
                                             {"job", j.spec->name},
                                             {"attempt", j.attempts},
                                             {"exit_code", code},
                                             {"reason", why},
                                             {"retry", retry}}));
    if (!stopping && code != 2) SATURN_RETURN_IF_ERROR(CountFailureOn(j));
    const bool moved = retry && opt_.replan && OnExcluded(j);
    const bool stranded = retry && !opt_.replan && OnExcluded(j);  // nothing will move it off them
    Say(j.spec->name + " failed (exit " + std::to_string(code) + (why.empty() ? "" : ": " + why) + ")" +
        (moved      ? "; it waits for a re-plan onto devices in use, then continues from its newest checkpoint"
         : stranded ? ""
         : retry    ? "; restarting it from its newest checkpoint"
                    : "; giving up on it, see " + j.log));
    if (stranded) return FailStranded(j, "it is planned on them and --no-replan keeps the plan");
    if (retry && TakeMove(j)) return Status::Ok();  // relaunched where the re-plan moved it, once free
    j.moving.reset();
    if (moved) {
      j.state = State::kWaiting;
      j.order = -1e12;  // ahead of the jobs not yet started, wherever the re-plan puts it
      Release(j);
      RebuildQueues();
      replan_due_ = true;
      return Status::Ok();
    }
    if (retry) return Launch(j);
    j.state = State::kFailed;
    Release(j);
    replan_due_ = true;
    return Status::Ok();
  }

  // A launch of `j` failed on its devices: a device on which launches of exclude_after different
  // jobs failed is taken out of use (one job failing again and again says more about the job).
  Status CountFailureOn(const Job& j) {
    if (opt_.exclude_after <= 0) return Status::Ok();
    std::vector<Part> now_out;
    std::set<std::string> jobs;
    for (const Part& p : j.parts)
      for (int d : p.slots) {
        std::set<std::string>& failed = failed_on_[{p.node, d}];
        failed.insert(j.spec->name);
        if (int(failed.size()) < opt_.exclude_after || !excluded_.insert({p.node, d}).second) continue;
        if (now_out.empty() || now_out.back().node != p.node) now_out.push_back({p.node, {}});
        now_out.back().slots.push_back(d);
        jobs.insert(failed.begin(), failed.end());
      }
    if (now_out.empty()) return Status::Ok();
    replan_due_ = true;
    Say("taking " + Where(now_out) + " out of use: launches of " + std::to_string(jobs.size()) +
        " jobs failed there; what was planned on it is re-planned onto the devices left");
    return journal_->Append({{"event", "exclude"}, {"placement", PlacementJson(now_out)},
                             {"jobs", std::vector<std::string>(jobs.begin(), jobs.end())}});
  }

  // A waiting job that cannot run on the devices in use: failed, with why.
  Status FailStranded(Job& j, const std::string& why) {
    j.state = State::kFailed;
    Release(j);
    RebuildQueues();
    const std::string reason = why + " (out of use: " + ExcludedText() + ")";
    Say(j.spec->name + " cannot run: " + reason);
    // Stranded: no launch failed now, so --resume does not count it against the job's retries.
    return journal_->Append({{"event", "fail"}, {"job", j.spec->name}, {"attempt", j.attempts}, {"reason", reason},
                             {"retry", false}, {"stranded", true}});
  }

  // Waiting jobs still planned on devices out of use when no re-plan is coming to move them
  // (--no-replan, or the last one found no room and nothing runs that could free some).
  Status FailStrandedIfNoReplan() {
    if (excluded_.empty() || replan_.in_flight()) return Status::Ok();
    const bool running = std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state == State::kRunning; });
    if (opt_.replan && (running || replan_due_)) return Status::Ok();
    for (Job& j : jobs_)
      if (j.state == State::kWaiting && OnExcluded(j))
        SATURN_RETURN_IF_ERROR(FailStranded(j, opt_.replan ? "no re-plan found it room on the devices left in use"
                                                           : "it is planned on them and --no-replan keeps the plan"));
    return Status::Ok();
  }

  // Every running job's launcher gets SIGUSR1 and passes it to the ranks (SIGTERM would make
  // mpirun end the ranks itself), which write a checkpoint at their next step boundary and exit;
  // waits for them, journaling how each ended.
  Status StopJobs() {
    for (Job& j : jobs_)
      if (j.state == State::kRunning) j.proc.Signal(SIGUSR1);
    Status first = Status::Ok();
    for (Job& j : jobs_) {
      if (j.state != State::kRunning) continue;
      while (!j.proc.Poll()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      Status st = Ended(j, /*stopping=*/true);
      if (first.ok()) first = st;
    }
    return first;
  }

  // SIGINT/SIGTERM/SIGUSR1 to the orchestrator, or to the jobs from outside: journaled first,
  // then every job stops at a checkpoint (a second signal ends the orchestrator at once).
  Status Stop(int sig) {
    live_.Clear();
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "signal"}, {"signal", SignalName(sig)}}));
    Say(std::string("stopping on ") + SignalName(sig) + ": every running job writes a checkpoint and stops");
    SATURN_RETURN_IF_ERROR(StopJobs());
    if (!Pending() && std::none_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state == State::kStopped; }))
      return Finish();  // everything had ended anyway
    WriteReport();
    return Status::Stopped(sig, std::string("stopped by ") + SignalName(sig) +
                                    "; every job stopped at a checkpoint: continue with the same command and --resume");
  }

  Status Finish() {
    live_.Clear();
    int failed = 0;
    std::string names;
    for (const Job& j : jobs_)
      if (j.state == State::kFailed) ++failed, names += (names.empty() ? "" : ", ") + j.spec->name + " (" + j.log + ")";
    SATURN_RETURN_IF_ERROR(journal_->Append({{"event", "end"}, {"failed", failed}, {"seconds", Elapsed()}}));
    SATURN_RETURN_IF_ERROR(WriteReport());
    Say("ran " + std::to_string(jobs_.size() - size_t(failed)) + " of " + std::to_string(jobs_.size()) +
        " jobs in " + HumanSeconds(Elapsed()) + " (planned makespan " + HumanSeconds(plan_.makespan()) + "); report " + dir_ +
        "/report.json");
    if (failed > 0) return Status::Internal(std::to_string(failed) + " job(s) failed: " + names);
    return Status::Ok();
  }

  Status WriteReport() {
    Result<std::vector<json>> events = ReadJournal(journal_->path());
    if (!events.ok()) return events.status();
    return WriteRunReport(sweep_, plan_, fs::absolute(opt_.plan_path).string(), *events, dir_ + "/report.json");
  }

  void Say(const std::string& line) { live_.Say(line); }

  // Each running job's first step logged in this launch: how long a launch takes to train
  // (a moved job's restart_seconds). Seen within the second of the scan, so at most that late.
  void SeeFirstSteps() {
    for (Job& j : jobs_) {
      if (j.state != State::kRunning || j.first_log_seconds >= 0) continue;
      const std::string path = dir_ + "/" + j.spec->name + "/metrics.jsonl";
      // Untouched since the launch: an earlier launch's lines, which a resume has yet to cut back
      // to its checkpoint.
      std::error_code ec;
      if (fs::last_write_time(path, ec) < j.launched_at) continue;
      const LastMetrics m = ReadLastMetrics(path);
      if (!m.step.is_number_integer() || m.step.get<long long>() <= j.start_step || !m.seconds.is_number()) continue;
      j.first_log_seconds = std::chrono::duration<double>(Clock::now() - j.started).count();
      j.first_log_step = m.step.get<long long>();
      j.first_log_train_seconds = m.seconds.get<double>();
    }
  }

  // Every running job's line, as its metrics say now.
  void ShowRunning() {
    if (!live_.Due()) return;
    std::vector<std::string> lines;
    for (const Job& j : jobs_)
      if (j.state == State::kRunning)
        lines.push_back(JobStatusLine(j.spec->name, j.config->technique + " x" + std::to_string(j.config->devices) + " on " + Where(j.parts),
                                      plan_.instance.jobs[j.index].steps,
                                      ReadLastMetrics(dir_ + "/" + j.spec->name + "/metrics.jsonl")));
    live_.Update(lines);
  }

  // Why the job's latest launch failed, from its log (an out-of-memory line first, then the last
  // error, then the last line), as the profiler reads a failed trial's log.
  static std::string LastError(const std::string& log) {
    Result<std::string> text = ReadFile(log);
    if (!text.ok()) return "";
    // The latest launch's lines follow its launch line.
    const size_t launched = text->rfind(kLaunched);
    if (launched == std::string::npos) return TrialFailureReason(*text);
    const size_t from = text->find('\n', launched);
    return from == std::string::npos ? "" : TrialFailureReason(text->substr(from + 1));
  }

  const Sweep& sweep_;
  const Plan& plan_;
  const ExecuteOptions& opt_;
  const std::string dir_;
  std::vector<Job> jobs_;
  std::map<std::pair<int, int>, std::deque<int>> queues_;
  std::set<std::string> done_, started_;  // by the journal of earlier runs
  Clock::time_point last_scan_;            // of the running jobs' checkpoints and metrics
  LiveStatus live_{opt_.quiet, ::isatty(STDOUT_FILENO) != 0, opt_.status_every};
  std::map<std::string, int> failures_;     // fail events per job, this run's included
  std::map<std::pair<int, int>, std::set<std::string>> failed_on_;  // device -> jobs whose launches failed there
  std::set<std::pair<int, int>> excluded_;  // devices out of use, this run's and the journal's
  bool restarting_ = false;                 // the journal's first run was a --restart
  int outside_stop_ = 0;                    // a stop signal a job got from elsewhere
  Clock::time_point t0_;
  double origin_ = -1;                      // when the sweep first ran (the journal's first run), Unix seconds
  std::vector<std::string> adopted_paths_;  // by the journal of earlier runs
  std::deque<Plan> adopted_;                // re-plans adopted; jobs point into them
  BackgroundReplan replan_;
  bool replan_due_ = false;                 // a job ended since the last re-plan started
  std::map<std::string, int> snapshot_attempts_;  // each job's launches when the re-plan in flight started
  Clock::time_point last_replan_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<DirLock> lock_;
};

}  // namespace

Status CheckEarlierRun(const std::string& dir, const std::vector<std::string>& jobs, bool resume, bool restart) {
  if (resume || restart) return Status::Ok();
  const std::string journal = dir + "/journal.jsonl";
  std::error_code ec;
  if (fs::exists(journal, ec))
    return Status::UserError(journal + ": an earlier run of this sweep left its journal; pass --resume to continue it "
                             "(finished jobs stay done) or --restart to run every job again");
  for (const std::string& name : jobs) {
    const std::string jd = dir + "/" + name;
    if (fs::exists(jd + "/metrics.jsonl", ec) || fs::exists(jd + "/checkpoints", ec))
      return Status::UserError(jd + ": job '" + name + "' has results of an earlier run; pass --resume to continue it "
                               "or --restart to start it over");
  }
  return Status::Ok();
}

Status ExecutePlan(const Sweep& sweep, const Plan& plan, const ExecuteOptions& opt) {
  Orchestrator o(sweep, plan, opt);
  return o.Run();
}

}  // namespace saturn
