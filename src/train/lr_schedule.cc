#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace saturn {

double LearningRate(const OptimizerSpec& o, long long step, long long steps, long long warmup_steps) {
  if (step < warmup_steps) return o.lr * double(step + 1) / double(warmup_steps);
  const double span = double(std::max(1LL, steps - warmup_steps));
  const double progress = std::min(1.0, double(step - warmup_steps) / span);
  const double floor = o.lr * o.final_lr_fraction;
  return floor + (o.lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace saturn
