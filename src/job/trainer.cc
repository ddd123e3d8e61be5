#include "job/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "comm/registry.h"
#include "data/prepare.h"
#include "data/tokenizer.h"
#include "data/windows.h"
#include "eval/evaluate.h"
#include "model/hf_checkpoint.h"
#include "technique/registry.h"
#include "technique/train_step.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"
#include "train/progress.h"
#include "util/dir_lock.h"
#include "util/files.h"
#include "util/heap.h"
#include "util/signals.h"
#include "util/threads.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Windows of the held-out split scored for valid_loss; in order, the same every time.
constexpr uint64_t kValidWindows = 64;

// A batch of `count` samples starting at sample `first`: [count, seq_len + 1] int64.
torch::Tensor Batch(const WindowSampler& s, uint64_t first, int count) {
  torch::Tensor b = torch::empty({count, s.seq_len() + 1}, torch::kInt64);
  int64_t* p = b.data_ptr<int64_t>();
  for (int i = 0; i < count; ++i) s.fill(first + uint64_t(i), p + int64_t(i) * (s.seq_len() + 1));
  return b;
}

// Keeps the metric lines of steps <= step: what an uninterrupted run had written by then.
Status TruncateMetrics(const std::string& path, long long step) {
  if (!fs::exists(path)) return Status::Ok();
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string line, kept;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step")) continue;  // a line cut short by the kill
    if (j["step"].get<long long>() <= step) kept += line + "\n";
  }
  return WriteFileAtomic(path, kept);
}

std::string Fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The model a job names: a config.json (trained from scratch, initialized from the job's seed),
// or a directory with config.json and weights (fine-tuned from them). On the CPU, float32.
Result<CausalLM> BuildModel(const JobSpec& job, ModelOptions mo) {
  if (fs::is_directory(job.model)) return LoadHfModel(job.model, mo);
  Result<ModelConfig> cfg = LoadModelConfig(job.model);
  if (!cfg.ok()) return cfg.status();
  CausalLM model(*cfg, mo);
  model->init_weights(uint64_t(job.seed));
  return model;
}

// This node's cores shared among the ranks the launcher put on it.
// Ranks on this node, as the launcher says (1 for a process alone).
int LocalRanks() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_STEP_TASKS_PER_NODE", "PMIX_LOCAL_SIZE"}) {
    const char* v = std::getenv(var);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return 1;
}

int DefaultThreads() { return std::max(1, int(std::thread::hardware_concurrency()) / LocalRanks()); }

// The technique that trains the job here, its knobs, and the job as the knobs change it.
struct Choice {
  const Technique* technique = nullptr;
  Knobs knobs;
  JobSpec job;
};

Result<Choice> ChooseTechnique(const Sweep& sweep, const JobSpec& job, const RunOptions& opt, int ranks) {
  std::string name = opt.technique;
  if (name.empty()) {
    if (job.techniques.size() == 1) name = job.techniques[0];
    else if (ranks == 1) name = "ddp";  // one device: ddp on one rank is plain training
    else
      return Status::UserError(job.loc.str() + ": job '" + job.name + "' allows several techniques (" +
                               Join(job.techniques) + "); pick one with --technique");
  }
  Result<const Technique*> t = FindTechnique(name);
  if (!t.ok()) return Status::UserError("--technique: " + t.status().message());
  if (!opt.technique.empty() && std::find(job.techniques.begin(), job.techniques.end(), name) == job.techniques.end())
    return Status::UserError(job.loc.str() + ": job '" + job.name + "' does not allow technique " + name +
                             " (its techniques: " + Join(job.techniques) + "); add it to the job's `techniques`");
  if (ranks > 1 && std::find(job.devices.begin(), job.devices.end(), ranks) == job.devices.end()) {
    std::vector<std::string> counts;
    for (int d : job.devices) counts.push_back(std::to_string(d));
    return Status::UserError(job.loc.str() + ": job '" + job.name + "' runs on " + std::to_string(ranks) +
                             " ranks, but its `devices` allow " + Join(counts) + "; start as many ranks as one of "
                             "those, or add " + std::to_string(ranks) + " to the job's `devices`");
  }
  Result<Knobs> knobs = ParseKnobs(**t, opt.knobs, "--knobs");
  if (!knobs.ok()) return knobs.status();
  Choice c{*t, *knobs, job};
  const int micro = int(KnobNumber(c.knobs, "micro_batch_size"));
  if (micro > 0) c.job.micro_batch_size = micro;
  const std::string ac = c.knobs["activation_checkpointing"];
  if (ac == "true" || ac == "false") c.job.activation_checkpointing = ac == "true";
  Feasibility f = (*t)->Feasible(c.job, sweep.cluster, ranks);
  if (!f.ok)
    return Status::UserError(job.loc.str() + ": job '" + job.name + "' cannot train with " + name + " on " +
                             std::to_string(ranks) + (ranks == 1 ? " rank: " : " ranks: ") + f.reason);
  return c;
}

