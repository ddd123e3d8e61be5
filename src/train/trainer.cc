#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/prepare.h"
#include "data/tokenizer.h"
#include "data/windows.h"
#include "model/hf_checkpoint.h"
#include "train/autocast.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/progress.h"
#include "util/files.h"

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

// The model a job names: a config.json (trained from scratch, initialized from the job's seed),
// or a directory with config.json and weights (fine-tuned from them).
Result<CausalLM> BuildModel(const JobSpec& job, ModelOptions mo) {
  if (fs::is_directory(job.model)) return LoadHfModel(job.model, mo);
  Result<ModelConfig> cfg = LoadModelConfig(job.model);
  if (!cfg.ok()) return cfg.status();
  CausalLM model(*cfg, mo);
  model->init_weights(uint64_t(job.seed));
  return model;
}

}  // namespace

std::string JobDir(const Sweep& sweep, const JobSpec& job) { return (fs::path(sweep.output_dir) / job.name).string(); }

Status TrainJob(const Sweep& sweep, const JobSpec& job, const RunOptions& opt) {
  const std::string dir = JobDir(sweep, job);
  const std::string ckpt_root = dir + "/checkpoints", metrics_path = dir + "/metrics.jsonl";
  std::error_code ec;
  const bool started = fs::exists(metrics_path) || fs::exists(ckpt_root) || fs::exists(dir + "/final");
  if (started && opt.restart) {
    fs::remove_all(dir, ec);
  } else if (started && !opt.resume) {
    return Status::UserError(dir + ": job '" + job.name + "' has already run here; pass --resume to continue it, "
                             "or --restart to delete its results and start over");
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::UserError(dir + ": cannot create: " + ec.message());

  torch::set_num_threads(opt.threads > 0 ? opt.threads : int(std::max(1u, std::thread::hardware_concurrency())));
  torch::Device device(opt.device == "cuda" ? torch::kCUDA : torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available())
    return Status::UserError("--device cuda: this LibTorch has no CUDA device available; use --device cpu");
  const bool bf16 = job.precision == "bf16" || (job.precision == "auto" && device.is_cuda());

  // Data.
  Result<std::shared_ptr<const Tokenizer>> tok = Tokenizer::Load(job.tokenizer);
  if (!tok.ok()) return tok.status();
  Progress progress(job.name, job.steps, job.log_every, opt.quiet);
  auto note = [&progress](const std::string& line) { progress.note(line); };
  const std::string cache = (fs::path(sweep.output_dir) / "cache").string();
  Result<std::shared_ptr<const TokenFile>> train = PrepareTokens(job.data_train, **tok, cache, note);
  if (!train.ok()) return train.status();
  std::shared_ptr<const TokenFile> valid_file;
  if (!job.data_valid.empty()) {
    Result<std::shared_ptr<const TokenFile>> v = PrepareTokens(job.data_valid, **tok, cache, note);
    if (!v.ok()) return v.status();
    valid_file = *v;
  }
  Result<DataSplit> split = SplitData(*train, valid_file, job.valid_fraction, job.seq_len);
  if (!split.ok()) return split.status();
  WindowSampler sampler(split->train, split->train_begin, split->train_end, job.seq_len, uint64_t(job.seed));

  // Model and optimizer.
  ModelOptions mo;
  mo.activation_checkpointing = job.activation_checkpointing;
  Result<CausalLM> built = BuildModel(job, mo);
  if (!built.ok()) return built.status();
  CausalLM model = *built;
  const ModelConfig& cfg = model->config();
  if ((*tok)->vocab_size() > cfg.vocab_size)
    return Status::UserError(job.model + ": vocab_size " + std::to_string(cfg.vocab_size) + " is smaller than the "
                             "tokenizer's " + std::to_string((*tok)->vocab_size()) + "; use a matching tokenizer");
  if (job.seq_len > cfg.max_positions)
    return Status::UserError(job.loc.str() + ": seq_len " + std::to_string(job.seq_len) + " is longer than the "
                             "model's " + std::to_string(cfg.max_positions) + " positions");
  model->to(device);
  model->train();
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (auto& p : model->named_parameters()) params.emplace_back(p.key(), p.value());
  Optimizer optim(job.optimizer, params);

  TrainerState state;
  state.job = job.name;
  state.seed = job.seed;
  state.train_checksum = split->train->header().checksum;
  if (opt.resume) {
    std::vector<std::string> skipped;
    Result<std::string> latest = LatestCheckpoint(ckpt_root, &skipped);
    if (!latest.ok()) return latest.status();
    for (const auto& s : skipped) progress.note("warning: skipping a damaged checkpoint: " + s);
    if (!latest->empty()) {
      Result<TrainerState> loaded = LoadCheckpoint(*latest, model, optim);
      if (!loaded.ok()) return loaded.status();
      if (loaded->train_checksum != state.train_checksum)
        return Status::UserError(*latest + ": the checkpoint was trained on other data than " + job.data_train +
                                 "; pass --restart to start over on this data");
      if (loaded->seed != job.seed)
        return Status::UserError(*latest + ": the checkpoint has seed " + std::to_string(loaded->seed) +
                                 ", the job " + std::to_string(job.seed) + "; pass --restart to start over");
      state = *loaded;
      progress.note(job.name + ": resuming from " + *latest);
    }
    if (state.step >= job.steps && fs::exists(dir + "/final/config.json")) {
      progress.note(job.name + ": already finished " + std::to_string(job.steps) + " steps");
      return Status::Ok();
    }
    SATURN_RETURN_IF_ERROR(TruncateMetrics(metrics_path, state.step));
  }

  const int micro = job.micro_batch_size > 0 ? job.micro_batch_size : job.batch_size;
  const int accum = job.batch_size / micro;
  std::ofstream metrics(metrics_path, std::ios::app);
  if (!metrics) return Status::UserError(metrics_path + ": cannot open for writing");

  auto valid_loss = [&]() {
    torch::NoGradGuard no_grad;
    model->eval();
    WindowSampler vs(split->valid, split->valid_begin, split->valid_end, job.seq_len, 0, /*shuffle=*/false);
    const uint64_t n = std::min<uint64_t>(vs.windows(), kValidWindows);
    double sum = 0;
    for (uint64_t first = 0; first < n; first += uint64_t(micro)) {
      const int count = int(std::min<uint64_t>(uint64_t(micro), n - first));
      torch::Tensor b = Batch(vs, first, count).to(device);
      Autocast ac(bf16, device.type());
      sum += model->loss(b.slice(1, 0, job.seq_len), b.slice(1, 1)).item<double>() * count;
    }
    model->train();
    return sum / double(n);
  };
  auto write_metric = [&](const json& j) {
    metrics << j.dump() << "\n";
    metrics.flush();
  };

  double loss = 0;
  auto run_start = Clock::now();
  const double seconds_before = state.train_seconds;
  while (state.step < job.steps) {
    auto t0 = Clock::now();
    const double lr = LearningRate(job.optimizer, state.step, job.steps, job.warmup_steps);
    optim.zero_grad();
    double loss_sum = 0;
    for (int k = 0; k < accum; ++k) {
      torch::Tensor b = Batch(sampler, state.samples + uint64_t(k) * uint64_t(micro), micro).to(device);
      torch::Tensor l;
      {
        Autocast ac(bf16, device.type());
        l = model->loss(b.slice(1, 0, job.seq_len), b.slice(1, 1));
      }
      (l / double(accum)).backward();
      loss_sum += l.item<double>();
    }
    const double grad_norm = optim.clip_gradients();
    optim.step(lr);
    state.samples += uint64_t(job.batch_size);
    ++state.step;
    loss = loss_sum / double(accum);
    if (!std::isfinite(loss))
      return Status::UserError(dir + ": the loss became " + Fmt(loss) + " at step " + std::to_string(state.step) +
                               "; lower optimizer.lr or raise warmup_steps");
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    state.train_seconds = seconds_before + std::chrono::duration<double>(Clock::now() - run_start).count();
    const double tps = double(job.batch_size) * job.seq_len / dt;
    if (state.step % job.log_every == 0 || state.step == job.steps)
      write_metric({{"step", state.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                    {"tokens_per_second", tps}, {"seconds", state.train_seconds}});
    progress.update(state.step, loss, tps, lr);
    const bool last = state.step == job.steps;
    if (split->valid && (last || (job.checkpoint_every > 0 && state.step % job.checkpoint_every == 0)))
      write_metric({{"step", state.step}, {"valid_loss", valid_loss()}});
    if ((job.checkpoint_every > 0 && state.step % job.checkpoint_every == 0) || last)
      SATURN_RETURN_IF_ERROR(SaveCheckpoint(ckpt_root, state, model, optim, job.keep_checkpoints));
  }
  // final/: the trained model alone, in the Hugging Face layout.
  const std::string tmp_final = dir + "/.tmp-final-" + std::to_string(::getpid());
  fs::remove_all(tmp_final, ec);
  SATURN_RETURN_IF_ERROR(SaveHfModel(tmp_final, model, torch::kFloat32));
  fs::remove_all(dir + "/final", ec);
  fs::rename(tmp_final, dir + "/final", ec);
  if (ec) return Status::UserError(dir + "/final: cannot rename into place: " + ec.message());
  progress.finish(state.step, loss, state.train_seconds);
  return Status::Ok();
}

}  // namespace saturn
