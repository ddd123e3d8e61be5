// `saturn profile SWEEP -o PROFILE.json`: measures every job (one per cost key) under every
// allowed technique and device count as real launches on this node (profile/profiler.h), and
// `saturn profile-trial`, the one trial each launch runs (not for users: the profiler writes
// its command lines, and --dry-run prints them).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli/command.h"
#include "cli/torch_errors.h"
#include "comm/link_bench.h"
#include "comm/registry.h"
#include "config/sweep.h"
#include "data/prepare.h"
#include "data/tokenizer.h"
#include "job/preflight.h"
#include "job/trainer.h"
#include "launch/launcher.h"
#include "model/config.h"
#include "profile/estimate.h"
#include "profile/profile.h"
#include "profile/profiler.h"
#include "profile/trials.h"
#include "technique/registry.h"
#include "util/files.h"
#include "util/heap.h"
#include "util/subprocess.h"
#include "util/suggest.h"
#include "util/threads.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

struct ProfileArgs {
  std::string sweep;
  std::string launcher;
  bool links_only = false, no_links = false, estimate = false, pack = false;
  ProfilerOptions opt;
};

bool HasBackend(const std::string& name) {
  for (const auto& b : CompiledBackends())
    if (b == name) return true;
  return false;
}

// What the analytic model needs of a job's model and precision.
Result<JobShape> ShapeOf(const Sweep& sweep, const JobSpec& j) {
  Result<ModelConfig> cfg = LoadModelConfig(ModelConfigPath(j.model));
  if (!cfg.ok()) return cfg.status();
  JobShape shape;
  shape.parameters = cfg->parameter_count();
  shape.block_parameters = cfg->block_parameter_count();
  shape.tied_parameters = cfg->tie_word_embeddings ? (long long)cfg->vocab_size * cfg->hidden : 0;
  shape.layers = cfg->layers;
  shape.hidden = cfg->hidden;
  shape.bytes_per_activation = j.precision == "bf16" || (j.precision == "auto" && sweep.cluster.device == "cuda") ? 2 : 4;
  shape.optimizer_bytes_per_parameter = j.optimizer.name == "sgd" ? 4 : 8;
  return shape;
}

// The same question `saturn run` asks before it trains (Technique::Feasible), plus what this
// build and machine can launch at all, and whether the memory estimate lets it fit.
std::string WhyNot(const Sweep& sweep, const JobSpec& job, const std::string& name, int devices) {
  Result<const Technique*> t = FindTechnique(name);
  if (!t.ok()) return t.status().message();
  Feasibility f = (*t)->Feasible(job, sweep.cluster, devices);
  if (!f.ok) return f.reason;
  Result<JobShape> shape = ShapeOf(sweep, job);
  if (!shape.ok()) return "";  // the trial will say what is wrong with the model
  const double need = double(StateBytesPerRank(*shape, name, devices)), have = sweep.cluster.device_memory_gib * kGiB;
  if (need <= have) return "";
  char why[256];
  std::snprintf(why, sizeof why,
                "out of memory by the memory estimate: weights, gradients and optimizer state alone need %.2f GiB per "
                "device (%d bytes x %lld parameters%s), above device_memory_gib %g; not launched",
                need / kGiB, 8 + shape->optimizer_bytes_per_parameter, (long long)shape->parameters, name == "ddp" || devices == 1 ? "" : (" / " + std::to_string(devices)).c_str(),
                sweep.cluster.device_memory_gib);
  return why;
}

// A sweep that asks for several ranks where this build cannot start or connect them is the
// user's to change (or the build's): no trial of it could be measured.
Status CheckBackends(const Sweep& sweep) {
  const bool mpi = HasBackend("MPI"), nccl = sweep.cluster.device != "cuda" || HasBackend("NCCL");
  if (mpi && nccl) return Status::Ok();
  for (const JobSpec& j : sweep.jobs) {
    const int widest = j.devices.empty() ? 1 : *std::max_element(j.devices.begin(), j.devices.end());
    if (widest <= 1) continue;
    const std::string why = !mpi ? "this saturn was built without MPI, so it cannot start several ranks (build with "
                                   "-DSATURN_USE_MPI=ON and Open MPI installed"
                                 : "this saturn was built without NCCL, so CUDA ranks cannot exchange tensors (build "
                                   "with -DSATURN_USE_NCCL=ON";
    return Status::UserError(j.loc.str() + ": job '" + j.name + "' allows " + std::to_string(widest) +
                             " devices, but " + why + "), or allow it devices: [1]");
  }
  return Status::Ok();
}

