#include "profile/profiler.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <memory>
#include <sstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "profile/profile.h"
#include "technique/names.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/signals.h"
#include "util/subprocess.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Key = std::tuple<std::string, std::string, int, std::string>;  // job, technique, devices, node kind

using LinkKey = std::pair<std::string, int>;  // node kind, ranks

Key KeyOf(const ProfileRecord& r) { return {r.job, r.technique, r.devices, r.kind}; }
Key KeyOf(const Trial& t, const std::string& kind) {
  return {t.links ? "" : t.job->name, t.links ? "links" : t.technique, t.devices, kind};
}

// The first line of every trial's log (then the trial's own output).
const std::string kLaunchLine = "saturn profile: launched: ";

std::string FileSafe(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '=') ? c : '_';
  return out;
}

std::string Bytes(double b) {
  char buf[32];
  if (b >= 1 << 30) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
  else std::snprintf(buf, sizeof buf, "%.0f MiB", b / (1 << 20));
  return buf;
}

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string HostName() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "";
}

// --resume where this kind was measured on another machine would mix two machines' step times.
Status CheckSameMachine(const MachineProvenance& was, const Sweep& sweep, const ProfilerOptions& opt) {
  const std::string fix = "; resume where it was measured, pass another -o, or --restart to measure everything here";
  const std::string of = opt.kind.empty() ? "" : " (kind " + opt.kind + ")";
  if (!was.device_name.empty() && !opt.device_name.empty() && was.device_name != opt.device_name)
    return Status::UserError(opt.out + ": --resume: measured on " + was.device_name + of + ", but this machine's " +
                             sweep.cluster.device + " is " + opt.device_name + ": step times would mix two machines" +
                             fix);
  // On CPU devices the cores a node shares out set every step time (a different allocation).
  if (was.cores > 0 && opt.cores > 0 && was.cores != opt.cores)
    return Status::UserError(opt.out + ": --resume: measured with " + std::to_string(was.cores) + " cores a node" + of +
                             ", but these trials would have " + std::to_string(opt.cores) +
                             ": step times would mix two core counts" + fix);
  return Status::Ok();
}

// The records and links the file already has, kept for --resume: records of this sweep's jobs
// measured with the cost key the job has now, and the machines each kind was measured on. A file
// of another sweep, or of this kind measured on another machine, is an error; stale records go.
Result<std::map<Key, ProfileRecord>> KeptRecords(const Sweep& sweep, const ProfilerOptions& opt,
                                                 std::vector<std::string>* notes,
                                                 std::map<LinkKey, std::vector<LinkRecord>>* links,
                                                 std::vector<MachineProvenance>* machines) {
  std::map<Key, ProfileRecord> kept;
  if (!fs::exists(opt.out)) return kept;
  Result<Profile> old = LoadProfile(opt.out);
  if (!old.ok()) return old.status();
  for (const LinkRecord& l : old->links) (*links)[{l.kind, l.ranks}].push_back(l);
  if (old->sweep != sweep.name)
    return Status::UserError(opt.out + ": --resume: this is the profile of sweep '" + old->sweep + "', not '" +
                             sweep.name + "' (" + sweep.path + "); pass another -o, or --restart to overwrite it");
  if (old->measured.present && old->measured.device != sweep.cluster.device)
    return Status::UserError(opt.out + ": --resume: measured on " + old->measured.device + " devices, but the cluster has " +
                             sweep.cluster.device + "; pass another -o, or --restart to overwrite it");
  if (const MachineProvenance* was = old->measured.machine(opt.kind))
    SATURN_RETURN_IF_ERROR(CheckSameMachine(*was, sweep, opt));
  *machines = old->measured.machines;
  for (const ProfileRecord& r : old->records) {
    const JobSpec* j = sweep.find_job(r.job);
    if (!j)
      return Status::UserError(old->where(r) + ": --resume: job '" + r.job + "' is not in " + sweep.path +
                               "; is this the profile of another sweep? Pass another -o, or --restart");
    // This kind's estimates are made again (--estimate) and never stand in for a trial; other
    // kinds' records are kept as they are.
    if (r.estimated && r.kind == opt.kind) continue;
    auto key = old->measured.cost_keys.find(r.job);
    if (key != old->measured.cost_keys.end() && key->second != j->cost_key()) {
      notes->push_back(old->where(r) + ": " + r.job + " was measured as " + key->second + "; measuring it again");
      continue;
    }
    kept[KeyOf(r)] = r;
  }
  return kept;
}

