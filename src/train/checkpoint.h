// Trainer checkpoints: <job>/checkpoints/step-N/ holds the model in the Hugging Face layout
// (config.json, model.safetensors, in float32 so that resuming is exact), optimizer.safetensors
// and trainer_state.json (step, data position, seed, elapsed time, the technique and rank count
// that wrote it, and the size and FNV-1a checksum of every other file, verified on load). This
// layout is the same whatever technique and rank count trained the job (every tensor whole, by
// its Hugging Face name), so a job resumes under any other. A checkpoint is written into a
// temporary directory and renamed into place, so step-N is complete or absent whatever kills
// the trainer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/safetensors.h"
#include "util/status.h"

namespace saturn {

struct TrainerState {
  std::string job;
  long long step = 0;        // optimizer updates done
  uint64_t samples = 0;      // training windows drawn so far: the data position
  long long seed = 0;
  uint64_t train_checksum = 0;  // of the training token file, so a resume cannot switch data
  double train_seconds = 0;  // wall time spent training, over every run of the job
  std::string technique;     // what wrote the checkpoint (informational)
  int ranks = 1;
};

// A whole training state: the model, the optimizer state and its update count.
struct CheckpointTensors {
  NamedTensors model;
  NamedTensors optimizer;
  long long updates = 0;
};

// Writes root/step-<state.step>, then deletes all but the newest `keep` checkpoints.
Status SaveCheckpoint(const std::string& root, const TrainerState& state, const ModelConfig& cfg,
                      const CheckpointTensors& tensors, int keep);

// The newest checkpoint under root that is complete and whose checksums hold ("" if none).
// Corrupt ones are skipped, each with a line in *skipped.
Result<std::string> LatestCheckpoint(const std::string& root, std::vector<std::string>* skipped);

// What a checkpoint directory holds, checked: checksums, and a config.json describing `cfg`'s model.
struct LoadedCheckpoint {
  TrainerState state;
  std::map<std::string, torch::Tensor> model, optimizer;
  long long updates = 0;
};
Result<LoadedCheckpoint> ReadCheckpoint(const std::string& dir, const ModelConfig& cfg);

}  // namespace saturn