// Tokenizes each job's data into the sweep's cache once, before trials that share it start at
// the same time.
Status PrepareData(const Sweep& sweep, bool quiet) {
  std::set<std::string> done;
  const std::string cache = (fs::path(sweep.output_dir) / "cache").string();
  auto note = [quiet](const std::string& line) {
    if (!quiet) std::printf("profile: %s\n", line.c_str());
  };
  for (const JobSpec& j : sweep.jobs) {
    for (const std::string& data : {j.data_train, j.data_valid}) {
      if (data.empty() || !done.insert(j.tokenizer + "\n" + data).second) continue;
      Result<std::shared_ptr<const Tokenizer>> tok = Tokenizer::Load(j.tokenizer);
      if (!tok.ok()) return tok.status();
      Result<std::shared_ptr<const TokenFile>> tokens = PrepareTokens(data, **tok, cache, note);
      if (!tokens.ok()) return tokens.status();
    }
  }
  return Status::Ok();
}

std::string Num(double v, const char* fmt = "%.4g") {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// What a record keeps of its estimate: the parts, and the inputs that make them again.
std::string EstimateJson(const Estimate& e, const JobShape& shape) {
  nlohmann::json fits = nlohmann::json::object();
  for (const auto& [c, f] : e.fits) fits[c] = {{"alpha_seconds", f.alpha}, {"busbw", f.busbw}};
  nlohmann::json j = {{"compute_seconds", e.compute_seconds},
                      {"comm_seconds", e.comm_seconds},
                      {"links", e.links},
                      {"from", {{"technique", e.from_technique}, {"devices", 1}, {"step_seconds", e.from_seconds}}},
                      {"parameters", shape.parameters},
                      {"block_parameters", shape.block_parameters},
                      {"tied_parameters", shape.tied_parameters},
                      {"layers", shape.layers},
                      {"core_share", e.core_share},
                      {"link_fits", fits},
                      {"model", "docs/profile.md#estimates"}};
  if (e.micro_batches > 0) j["micro_batches"] = e.micro_batches;
  return j.dump();
}

// --estimate: the analytic model (profile/estimate.h) fills in every allowed technique and
// device count of each measured job that has no record (device counts above a node, above all),
// marked estimated with the model's parts; and says how it does where both exist.
Status EstimateMissing(const Sweep& sweep, const std::string& out, const std::string& kind, bool quiet) {
  Result<Profile> profile = LoadProfile(out);
  if (!profile.ok()) return profile.status();
  Profile p = *profile;
  // Estimates of an earlier run on this kind are made again; other kinds' records stay as they are.
  p.records.erase(std::remove_if(p.records.begin(), p.records.end(),
                                 [&](const ProfileRecord& r) { return r.estimated && r.kind == kind; }),
                  p.records.end());
  Profile mine = p;  // this kind's records and links: the model is fitted to them alone
  mine.records.erase(std::remove_if(mine.records.begin(), mine.records.end(),
                                    [&](const ProfileRecord& r) { return r.kind != kind; }),
                     mine.records.end());
  mine.links.erase(std::remove_if(mine.links.begin(), mine.links.end(), [&](const LinkRecord& l) { return l.kind != kind; }),
                   mine.links.end());
  Estimator model(mine, sweep.cluster.max_node_devices(), kind);
  std::set<std::string> measured_jobs, have;
  for (const ProfileRecord& r : mine.records) {
    measured_jobs.insert(r.job);
    have.insert(r.job + "|" + r.technique + "|" + std::to_string(r.devices));
  }
  std::vector<ProfileRecord> added;
  std::vector<std::string> checks;
  for (const JobSpec& j : sweep.jobs) {
    if (!measured_jobs.count(j.name)) continue;
    Result<JobShape> got = ShapeOf(sweep, j);
    if (!got.ok()) return got.status();
    const JobShape& shape = *got;
    for (const std::string& t : j.techniques) {
      for (int k : j.devices) {
        Estimate e = model.Predict(j, shape, t, k);
        const std::string key = j.name + "|" + t + "|" + std::to_string(k);
        if (have.count(key)) {
          for (const ProfileRecord& r : mine.records)
            if (e.ok && k > 1 && r.job == j.name && r.technique == t && r.devices == k && r.feasible)
              checks.push_back(j.name + " " + t + " x" + std::to_string(k) + ": step " + Num(e.step_seconds) + " s / " +
                               Num(r.step_seconds) + " s measured = " + Num(e.step_seconds / r.step_seconds, "%.2f") +
                               (e.links == "node" ? "" : " (links " + e.links + ")") +
                               (e.peak_memory_bytes > 0 && r.peak_memory_bytes > 0
                                    ? "; memory " + Num(double(e.peak_memory_bytes) / double(r.peak_memory_bytes), "%.2f")
                                    : std::string("; memory not measured")));
          continue;
        }
        if (!e.ok || sweep.cluster.total_devices() < k) continue;
        ProfileRecord r;
        r.job = j.name;
        r.technique = t;
        r.devices = k;
        r.kind = kind;
        r.feasible = double(e.peak_memory_bytes) <= sweep.cluster.device_memory_gib * 1073741824.0;
        if (r.feasible) r.step_seconds = e.step_seconds;
        else r.reason = "the estimate needs more than device_memory_gib";
        r.peak_memory_bytes = e.peak_memory_bytes;
        r.estimated = true;
        r.estimate_json = EstimateJson(e, shape);
        added.push_back(r);
      }
    }
  }
  p.records.insert(p.records.end(), added.begin(), added.end());
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(out, ProfileToJson(p)));
  if (!quiet) {
    for (const std::string& c : checks) std::printf("estimate check: %s\n", c.c_str());
    std::printf("profile: estimated %zu records (marked \"estimated\": true); wrote %s\n", added.size(), out.c_str());
  }
  return Status::Ok();
}