// What saturn itself writes in a job's directory: all --restart deletes (a user's notes, or
// another tool's files, stay).
bool OursToDelete(const std::string& name) {
  return name == "metrics.jsonl" || name == "checkpoints" || name == "final" || name.rfind(".tmp-final-", 0) == 0;
}

// Rank 0's handling of the job's directory: locked for this run, and what an earlier run left
// there continued (--resume), deleted (--restart) or refused.
Result<std::unique_ptr<DirLock>> PrepareJobDir(const std::string& dir, const JobSpec& job, const RunOptions& opt) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::UserError(dir + ": cannot create: " + ec.message());
  Result<std::unique_ptr<DirLock>> lock = DirLock::Acquire(dir, "job '" + job.name + "'");
  if (!lock.ok()) return lock.status();
  const bool started =
      fs::exists(dir + "/metrics.jsonl") || fs::exists(dir + "/checkpoints") || fs::exists(dir + "/final");
  if (started && opt.restart) {
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (OursToDelete(e.path().filename().string())) fs::remove_all(e.path(), ec);
  } else if (started && !opt.resume) {
    return Status::UserError(dir + ": job '" + job.name + "' has already run here; pass --resume to continue it, "
                             "or --restart to delete its results and start over");
  }
  return lock;
}

// One job's run on this rank: set up, resume, train, finish. Every phase ends with the ranks
// agreeing on success, so one rank's failure stops all of them with its message.
class JobRun {
 public:
  JobRun(const Sweep& sweep, const JobSpec& job, const RunOptions& opt, World& world)
      : sweep_(sweep), spec_(job), opt_(opt), world_(world), comm_(*world.control), lead_(comm_.rank() == 0),
        dir_(JobDir(sweep, job)), progress_(job.name, job.steps, job.log_every, opt.quiet || !lead_) {}

  // MeasureJob: set up as Run does, without the job directory, then time steps.
  Result<StepTiming> Measure(int warmup, int timed) {
    SATURN_RETURN_IF_ERROR(Agree(Choose()));
    SATURN_RETURN_IF_ERROR(Agree(SetUpDevice()));
    SATURN_RETURN_IF_ERROR(Agree(lead_ ? LoadData() : Status::Ok()));
    SATURN_RETURN_IF_ERROR(Agree(lead_ ? Status::Ok() : LoadData()));
    SATURN_RETURN_IF_ERROR(Agree(BuildStep()));
    StepTiming out;
    const BatchFn batches = TrainBatches();
    for (int i = 0; i < warmup + timed; ++i) {
      if (i == warmup) {  // the steps' own peak, not the model build's
        ResetResidentPeak();
        if (device_.is_cuda()) ResetCudaPeak(device_.index());
      }
      SATURN_RETURN_IF_ERROR(comm_.Barrier());
      const auto t0 = Clock::now();
      const double lr = LearningRate(job().optimizer, state_.step, job().steps, job().warmup_steps);
      Result<StepResult> r = step_->Step(batches, state_.samples, lr);
      if (!r.ok()) return r.status();
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      state_.samples += uint64_t(job().batch_size);
      ++state_.step;
      if (i >= warmup) out.step_seconds.push_back(dt);
    }
    // GPUs: the caching allocator's reserved peak (0, unknown, with a CPU-only LibTorch);
    // CPU devices: the process's resident peak.
    unsigned long long peak =
        device_.is_cuda() ? (unsigned long long)CudaPeakReservedBytes(device_.index()) : ResidentPeakSinceReset();
    Result<std::vector<std::string>> peaks = comm_.AllGather(std::to_string(peak));
    if (!peaks.ok()) return peaks.status();
    for (const auto& p : *peaks) out.peak_memory_bytes = std::max(out.peak_memory_bytes, std::stoull(p));
    out.knobs_json = ResolvedKnobsJson(*choice_.technique, choice_.knobs, job());
    return out;
  }

