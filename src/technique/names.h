// The parallelism techniques Saturn knows by name. Sweeps, profiles and plans refer to them by
// these names without LibTorch; the executable techniques are technique/registry.h's, which a
// test keeps equal to this list.
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