// The sweep as the trials on node kind *kind see it: that kind's nodes, with its device memory.
// An empty *kind is the nodes' one kind when they all have the same; a cluster of several kinds
// needs --kind, since trials measure the hardware they run on.
Result<Sweep> KindView(const Sweep& sweep, std::string* kind) {
  std::vector<std::string> used;
  for (const NodeSpec& n : sweep.cluster.nodes)
    if (std::find(used.begin(), used.end(), n.kind) == used.end()) used.push_back(n.kind);
  auto named = [](const std::string& k) { return k.empty() ? std::string("(no kind)") : k; };
  std::string listed;
  for (const std::string& k : used) listed += (listed.empty() ? "" : ", ") + named(k);
  if (kind->empty() && used.size() > 1)
    return Status::UserError(sweep.path + ": the cluster mixes node kinds (" + listed +
                             "); profile each kind on its nodes, into one file: saturn profile " + sweep.path +
                             " --kind KIND -o PROFILE.json (then --resume for the next kind)");
  if (kind->empty()) *kind = used.front();
  if (std::find(used.begin(), used.end(), *kind) == used.end())
    return Status::UserError("--kind " + *kind + ": no node of " + sweep.path + "'s cluster has this kind; its kinds: " +
                             listed + DidYouMean(*kind, used));
  Sweep view = sweep;
  view.cluster.device_memory_gib = sweep.cluster.memory_gib(*kind);
  view.cluster.nodes.clear();
  for (const NodeSpec& n : sweep.cluster.nodes)
    if (n.kind == *kind) view.cluster.nodes.push_back(n);
  return view;
}

