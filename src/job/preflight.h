// What `saturn run` checks before any job trains: every job's model config, tokenizer and data,
// and the sweep's evaluation task files. A sweep whose last job's data is missing must fail
// in a second, not after the first job trained for hours.
#pragma once

#include <vector>

#include "config/sweep.h"
#include "util/status.h"

namespace saturn {

// The first problem, naming the job's place in the sweep file, the field and the path.
Status CheckJobInputs(const Sweep& sweep, const std::vector<const JobSpec*>& jobs);

}  // namespace saturn
