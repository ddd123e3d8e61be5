#include "plan/milp.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <limits>
#include <new>
#include <numeric>
#include <string>

#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <cstring>

#include <coin/Cbc_C_Interface.h>

#include "plan/cbc_check.h"
#include "plan/objective.h"
#include "plan/policies.h"
#include "util/clock.h"
#include "util/heap.h"

namespace saturn {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::max();

// Part of the instance re-optimized at once: some jobs, the nodes they may use, and the devices
// that jobs outside the region hold on those nodes.
struct Region {
  std::vector<int> jobs;
  std::vector<char> node_in;
  struct Block { int node; double start, end; int use; };
  std::vector<Block> blocks;
};

bool PlacementInside(const Placement& p, const std::vector<char>& node_in) {
  for (int n : p.nodes)
    if (!node_in[n]) return false;
  return true;
}

// Packs the region's jobs in `order` (continuous time, exact durations) around its blocks.
// `scale` > 0 rounds everything to slots of that length instead: durations up, blocks outward.
std::vector<Assignment> PackRegion(const Instance& inst, const Region& r, const std::vector<Choice>& order,
                                   double slot = 0) {
  Packer packer(inst);
  auto dur = [&](double s) { return slot > 0 ? std::ceil(s / slot - 1e-9) : s; };
  for (const auto& b : r.blocks)
    packer.Block(b.node, slot > 0 ? std::floor(b.start / slot + 1e-9) : b.start,
                 slot > 0 ? std::ceil(b.end / slot - 1e-9) : b.end, b.use);
  std::vector<Assignment> out(inst.jobs.size());
  for (const Choice& c : order) {
    const Config& cfg = inst.jobs[c.job].configs[c.config];
    const Placement& p = cfg.placements[c.placement];
    double d = dur(cfg.seconds);
    const double release = inst.jobs[c.job].release;
    double t = packer.EarliestStart(p, d, slot > 0 ? std::ceil(release / slot - 1e-9) : release);
    packer.Place(p, t, d);
    out[c.job] = {c.config, c.placement, t, t + d, {}};
  }
  return out;
}

double RegionEnd(const Region& r, const std::vector<Assignment>& a) {
  double e = 0;
  for (int j : r.jobs) e = std::max(e, a[j].end);
  return e;
}

// The region's part of the instance's Score: seconds past deadlines, then the objective over
// the region's jobs (its end, or its weighted sum of end times).
std::pair<double, double> RegionScore(const Instance& inst, const Region& r, const std::vector<Assignment>& a) {
  double late = 0, weighted = 0;
  for (int j : r.jobs) late += std::max(0.0, a[j].end - inst.jobs[j].deadline), weighted += inst.jobs[j].weight * a[j].end;
  return {late, inst.objective == "mean-completion" ? weighted : RegionEnd(r, a)};
}

// Jobs of the region with identical fronts (same widths, durations and placements), by
// signature; each class lists its positions in r.jobs in ascending order. The model orders their
// start slots, so any warm start must list them in that order too.
std::vector<std::vector<int>> InterchangeableClasses(const Instance& inst, const Region& r) {
  std::map<std::string, int> class_of;
  std::vector<std::vector<int>> classes;
  for (int jj = 0; jj < int(r.jobs.size()); ++jj) {
    std::string sig;
    for (int c : inst.jobs[r.jobs[jj]].front) {
      const Config& cfg = inst.jobs[r.jobs[jj]].configs[c];
      sig += std::to_string(cfg.width()) + "/" + std::to_string(cfg.seconds) + "/" + std::to_string(cfg.kind) + "/" +
             std::to_string(cfg.placements.size()) + ";";
    }
    // Jobs of other priorities or deadlines are not interchangeable (to the last bit).
    char exact[64];
    std::snprintf(exact, sizeof exact, "%.17g/%.17g", inst.jobs[r.jobs[jj]].weight, inst.jobs[r.jobs[jj]].deadline);
    sig += exact;
    auto it = class_of.emplace(sig, int(classes.size())).first;
    if (it->second == int(classes.size())) classes.emplace_back();
    classes[it->second].push_back(jj);
  }
  return classes;
}

// The configuration of job `to` at the front position that `config` has in job `from`'s front.
int SameFrontConfig(const Instance& inst, int from, int config, int to) {
  const auto& f = inst.jobs[from].front;
  size_t k = size_t(std::find(f.begin(), f.end(), config) - f.begin());
  assert(k < f.size() && "warm starts use front configurations");
  return inst.jobs[to].front[k];
}

// Gives the assignments of each class of interchangeable jobs to its members so that starts
// rise with the job index (ties keep the lower index first), which the symmetry rows require.
void OrderInterchangeable(const Instance& inst, const Region& r, const std::vector<std::vector<int>>& classes,
                          std::vector<Assignment>* a) {
  for (const auto& cls : classes) {
    if (cls.size() < 2) continue;
    std::vector<int> by_start;  // jobs of the class, by their current start
    for (int jj : cls) by_start.push_back(r.jobs[jj]);
    std::stable_sort(by_start.begin(), by_start.end(), [&](int x, int y) { return (*a)[x].start < (*a)[y].start; });
    std::vector<Assignment> taken;
    for (int j : by_start) taken.push_back((*a)[j]);
    for (size_t k = 0; k < cls.size(); ++k) {
      const int to = r.jobs[cls[k]];
      Assignment moved = taken[k];
      moved.config = SameFrontConfig(inst, by_start[k], moved.config, to);
      (*a)[to] = moved;
    }
  }
}

// The same for a list of choices in start order: each class's members take its slots in the
// list in ascending index order, so the first choice of a class is its lowest-index job.
void OrderInterchangeable(const Instance& inst, const Region& r, const std::vector<std::vector<int>>& classes,
                          std::vector<Choice>* order) {
  std::vector<int> class_of(inst.jobs.size(), -1);
  for (size_t k = 0; k < classes.size(); ++k)
    for (int jj : classes[k]) class_of[r.jobs[jj]] = int(k);
  std::vector<size_t> next(classes.size(), 0);
  for (Choice& c : *order) {
    const int k = class_of[c.job];
    if (k < 0 || next[k] >= classes[k].size()) continue;
    const int to = r.jobs[classes[k][next[k]++]];
    c.config = SameFrontConfig(inst, c.job, c.config, to);
    c.job = to;
  }
}

struct Column { int job, config, placement, start, len; };

struct CbcOutcome {
  bool has_solution = false, optimal = false, infeasible = false;
  double best_possible = 0;
  int nodes = 0;
  long peak_mb = 0;  // the solver process's peak resident set (it shares the parent's pages)
  std::vector<double> x;
};

bool ReadAll(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = ::read(fd, p, n);
    if (got <= 0) return false;
    p += got, n -= size_t(got);
  }
  return true;
}