// How many nodes of the widest size trials can launch on: those `nodes` maps within reach, or
// the one this machine stands in for when it maps none.
int WidestNodesWithinReach(const Sweep& sweep, const NodeMap& nodes) {
  if (nodes.nodes.size() != sweep.cluster.nodes.size()) return 1;
  int n = 0;
  for (size_t i = 0; i < nodes.nodes.size(); ++i)
    n += nodes.nodes[i].reachable && sweep.cluster.nodes[i].devices == sweep.cluster.max_node_devices();
  return n;
}

Status ProfileSweep(ProfileArgs& a) {
  if (a.sweep.empty()) return Status::UserError("give a sweep file: saturn profile SWEEP.yaml -o PROFILE.json");
  if (a.opt.out.empty()) return Status::UserError("give the profile to write: -o PROFILE.json");
  if (a.opt.resume && a.opt.restart) return Status::UserError("--resume and --restart contradict each other; pick one");
  if (a.opt.warmup < 0 || a.opt.timed < 1)
    return Status::UserError("--warmup must be >= 0 and --steps >= 1 (the timed steps)");
  if (!(a.opt.trial_timeout > 0)) return Status::UserError("--trial-timeout must be a positive number of seconds");
  SATURN_RETURN_IF_ERROR(CheckThreadCount(a.opt.threads));
  Result<Sweep> loaded = LoadSweep(a.sweep);
  if (!loaded.ok()) return loaded.status();
  // From here on the sweep is its view from the kind profiled: that kind's nodes and memory.
  Result<Sweep> sweep = KindView(*loaded, &a.opt.kind);
  if (!sweep.ok()) return sweep.status();
  if (SameFile(a.opt.out, a.sweep)) return Status::UserError("-o " + a.opt.out + " is the sweep itself; name another file");
  std::vector<const JobSpec*> jobs;
  for (const auto& j : sweep->jobs) jobs.push_back(&j);
  SATURN_RETURN_IF_ERROR(CheckJobInputs(*sweep, jobs));
  if (sweep->cluster.device == "cuda" && !torch::cuda::is_available())
    return Status::UserError(sweep->path + ": the cluster has cuda devices, but this machine (or this LibTorch) has no "
                             "CUDA device; profile on the cluster's nodes, or set `cluster.device: cpu`");
  if (sweep->cluster.device == "cuda" && int(torch::cuda::device_count()) < sweep->cluster.max_node_devices())
    return Status::UserError(sweep->path + ": a node of the cluster has " +
                             std::to_string(sweep->cluster.max_node_devices()) + " devices, but this machine sees " +
                             std::to_string(torch::cuda::device_count()) +
                             " GPUs (CUDA_VISIBLE_DEVICES?); trials would share GPUs: profile on a node like the "
                             "cluster's");
  if (a.links_only && a.no_links) return Status::UserError("--links and --no-links contradict each other; pick one");
  if (a.opt.links_min_bytes < 4 || a.opt.links_max_bytes < a.opt.links_min_bytes || a.opt.links_max_bytes > (16LL << 30))
    return Status::UserError("--links-max-bytes must be at least 4 (and the smallest size) and at most 16 GiB");
  TrialPlan plan;
  if (!a.links_only) SATURN_RETURN_IF_ERROR(CheckBackends(*sweep));
  if (!a.links_only)
    plan = PlanTrials(
        *sweep, [&](const JobSpec& j, const std::string& t, int k) { return WhyNot(*sweep, j, t, k); },
        [](Trial* t) {
          const Technique* tech = *FindTechnique(t->technique);  // PlanTrials asked WhyNot first
          t->variants = SearchKnobs(*tech, *t->job, t->devices);
          t->fallbacks = MemoryKnobs(*tech, *t->job, t->devices);
        });
  for (ProfileRecord& r : plan.infeasible) r.kind = a.opt.kind;
  a.opt.launcher = Launcher::Make(a.launcher, SlurmAllocation::FromEnvironment(), sweep->cluster.device);
  // Trials run on the nodes within reach: inside an allocation its nodes, under mpirun the nodes
  // that name a host:; else this machine stands in for one node (the profiler's default).
  std::vector<NodeAddress> addresses;
  bool named = false;
  for (const NodeSpec& n : sweep->cluster.nodes) addresses.push_back({n.name, n.host}), named = named || !n.host.empty();
  const SlurmAllocation& alloc = a.opt.launcher.slurm();
  if (named || (a.opt.launcher.kind() == LaunchKind::kSrun && alloc.inside() && !alloc.node_list.empty())) {
    Result<NodeMap> nodes = MapNodes(addresses, a.opt.launcher.kind(), alloc);
    if (!nodes.ok()) return nodes.status();
    a.opt.nodes = *nodes;
  }
  if (!a.no_links && HasBackend("MPI")) {
    const int reach = WidestNodesWithinReach(*sweep, a.opt.nodes);
    std::vector<Trial> links = LinkTrials(*sweep, reach);
    plan.trials.insert(plan.trials.end(), links.begin(), links.end());
    if (reach < 2 && sweep->cluster.nodes.size() > 1 && !a.opt.quiet)
      std::printf("profile: links across nodes not measured: the trials reach one node (name the nodes' hosts, or "
                  "profile inside a Slurm allocation of several nodes); estimates across nodes use the links within "
                  "a node\n");
  }
  int most_ranks = 0;
  for (const Trial& t : plan.trials) most_ranks = std::max(most_ranks, t.devices);
  const bool remote = std::any_of(a.opt.nodes.nodes.begin(), a.opt.nodes.nodes.end(),
                                  [](const NodeTarget& t) { return !t.host.empty(); });
  if (!a.opt.dry_run) SATURN_RETURN_IF_ERROR(a.opt.launcher.CheckUsable(most_ranks, remote));
  // CPU devices are cores: with fewer cores than device slots, packed trials would share cores
  // and measure step times that trials alone would not see (bench/profile).
  const SlurmAllocation slurm = SlurmAllocation::FromEnvironment();
  const int cores = slurm.cpus_on_node > 0 ? slurm.cpus_on_node : AllowedCores();
  a.opt.cores = cores;
  // Provenance only: a GPU that cannot be asked its name leaves the name out; its trials will say
  // what is wrong with it.
  Result<std::string> device_name = DeviceName(sweep->cluster.device);
  a.opt.device_name = device_name.ok() ? *device_name : "";
  if (a.pack && a.opt.serial) return Status::UserError("--pack and --serial contradict each other; pick one");
  if (sweep->cluster.device == "cpu" && cores < sweep->cluster.max_node_devices() && !a.pack && !a.opt.serial) {
    a.opt.serial = true;
    if (!a.opt.quiet)
      std::printf("profile: one trial at a time: this machine has %d cores for %d CPU device slots, so packed trials "
                  "would share cores and time slower steps (--pack to pack them anyway)\n",
                  cores, sweep->cluster.max_node_devices());
  }
  std::error_code ec;
  a.opt.saturn = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Status::Internal("cannot find this saturn binary (/proc/self/exe): " + ec.message());
  if (!a.opt.dry_run) SATURN_RETURN_IF_ERROR(PrepareData(*sweep, a.opt.quiet));
  SATURN_RETURN_IF_ERROR(RunProfiler(*sweep, plan, a.opt));
  return a.estimate && !a.opt.dry_run ? EstimateMissing(*sweep, a.opt.out, a.opt.kind, a.opt.quiet) : Status::Ok();
}