// One launch: a trial with one of its knob settings.
struct Attempt {
  const Trial* trial = nullptr;
  std::string knobs = "{}";
  int variant = 0;  // index among the trial's settings tried (file names)
};

// The settings of one trial tried so far, by variant.
struct Search {
  int outstanding = 0;
  bool fell_back = false;  // MemoryKnobs queued
  std::map<int, ProfileRecord> results;
};

// Device slots on one node (an index into the sweep's nodes).
struct Part {
  int node = 0;
  std::vector<int> slots;
};

struct Running {
  Attempt attempt;  // its trial lives in the TrialPlan, which outlives every launch
  const Trial& trial() const { return *attempt.trial; }
  std::vector<Part> parts;
  Subprocess proc;
  bool timed_out = false;
  Clock::time_point start;
  std::string log, result;
};

class Profiler {
 public:
  Profiler(const Sweep& sweep, const TrialPlan& plan, const ProfilerOptions& opt)
      : sweep_(sweep), plan_(plan), opt_(opt), work_((fs::path(sweep.output_dir) / "profile").string()) {
    // Without a map of the nodes this machine stands in for one node, the widest.
    if (opt.nodes.nodes.size() != sweep.cluster.nodes.size()) {
      free_.push_back(std::vector<bool>(size_t(std::max(1, sweep.cluster.max_node_devices())), true));
      return;
    }
    for (size_t n = 0; n < sweep.cluster.nodes.size(); ++n)
      free_.push_back(std::vector<bool>(opt.nodes.nodes[n].reachable ? size_t(sweep.cluster.nodes[n].devices) : 0, true));
  }