// MilpOptions::cbc_memory_mb caps what one CBC process may allocate beyond what it inherits.
// CBC's preprocessing alone took about 650 MB on a 3,106-column grid (bench/plan one-node-4,
// 512 slots; 200 MB with it off), and a 17k-column grid (saturn-1x8-12) reached 1.3 GB without
// an answer. A model that needs more is dropped like one past its time, so the planner's memory
// stays bounded whatever CBC does.
constexpr int kOutOfMemoryExit = 3;

// Caps this process's data segment (RLIMIT_DATA: heap and private mappings, not the libraries'
// code) at what it holds now plus `mb`.
void CapDataGrowth(long mb) {
  const unsigned long long data = ProcStatusBytes("VmData");
  if (data == 0) return;  // unknown: no cap
  rlimit lim{};
  lim.rlim_cur = lim.rlim_max = rlim_t(data + (unsigned long long)mb * 1024 * 1024);
  ::setrlimit(RLIMIT_DATA, &lim);
}

// Runs CBC in a child process. CBC 2.10 has been seen to crash when a time limit lands at an
// unlucky moment, and it reads the clock only between nodes, so a root LP or cut round can run
// far past its limit. A crash, or a child still running `hard_seconds` after the start (then
// killed), costs this one model (no solution, no bound), not the plan: the parent keeps its
// incumbent either way, and the plan's time limit holds.
CbcOutcome SolveIsolated(Cbc_Model* m, int ncols, double hard_seconds, bool verbose, long memory_mb) {
  CbcOutcome out;
  std::fflush(stdout), std::fflush(stderr);
  int fds[2];
  SATURN_CBC_CHECK(::pipe(fds) == 0, "pipe for the solver process");
  pid_t pid = ::fork();
  SATURN_CBC_CHECK(pid >= 0, "fork of the solver process");
  if (pid == 0) {
    // The child dies plainly on a crash: no inherited handler (a test framework's) reports it.
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, SIG_DFL);
    ::close(fds[0]);
    // CBC logs to stdout; saturn's own progress goes to stderr. One stream, line-buffered, so
    // that -v's lines never interleave mid-line (and stdout keeps only the plan table).
    if (verbose) {
      std::fflush(stdout);
      ::dup2(2, 1);
      std::setvbuf(stdout, nullptr, _IOLBF, 0);
    }
    CapDataGrowth(memory_mb);
    try {
      Cbc_solve(m);
    } catch (const std::bad_alloc&) {
      std::fflush(stdout);
      ::_exit(kOutOfMemoryExit);
    }
    std::fflush(stdout);
    const double* x = Cbc_bestSolution(m);
    double head[5] = {x ? 1.0 : 0.0, double(Cbc_isProvenOptimal(m)), double(Cbc_isProvenInfeasible(m)),
                      Cbc_getBestPossibleObjValue(m), double(Cbc_getNodeCount(m))};
    bool ok = ::write(fds[1], head, sizeof head) == ssize_t(sizeof head);
    if (ok && x) ok = ::write(fds[1], x, sizeof(double) * ncols) == ssize_t(sizeof(double) * ncols);
    std::fflush(stderr);
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  // The child writes once, at its end: wait for that (or for its death) until the deadline.
  auto deadline = Clock::now() + std::chrono::milliseconds(int64_t(hard_seconds * 1000));
  bool ready = false;
  for (;;) {
    int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (ms <= 0) break;
    pollfd pfd{fds[0], POLLIN, 0};
    int got = ::poll(&pfd, 1, ms);
    if (got > 0) { ready = true; break; }
    if (got < 0 && errno != EINTR) break;
  }
  if (!ready) {
    ::kill(pid, SIGKILL);
    rusage ru{};
    ::wait4(pid, nullptr, 0, &ru);
    out.peak_mb = ru.ru_maxrss / 1024;
    ::close(fds[0]);
    if (verbose)
      std::fprintf(stderr, "milp: CBC ran past its %.1f s and was stopped (peak %ld MB)\n", hard_seconds, out.peak_mb);
    return out;
  }
  double head[5];
  bool ok = ReadAll(fds[0], head, sizeof head);
  if (ok && head[0] > 0.5) {
    out.x.resize(ncols);
    ok = ReadAll(fds[0], out.x.data(), sizeof(double) * ncols);
  }
  ::close(fds[0]);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  out.peak_mb = ru.ru_maxrss / 1024;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kOutOfMemoryExit) {
    if (verbose) std::fprintf(stderr, "milp: CBC needed more than %ld MB and was stopped\n", memory_mb);
    return out;
  }
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "saturn plan: warning: the CBC process for one model failed (%s); keeping the best plan so far\n",
                 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no result");
    out.x.clear();
    out.best_possible = 0;
    return out;
  }
  out.has_solution = head[0] > 0.5;
  out.optimal = head[1] > 0.5;
  out.infeasible = head[2] > 0.5;
  out.best_possible = head[3];
  out.nodes = int(head[4]);
  return out;
}

