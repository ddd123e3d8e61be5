#pragma once

#include "technique/step_base.h"

namespace saturn {

const Technique& FsdpTechnique();

}  // namespace saturn
