// `saturn plan SWEEP --profile PROFILE -o PLAN` and `saturn plan --simulate PLAN`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "config/sweep.h"
#include "plan/objective.h"
#include "plan/plan.h"
#include "plan/replan.h"
#include "plan/simulate.h"
#include "profile/profile.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/suggest.h"

namespace saturn {
namespace {

struct PlanArgs {
  std::string sweep, profile, output, policy = "milp", objective = "makespan", simulate, from_state;
  double time_limit = -1;  // not given: 60 s to plan, 2 s to re-plan (as the orchestrator does)
  SimOptions sim;
  bool verbose = false, quiet = false;
};

std::string SvgPathFor(const std::string& plan_path) {
  std::string base = plan_path;
  if (base.size() > 5 && base.substr(base.size() - 5) == ".json") base.resize(base.size() - 5);
  return base + ".svg";
}

// Said even with -q: a plan that misses a deadline is written, but nobody should miss that.
void WarnMissed(const Plan& plan, const std::string& why) {
  for (const std::string& miss : MissedDeadlines(plan.instance, plan.schedule, plan.offset_seconds))
    std::fprintf(stderr, "saturn plan: warning: %s: %s\n", why.c_str(), miss.c_str());
}

Status RunSimulate(const PlanArgs& a) {
  if (a.sim.trials < 1) return Status::UserError("--trials must be at least 1");
  // Past sigma 1 the log-normal factor (mean 1) puts most draws far below 1 and a rare few far
  // above: 20 trials then report a sweep that finishes in no time, which says nothing.
  if (!(a.sim.noise >= 0 && a.sim.noise <= 1))
    return Status::UserError("--noise must be between 0 and 1: the sigma of a log-normal step-time factor with "
                             "mean 1 (0.1: step times vary by about 10%)");
  if (!(a.sim.failures >= 0 && a.sim.failures <= 1))
    return Status::UserError("--failures must be between 0 and 1: the chance that a job crashes once and runs again "
                             "from its start");
  if (!(a.sim.search_budget >= 0 && a.sim.search_budget <= 1e15))
    return Status::UserError("--search-budget must be between 0 and 1e15 job decodes a trial");
  auto plan = LoadPlan(a.simulate);
  if (!plan.ok()) return plan.status();
  SimOptions sim = a.sim;
  // Quiet while trials are quick; past a few seconds each, a line per trial on stderr.
  sim.on_trial = [&](int done, double seconds) {
    if (seconds / done < 3 || done == sim.trials) return;
    std::fprintf(stderr, "saturn plan: simulated %d of %d trials in %s; about %s left\n", done, sim.trials,
                 HumanSeconds(seconds).c_str(), HumanSeconds(seconds / done * (sim.trials - done)).c_str());
  };
  SimReport r = Simulate(*plan, sim);
  std::fputs(SimReportText(*plan, a.sim, r).c_str(), stdout);
  return Status::Ok();
}

// A running sweep's state (the orchestrator's state-N.json) re-planned as the orchestrator does.
Status RunFromState(const PlanArgs& a, std::chrono::steady_clock::time_point started) {
  if (a.output.empty()) return Status::UserError("-o PLAN.json is required");
  if (!(a.time_limit > 0 || a.time_limit == -1)) return Status::UserError("--time-limit must be a positive number of seconds");
  Result<SweepState> state = LoadSweepState(a.from_state);
  if (!state.ok()) return state.status();
  for (const std::string& out : {a.output, SvgPathFor(a.output)})
    for (const std::string& input : {a.from_state, state->plan})
      if (SameFile(out, input))
        return Status::UserError("-o " + a.output + ": would overwrite " + input + "; write the plan to another file");
  SATURN_RETURN_IF_ERROR(CheckWritable(a.output, "-o"));
  SATURN_RETURN_IF_ERROR(CheckWritable(SvgPathFor(a.output), "the Gantt chart"));
  Result<Plan> base = LoadPlan(state->plan);
  if (!base.ok()) return base.status();
  // --time-limit bounds the whole command: what loading took, and writing and exit will take,
  // come off the search.
  const double limit = a.time_limit > 0 ? a.time_limit : 2;
  const double writing = FinishReserve(base->instance.jobs.size(), limit);
  ReplanOptions opt;
  opt.time_limit_seconds = std::max(0.05 * limit, limit - SecondsSince(started) - writing);
  Result<Replanned> r = Replan(base->instance, *state, opt);
  if (!r.ok()) return Status::UserError(a.from_state + ": " + r.status().message());
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(a.output, PlanToJson(r->plan)));
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(SvgPathFor(a.output), PlanSvg(r->plan)));
  if (!a.quiet) {
    std::fputs(PlanTable(r->plan).c_str(), stdout);
    if (r->kept_blocked())
      std::printf("from %.1f s: keeping the current plan, jobs wait for devices out of use for good; %.1f s "
                  "re-planned\n", state->now, r->new_seconds);
    else
      std::printf("from %.1f s: %.1f s to the end keeping the current plan, %.1f s re-planned\n", state->now,
                  r->kept_seconds, r->new_seconds);
    for (const std::string& job : r->unplaceable)
      std::printf("%s: left out: no configuration of it fits on the devices left in use\n", job.c_str());
    for (const std::string& job : r->moved)
      std::printf("%s: moved: stopped at its next checkpoint and continued as planned above\n", job.c_str());
  }
  WarnMissed(r->plan, "the re-plan misses a deadline");
  return Status::Ok();
}

