// The learning rate of each optimizer step: linear warmup from lr / warmup_steps to lr over the
// first warmup_steps steps, then a cosine from lr down to lr x final_lr_fraction at `steps`.
#pragma once

#include "config/sweep.h"

namespace saturn {

// step counts from 0; the rate used by the (step + 1)-th update.
double LearningRate(const OptimizerSpec& o, long long step, long long steps, long long warmup_steps);

}  // namespace saturn
