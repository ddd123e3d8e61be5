#include "eval/packing.h"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace saturn {
namespace {

// Where request r's prefix starts in its context (see packing.h).
size_t PrefixStart(const Request& r, int max_positions) {
  const int64_t whole = static_cast<int64_t>(r.context.size() + r.continuation.size());
  return static_cast<size_t>(std::max<int64_t>(0, whole - 1 - max_positions));
}

// A new pack holding `prefix` (segment 0, positions 0..).
Pack StartPack(std::vector<int32_t>::const_iterator begin, std::vector<int32_t>::const_iterator end) {
  Pack p;
  p.tokens.assign(begin, end);
  p.positions.resize(p.tokens.size());
  std::iota(p.positions.begin(), p.positions.end(), 0);
  p.segments.assign(p.tokens.size(), 0);
  return p;
}

// Appends request `index`'s continuation as the next segment of `p`, whose prefix is `prefix_len` long.
void AddSegment(Pack& p, size_t prefix_len, const Request& r, int32_t index) {
  const int32_t segment = p.segments.back() + 1;
  const int32_t start = static_cast<int32_t>(p.tokens.size());
  p.targets.push_back({static_cast<int32_t>(prefix_len) - 1, r.continuation[0], index});
  for (size_t j = 1; j < r.continuation.size(); ++j) {
    p.tokens.push_back(r.continuation[j - 1]);
    p.positions.push_back(static_cast<int32_t>(prefix_len + j - 1));
    p.segments.push_back(segment);
    p.targets.push_back({start + static_cast<int32_t>(j) - 1, r.continuation[j], index});
  }
}

}  // namespace

std::vector<Pack> PackRequests(const std::vector<Request>& reqs, int max_positions, bool share_prefixes) {
  // Request indices ordered by (item, prefix), so that equal keys are adjacent; stable, so choices
  // keep their order within a group.
  std::vector<size_t> prefix_start(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    assert(!reqs[i].context.empty() && !reqs[i].continuation.empty());
    assert(reqs[i].continuation.size() <= static_cast<size_t>(max_positions));
    prefix_start[i] = PrefixStart(reqs[i], max_positions);
  }
  auto prefix_less = [&](size_t a, size_t b) {
    if (reqs[a].item != reqs[b].item) return reqs[a].item < reqs[b].item;
    const auto &ca = reqs[a].context, &cb = reqs[b].context;
    return std::lexicographical_compare(ca.begin() + prefix_start[a], ca.end(), cb.begin() + prefix_start[b], cb.end());
  };
  std::vector<size_t> order(reqs.size());
  std::iota(order.begin(), order.end(), 0);
  if (share_prefixes) std::stable_sort(order.begin(), order.end(), prefix_less);

  std::vector<Pack> packs;
  for (size_t g = 0; g < order.size();) {
    // The group [g, end): equal keys (one request each when not sharing).
    size_t end = g + 1;
    if (share_prefixes)
      while (end < order.size() && !prefix_less(order[g], order[end]) && !prefix_less(order[end], order[g])) ++end;
    const Request& first = reqs[order[g]];
    const auto prefix_begin = first.context.begin() + prefix_start[order[g]];
    const size_t prefix_len = first.context.end() - prefix_begin;
    bool open = false;
    for (size_t k = g; k < end; ++k) {
      const Request& r = reqs[order[k]];
      // Each request alone fits: prefix_len + len(continuation) - 1 <= max_positions by the choice of s.
      const size_t inputs = r.continuation.size() - 1;
      if (!open || packs.back().tokens.size() + inputs > static_cast<size_t>(max_positions)) {
        packs.push_back(StartPack(prefix_begin, first.context.end()));
        open = true;
      }
      AddSegment(packs.back(), prefix_len, r, static_cast<int32_t>(order[k]));
      assert(packs.back().tokens.size() <= static_cast<size_t>(max_positions));
    }
    g = end;
  }
  return packs;
}

std::vector<std::vector<int>> BatchPacks(const std::vector<Pack>& packs, int64_t batch_tokens) {
  std::vector<int> order(packs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return packs[a].tokens.size() > packs[b].tokens.size(); });
  std::vector<std::vector<int>> batches;
  for (size_t i = 0; i < order.size();) {
    const int64_t longest = static_cast<int64_t>(packs[order[i]].tokens.size());
    std::vector<int> batch{order[i++]};
    while (i < order.size() && static_cast<int64_t>(batch.size() + 1) * longest <= batch_tokens)
      batch.push_back(order[i++]);
    batches.push_back(std::move(batch));
  }
  return batches;
}

}  // namespace saturn
