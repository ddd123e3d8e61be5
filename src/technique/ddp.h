// ddp and what offload shares with it.
#pragma once

#include "technique/step_base.h"

namespace saturn {

const Technique& DdpTechnique();

// The gradient bucket size knob of ddp and offload.
KnobSpec BucketKnob();

// A whole replica's weights and optimizer state from a canonical state (where: the checkpoint).
Status LoadReplica(CausalLM& model, Optimizer& opt, const std::map<std::string, torch::Tensor>& weights,
                   const std::map<std::string, torch::Tensor>& state, long long updates, const std::string& where);

}  // namespace saturn