struct RegionResult {
  bool solved = false;
  std::vector<Choice> order;  // by grid start
  std::string status;
  double objective = 0, bound = 0, slot = 0;  // objective and bound in seconds
  bool exact = false;  // the grid unit divides every duration: the model is the problem itself
};

// The time-indexed model of a region: x[j,c,p,s] = 1 when job j runs configuration c at
// placement p from slot s; per node and slot, the devices of the running jobs fit; C >= every
// job's end slot; minimize C. The objective is integral, so CBC can round its bounds up;
// SerialSchedule afterwards starts every job as early as the chosen order allows.
//
// With `relax`, durations round down instead. Any schedule, its starts and durations rounded
// down to the grid, stays feasible there (jobs sharing a slot all ran together just before its
// end) and no longer, so that model's proven bound is a lower bound for every schedule.
RegionResult SolveRegion(const Instance& inst, const Region& r, const std::vector<Choice>& warm, double horizon,
                         double lower_bound, int max_columns, int max_slots, double seconds, const MilpOptions& opt,
                         bool relax = false) {
  const bool verbose = opt.verbose;
  RegionResult res;
  const bool weighted = inst.objective == "mean-completion";
  const std::vector<std::vector<int>> classes = InterchangeableClasses(inst, r);
  // Identical nodes make equivalent solutions that branch-and-bound would explore again and
  // again. With one-node placements only and no blocks, any solution maps onto one where the
  // largest job sits on the first node of its size: pin it there, and the start to match.
  int pinned = -1, pin_node = -1;
  std::vector<Choice> pinned_warm = warm;
  OrderInterchangeable(inst, r, classes, &pinned_warm);
  bool single_node_only = r.blocks.empty();
  for (int j : r.jobs)
    for (const auto& c : inst.jobs[j].configs)
      for (const auto& p : c.placements) single_node_only = single_node_only && p.nodes.size() == 1;
  if (single_node_only && !pinned_warm.empty()) {
    // Warm choices come in start order; the first is a job running from time 0.
    const Choice& first = pinned_warm.front();
    int n = inst.jobs[first.job].configs[first.config].placements[first.placement].nodes[0];
    int f = 0;
    // Nodes of one size and kind are interchangeable; of another kind they are not.
    while (!r.node_in[f] || inst.nodes[f].devices != inst.nodes[n].devices || inst.nodes[f].kind != inst.nodes[n].kind)
      ++f;
    pinned = first.job, pin_node = f;
    auto swap = [&](int node) { return node == n ? f : node == f ? n : node; };
    for (Choice& c : pinned_warm) {
      const auto& pls = inst.jobs[c.job].configs[c.config].placements;
      int want = swap(pls[c.placement].nodes[0]);
      for (int q = 0; q < int(pls.size()); ++q)
        if (pls[q].nodes[0] == want) c.placement = q;
    }
  }
  // Pick the finest grid whose model fits the column budget.
  double slot = 0;
  int slots = 0;
  std::vector<Assignment> grid_warm;
  // When every duration is a whole number of some unit (milliseconds at the finest), a grid of
  // that unit loses nothing, and the MILP's optimum is the true optimum. Else the finest grid
  // that fits the column budget.
  std::vector<double> grids;
  long long unit = 0;
  for (int j : r.jobs)
    for (int c : inst.jobs[j].front) {
      double ms = inst.jobs[j].configs[c].seconds * 1000;
      if (std::fabs(ms - std::round(ms)) > 1e-6 * std::max(1.0, ms)) unit = -1;
      if (unit >= 0) unit = std::gcd(unit, (long long)std::llround(ms));
    }
  if (unit > 0 && horizon / (unit / 1000.0) <= 4.0 * max_slots) grids.push_back(unit / 1000.0);
  for (int T = max_slots; T >= 8; T = T * 3 / 4) grids.push_back(horizon / T);
  for (double g : grids) {
    slot = g;
    if (relax) {
      slots = int(std::floor(horizon / slot + 1e-9));
    } else {
      grid_warm = PackRegion(inst, r, pinned_warm, slot);
      // Packing can start a later choice earlier; the pinned job, first in its class and at 0,
      // keeps its own assignment.
      OrderInterchangeable(inst, r, classes, &grid_warm);
      slots = int(std::lround(RegionEnd(r, grid_warm)));
      // A plan of less weighted completion may end later than the incumbent: give it room.
      if (weighted) slots = (slots * 5 + 3) / 4;
    }
    long cols = 0;
    for (int j : r.jobs)
      for (int c : inst.jobs[j].front) {
        const Config& cfg = inst.jobs[j].configs[c];
        int len = relax ? int(std::floor(cfg.seconds / slot + 1e-9)) : int(std::ceil(cfg.seconds / slot - 1e-9));
        for (const auto& p : cfg.placements)
          if (PlacementInside(p, r.node_in)) cols += std::max(0, slots - len + 1);
      }
    if (cols <= max_columns) break;
    slots = 0;
  }
  if (slots == 0) return res;
  res.slot = slot;
  res.exact = unit > 0 && std::fabs(slot - unit / 1000.0) < 1e-12;

  const int J = int(r.jobs.size());
  std::vector<Column> cols;
  for (int jj = 0; jj < J; ++jj) {
    int j = r.jobs[jj];
    for (int c : inst.jobs[j].front) {
      const Config& cfg = inst.jobs[j].configs[c];
      int len = relax ? int(std::floor(cfg.seconds / slot + 1e-9)) : int(std::ceil(cfg.seconds / slot - 1e-9));
      for (int p = 0; p < int(cfg.placements.size()); ++p) {
        if (!PlacementInside(cfg.placements[p], r.node_in)) continue;
        // The pinned job keeps its placements on nodes unlike the pinned one: only the
        // interchangeable nodes (same size and kind) fold onto it.
        const int at = cfg.placements[p].nodes[0];
        if (j == pinned && at != pin_node && inst.nodes[at].devices == inst.nodes[pin_node].devices &&
            inst.nodes[at].kind == inst.nodes[pin_node].kind)
          continue;
        // A zero-length job fits anywhere; one column stands for all its starts. A search
        // model keeps to deadlines: a grid end within one is a continuous end within it, since
        // packing in the grid's order starts no job later. A job the rounded incumbent ends
        // later than that may end as late as it does there, so the warm start stays a solution
        // and the model never becomes infeasible. The bound model (relax) keeps every schedule,
        // so its bound holds whatever the deadlines.
        const double due = relax ? INFINITY : std::max(inst.jobs[j].deadline / slot + 1e-9, grid_warm[j].end);
        for (int s = 0; s + len <= slots && (len > 0 || s == 0); ++s) {
          if (s + len > due) break;
          cols.push_back({jj, c, p, s, len});
        }
      }
    }
  }
  // Rows: [0,J) assignment, [J,2J) makespan, then capacity (node, slot), then symmetry.
  std::vector<int> node_row(inst.nodes.size(), -1);
  int nrows = 2 * J;
  for (size_t n = 0; n < inst.nodes.size(); ++n)
    if (r.node_in[n]) node_row[n] = nrows, nrows += slots;
  std::vector<double> row_lo(nrows), row_hi(nrows);
  for (int jj = 0; jj < J; ++jj) row_lo[jj] = row_hi[jj] = 1, row_lo[J + jj] = 0, row_hi[J + jj] = kInf;
  for (size_t n = 0; n < inst.nodes.size(); ++n) {
    if (node_row[n] < 0) continue;
    for (int t = 0; t < slots; ++t) row_lo[node_row[n] + t] = -kInf, row_hi[node_row[n] + t] = inst.nodes[n].devices;
  }
  for (const auto& b : r.blocks) {
    int s0 = int(std::floor(b.start / slot + 1e-9)), s1 = int(std::ceil(b.end / slot - 1e-9));
    for (int t = std::max(0, s0); t < std::min(slots, s1); ++t) row_hi[node_row[b.node] + t] -= b.use;
  }
  // Jobs with identical fronts are interchangeable: order their start slots.
  std::vector<std::pair<int, int>> sym;
  for (const auto& cls : classes)
    for (size_t k = 1; k < cls.size(); ++k) sym.push_back({cls[k - 1], cls[k]});
  for (size_t k = 0; k < sym.size(); ++k) row_lo.push_back(-kInf), row_hi.push_back(0);
  std::vector<std::vector<int>> sym_of(J);
  for (size_t k = 0; k < sym.size(); ++k) sym_of[sym[k].first].push_back(int(nrows + k)), sym_of[sym[k].second].push_back(-int(nrows + k) - 1);
  nrows += int(sym.size());

  // Column-major matrix: the x columns, then C.
  const int ncols = int(cols.size()) + 1;
  std::vector<CoinBigIndex> start{0};
  std::vector<int> index;
  std::vector<double> value, obj, lo(ncols, 0), hi(ncols, 1);
  for (const Column& col : cols) {
    int j = r.jobs[col.job];
    const Placement& p = inst.jobs[j].configs[col.config].placements[col.placement];
    index.push_back(col.job), value.push_back(1);
    index.push_back(J + col.job), value.push_back(-(col.start + col.len));
    for (size_t k = 0; k < p.nodes.size(); ++k)
      for (int t = col.start; t < col.start + col.len; ++t) index.push_back(node_row[p.nodes[k]] + t), value.push_back(p.use[k]);
    for (int row : sym_of[col.job]) {
      if (row >= 0) index.push_back(row), value.push_back(col.start);
      else index.push_back(-row - 1), value.push_back(-col.start);
    }
    start.push_back(CoinBigIndex(index.size()));
    // Under mean-completion: the job's weighted end slot (C is then free, bounded by the grid).
    obj.push_back(weighted ? inst.jobs[j].weight * (col.start + col.len) : 0);
  }
  for (int jj = 0; jj < J; ++jj) index.push_back(J + jj), value.push_back(1);
  start.push_back(CoinBigIndex(index.size()));
  obj.push_back(weighted ? 0 : 1);
  hi[ncols - 1] = slots;
  // Rounding durations up only lengthens schedules, so the lower bound holds on the grid too;
  // the LP relaxation of a time-indexed model is far weaker than it.
  if (!relax) lo[ncols - 1] = std::min<double>(slots, std::ceil(lower_bound / slot - 1e-6));

  Cbc_Model* m = Cbc_newModel();
  SATURN_CBC_CHECK(m != nullptr, "Cbc_newModel");
  Cbc_loadProblem(m, ncols, nrows, start.data(), index.data(), value.data(), lo.data(), hi.data(), obj.data(),
                  row_lo.data(), row_hi.data());
  for (int c = 0; c < ncols; ++c) Cbc_setInteger(m, c);
  Cbc_setLogLevel(m, verbose ? 1 : 0);
  // CBC looks at the clock between nodes only; leave it room to stop in time.
  Cbc_setMaximumSeconds(m, std::max(0.3, seconds * 0.85));
  // C is integral: a gap under one slot is closed. Weighted end slots are not.
  if (!weighted) Cbc_setAllowableGap(m, 0.5);
  if (!relax) {
    // Start from the incumbent rounded to the grid.
    std::vector<int> idx;
    std::vector<double> val;
    std::map<std::tuple<int, int, int, int>, int> col_of;
    for (int c = 0; c < int(cols.size()); ++c) col_of[{cols[c].job, cols[c].config, cols[c].placement, cols[c].start}] = c;
    double cmax = 0;
    bool complete = true;
    for (int jj = 0; jj < J; ++jj) {
      const Assignment& a = grid_warm[r.jobs[jj]];
      auto it = col_of.find({jj, a.config, a.placement, int(std::lround(a.start))});
      if (it == col_of.end()) { complete = false; break; }
      idx.push_back(it->second), val.push_back(1);
      cmax = std::max(cmax, a.end);
    }
    if (complete) {
      idx.push_back(ncols - 1), val.push_back(std::lround(cmax));
      Cbc_setMIPStartI(m, int(idx.size()), idx.data(), val.data());
    }
  }
  CbcOutcome out = SolveIsolated(m, ncols, seconds, verbose, opt.cbc_memory_mb);
  const double* x = out.has_solution ? out.x.data() : nullptr;
  if (relax) {
    // Only the bound counts. The incumbent (makespan `horizon`), rounded down, is a solution of
    // this model, so "infeasible" is always wrong here: CBC 2.10 has been seen to claim it, and
    // taking it as a bound of `horizon` once declared a plan optimal that a later heuristic beat
    // by 1.2% (bench/plan saturn-2x8-24). Such a solve proves nothing.
    double b = out.infeasible ? 0 : std::ceil(out.best_possible - 1e-6);
    if (out.infeasible && verbose) std::fprintf(stderr, "milp bound: CBC claimed a feasible model infeasible; no bound taken\n");
    res.bound = std::max(0.0, b) * slot;
    res.status = out.optimal ? "optimal" : "bound";
    if (verbose)
      std::fprintf(stderr, "milp bound: %d columns, %d slots of %.1f s: bound %.1f s (%s, peak %ld MB)\n", ncols, slots,
                   slot, res.bound, res.status.c_str(), out.peak_mb);
    Cbc_deleteModel(m);
    return res;
  }
  if (x) {
    std::vector<std::pair<int, int>> by_start;  // (start slot, region job)
    std::vector<Choice> choice(J);
    // Exactly one column per job, or the solution is not used (a solve cut short by the clock
    // can hand back a point that is not integral).
    std::vector<int> taken(J, 0);
    for (int c = 0; c < int(cols.size()); ++c)
      if (x[c] > 0.5) {
        choice[cols[c].job] = {r.jobs[cols[c].job], cols[c].config, cols[c].placement};
        by_start.push_back({cols[c].start, cols[c].job});
        ++taken[cols[c].job];
      }
    if (std::all_of(taken.begin(), taken.end(), [](int t) { return t == 1; })) {
      std::sort(by_start.begin(), by_start.end());
      for (auto& [s, jj] : by_start) res.order.push_back(choice[jj]);
      res.solved = true;
      res.status = out.optimal ? "optimal" : "feasible";
      res.objective = std::round(x[ncols - 1]) * slot;
      res.bound = std::min(res.objective, std::ceil(out.best_possible - 1e-6) * slot);
    }
  }
  if (verbose)
    std::fprintf(stderr, "milp: %d jobs, %d columns, %d rows, %d slots of %.1f s: %s C=%.0f bound=%.2f (%d nodes, peak %ld MB)\n",
                 J, ncols, nrows, slots, slot, res.solved ? res.status.c_str() : "no solution", x ? x[ncols - 1] : -1.0,
                 out.best_possible, out.nodes, out.peak_mb);
  Cbc_deleteModel(m);
  return res;
}

