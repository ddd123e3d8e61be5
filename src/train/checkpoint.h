// Trainer checkpoints: <job>/checkpoints/step-N/ holds the model in the Hugging Face layout
// (config.json, model.safetensors, in float32 so that resuming is exact), optimizer.safetensors
// and trainer_state.json (step, data position, seed, elapsed time, and the size and FNV-1a
// checksum of every other file, verified on load). A checkpoint is written into a temporary
// directory and renamed into place, so step-N is complete or absent whatever kills the trainer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "train/optimizer.h"
#include "util/status.h"

namespace saturn {

struct TrainerState {
  std::string job;
  long long step = 0;        // optimizer updates done
  uint64_t samples = 0;      // training windows drawn so far: the data position
  long long seed = 0;
  uint64_t train_checksum = 0;  // of the training token file, so a resume cannot switch data
  double train_seconds = 0;  // wall time spent training, over every run of the job
};

// Writes root/step-<state.step>, then deletes all but the newest `keep` checkpoints.
Status SaveCheckpoint(const std::string& root, const TrainerState& state, CausalLM& model, const Optimizer& opt,
                      int keep);

// The newest checkpoint under root that is complete and whose checksums hold ("" if none).
// Corrupt ones are skipped, each with a line in *skipped.
Result<std::string> LatestCheckpoint(const std::string& root, std::vector<std::string>* skipped);

// Restores the model, the optimizer and the trainer state from a checkpoint directory.
Result<TrainerState> LoadCheckpoint(const std::string& dir, CausalLM& model, Optimizer& opt);

}  // namespace saturn
