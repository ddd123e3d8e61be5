// The parallelism techniques Saturn knows by name. Sweeps, profiles and plans refer to them by
// these names; the executable techniques themselves arrive with `saturn profile` and `saturn run`.
#pragma once

#include <string>
#include <vector>

namespace saturn {

// In preference order: where a policy needs "one default technique", it takes the first feasible.
inline const std::vector<std::string>& TechniqueNames() {
  static const std::vector<std::string> names = {"ddp", "fsdp", "pipeline", "offload"};
  return names;
}

}  // namespace saturn