struct LinksArgs {
  std::string device = "cpu", slots, result;
  int node_slots = 1;
  long long min_bytes = 4 << 10, max_bytes = 256 << 20;
};

// One link trial: every collective at every size over the launched ranks (comm/link_bench.h).
Status RunLinksTrial(const LinksArgs& a) {
  Result<World*> world = GetWorld();
  if (!world.ok()) return world.status();
  World& w = **world;
  Result<std::vector<int>> parsed = ParseSlots(a.slots);
  if (!parsed.ok()) return parsed.status();
  const std::vector<int>& slots = *parsed;
  const int slot = int(slots.size()) == w.size() ? slots[w.rank()] : w.local_rank;
  torch::Device device = torch::kCPU;
  if (a.device == "cuda") {
    if (!torch::cuda::is_available()) return Status::UserError("--device cuda: no CUDA device here");
    device = torch::Device(torch::kCUDA, slot % int(torch::cuda::device_count()));
    SATURN_RETURN_IF_ERROR(BindCudaDevice(device.index()));
  } else {
    Result<int> cores = BindToSlotCores(slot % std::max(1, a.node_slots), std::max(1, a.node_slots));
    if (!cores.ok()) return cores.status();
    torch::set_num_threads(*cores);
  }
  Result<std::shared_ptr<ProcessGroup>> group = MakeTensorGroup(w, a.device, device.is_cuda() ? device.index() : 0);
  if (!group.ok()) return group.status();
  LinkBenchOptions opt;
  opt.min_bytes = a.min_bytes;
  opt.max_bytes = a.max_bytes;
  Result<std::vector<LinkSample>> samples = MeasureLinks(**group, device, opt);
  if (!samples.ok()) return samples.status();
  if (w.rank() != 0) return Status::Ok();
  saturn::Profile p;
  for (const LinkSample& x : *samples) {
    LinkRecord r;
    r.collective = x.collective;
    r.ranks = x.ranks;
    r.bytes = x.bytes;
    r.seconds = x.seconds;
    r.algbw = x.algbw;
    r.busbw = x.busbw;
    p.links.push_back(r);
  }
  return WriteFileAtomic(a.result, ProfileToJson(p));
}

