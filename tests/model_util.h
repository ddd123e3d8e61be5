// A random model saved as a Hugging Face directory, for tests that run `saturn eval` on one.
// LibTorch's glog defines a one-argument CHECK: include LibTorch (model/hf_checkpoint.h) and
// `#undef CHECK` before Catch, as the test files do.
#pragma once

#include <string>

#include "model/hf_checkpoint.h"
#include "cli_util.h"

namespace testutil {

// A random GPT-2 of 2 layers from models/gpt2-tiny.json, its hidden size replaced when `hidden`
// is given, saved under `folder` (removed when the test process ends).
inline std::string SaveRandomModel(const TempDir& folder, uint64_t seed, int hidden = 0) {
  auto cfg = saturn::LoadModelConfig(SATURN_SOURCE_DIR "/models/gpt2-tiny.json");
  REQUIRE(cfg.ok());
  if (hidden > 0) {
    cfg->hidden = hidden;
    cfg->heads = cfg->kv_heads = 2;
    cfg->intermediate = 4 * hidden;
  }
  saturn::CausalLM m(*cfg);
  m->init_weights(seed);
  const std::string dir = folder / "model";
  REQUIRE(saturn::SaveHfModel(dir, m).ok());
  return dir;
}

}  // namespace testutil