// Applies a region's new choices: packs them in continuous time and puts them into `s`.
// Returns false (leaving `s` alone) when the region's end does not improve.
bool ApplyRegion(const Instance& inst, const Region& r, const std::vector<Choice>& order, Schedule* s) {
  std::vector<Assignment> packed = PackRegion(inst, r, order);
  const auto [late, value] = RegionScore(inst, r, packed);
  const auto [was_late, was] = RegionScore(inst, r, s->jobs);
  const bool better = late < was_late - 1e-6 || (late <= was_late + 1e-6 && value < was - 1e-6);
  if (!better) return false;
  for (int j : r.jobs) s->jobs[j] = packed[j];
  AssignDevices(inst, s);
  return true;
}

Region WholeInstance(const Instance& inst) {
  Region r;
  r.jobs.resize(inst.jobs.size());
  std::iota(r.jobs.begin(), r.jobs.end(), 0);
  r.node_in.assign(inst.nodes.size(), 1);
  return r;
}

// The region of a node subset: the jobs lying wholly inside it are free; jobs reaching outside
// it hold their devices on it as blocks.
Region NodeRegion(const Instance& inst, const Schedule& s, const std::vector<int>& nodes) {
  Region r;
  r.node_in.assign(inst.nodes.size(), 0);
  for (int n : nodes) r.node_in[n] = 1;
  for (int j = 0; j < int(inst.jobs.size()); ++j) {
    const Assignment& a = s.jobs[j];
    const Placement& p = inst.jobs[j].configs[a.config].placements[a.placement];
    if (PlacementInside(p, r.node_in)) { r.jobs.push_back(j); continue; }
    for (size_t k = 0; k < p.nodes.size(); ++k)
      if (r.node_in[p.nodes[k]]) r.blocks.push_back({p.nodes[k], a.start, a.end, p.use[k]});
  }
  return r;
}