struct TrialArgs {
  std::string sweep, job, technique, slots, result, knobs;
  int node_slots = 0;
  int warmup = 2, steps = 5, threads = 0;
};

Status RunTrial(const TrialArgs& a) {
  Result<Sweep> sweep = LoadSweep(a.sweep);
  if (!sweep.ok()) return sweep.status();
  const JobSpec* job = sweep->find_job(a.job);
  if (!job) return Status::UserError("--job " + a.job + ": " + a.sweep + " has no such job");
  RunOptions opt;
  opt.device = sweep->cluster.device;
  opt.technique = a.technique;
  opt.knobs = a.knobs;
  opt.threads = a.threads;
  opt.quiet = true;
  Result<std::vector<int>> slots = a.slots == "local" ? std::vector<int>() : ParseSlots(a.slots);
  if (!slots.ok()) return slots.status();
  opt.slots = *slots;
  opt.slots_by_local_rank = a.slots == "local";
  opt.node_slots = a.node_slots;
  Result<World*> world = GetWorld();
  if (!world.ok()) return world.status();
  // The heap policy `saturn run` trains under (util/heap.h): without it every step maps and
  // faults in fresh pages for its large blocks, and on CPU the trial timed steps 3-5x slower
  // than the run then took (bench/execute, 2026-12-03).
  KeepLargeAllocationsInHeap();
  std::optional<StepTiming> timing;
  Status st = CatchTorchErrors(
      [&] {
        Result<StepTiming> t = MeasureJob(*sweep, *job, opt, **world, a.warmup, a.steps);
        if (!t.ok()) return t.status();
        timing = *t;
        return Status::Ok();
      },
      "the trial does not fit; the profile records it as infeasible");
  if (!st.ok()) return st;
  if ((*world)->rank() != 0) return Status::Ok();
  nlohmann::json j = {{"step_seconds", timing->step_seconds},
                      {"peak_memory_bytes", timing->peak_memory_bytes},
                      {"knobs", nlohmann::json::parse(timing->knobs_json)},
                      {"ranks", (*world)->size()}};
  return WriteFileAtomic(a.result, j.dump() + "\n");
}

}  // namespace

