#include "technique/stages.h"

#include <algorithm>
#include <limits>

namespace saturn {

double BlockFlopsPerToken(const ModelConfig& c, int seq_len) {
  const double h = c.hidden, kv = double(c.kv_heads > 0 ? c.kv_heads : c.heads) * c.head_dim();
  const double attn = 2 * h * h + 2 * h * kv;  // q and output projections; k and v
  const double mlp = (c.model_type == "llama" ? 3.0 : 2.0) * h * c.intermediate;
  // Scores and weighted values: a causal token attends to seq_len / 2 keys on average, twice.
  return 2 * (attn + mlp) + 2 * double(seq_len) * h;
}

double HeadFlopsPerToken(const ModelConfig& c) { return 2.0 * c.vocab_size * c.hidden; }

std::vector<int> BalanceStages(const ModelConfig& c, int seq_len, int stages) {
  const int n = c.layers;
  stages = std::max(1, std::min(stages, n));
  const double block = BlockFlopsPerToken(c, seq_len), head = HeadFlopsPerToken(c);
  // cost(a, b, last): blocks [a, b) on one stage, plus the head if it is the last.
  auto cost = [&](int a, int b, bool last) { return double(b - a) * block + (last ? head : 0.0); };
  const double inf = std::numeric_limits<double>::infinity();
  // best[s][b]: the smallest largest-stage cost of blocks [0, b) on stages 0..s-1 (not last).
  std::vector<std::vector<double>> best(size_t(stages) + 1, std::vector<double>(size_t(n) + 1, inf));
  std::vector<std::vector<int>> cut(size_t(stages) + 1, std::vector<int>(size_t(n) + 1, 0));
  best[0][0] = 0;
  for (int s = 1; s <= stages; ++s) {
    const bool last = s == stages;
    for (int b = s; b <= n; ++b) {
      if (last && b != n) continue;
      for (int a = s - 1; a < b; ++a) {
        if (best[size_t(s) - 1][size_t(a)] == inf) continue;
        const double v = std::max(best[size_t(s) - 1][size_t(a)], cost(a, b, last));
        if (v < best[size_t(s)][size_t(b)] || (v == best[size_t(s)][size_t(b)] && a > cut[size_t(s)][size_t(b)])) {
          best[size_t(s)][size_t(b)] = v;
          cut[size_t(s)][size_t(b)] = a;
        }
      }
    }
  }
  std::vector<int> first(size_t(stages) + 1, n);
  int b = n;
  for (int s = stages; s >= 1; --s) {
    first[size_t(s) - 1] = cut[size_t(s)][size_t(b)];
    b = first[size_t(s) - 1];
  }
  return first;
}

}  // namespace saturn