Status RunPlan(const PlanArgs& a) {
  const auto started = ProcessStart();  // --time-limit bounds the whole command, start-up included
  if (a.objective != "makespan" && (!a.simulate.empty() || !a.from_state.empty()))
    return Status::UserError("--objective applies when planning a sweep; --simulate and --from-state keep the "
                             "objective their plan was made for");
  if (!a.simulate.empty()) return RunSimulate(a);
  if (!a.from_state.empty()) return RunFromState(a, started);
  const std::vector<std::string> policies = {"milp", "greedy", "uniform", "current-practice"};
  if (std::find(policies.begin(), policies.end(), a.policy) == policies.end())
    return Status::UserError("--policy " + a.policy + ": unknown policy" + DidYouMean(a.policy, policies) +
                             "; one of milp, greedy, uniform, current-practice");
  SATURN_RETURN_IF_ERROR(CheckObjective(a.objective));
  if (a.sweep.empty()) return Status::UserError("give a sweep file: saturn plan SWEEP.yaml --profile PROFILE.json -o PLAN.json");
  if (a.profile.empty()) return Status::UserError("--profile PROFILE.json is required: step times per job, technique and device count, as docs/profile.md describes (configs/example-profile.json is one)");
  if (a.output.empty()) return Status::UserError("-o PLAN.json is required");
  if (!(a.time_limit > 0 || a.time_limit == -1)) return Status::UserError("--time-limit must be a positive number of seconds");
  auto sweep = LoadSweep(a.sweep);
  if (!sweep.ok()) return sweep.status();
  auto profile = LoadProfile(a.profile);
  if (!profile.ok()) return profile.status();
  for (const auto& [input, what] : {std::make_pair(a.sweep, "the sweep"), std::make_pair(a.profile, "the profile")})
    for (const std::string& out : {a.output, SvgPathFor(a.output)})
      if (SameFile(out, input))
        return Status::UserError("-o " + a.output + ": would overwrite " + what + " " + input +
                                 "; write the plan to another file");
  // Before the solve: a plan that cannot be written should fail now, not after minutes of search.
  SATURN_RETURN_IF_ERROR(CheckWritable(a.output, "-o"));
  SATURN_RETURN_IF_ERROR(CheckWritable(SvgPathFor(a.output), "the Gantt chart"));
  auto inst = BuildInstance(*sweep, *profile);
  if (!inst.ok()) return inst.status();
  for (const std::string& note : inst->notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  inst->objective = a.objective;
  PlanOptions opt;
  opt.policy = a.policy;
  opt.time_limit_seconds = a.time_limit > 0 ? a.time_limit : 60;
  opt.started = started;
  opt.verbose = a.verbose;
  auto plan = MakePlan(*inst, opt);
  if (!plan.ok()) return plan.status();
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(a.output, PlanToJson(*plan)));
  SATURN_RETURN_IF_ERROR(WriteFileAtomic(SvgPathFor(a.output), PlanSvg(*plan)));
  if (!a.quiet) std::fputs(PlanTable(*plan).c_str(), stdout);
  WarnMissed(*plan, a.policy == "milp" ? "no plan found meets every deadline"
                                        : "--policy " + a.policy + " ignores deadlines");
  return Status::Ok();
}

}  // namespace

Action SetupPlanCommand(CLI::App* sub) {
  auto a = std::make_shared<PlanArgs>();
  sub->add_option("sweep", a->sweep, "the sweep (YAML); only its cluster and jobs are read");
  sub->add_option("--profile", a->profile, "step times per job, technique and device count (JSON; docs/profile.md)");
  sub->add_option("-o,--output", a->output, "where to write the plan (JSON); the Gantt chart goes beside it as .svg");
  sub->add_option("--policy", a->policy, "milp (default), greedy, uniform or current-practice");
  sub->add_option("--objective", a->objective,
                  "makespan (default: when the last job ends) or mean-completion (the priority-weighted mean of "
                  "job end times: first results sooner)");
  sub->add_option("--time-limit", a->time_limit,
                  "seconds the milp policy may search (default 60), or --from-state's re-plan (default 2)");
  sub->add_option("--from-state", a->from_state,
                  "re-plan a running sweep from the state the orchestrator saved (state-N.json) instead of planning");
  sub->add_option("--simulate", a->simulate, "replay this plan with noisy step times instead of planning");
  sub->add_option("--seed", a->sim.seed, "random seed of --simulate (default 1)");
  sub->add_option("--noise", a->sim.noise, "sigma of the log-normal step-time noise of --simulate (default 0.1)");
  sub->add_option("--failures", a->sim.failures,
                  "chance that a job crashes once in --simulate and runs again from its start (default 0)");
  sub->add_option("--trials", a->sim.trials, "how many noisy replays --simulate averages (default 20)");
  sub->add_option("--search-budget", a->sim.search_budget,
                  "job decodes the re-plans of one --simulate trial may search (default 1e8: the full search "
                  "up to a few hundred jobs; 0: no search, only the current order started as early as it can)");
  sub->add_flag("-v,--verbose", a->verbose, "print the solver's progress");
  sub->add_flag("-q,--quiet", a->quiet, "do not print the plan table");
  return [a] { return RunPlan(*a); };
}

}  // namespace saturn
