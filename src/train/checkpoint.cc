#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/token_file.h"
#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "util/files.h"

namespace saturn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kChecked[] = {"config.json", "model.safetensors", "optimizer.safetensors"};

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

Result<std::pair<uint64_t, uint64_t>> SizeAndChecksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::UserError(path + ": missing");
  std::vector<char> buf(1 << 20);
  uint64_t h = 0xcbf29ce484222325ull, n = 0;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const size_t got = size_t(in.gcount());
    h = Fnv1a64(buf.data(), got, h);
    n += got;
  }
  return std::make_pair(n, h);
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// step-N directories under root, newest first.
std::vector<std::pair<long long, std::string>> StepDirs(const std::string& root) {
  std::vector<std::pair<long long, std::string>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step-", 0) != 0) continue;
    char* end = nullptr;
    long long n = std::strtoll(name.c_str() + 5, &end, 10);
    if (*end == '\0' && end != name.c_str() + 5) out.emplace_back(n, e.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

Result<json> ReadState(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1)
    return Status::UserError(path + ": not a saturn trainer state (version 1)");
  return j;
}

Status Verify(const std::string& dir, const json& state) {
  for (const char* f : kChecked) {
    const std::string path = dir + "/" + f;
    if (!state.contains("files") || !state["files"].contains(f))
      return Status::UserError(dir + "/trainer_state.json: no checksum for " + f);
    Result<std::pair<uint64_t, uint64_t>> got = SizeAndChecksum(path);
    if (!got.ok()) return got.status();
    const json& want = state["files"][f];
    if (want.value("bytes", uint64_t(0)) != got->first || want.value("fnv1a64", std::string()) != Hex(got->second))
      return Status::UserError(path + ": checksum mismatch: the file is damaged");
  }
  return Status::Ok();
}

// The checkpoint's files in `dir`: weights, optimizer state, and the trainer state that lists
// their sizes and checksums (written last).
Status WriteCheckpointFiles(const std::string& dir, const TrainerState& s, const ModelConfig& cfg,
                            const CheckpointTensors& tensors) {
  SATURN_RETURN_IF_ERROR(SaveHfTensors(dir, cfg, tensors.model, torch::kFloat32));
  SATURN_RETURN_IF_ERROR(WriteSafetensors(dir + "/optimizer.safetensors", tensors.optimizer, torch::kFloat32));
  json files = json::object();
  for (const char* f : kChecked) {
    Result<std::pair<uint64_t, uint64_t>> got = SizeAndChecksum(dir + "/" + f);
    if (!got.ok()) return got.status();
    files[f] = {{"bytes", got->first}, {"fnv1a64", Hex(got->second)}};
  }
  json j = {{"version", 1},
            {"job", s.job},
            {"step", s.step},
            {"samples", s.samples},
            {"seed", s.seed},
            {"train_checksum", Hex(s.train_checksum)},
            {"train_seconds", s.train_seconds},
            {"optimizer_updates", tensors.updates},
            {"technique", s.technique},
            {"ranks", s.ranks},
            {"files", files}};
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(dir + "/trainer_state.json", j.dump(2) + "\n"));
  SyncDir(dir);
  return Status::Ok();
}

}  // namespace

Status SaveCheckpoint(const std::string& root, const TrainerState& s, const ModelConfig& cfg,
                      const CheckpointTensors& tensors, int keep) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::UserError(root + ": cannot create: " + ec.message());
  const std::string final_dir = root + "/step-" + std::to_string(s.step);
  const std::string tmp = root + "/.tmp-step-" + std::to_string(s.step) + "-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  Status written = WriteCheckpointFiles(tmp, s, cfg, tensors);
  if (!written.ok()) {
    // A full disk, say: give the space back, and leave every earlier checkpoint as it was.
    fs::remove_all(tmp, ec);
    return Status::FromCode(written.exit_code(), written.message() + "; the checkpoint of step " +
                                                     std::to_string(s.step) + " was not written, the earlier ones "
                                                     "are intact");
  }
  fs::remove_all(final_dir, ec);  // a checkpoint of the same step from an abandoned run
  fs::rename(tmp, final_dir, ec);
  if (ec) return Status::UserError(final_dir + ": cannot rename the checkpoint into place: " + ec.message());
  SyncDir(root);
  // Prune: older checkpoints beyond `keep`, and temporaries that killed runs left behind.
  auto dirs = StepDirs(root);
  for (size_t i = size_t(std::max(keep, 1)); i < dirs.size(); ++i) fs::remove_all(dirs[i].second, ec);
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename().string().rfind(".tmp-step-", 0) == 0) fs::remove_all(e.path(), ec);
  return Status::Ok();
}

Result<std::string> LatestCheckpoint(const std::string& root, std::vector<std::string>* skipped) {
  for (const auto& [step, dir] : StepDirs(root)) {
    Result<json> state = ReadState(dir);
    Status st = state.ok() ? Verify(dir, *state) : state.status();
    if (st.ok()) return dir;
    if (skipped) skipped->push_back(st.message());
  }
  return std::string();
}

Result<LoadedCheckpoint> ReadCheckpoint(const std::string& dir, const ModelConfig& cfg) {
  Result<json> j = ReadState(dir);
  if (!j.ok()) return j.status();
  SATURN_RETURN_IF_ERROR(Verify(dir, *j));
  Result<ModelConfig> saved = LoadModelConfig(dir + "/config.json");
  if (!saved.ok()) return saved.status();
  const std::string diff = ModelConfigDifference(cfg, *saved);
  if (!diff.empty())
    return Status::UserError(dir + "/config.json: describes another model than " + cfg.source + " (" + diff +
                             "); pass --restart to start over with this model");
  LoadedCheckpoint out;
  Result<std::map<std::string, torch::Tensor>> model = ReadSafetensors(dir + "/model.safetensors");
  if (!model.ok()) return model.status();
  Result<std::map<std::string, torch::Tensor>> ost = ReadSafetensors(dir + "/optimizer.safetensors");
  if (!ost.ok()) return ost.status();
  out.model = std::move(*model);
  out.optimizer = std::move(*ost);
  TrainerState& s = out.state;
  try {
    s.job = (*j)["job"].get<std::string>();
    s.step = (*j)["step"].get<long long>();
    s.samples = (*j)["samples"].get<uint64_t>();
    s.seed = (*j)["seed"].get<long long>();
    s.train_checksum = std::stoull((*j)["train_checksum"].get<std::string>(), nullptr, 16);
    s.train_seconds = (*j)["train_seconds"].get<double>();
    s.technique = j->value("technique", std::string());
    s.ranks = j->value("ranks", 1);
    out.updates = (*j)["optimizer_updates"].get<long long>();
  } catch (const std::exception& e) {
    return Status::UserError(dir + "/trainer_state.json: " + e.what());
  }
  return out;
}

}  // namespace saturn