  Status Run() {
    SATURN_RETURN_IF_ERROR(Agree(Choose()));
    SATURN_RETURN_IF_ERROR(Agree(lead_ ? LockDir() : Status::Ok()));
    SATURN_RETURN_IF_ERROR(Agree(SetUpDevice()));
    // Rank 0 tokenizes into the shared cache first; the others then find the tokens there.
    SATURN_RETURN_IF_ERROR(Agree(lead_ ? LoadData() : Status::Ok()));
    SATURN_RETURN_IF_ERROR(Agree(lead_ ? Status::Ok() : LoadData()));
    SATURN_RETURN_IF_ERROR(Agree(BuildStep()));
    SATURN_RETURN_IF_ERROR(Agree(LoadEvalTasks()));
    bool finished = false;
    SATURN_RETURN_IF_ERROR(Agree(Resume(&finished)));
    if (finished) {
      // A stop or a crash during the final evaluation left final/ without its scores: the job is
      // done only once they are in metrics.jsonl.
      Result<bool> owed = FinalEvalOwed();
      if (!owed.ok() || !*owed) return owed.status();
      progress_.note(job().name + ": the final weights were not evaluated yet; evaluating them");
      SATURN_RETURN_IF_ERROR(Agree(OpenMetrics()));
      return Evaluate(dir_ + "/final", /*final=*/true);
    }
    SATURN_RETURN_IF_ERROR(Train());
    SATURN_RETURN_IF_ERROR(Finish());
    return eval_tasks_.empty() ? Status::Ok() : Evaluate(dir_ + "/final", /*final=*/true);
  }

 private:
  Status Agree(const Status& mine) { return AgreeOnStatus(comm_, mine); }

  Status LockDir() {
    Result<std::unique_ptr<DirLock>> lock = PrepareJobDir(dir_, spec_, opt_);
    if (!lock.ok()) return lock.status();
    lock_ = std::move(*lock);
    return Status::Ok();
  }

  Status Choose() {
    Result<Choice> c = ChooseTechnique(sweep_, spec_, opt_, comm_.size());
    if (!c.ok()) return c.status();
    choice_ = *c;
    return Status::Ok();
  }
  const JobSpec& job() const { return choice_.job; }

  Status SetUpDevice() {
    if (!opt_.slots.empty() && int(opt_.slots.size()) != comm_.size())
      return Status::UserError("--slots: " + std::to_string(opt_.slots.size()) + " slots for " +
                               std::to_string(comm_.size()) + " ranks; give one slot per rank");
    const int slot = !opt_.slots.empty() ? opt_.slots[comm_.rank()] : opt_.slots_by_local_rank ? world_.local_rank : -1;
    int threads = opt_.threads > 0 ? opt_.threads : DefaultThreads();
    if (slot >= 0 && opt_.device == "cpu") {
      // By local rank, the job has the whole node: its ranks share the cores (nodes may differ in size).
      const int node_slots = std::max(opt_.slots_by_local_rank ? LocalRanks()
                                      : opt_.node_slots > 0  ? opt_.node_slots
                                                             : sweep_.cluster.max_node_devices(),
                                      slot + 1);
      Result<int> cores = BindToSlotCores(slot, node_slots);
      if (!cores.ok()) return cores.status();
      if (opt_.threads == 0) threads = *cores;
    }
    torch::set_num_threads(threads);
    if (opt_.device == "cuda") {
      if (!torch::cuda::is_available())
        return Status::UserError("--device cuda: this LibTorch has no CUDA device available; use --device cpu");
      // Local rank r takes the r-th GPU it sees (one each when the launcher gives every rank its
      // own CUDA_VISIBLE_DEVICES, as srun --gpus-per-task does), or its slot when given one.
      const int gpus = int(torch::cuda::device_count());
      device_ = torch::Device(torch::kCUDA, int((slot >= 0 ? slot : world_.local_rank) % gpus));
      SATURN_RETURN_IF_ERROR(BindCudaDevice(device_.index()));
    }
    bf16_ = job().precision == "bf16" || (job().precision == "auto" && device_.is_cuda());
    return Status::Ok();
  }

