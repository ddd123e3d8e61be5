// What a plan minimizes, and how two schedules compare under it (docs/planner.md, "Objectives").
//
// `makespan` (Saturn's, the default): when the last job ends. `mean-completion`: the weighted mean
// of the jobs' end times, each job weighted by its priority: a researcher sees first results
// sooner. Deadlines are constraints under both: every policy first minimizes the seconds by
// which jobs miss their deadlines (zero whenever it finds a plan that meets them all), then the
// objective, then a second key (under makespan: priority- and device-weighted end times, so
// that on a plateau of one makespan heavy jobs end first).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "plan/schedule.h"
#include "util/status.h"

namespace saturn {

// The objective names `saturn plan --objective` accepts, the default first.
const std::vector<std::string>& ObjectiveNames();
Status CheckObjective(const std::string& name);  // a user error naming the valid ones

// Lexicographic: (late, primary, secondary), smaller is better.
struct Score {
  double late = INFINITY;       // seconds past deadlines, summed over jobs
  double primary = INFINITY;    // the objective, in seconds
  double secondary = INFINITY;  // the tie-break
};
// The search's comparisons: keys within a millionth of each other tie, so a search can walk a
// plateau of one makespan.
bool NoWorse(const Score& a, const Score& b);
inline bool Improves(const Score& a, const Score& b) { return NoWorse(a, b) && !NoWorse(b, a); }
// Adopting one finished plan over another: it meets deadlines better, or else it is no later
// past them and shorter (by any margin), or as long and better on the tie-break. Never longer.
bool Better(const Score& a, const Score& b);
// Better by at least `need` seconds of the objective, or by meeting deadlines better (any gain).
bool Gains(const Score& a, const Score& b, double need);

// The search's score of job end times `ends` with job j in configuration config[j] (indexed by
// job).
Score ScoreOf(const Instance& inst, const std::vector<double>& ends, const std::vector<int>& config);
// The score for adopting a finished plan: under makespan its tie-break is the priority-weighted
// sum of end times, and only where priorities differ (else the makespan alone decides, as it
// did before priorities existed); under mean-completion, as ScoreOf.
Score PlanScore(const Instance& inst, const Schedule& s);

// The weighted mean of the jobs' end times (priorities as weights).
double MeanCompletion(const Instance& inst, const Schedule& s);
// The instance's objective of `s`, in seconds.
double ObjectiveValue(const Instance& inst, const Schedule& s);

// A weighted mean completion no schedule can beat: the larger of (a) every job at its fastest,
// and (b) the cluster as one fluid machine of all its devices in use, each job at its least
// device-seconds, taken in Smith's order, plus half of each job's least duration
// (docs/planner.md derives it).
double MeanCompletionBound(const Instance& inst);

// Whether any job has a deadline.
bool HasDeadlines(const Instance& inst);

// Jobs that end past their deadlines in `s`: "NAME ends at 7.2 h, 1.2 h past its deadline".
std::vector<std::string> MissedDeadlines(const Instance& inst, const Schedule& s, double offset_seconds = 0);

}  // namespace saturn