  Status Run() {
    SATURN_RETURN_IF_ERROR(Prepare());
    if (opt_.dry_run) return DryRun();
    CatchStopSignals();
    const auto t0 = Clock::now();
    for (const Trial& t : plan_.trials) {
      if (Have(t) || Place(t).empty()) continue;  // Prepare said why
      const std::vector<std::string>& v = opt_.search ? t.variants : std::vector<std::string>{"{}"};
      for (size_t i = 0; i < v.size(); ++i) pending_.push_back({&t, v[i], int(i)});
      if (!t.links) searches_[KeyOf(t, opt_.kind)].outstanding = int(v.size());
    }
    total_ = int(pending_.size());
    if (!kept_.empty() || !links_.empty())
      Say("keeping " + std::to_string(kept_.size()) + " records and the links of " + std::to_string(links_.size()) +
          " rank counts of " + opt_.out + " (--resume)");
    // Widest first: packs the node better, and the wide trials are the slow ones to wait for.
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const Attempt& a, const Attempt& b) { return a.trial->devices > b.trial->devices; });
    SATURN_RETURN_IF_ERROR(Write());
    while (!pending_.empty() || !running_.empty()) {
      if (StopSignal() != 0) return Stop(StopSignal());
      for (size_t i = 0; i < pending_.size();) {
        if ((opt_.serial && !running_.empty()) || Place(*pending_[i].trial).empty() ||
            (!running_.empty() && (pending_[i].trial->links || running_.front()->trial().links))) {
          ++i;
          continue;
        }
        Attempt a = pending_[i];
        pending_.erase(pending_.begin() + long(i));
        SATURN_RETURN_IF_ERROR(Launch(a));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      for (size_t i = 0; i < running_.size();) {
        if (Reap(*running_[i])) {
          SATURN_RETURN_IF_ERROR(Finish(*running_[i], std::chrono::duration<double>(Clock::now() - t0).count()));
          running_.erase(running_.begin() + long(i));
        } else {
          ++i;
        }
      }
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    int feasible = 0;
    for (const auto& [k, r] : records_) feasible += r.feasible;
    char gain[64] = "";
    if (wall > 0 && trial_seconds_ > 0) std::snprintf(gain, sizeof gain, " (%.2fx from packing)", trial_seconds_ / wall);
    Say("ran " + std::to_string(total_) + " trials in " + HumanSeconds(wall) + "; the trials took " +
        HumanSeconds(trial_seconds_) + gain + "; " + std::to_string(feasible) + " of " + std::to_string(records_.size()) +
        " records feasible; wrote " + opt_.out);
    return Status::Ok();
  }

 private:
  void Say(const std::string& line) {
    if (opt_.quiet) return;
    std::printf("profile: %s\n", line.c_str());
    std::fflush(stdout);
  }

  Status Prepare() {
    if (fs::exists(opt_.out) && !opt_.resume && !opt_.restart && !opt_.dry_run)
      return Status::UserError(opt_.out + ": exists; pass --resume to keep its records and measure the rest, or "
                               "--restart to measure everything again");
    SATURN_RETURN_IF_ERROR(CheckWritable(opt_.out, "-o"));
    if (opt_.resume) {
      std::vector<std::string> notes;
      Result<std::map<Key, ProfileRecord>> kept = KeptRecords(sweep_, opt_, &notes, &links_, &machines_);
      if (!kept.ok()) return kept.status();
      kept_ = *kept;
      for (const auto& n : notes) Say(n);
    }
    records_ = kept_;
    for (const ProfileRecord& r : plan_.infeasible) records_[KeyOf(r)] = r;
    // What no arrangement of the nodes within reach can host is left to --estimate.
    for (const Trial& t : plan_.trials)
      if (!Have(t) && Place(t).empty())
        Say("skipped " + t.label() + ": more devices than " +
            (opt_.nodes.nodes.empty() ? "one node has (name the nodes' hosts to run trials across them)"
                                      : "the nodes within reach can give (" + opt_.nodes.how + ")") +
            "; --estimate fills it in");
    std::error_code ec;
    fs::create_directories(work_, ec);
    if (ec) return Status::UserError(work_ + ": cannot create the trials' folder: " + ec.message());
    return Status::Ok();
  }

  // Across nodes a trial has whole nodes and each rank's slot is its local rank (--slots local;
  // a links trial takes its local rank without being told).
  std::vector<std::string> Command(const Trial& t, const std::vector<Part>& parts, const std::string& result,
                                   const std::string& knobs = "{}") const {
    std::vector<std::string> argv;
    const int node_slots = int(free_[size_t(parts[0].node)].size());
    std::vector<std::string> slots;
    if (parts.size() == 1) slots = {"--slots", FormatSlots(parts[0].slots)};
    if (t.links) {
      argv.insert(argv.end(), {opt_.saturn, "links-trial", "--device", sweep_.cluster.device, "--node-slots",
                               std::to_string(node_slots)});
      argv.insert(argv.end(), slots.begin(), slots.end());
      argv.insert(argv.end(), {"--min-bytes", std::to_string(opt_.links_min_bytes), "--max-bytes",
                               std::to_string(opt_.links_max_bytes), "--result", result});
    } else {
      argv.insert(argv.end(), {opt_.saturn, "profile-trial", sweep_.path, "--job", t.job->name, "--technique", t.technique});
      argv.insert(argv.end(), slots.begin(), slots.end());
      // The node's own slots: the trial reads the whole sweep, whose widest node may be another.
      if (parts.size() == 1) argv.insert(argv.end(), {"--node-slots", std::to_string(node_slots)});
      // Across nodes each rank binds to its local rank's cores, as `saturn run --plan` runs it.
      if (parts.size() > 1) argv.insert(argv.end(), {"--slots", "local"});
      argv.insert(argv.end(), {"--warmup", std::to_string(opt_.warmup), "--steps", std::to_string(opt_.timed), "--result", result});
      if (knobs != "{}") argv.insert(argv.end(), {"--knobs", knobs});
      if (opt_.threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(opt_.threads)});
    }
    const std::vector<std::string> hosts = Hosts(parts);
    if (hosts.size() == 1) return opt_.launcher.Command(t.devices, node_slots, argv, "saturn-" + FileSafe(t.label()), hosts[0]);
    return opt_.launcher.Command(t.devices, node_slots, argv, "saturn-" + FileSafe(t.label()), hosts);
  }

  std::vector<std::string> Hosts(const std::vector<Part>& parts) const {
    std::vector<std::string> hosts;
    for (const Part& p : parts) hosts.push_back(Host(p.node));
    return hosts;
  }

  std::string Host(int node) const {
    return size_t(node) < opt_.nodes.nodes.size() ? opt_.nodes.nodes[size_t(node)].host : "";
  }

  Status DryRun() {
    for (const ProfileRecord& r : plan_.infeasible)
      std::printf("not run: %s %s x%d: %s\n", r.job.c_str(), r.technique.c_str(), r.devices, r.reason.c_str());
    int n = 0;
    for (const Trial& t : plan_.trials) {
      if (Have(t)) continue;
      // Slots are taken as they free up; shown here as if the trial ran alone.
      const std::vector<Part> s = Place(t);
      if (s.empty()) continue;  // skipped (Prepare said so)
      const std::vector<std::string>& v = opt_.search ? t.variants : std::vector<std::string>{"{}"};
      for (size_t i = 0; i < v.size(); ++i)
        std::printf("trial %d: %s: %s\n", ++n, t.label().c_str(),
                    ShellLine(Command(t, s, Base(t, int(i)) + ".json", v[i])).c_str());
      if (opt_.search && !t.fallbacks.empty())
        std::printf("  (then, if every setting runs out of memory: %zu more with activation checkpointing)\n",
                    t.fallbacks.size());
    }
    int slots = 0;
    for (const auto& node : free_) slots += int(node.size());
    std::printf("%d trials to run (packed onto %d device slots at a time%s), %zu not run, %zu kept\n", n,
                slots, opt_.serial ? ", one by one (--serial)" : "", plan_.infeasible.size(), kept_.size());
    return Status::Ok();
  }

  bool Have(const Trial& t) const { return t.links ? links_.count({opt_.kind, t.devices}) > 0 : records_.count(KeyOf(t, opt_.kind)) > 0; }

  // Free slots for the trial's ranks, or none: the first node with that many free slots; wider
  // than every node, whole free nodes of one size (as the planner places such jobs:
  // plan/instance.cc), for links across nodes the size they measure.
  std::vector<Part> Place(const Trial& t) const {
    const int k = t.devices;
    size_t widest = 0;
    for (size_t n = 0; n < free_.size(); ++n) {
      widest = std::max(widest, free_[n].size());
      if (int(std::count(free_[n].begin(), free_[n].end(), true)) < k) continue;
      Part p{int(n), {}};
      for (int i = 0; i < int(free_[n].size()) && int(p.slots.size()) < k; ++i)
        if (free_[n][size_t(i)]) p.slots.push_back(i);
      return {p};
    }
    if (size_t(k) <= widest) return {};
    std::set<size_t> sizes;
    for (const auto& node : free_)
      if (!node.empty()) sizes.insert(node.size());
    for (size_t size : sizes) {
      if (t.nodes > 1 && int(size) * t.nodes != k) continue;
      std::vector<Part> parts;
      const size_t m = (size_t(k) + size - 1) / size;
      for (size_t n = 0; n < free_.size() && parts.size() < m; ++n)
        if (free_[n].size() == size && std::count(free_[n].begin(), free_[n].end(), true) == long(size)) {
          Part p{int(n), {}};
          for (int i = 0; i < int(size); ++i) p.slots.push_back(i);
          parts.push_back(p);
        }
      if (parts.size() == m) return parts;
    }
    return {};
  }

  std::string Base(const Trial& t, int variant) const {
    return work_ + "/" + FileSafe(t.label()) + (variant > 0 ? ".knobs" + std::to_string(variant) : "");
  }

  Status Launch(const Attempt& a) {
    const Trial& t = *a.trial;
    auto r = std::make_unique<Running>();
    r->attempt = a;
    r->parts = Place(t);
    for (const Part& p : r->parts)
      for (int s : p.slots) free_[size_t(p.node)][size_t(s)] = false;
    const std::string base = Base(t, a.variant);
    r->log = base + ".log";
    r->result = base + ".json";
    std::error_code ec;
    fs::remove(r->log, ec);
    fs::remove(r->result, ec);
    std::vector<std::string> argv = Command(t, r->parts, r->result, a.knobs);
    // The log starts with the command, so a failed trial can be rerun by hand.
    {
      std::ofstream log(r->log, std::ios::trunc);
      log << kLaunchLine << ShellLine(argv) << "\n";
      if (!log.flush()) return Status::UserError(r->log + ": cannot write a trial's log");
    }
    const int node_slots = int(free_[size_t(r->parts[0].node)].size());
    Result<Subprocess> p = Subprocess::Start(argv, r->log, SIGTERM, opt_.launcher.Environment(Hosts(r->parts), node_slots));
    if (!p.ok()) return Status::UserError("cannot start a trial (" + ShellLine(argv) + "): " + p.status().message());
    r->proc = std::move(*p);
    r->start = Clock::now();
    running_.push_back(std::move(r));
    return Status::Ok();
  }

  // True when the trial is over: exited, or stopped after its timeout.
  bool Reap(Running& r) {
    if (r.proc.Poll()) return true;
    if (std::chrono::duration<double>(Clock::now() - r.start).count() < opt_.trial_timeout) return false;
    r.proc.Stop(5);
    r.timed_out = true;
    return true;
  }

  ProfileRecord Outcome(const Running& r) {
    ProfileRecord rec;
    rec.job = r.trial().job->name;
    rec.technique = r.trial().technique;
    rec.devices = r.trial().devices;
    rec.kind = opt_.kind;
    const std::string log_text = LogText(r);
    if (r.timed_out) {
      char why[96];
      std::snprintf(why, sizeof why, "timed out after %g s (--trial-timeout)", opt_.trial_timeout);
      rec.reason = why;
      return rec;
    }
    if (r.proc.exit_code() != 0) {
      std::string why = TrialFailureReason(log_text);
      // SIGKILL that the profiler did not send: most likely the kernel's out-of-memory killer.
      // (srun and mpirun report a rank's SIGKILL as their own exit code 137.)
      const bool killed = r.proc.signal() == SIGKILL || r.proc.exit_code() == 128 + SIGKILL;
      if (killed && why.rfind("out of memory", 0) != 0)
        why = "out of memory (killed by SIGKILL, as the kernel's out-of-memory killer does)" + (why.empty() ? "" : ": " + why);
      else if (r.proc.signal() != 0 && why.rfind("out of memory", 0) != 0)
        why = "crashed (signal " + std::to_string(r.proc.signal()) + ")" + (why.empty() ? "" : ": " + why);
      else if (why.empty()) why = "exited with code " + std::to_string(r.proc.exit_code());
      rec.reason = why;
      return rec;
    }
    Result<std::string> text = ReadFile(r.result);
    nlohmann::json j = text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!j.is_object() || !j.contains("step_seconds") || !j["step_seconds"].is_array() || j["step_seconds"].empty()) {
      rec.reason = "the trial exited without a result (" + r.result + "); see " + r.log;
      return rec;
    }
    std::vector<double> t;
    for (const auto& x : j["step_seconds"])
      if (x.is_number()) t.push_back(x.get<double>());
    if (t.empty() || (j.contains("peak_memory_bytes") && !j["peak_memory_bytes"].is_number_unsigned())) {
      rec.reason = "the trial wrote a result that is not one (" + r.result + "); see " + r.log;
      return rec;
    }
    std::sort(t.begin(), t.end());
    const double median = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
    rec.feasible = median > 0 && std::isfinite(median);
    if (!rec.feasible) {
      rec.reason = "measured a step time of " + std::to_string(median) + " s";
      return rec;
    }
    rec.step_seconds = median;
    rec.spread = (t.back() - t.front()) / median;
    rec.measured_steps = int(t.size());
    rec.peak_memory_bytes = j.value("peak_memory_bytes", 0LL);
    if (j.contains("knobs") && j["knobs"].is_object()) rec.knobs_json = j["knobs"].dump();
    return rec;
  }

  // The trial's log, read once ("" when it cannot be read).
  static std::string LogText(const Running& r) {
    Result<std::string> text = ReadFile(r.log);
    return text.ok() ? *text : "";
  }

  // A link trial's samples, or why there are none.
  std::string LinkOutcome(const Running& r) {
    if (r.timed_out) return "timed out (--trial-timeout)";
    if (r.proc.exit_code() != 0) {
      std::string why = TrialFailureReason(LogText(r));
      return why.empty() ? "exited with code " + std::to_string(r.proc.exit_code()) : why;
    }
    Result<std::string> text = ReadFile(r.result);
    Result<Profile> p = text.ok() ? ParseProfile(*text, r.result) : Result<Profile>(text.status());
    if (!p.ok()) return p.status().message();
    if (p->links.empty()) return "no samples in " + r.result;
    std::vector<LinkRecord>& mine = links_[{opt_.kind, r.trial().devices}];
    mine = p->links;
    for (LinkRecord& l : mine) {
      l.kind = opt_.kind;
      l.nodes = int(r.parts.size());
      l.scope = l.nodes > 1 ? "nodes" : "node";
    }
    return "";
  }

  Status Finish(Running& r, double elapsed) {
    for (const Part& p : r.parts)
      for (int s : p.slots) free_[size_t(p.node)][size_t(s)] = true;
    const double took = std::chrono::duration<double>(Clock::now() - r.start).count();
    trial_seconds_ += took;
    ++done_;
    const double eta_links = elapsed / done_ * (total_ - done_);
    if (r.trial().links) {
      std::string why = LinkOutcome(r), what;
      if (!why.empty()) {
        what = "failed: " + why;
      } else {
        double best = 0;
        for (const LinkRecord& l : links_[{opt_.kind, r.trial().devices}])
          if (l.collective == "all_reduce") best = std::max(best, l.busbw);
        char buf[96];
        std::snprintf(buf, sizeof buf, "all-reduce bus bandwidth up to %.2f GB/s", best / 1e9);
        what = buf;
      }
      Say("[" + std::to_string(done_) + "/" + std::to_string(total_) + "] " + r.trial().label() + ": " + what + " (" +
          HumanSeconds(took) + (done_ < total_ ? "; about " + HumanSeconds(eta_links) + " left)" : ")"));
      return Write();
    }
    ProfileRecord rec = Outcome(r);
    Search& search = searches_[KeyOf(rec)];
    search.results[r.attempt.variant] = rec;
    --search.outstanding;
    std::string what;
    if (rec.feasible) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.4g s/step (spread %.0f%%)", rec.step_seconds, 100 * rec.spread);
      what = buf;
      if (rec.peak_memory_bytes) what += ", peak " + Bytes(double(rec.peak_memory_bytes));
    } else {
      what = "infeasible: " + rec.reason;
    }
    const std::string knobs = r.attempt.knobs == "{}" ? "" : " " + r.attempt.knobs;
    if (search.outstanding == 0) {
      if (!Settle(r.trial(), &search)) what += "; trying activation checkpointing";
      else if (search.results.size() > 1 && records_[KeyOf(rec)].feasible)
        what += "; fastest of " + std::to_string(search.results.size()) + " settings: " +
                records_[KeyOf(rec)].knobs_json;
    }
    const double eta = elapsed / done_ * (total_ - done_);
    Say("[" + std::to_string(done_) + "/" + std::to_string(total_) + "] " + r.trial().label() + knobs + ": " + what +
        " (" + HumanSeconds(took) + (done_ < total_ ? "; about " + HumanSeconds(eta) + " left)" : ")"));
    return Write();
  }

  // Every setting of a trial has run: the fastest that ran is the record; when all ran out of
  // memory, queue the memory-saving settings first (false), once.
  bool Settle(const Trial& t, Search* search) {
    const ProfileRecord* best = nullptr;
    bool oom = false;
    for (const auto& [v, rec] : search->results) {
      if (rec.feasible && (!best || rec.step_seconds < best->step_seconds)) best = &rec;
      oom = oom || rec.reason.rfind("out of memory", 0) == 0;
    }
    if (!best && oom && opt_.search && !search->fell_back && !t.fallbacks.empty()) {
      search->fell_back = true;
      const int first = int(search->results.size());
      for (size_t i = 0; i < t.fallbacks.size(); ++i) pending_.push_back({&t, t.fallbacks[i], first + int(i)});
      search->outstanding = int(t.fallbacks.size());
      total_ += int(t.fallbacks.size());
      return false;
    }
    // Infeasible: the defaults' reason (the first setting tried).
    records_[KeyOf(t, opt_.kind)] = best ? *best : search->results.begin()->second;
    return true;
  }

  Status Stop(int sig) {
    for (auto& r : running_) r->proc.Terminate();  // all at once, then one grace period
    for (auto& r : running_) r->proc.Stop(5);
    running_.clear();
    SATURN_RETURN_IF_ERROR(Write());
    return Status::Stopped(sig, std::string(SignalName(sig)) + ": stopped after " + std::to_string(done_) + " of " +
                                    std::to_string(total_) + " trials; " + opt_.out +
                                    " holds every record measured; continue with: saturn profile " + sweep_.path +
                                    " -o " + opt_.out + " --resume");
  }

  // The profile so far, records in the order the sweep lists jobs, techniques and device counts.
  Status Write() {
    Profile p;
    p.sweep = sweep_.name;
    p.measured.present = true;
    p.measured.saturn_version = SATURN_VERSION;
    p.measured.device = sweep_.cluster.device;
    p.measured.host = HostName();
    p.measured.launcher = opt_.launcher.Describe();
    p.measured.date = NowUtc();
    p.measured.warmup_steps = opt_.warmup;
    p.measured.timed_steps = opt_.timed;
    MachineProvenance mine;
    mine.kind = opt_.kind;
    mine.device_name = opt_.device_name;
    if (sweep_.cluster.device == "cpu" && opt_.cores > 0) {
      mine.cores = opt_.cores, mine.device_slots = sweep_.cluster.max_node_devices();
      // Not serial with fewer cores than slots: --pack asked for it (the command's rule).
      mine.packed = !opt_.serial && mine.cores < mine.device_slots;
    }
    for (const MachineProvenance& m : machines_) {
      if (m.kind != opt_.kind) {
        p.measured.machines.push_back(m);
        continue;
      }
      // Kept records measured alone and packed ones mixed: packed, so the model counts no
      // sharing it cannot be sure of (CheckSameMachine refused other machines).
      mine.packed = mine.packed || m.packed;
      if (mine.device_name.empty()) mine.device_name = m.device_name;
      if (mine.cores == 0) mine.cores = m.cores, mine.device_slots = m.device_slots;
    }
    p.measured.machines.push_back(mine);
    std::map<std::string, size_t> job_index;
    for (size_t i = 0; i < sweep_.jobs.size(); ++i) job_index[sweep_.jobs[i].name] = i;
    const auto& names = TechniqueNames();
    auto order = [&](const ProfileRecord& r) {
      long t = std::find(names.begin(), names.end(), r.technique) - names.begin();
      return std::make_tuple(job_index[r.job], t, r.devices, r.kind);
    };
    for (const auto& [k, r] : records_) {
      p.records.push_back(r);
      p.measured.cost_keys[r.job] = sweep_.find_job(r.job)->cost_key();
    }
    std::sort(p.records.begin(), p.records.end(),
              [&](const ProfileRecord& a, const ProfileRecord& b) { return order(a) < order(b); });
    for (auto& r : p.records) r.line = 0;
    for (const auto& [key, samples] : links_) p.links.insert(p.links.end(), samples.begin(), samples.end());
    return WriteFileAtomic(opt_.out, ProfileToJson(p));
  }

  const Sweep& sweep_;
  const TrialPlan& plan_;
  const ProfilerOptions& opt_;
  std::vector<std::vector<bool>> free_;  // per node of the sweep, its free device slots (none when out of reach)
  const std::string work_;  // logs and results of the trials
  std::map<Key, ProfileRecord> kept_, records_;
  std::map<LinkKey, std::vector<LinkRecord>> links_;
  std::vector<MachineProvenance> machines_;  // the file's before (--resume): other kinds' are kept as they were
  std::vector<std::unique_ptr<Running>> running_;
  std::vector<Attempt> pending_;
  std::map<Key, Search> searches_;
  int total_ = 0, done_ = 0;
  double trial_seconds_ = 0;
};

}  // namespace

