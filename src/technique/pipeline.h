#pragma once

#include "technique/step_base.h"

namespace saturn {

const Technique& PipelineTechnique();

}  // namespace saturn