  Status LoadData() {
    Result<std::shared_ptr<const Tokenizer>> tok = Tokenizer::Load(job().tokenizer);
    if (!tok.ok()) return tok.status();
    tok_ = *tok;
    auto note = [this](const std::string& line) { progress_.note(line); };
    const std::string cache = (fs::path(sweep_.output_dir) / "cache").string();
    Result<std::shared_ptr<const TokenFile>> train = PrepareTokens(job().data_train, *tok_, cache, note);
    if (!train.ok()) return train.status();
    std::shared_ptr<const TokenFile> valid_file;
    if (!job().data_valid.empty()) {
      Result<std::shared_ptr<const TokenFile>> v = PrepareTokens(job().data_valid, *tok_, cache, note);
      if (!v.ok()) return v.status();
      valid_file = *v;
    }
    Result<DataSplit> split = SplitData(*train, valid_file, job().valid_fraction, job().seq_len);
    if (!split.ok()) return split.status();
    split_ = *split;
    sampler_ = std::make_unique<WindowSampler>(split_.train, split_.train_begin, split_.train_end, job().seq_len,
                                               uint64_t(job().seed));
    return Status::Ok();
  }

  // The sweep's evaluation tasks, read before training so that a bad file fails first.
  Status LoadEvalTasks() {
    for (const TaskSpec& spec : sweep_.eval.tasks) {
      Result<EvalTask> t = LoadTask(spec);
      if (!t.ok()) return t.status();
      eval_tasks_.push_back(std::move(*t));
    }
    return Status::Ok();
  }

  // Scores the model saved in `model_dir` (a checkpoint or final/) on the sweep's tasks with
  // every rank of the job, each a shard (eval/evaluate.h), and logs the scores to metrics.jsonl.
  // Every rank reads the files, as a resume does; the training model is left as it is.
  Status Evaluate(const std::string& model_dir, bool final) {
    const auto t0 = Clock::now();
    Result<CausalLM> model = LoadHfModel(model_dir);
    SATURN_RETURN_IF_ERROR(Agree(model.ok() ? Status::Ok() : model.status()));
    (*model)->to(device_);
    ScoreOptions so;
    so.device = device_.is_cuda() ? "cuda" : "cpu";
    Result<std::vector<TaskOutcome>> out = EvaluateTasks(*model, *tok_, eval_tasks_, so, comm_);
    if (!out.ok()) return out.status();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    json scores = json::object();
    std::string line;
    for (size_t t = 0; t < eval_tasks_.size(); ++t) {
      json m = json::object();
      for (const auto& [k, v] : (*out)[t].metrics.values) m[k] = v, line += " " + eval_tasks_[t].spec.name + " " + k + " " + Fmt(v);
      scores[eval_tasks_[t].spec.name] = m;
    }
    WriteMetric({{"step", state_.step}, {"eval", scores}, {"eval_seconds", seconds}, {"final", final}});
    progress_.note("eval at step " + std::to_string(state_.step) + ":" + line);
    return Status::Ok();
  }

  Status BuildStep() {
    ModelOptions mo;
    mo.activation_checkpointing = job().activation_checkpointing;
    Result<CausalLM> built = BuildModel(job(), mo);
    if (!built.ok()) return built.status();
    const ModelConfig& cfg = (*built)->config();
    cfg_ = cfg;
    if (tok_->vocab_size() > cfg.vocab_size)
      return Status::UserError(job().model + ": vocab_size " + std::to_string(cfg.vocab_size) + " is smaller than "
                               "the tokenizer's " + std::to_string(tok_->vocab_size()) + "; use a matching tokenizer");
    if (job().seq_len > cfg.max_positions)
      return Status::UserError(job().loc.str() + ": seq_len " + std::to_string(job().seq_len) + " is longer than the "
                               "model's " + std::to_string(cfg.max_positions) + " positions");
    Result<std::shared_ptr<ProcessGroup>> group =
        MakeTensorGroup(world_, device_.is_cuda() ? "cuda" : "cpu", device_.is_cuda() ? device_.index() : 0);
    if (!group.ok()) return group.status();
    StepContext ctx;
    ctx.job = job();
    ctx.cluster = sweep_.cluster;
    ctx.model = *built;
    ctx.device = device_;
    ctx.bf16 = bf16_;
    ctx.group = *group;
    ctx.knobs = choice_.knobs;
    Result<std::unique_ptr<TrainStep>> step = choice_.technique->MakeStep(std::move(ctx));
    if (!step.ok()) return step.status();
    step_ = std::move(*step);
    state_.job = job().name;
    state_.seed = job().seed;
    state_.train_checksum = split_.train->header().checksum;
    state_.technique = choice_.technique->name();
    state_.ranks = comm_.size();
    return Status::Ok();
  }