std::string TrialFailureReason(const std::string& log_text) {
  // Lower case: Slurm says "Out Of Memory" and "oom_kill event".
  static const char* const kOom[] = {"out of memory", "can't allocate memory", "std::bad_alloc",
                                     "cannot allocate memory", "oom_kill", "oom-kill"};
  auto is_oom = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    for (const char* m : kOom)
      if (s.find(m) != std::string::npos) return true;
    return false;
  };
  // srun's and slurmstepd's own closing lines ("task 0: Exited with exit code 1") say less than
  // the rank's error before them.
  auto launcher_line = [](const std::string& s) { return s.rfind("srun:", 0) == 0 || s.rfind("slurmstepd", 0) == 0; };
  std::istringstream in(log_text);
  std::string line, last, error, oom;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line.rfind(kLaunchLine, 0) == 0) continue;
    if (!launcher_line(line) || last.empty()) last = line;
    size_t at = line.find("error: ");
    if (at != std::string::npos && !launcher_line(line)) error = line.substr(at + 7);
    // Any rank's out-of-memory line wins over the errors it caused on the others.
    if (oom.empty() && is_oom(line)) oom = at != std::string::npos ? line.substr(at + 7) : line;
  }
  std::string why = !oom.empty() ? oom : error.empty() ? last : error;
  if (is_oom(why) && why.rfind("out of memory", 0) != 0) why = "out of memory: " + why;
  if (why.size() > 400) why = why.substr(0, 400) + "...";
  return why;
}

Status RunProfiler(const Sweep& sweep, const TrialPlan& plan, const ProfilerOptions& opt) {
  Profiler p(sweep, plan, opt);
  return p.Run();
}

}  // namespace saturn