std::vector<Choice> RegionOrder(const Region& r, const Schedule& s) {
  std::vector<Choice> all = ChoicesByStart(s), out;
  std::vector<char> in(s.jobs.size(), 0);
  for (int j : r.jobs) in[j] = 1;
  for (const Choice& c : all)
    if (in[c.job]) out.push_back(c);
  return out;
}

// Under mean-completion: the whole instance on grids of doubling resolution, each solve
// improving the plan or leaving it. Search only: its grid is limited to a quarter past the
// incumbent's makespan, so its optimum proves nothing, and the bound stays MeanCompletionBound.
// Past the column budget there is no model: the heuristics and local search decide.
Schedule WeightedMilp(const Instance& inst, const Schedule& incumbent, const MilpOptions& opt, SolverInfo* info) {
  auto t0 = Clock::now();
  Schedule best = incumbent;
  Region whole = WholeInstance(inst);
  info->method = "heuristics (no model of the whole instance fits)";
  for (int slots = 16; slots <= opt.max_slots; slots *= 2) {
    double left = opt.time_limit_seconds - SecondsSince(t0);
    if (left < 0.5) break;
    RegionResult res = SolveRegion(inst, whole, ChoicesByStart(best), best.makespan(), 0, opt.max_columns, slots,
                                   slots * 2 <= opt.max_slots ? left * 0.4 : left, opt);
    if (res.slot == 0) break;  // finer grids are larger still
    info->method = "time-indexed MILP of weighted end times (whole instance)";
    ++info->subproblems;
    if (res.solved && ApplyRegion(inst, whole, res.order, &best)) info->grid_seconds = res.slot;
  }
  info->status = "feasible";
  info->Settle(ObjectiveValue(inst, best), /*proves=*/true);
  return best;
}

}  // namespace

