// Whether a saved plan still describes the sweep it is about to execute. A plan embeds the
// cluster and jobs it was made for; a sweep edited since (a node resized, renamed or of another
// kind, a job added, its steps changed) would otherwise run jobs on devices or for lengths the
// plan never considered, silently. The kind check is of names only: saturn cannot tell an
// A100 from an H100 by asking the node, so the sweep's word is the reference.
#ifndef SATURN_RUN_PLAN_FIT_H_
#define SATURN_RUN_PLAN_FIT_H_

#include <string>

#include "config/sweep.h"
#include "plan/plan.h"
#include "util/status.h"

namespace saturn {

// Ok when the plan at `plan_path` is of `sweep`: the same sweep name; each plan node the sweep
// node at the same position, with the same name, device count and kind (inside Slurm nodes map by
// position); each sweep job in the plan with the same steps, and allowing every technique and
// device count the plan holds for it (a re-plan may pick any); each plan job in the sweep.
// Otherwise a user error that names the plan and the
// sweep's file:line of the node or job, and ends with `replan_hint`: how this caller's user plans
// again (it differs for --auto and for a run with a journal).
Status CheckPlanFitsSweep(const Plan& plan, const std::string& plan_path, const Sweep& sweep,
                          const std::string& replan_hint);

}  // namespace saturn

#endif  // SATURN_RUN_PLAN_FIT_H_
