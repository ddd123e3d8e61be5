// Iterated local search over list schedules (policies.h: LocalSearchSchedule).
//
// A candidate is a job order plus one front configuration per job, decoded by list scheduling
// (each job at the placement where it finishes first). That decoder chooses placements itself,
// so on uneven nodes some active schedules are no candidate's decoding: the space is not proven
// to hold an optimum (CBC, which places jobs itself, covers what it misses; the tests check the
// search against brute force on small even and uneven clusters). Moves are small (reinsert a
// job, swap two, step a job's width); a candidate is accepted when its Score (plan/objective.h:
// deadlines missed, the objective, a tie-break) is no worse. Under makespan the tie-break is the
// priority- and device-weighted sum of end times: it rewards ending work earlier while the
// makespan is on a plateau. After a long run without a new best, the search restarts from the
// best with a few random moves.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "plan/objective.h"
#include "plan/policies.h"
#include "util/clock.h"
#include "util/splitmix64.h"

namespace saturn {
namespace {

struct Candidate {
  std::vector<int> order;   // jobs, in list order
  std::vector<int> config;  // per job: a configuration index on its front
};

class Search {
 public:
  Search(const Instance& inst, uint64_t seed) : inst_(inst), rng_(seed) {}

  // Decodes `c`; `ends` gets each job's end time.
  Score Evaluate(const Candidate& c, std::vector<double>* ends) const {
    ListChoices(inst_, c.order, c.config, ends);
    return ScoreOf(inst_, *ends, c.config);
  }

  // One random move applied to `c`; `ends` describes c's decoding and steers half of the moves
  // to the jobs that hold the score back: those past their deadlines, else (under makespan)
  // those that end last.
  void Move(Candidate* c, const std::vector<double>& ends) {
    const int n = int(c->order.size());
    auto pos_of = [&](int job) { return int(std::find(c->order.begin(), c->order.end(), job) - c->order.begin()); };
    int job = c->order[rng_.Below(n)];
    if (rng_.Below(2) == 0) {
      std::vector<int> late;
      for (int j = 0; j < n; ++j)
        if (ends[j] > inst_.jobs[j].deadline + 1e-6) late.push_back(j);
      if (late.empty() && inst_.objective != "mean-completion") {
        const double makespan = *std::max_element(ends.begin(), ends.end());
        for (int j = 0; j < n; ++j)
          if (ends[j] >= makespan - 1e-6 * std::max(1.0, makespan)) late.push_back(j);
      }
      if (!late.empty()) job = late[rng_.Below(late.size())];
    }
    const std::vector<int>& front = inst_.jobs[job].front;
    switch (rng_.Below(4)) {
      case 0:
      case 1: {  // reinsert elsewhere
        int from = pos_of(job), to = int(rng_.Below(n));
        c->order.erase(c->order.begin() + from);
        c->order.insert(c->order.begin() + to, job);
        break;
      }
      case 2: {  // swap with another job
        std::swap(c->order[pos_of(job)], c->order[rng_.Below(n)]);
        break;
      }
      default: {  // one step narrower or wider on its kind's front, or any front configuration
        if (front.size() < 2) break;
        if (rng_.Below(3) == 0) {
          c->config[job] = front[rng_.Below(front.size())];
          break;
        }
        const std::vector<Config>& cs = inst_.jobs[job].configs;
        std::vector<int> mine;  // the front of the current configuration's kind, by width
        for (int f : front)
          if (cs[size_t(f)].kind == cs[size_t(c->config[job])].kind) mine.push_back(f);
        if (mine.size() < 2) break;
        int at = int(std::find(mine.begin(), mine.end(), c->config[job]) - mine.begin());
        int next = at + (rng_.Below(2) ? 1 : -1);
        if (next < 0) next = 1;
        if (next >= int(mine.size())) next = int(mine.size()) - 2;
        c->config[job] = mine[size_t(next)];
        break;
      }
    }
  }

  uint64_t Below(uint64_t n) { return rng_.Below(n); }

 private:
  const Instance& inst_;
  SplitMix64 rng_;
};

}  // namespace

Schedule LocalSearchSchedule(const Instance& inst, const Schedule& start, long max_moves, double max_seconds,
                             uint64_t seed, LocalSearchStats* stats) {
  const int n = int(inst.jobs.size());
  if (n < 1 || max_moves <= 0) return start;
  auto t0 = std::chrono::steady_clock::now();
  Schedule from = OnFront(inst, start);
  Candidate cur;
  for (const Choice& ch : ChoicesByStart(from)) cur.order.push_back(ch.job);
  cur.config.resize(n);
  for (int j = 0; j < n; ++j) cur.config[j] = from.jobs[j].config;

  Search search(inst, seed);
  std::vector<double> ends, best_ends, cand_ends;
  Score cur_key = search.Evaluate(cur, &ends);
  Candidate best = cur;
  Score best_key = cur_key;
  best_ends = ends;
  const long kick_after = 40L * n;
  long since_best = 0, move = 0;
  for (; move < max_moves; ++move) {
    // Every move: at 10,000 jobs one decode takes a quarter of a second, and a check every 64
    // moves overran the limit by 16 s.
    if (SecondsSince(t0) > max_seconds) break;
    if (since_best >= kick_after) {  // restart near the best
      cur = best;
      for (int k = 2 + int(search.Below(3)); k > 0; --k) search.Move(&cur, best_ends);
      cur_key = search.Evaluate(cur, &ends);
      since_best = 0;
      continue;
    }
    Candidate cand = cur;
    search.Move(&cand, ends);
    Score k = search.Evaluate(cand, &cand_ends);
    ++since_best;
    if (!NoWorse(k, cur_key)) continue;
    cur = std::move(cand);
    cur_key = k;
    ends.swap(cand_ends);
    if (Improves(cur_key, best_key)) {
      best = cur;
      best_key = cur_key;
      best_ends = ends;
      since_best = 0;
    }
  }
  if (stats) *stats = {move, SecondsSince(t0)};
  Schedule out = ListSchedule(inst, best.order, best.config);
  return Better(PlanScore(inst, out), PlanScore(inst, from)) ? out : from;
}

}  // namespace saturn