Schedule MilpSchedule(const Instance& inst, const Schedule& incumbent, const MilpOptions& opt, SolverInfo* info) {
  info->objective = ObjectiveValue(inst, incumbent);
  if (inst.objective == "mean-completion") {
    info->best_bound = MeanCompletionBound(inst);
    return WeightedMilp(inst, incumbent, opt, info);
  }
  // With several node kinds the bound is a price search: computed once.
  const double lb = opt.lower_bound >= 0 ? opt.lower_bound : LowerBound(inst);
  info->best_bound = lb;
  auto t0 = Clock::now();
  Schedule best = incumbent;
  info->status = "heuristic";

  // 1. The whole instance as one MILP, when its grid fits the budget: first on a coarse time
  // grid, which CBC solves quickly, then on finer ones, each started from the last's plan.
  Region whole = WholeInstance(inst);
  bool whole_fits = false;
  // Levels double the slots until a model outgrows the column budget or time runs out.
  // Half of the time stays for proving a lower bound afterwards: from the local search's
  // incumbent, finer search grids rarely pay, while a proven bound tells how good a plan is.
  const double search_limit = opt.time_limit_seconds * 0.5;
  const bool deadlines = HasDeadlines(inst);
  for (int slots = 16; slots <= opt.max_slots; slots *= 2) {
    double left = search_limit - SecondsSince(t0);
    if (left < 0.5) break;
    double budget = slots * 2 <= opt.max_slots ? left * 0.4 : left;
    RegionResult res = SolveRegion(inst, whole, ChoicesByStart(best), best.makespan(), lb, opt.max_columns, slots,
                                   budget, opt);
    if (!res.solved) continue;
    whole_fits = true;
    ++info->subproblems;
    info->grid_seconds = res.slot;
    ApplyRegion(inst, whole, res.order, &best);
    // Optimal on an exact grid is optimal, full stop. Optimal on a coarser grid only means no
    // better plan with durations rounded up to it; a finer grid may still find one. With
    // deadlines the model holds only plans that meet them (or end no later than the
    // incumbent): its optimum bounds those alone, not every schedule.
    if (res.exact && !deadlines) {
      info->status = res.status;
      info->best_bound = std::max(info->best_bound, res.bound);
      if (res.status == "optimal") break;
    } else {
      info->status = res.status == "optimal" ? "grid-optimal" : "feasible";
    }
  }
  if (whole_fits) {
    info->method = "time-indexed MILP (whole instance)";
    // Raise the proven lower bound with relaxed (rounded-down) models, finer while time lasts.
    for (int slots = 16; slots <= opt.max_slots && info->status != "optimal"; slots *= 2) {
      double left = opt.time_limit_seconds - SecondsSince(t0);
      if (left < 0.5 || info->best_bound >= best.makespan() - 1e-6) break;
      RegionResult rb = SolveRegion(inst, whole, {}, best.makespan(), 0, opt.max_columns, slots,
                                    slots * 2 <= opt.max_slots ? left * 0.5 : left, opt, true);
      if (rb.slot == 0) break;
      ++info->subproblems;
      info->best_bound = std::max(info->best_bound, rb.bound);
    }
  } else {
    // 2. Large-neighbourhood search: re-solve the busiest node together with the least busy
    // ones, as a MILP of that region with everything else fixed, while the makespan falls.
    info->method = "time-indexed MILP over node neighbourhoods (LNS)";
    const int N = int(inst.nodes.size());
    std::vector<std::vector<int>> tried;  // neighbourhoods that failed at the current incumbent
    while (SecondsSince(t0) < opt.time_limit_seconds - 0.5) {
      std::vector<double> end(N, 0);
      for (size_t j = 0; j < inst.jobs.size(); ++j) {
        const Assignment& a = best.jobs[j];
        for (int n : inst.jobs[j].configs[a.config].placements[a.placement].nodes) end[n] = std::max(end[n], a.end);
      }
      std::vector<int> by_end(N);
      std::iota(by_end.begin(), by_end.end(), 0);
      std::stable_sort(by_end.begin(), by_end.end(), [&](int a, int b) { return end[a] < end[b]; });
      const int busiest = by_end.back();
      bool improved = false;
      for (int size = 2; size <= std::min(N, 4) && !improved; ++size) {
        for (int first = 0; first + size - 1 < N - 1 && !improved; ++first) {
          std::vector<int> nodes(by_end.begin() + first, by_end.begin() + first + size - 1);
          nodes.push_back(busiest);
          std::sort(nodes.begin(), nodes.end());
          if (std::find(tried.begin(), tried.end(), nodes) != tried.end()) continue;
          tried.push_back(nodes);
          double left = opt.time_limit_seconds - SecondsSince(t0);
          if (left < 0.5) break;
          Region r = NodeRegion(inst, best, nodes);
          RegionResult rr = SolveRegion(inst, r, RegionOrder(r, best), RegionEnd(r, best.jobs), 0,
                                        opt.neighbourhood_columns, opt.max_slots, std::min(left, 10.0), opt);
          ++info->subproblems;
          if (rr.solved && ApplyRegion(inst, r, rr.order, &best)) {
            improved = true;
            tried.clear();
            info->grid_seconds = rr.slot;
          }
          if (first >= 3) break;  // the lightest few partners are the ones worth trying
        }
      }
      if (!improved) break;
    }
    info->status = "feasible";
  }
  info->Settle(best.makespan(), /*proves=*/true);
  return best;
}

}  // namespace saturn