Action SetupProfileCommand(CLI::App* sub) {
  auto a = std::make_shared<ProfileArgs>();
  sub->add_option("sweep", a->sweep, "the sweep (YAML)");
  sub->add_option("-o,--output", a->opt.out, "the profile to write (JSON; docs/profile.md)");
  sub->add_option("--warmup", a->opt.warmup, "untimed steps before the timed ones (default 2)");
  sub->add_option("--steps", a->opt.timed, "timed steps per trial; the record keeps their median (default 5)");
  sub->add_option("--trial-timeout", a->opt.trial_timeout,
                  "seconds a trial may take, start-up included, before it is stopped and recorded infeasible (default 600)");
  sub->add_flag("--resume", a->opt.resume, "keep the records the profile already has and measure the rest");
  sub->add_flag("--restart", a->opt.restart, "measure everything again, overwriting the profile");
  sub->add_flag("--dry-run", a->opt.dry_run, "print the trials and the command each runs; run nothing");
  sub->add_flag("--serial", a->opt.serial, "one trial at a time, instead of packing trials onto free devices");
  sub->add_flag("--pack", a->pack,
                "pack trials onto free devices even on a CPU node with fewer cores than devices (the default packs "
                "only where each device has cores of its own)");
  sub->add_flag("--no-search", [a](int64_t) { a->opt.search = false; },
                "measure each technique with its default knobs only, instead of a small set (smaller micro-batches, "
                "ddp buckets; activation checkpointing when out of memory) keeping the fastest");
  sub->add_option("--launcher,--mpirun", a->launcher,
                  "how a trial starts its ranks, with the launcher's own flags: default srun inside a Slurm allocation "
                  "(one job step per trial), else $SATURN_MPIRUN, else mpirun; e.g. \"mpirun --oversubscribe\", "
                  "\"srun --mpi=pmix\"");
  sub->add_option("--threads", a->opt.threads, "CPU threads per rank (default: the rank's share of the node's cores)");
  sub->add_option("--kind", a->opt.kind,
                  "on a cluster of several node kinds: the kind whose nodes the trials run on (run it on such a node, "
                  "or an allocation of them); its records are marked with it. Profile each kind into the same file "
                  "with --resume");
  sub->add_flag("--estimate", a->estimate,
                "after measuring, estimate every allowed technique and device count left unmeasured (above one node, "
                "say) with the analytic model, marked estimated, and compare it with the measurements");
  sub->add_flag("--links", a->links_only, "measure only the links (collectives over 2 .. a node's devices ranks, and across the nodes within reach)");
  sub->add_flag("--no-links", a->no_links, "measure only the jobs, not the links");
  sub->add_option("--links-max-bytes", a->opt.links_max_bytes,
                  "the largest buffer of the link measurements (default 268435456, 256 MiB; from 4 KiB up, x4)");
  sub->add_flag("-q,--quiet", a->opt.quiet, "print nothing but errors");
  return [a] { return CatchTorchErrors([&] { return ProfileSweep(*a); }, "profile fewer jobs at once"); };
}

Action SetupProfileTrialCommand(CLI::App* sub) {
  auto a = std::make_shared<TrialArgs>();
  sub->group("");  // internal: `saturn profile` runs it
  sub->add_option("sweep", a->sweep)->required();
  sub->add_option("--job", a->job)->required();
  sub->add_option("--technique", a->technique)->required();
  sub->add_option("--slots", a->slots);
  sub->add_option("--node-slots", a->node_slots);
  sub->add_option("--knobs", a->knobs);
  sub->add_option("--result", a->result)->required();
  sub->add_option("--warmup", a->warmup);
  sub->add_option("--steps", a->steps);
  sub->add_option("--threads", a->threads);
  return [a] { return RunTrial(*a); };
}

Action SetupLinksTrialCommand(CLI::App* sub) {
  auto a = std::make_shared<LinksArgs>();
  sub->group("");  // internal: `saturn profile` runs it
  sub->add_option("--device", a->device);
  sub->add_option("--slots", a->slots);
  sub->add_option("--node-slots", a->node_slots);
  sub->add_option("--min-bytes", a->min_bytes);
  sub->add_option("--max-bytes", a->max_bytes);
  sub->add_option("--result", a->result)->required();
  return [a] { return CatchTorchErrors([&] { return RunLinksTrial(*a); }, "measure smaller sizes (--links-max-bytes)"); };
}

}  // namespace saturn
