// Every technique saturn can train with, in technique/names.h's order (a test keeps them equal).
#pragma once

#include <string>
#include <vector>

#include "technique/technique.h"

namespace saturn {

const std::vector<const Technique*>& Techniques();
// The technique of that name, or a user error listing the known ones (with the nearest).
Result<const Technique*> FindTechnique(const std::string& name);

}  // namespace saturn
