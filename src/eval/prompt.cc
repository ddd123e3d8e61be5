#include "eval/prompt.h"

#include <algorithm>
#include <cassert>

namespace saturn {

std::vector<int> FewshotIndices(int item, int num_items, int k, long long seed) {
  const int want = std::max(0, std::min(k, num_items - 1));
  std::vector<int> picked;
  if (want == 0) return picked;
  SplitMix64 seeder(static_cast<uint64_t>(seed));
  SplitMix64 rng(seeder.Next() ^ static_cast<uint64_t>(item));
  while (static_cast<int>(picked.size()) < want) {
    int d = static_cast<int>(rng.Below(static_cast<uint64_t>(num_items - 1)));
    if (d >= item) ++d;
    if (std::find(picked.begin(), picked.end(), d) == picked.end()) picked.push_back(d);
  }
  return picked;
}

namespace {

// The (query, answer) an item shows as a solved example.
std::pair<const std::string&, const std::string&> Solved(const TaskSpec& spec,
                                                         const EvalItem& it) {
  if (spec.kind == "mc") return {it.contexts[0], it.continuations[it.gold]};
  if (spec.kind == "schema") return {it.contexts[it.gold], it.continuations[0]};
  return {it.contexts[0], it.continuations[0]};
}

}  // namespace

std::string FewshotPreamble(const EvalTask& task, int item) {
  const TaskSpec& spec = task.spec;
  std::string out = spec.prompt_string;
  const int n = static_cast<int>(task.items.size());
  for (int e : FewshotIndices(item, n, spec.num_fewshot, spec.fewshot_seed)) {
    auto qa = Solved(spec, task.items[e]);
    out += qa.first + spec.continuation_delimiter + qa.second + spec.example_delimiter;
  }
  return out;
}

std::vector<Prompt> BuildPrompts(const EvalTask& task) {
  const TaskSpec& spec = task.spec;
  std::vector<Prompt> out;
  for (int i = 0; i < static_cast<int>(task.items.size()); ++i) {
    const EvalItem& it = task.items[i];
    const std::string preamble = FewshotPreamble(task, i);
    const int n = it.num_requests();
    for (int c = 0; c < n; ++c) {
      Prompt p;
      p.item = i;
      p.choice = c;
      if (spec.kind == "schema") {
        p.context = preamble + it.contexts[c] + spec.continuation_delimiter;
        p.continuation = it.continuations[0];
      } else {
        p.context = preamble + it.contexts[0] + spec.continuation_delimiter;
        p.continuation = it.continuations[c];
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace saturn