  // Continues from the newest intact checkpoint when asked; *finished when the job is done.
  Status Resume(bool* finished) {
    if (!opt_.resume) return Status::Ok();
    std::string latest;
    if (lead_) {
      std::vector<std::string> skipped;
      Result<std::string> l = LatestCheckpoint(dir_ + "/checkpoints", &skipped);
      if (!l.ok()) return l.status();
      latest = *l;
      // Say exactly what happens; never start over silently when asked to resume.
      if (latest.empty() && !skipped.empty())
        return Status::UserError("--resume: every checkpoint in " + dir_ + "/checkpoints is damaged (" +
                                 skipped.front() + "); restore one, or pass --restart to start over");
      for (const auto& s : skipped) progress_.note("warning: " + s + "; resuming from " + latest + " instead");
      if (latest.empty()) progress_.note(job().name + ": no checkpoint yet in " + dir_ + "/checkpoints: starting at step 0");
    }
    Result<std::string> chosen = Broadcast(comm_, latest, 0);  // every rank reads the same one
    if (!chosen.ok()) return chosen.status();
    latest = *chosen;
    if (!latest.empty()) {
      Result<LoadedCheckpoint> ck = ReadCheckpoint(latest, cfg_);
      if (!ck.ok()) return ck.status();
      const TrainerState& loaded = ck->state;
      if (loaded.train_checksum != state_.train_checksum)
        return Status::UserError(latest + ": the checkpoint was trained on other data than " + job().data_train +
                                 "; pass --restart to start over on this data");
      if (loaded.seed != job().seed)
        return Status::UserError(latest + ": the checkpoint has seed " + std::to_string(loaded.seed) + ", the job " +
                                 std::to_string(job().seed) + "; pass --restart to start over");
      SATURN_RETURN_IF_ERROR(step_->Load(ck->model, ck->optimizer, ck->updates, latest));
      const std::string technique = state_.technique;
      const int ranks = state_.ranks;
      state_ = loaded;
      state_.technique = technique;
      state_.ranks = ranks;
      std::string from = latest;
      if (!loaded.technique.empty() && (loaded.technique != technique || loaded.ranks != ranks))
        from += " (written by " + loaded.technique + " on " + std::to_string(loaded.ranks) + " ranks)";
      progress_.note(job().name + ": resuming from " + from);
    }
    if (state_.step >= job().steps && fs::exists(dir_ + "/final/config.json")) {
      progress_.note(job().name + ": already finished " + std::to_string(job().steps) + " steps");
      *finished = true;
      return Status::Ok();
    }
    return lead_ ? TruncateMetrics(dir_ + "/metrics.jsonl", state_.step) : Status::Ok();
  }

  BatchFn TrainBatches() {
    return [this](uint64_t first, int count) { return Batch(*sampler_, first, count).to(device_); };
  }

  Result<double> ValidLoss() {
    WindowSampler vs(split_.valid, split_.valid_begin, split_.valid_end, job().seq_len, 0, /*shuffle=*/false);
    const uint64_t n = std::min<uint64_t>(vs.windows(), kValidWindows);
    return step_->MeanLoss([&](uint64_t first, int count) { return Batch(vs, first, count).to(device_); }, n);
  }

  void WriteMetric(const json& j) {
    if (!lead_) return;
    metrics_ << j.dump() << "\n";
    metrics_.flush();
  }

  Status OpenMetrics() {
    if (!lead_) return Status::Ok();
    metrics_.open(dir_ + "/metrics.jsonl", std::ios::app);
    return metrics_ ? Status::Ok() : Status::UserError(dir_ + "/metrics.jsonl: cannot open for writing");
  }

  // Whether the sweep has tasks and metrics.jsonl has no final evaluation: rank 0 reads, every
  // rank learns.
  Result<bool> FinalEvalOwed() {
    bool owed = false;
    if (lead_ && !eval_tasks_.empty()) {
      owed = true;
      std::ifstream in(dir_ + "/metrics.jsonl");
      for (std::string line; owed && std::getline(in, line);) {
        const json m = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (m.is_object() && m.contains("eval") && m.value("final", json()) == true) owed = false;
      }
    }
    Result<std::string> all = Broadcast(comm_, owed ? "1" : "0", 0);
    if (!all.ok()) return all.status();
    return *all == "1";
  }

  Status Train() {
    SATURN_RETURN_IF_ERROR(Agree(OpenMetrics()));
    if (Result<int> sig = AgreedStopSignal(); !sig.ok() || *sig != 0)
      return sig.ok() ? Status::Stopped(*sig, std::string(SignalName(*sig)) + " before training started; nothing to save")
                      : sig.status();
    const BatchFn batches = TrainBatches();
    const auto run_start = Clock::now();
    const double seconds_before = state_.train_seconds;
    while (state_.step < job().steps) {
      const auto t0 = Clock::now();
      const double lr = LearningRate(job().optimizer, state_.step, job().steps, job().warmup_steps);
      Result<StepResult> r = step_->Step(batches, state_.samples, lr);
      if (!r.ok()) return r.status();
      state_.samples += uint64_t(job().batch_size);
      ++state_.step;
      loss_ = r->loss;
      if (!std::isfinite(loss_))
        return Status::UserError(dir_ + ": the loss became " + Fmt(loss_) + " at step " + std::to_string(state_.step) +
                                 "; lower optimizer.lr or raise warmup_steps");
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      state_.train_seconds = seconds_before + std::chrono::duration<double>(Clock::now() - run_start).count();
      const double tps = double(job().batch_size) * job().seq_len / dt;
      const bool last = state_.step == job().steps;
      if (state_.step % job().log_every == 0 || last)
        WriteMetric({{"step", state_.step}, {"loss", loss_}, {"lr", lr}, {"grad_norm", r->grad_norm},
                     {"tokens_per_second", tps}, {"seconds", state_.train_seconds},
                     {"heap_bytes", HeapBytesInUse()}, {"peak_rss_bytes", PeakResidentBytes()}});
      progress_.update(state_.step, loss_, tps, lr);
      // eval.every_steps: a checkpoint at that step, then its evaluation (the last step's is the
      // final weights', after training).
      const int every = sweep_.eval.every_steps;
      const bool evaluate = !eval_tasks_.empty() && every > 0 && state_.step % every == 0 && !last;
      const bool checkpoint =
          (job().checkpoint_every > 0 && state_.step % job().checkpoint_every == 0) || last || evaluate;
      if (split_.valid && checkpoint) {
        Result<double> v = ValidLoss();
        if (!v.ok()) return v.status();
        WriteMetric({{"step", state_.step}, {"valid_loss", *v}});
      }
      if (checkpoint) SATURN_RETURN_IF_ERROR(SaveState());
      if (evaluate) SATURN_RETURN_IF_ERROR(Evaluate(dir_ + "/checkpoints/step-" + std::to_string(state_.step), false));
      // SIGINT or SIGTERM on any rank: checkpoint here, at the step boundary, and stop.
      Result<int> sig = AgreedStopSignal();
      if (!sig.ok()) return sig.status();
      if (*sig != 0 && !last) {
        if (!checkpoint) SATURN_RETURN_IF_ERROR(SaveState());
        return Status::Stopped(*sig, std::string(SignalName(*sig)) + ": stopped after step " +
                                         std::to_string(state_.step) + " of " + std::to_string(job().steps) +
                                         "; checkpoint " + dir_ + "/checkpoints/step-" + std::to_string(state_.step) +
                                         " written; continue with: saturn run " + sweep_.path + " --resume");
      }
    }
    return Status::Ok();
  }

  // final/ carries the job's tokenizer, as a Hugging Face model directory does, so that
  // `saturn eval --model final/` needs no `tokenizer:` line.
  Status CopyTokenizerFiles(const std::string& dir) {
    Result<std::vector<std::string>> files = TokenizerFiles(job().tokenizer);
    if (!files.ok()) return files.status();
    for (const std::string& f : *files) {
      std::error_code ec;
      fs::copy_file(f, fs::path(dir) / fs::path(f).filename(), fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::UserError(dir + ": cannot copy the tokenizer file " + f + ": " + ec.message());
    }
    return Status::Ok();
  }

  // The first stop signal any rank received (0: none), the same on every rank.
  Result<int> AgreedStopSignal() {
    if (comm_.size() == 1) return StopSignal();
    Result<std::vector<std::string>> all = comm_.AllGather(std::to_string(StopSignal()));
    if (!all.ok()) return all.status();
    for (const auto& s : *all)
      if (std::atoi(s.c_str()) != 0) return std::atoi(s.c_str());
    return 0;
  }

  // Gathers the whole state (collective); rank 0 writes it.
  Status SaveState() {
    Result<FullState> full = step_->Gather();
    if (!full.ok()) return full.status();
    Status st = Status::Ok();
    if (lead_) {
      CheckpointTensors t{full->model, full->optimizer, full->updates};
      st = SaveCheckpoint(dir_ + "/checkpoints", state_, cfg_, t, job().keep_checkpoints);
      final_model_ = full->model;
    }
    final_step_ = state_.step;
    return Agree(st);
  }

  // final/: the trained model alone, in the Hugging Face layout (the last checkpoint's gather,
  // or a new one when a resumed job had nothing left to train).
  Status Finish() {
    if (final_step_ != state_.step) {
      Result<FullState> full = step_->Gather();
      if (!full.ok()) return full.status();
      final_model_ = full->model;
      final_step_ = state_.step;
    }
    Status st = Status::Ok();
    if (lead_) {
      std::error_code ec;
      const std::string tmp = dir_ + "/.tmp-final-" + std::to_string(::getpid());
      fs::remove_all(tmp, ec);
      st = SaveHfTensors(tmp, cfg_, final_model_, torch::kFloat32);
      if (st.ok()) st = CopyTokenizerFiles(tmp);
      if (st.ok()) {
        fs::remove_all(dir_ + "/final", ec);
        fs::rename(tmp, dir_ + "/final", ec);
        if (ec) st = Status::UserError(dir_ + "/final: cannot rename into place: " + ec.message());
      }
    }
    SATURN_RETURN_IF_ERROR(Agree(st));
    progress_.finish(state_.step, loss_, state_.train_seconds);
    return Status::Ok();
  }

  const Sweep& sweep_;
  const JobSpec& spec_;
  const RunOptions& opt_;
  World& world_;
  Communicator& comm_;
  const bool lead_;
  const std::string dir_;
  Progress progress_;
  Choice choice_;
  torch::Device device_ = torch::kCPU;
  bool bf16_ = false;
  std::shared_ptr<const Tokenizer> tok_;
  DataSplit split_;
  std::unique_ptr<WindowSampler> sampler_;
  ModelConfig cfg_;
  std::unique_ptr<TrainStep> step_;
  TrainerState state_;
  std::ofstream metrics_;
  std::unique_ptr<DirLock> lock_;  // rank 0's, on the job's directory
  NamedTensors final_model_;  // rank 0's, gathered at final_step_
  std::vector<EvalTask> eval_tasks_;
  long long final_step_ = -1;
  double loss_ = 0;
};

}  // namespace

std::string JobDir(const Sweep& sweep, const JobSpec& job) { return (fs::path(sweep.output_dir) / job.name).string(); }

Status TrainJob(const Sweep& sweep, const JobSpec& job, const RunOptions& opt, World& world) {
  JobRun run(sweep, job, opt, world);
  return run.Run();
}

Result<StepTiming> MeasureJob(const Sweep& sweep, const JobSpec& job, const RunOptions& opt, World& world, int warmup,
                              int timed) {
  JobRun run(sweep, job, opt, world);
  return run.Measure(warmup, timed);
}

}  // namespace saturn
