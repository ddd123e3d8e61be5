// ScoreRequests: packs (packing.h) batched under a token budget; the transformer runs to its final
// hidden states at the targets' positions only (the last block computes no other rows), which go
// through the head and log-softmax.
#include "eval/scorer.h"

#include <algorithm>

#include "eval/packing.h"
#include "eval/score_common.h"

namespace saturn {

std::vector<Score> ScoreRequests(CausalLM& model, const std::vector<Request>& reqs, const ScoreOptions& opt) {
  return ScoreShard(model, reqs, opt, 0, 1, nullptr);
}

std::vector<Score> ScoreShard(CausalLM& model, const std::vector<Request>& reqs, const ScoreOptions& opt, int shard,
                              int shards, std::vector<int>* scored) {
  TORCH_CHECK(shards >= 1 && shard >= 0 && shard < shards, "bad shard ", shard, " of ", shards);
  TORCH_CHECK(opt.batch_tokens >= 1, "batch_tokens must be positive");
  const int max_positions = model->config().max_positions;
  CheckRequests(reqs, max_positions);
  EvalScope scope(model, opt.device);
  const torch::Device& device = scope.device();
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);

  const std::vector<Pack> packs = PackRequests(reqs, max_positions, opt.share_prefixes);
  std::vector<Score> out(reqs.size());
  for (Score& s : out) s.greedy = true;
  const std::vector<std::vector<int>> batches = BatchPacks(packs, opt.batch_tokens);
  for (size_t bi = size_t(shard); bi < batches.size(); bi += size_t(shards)) {
    const std::vector<int>& batch = batches[bi];
    if (scored)
      for (int pi : batch)
        for (const Pack::Target& target : packs[pi].targets)
          if (scored->empty() || scored->back() != target.request) scored->push_back(target.request);
    const int64_t b = static_cast<int64_t>(batch.size());
    const int64_t t = static_cast<int64_t>(packs[batch[0]].tokens.size());  // the longest: packs come sorted
    // The last block runs only at the positions that predict a target, each once per sequence
    // (every choice's first token is predicted from the context's last position): r of them per
    // sequence (the most any pack has), shorter lists padded by repeating their first. `rows`
    // picks each target's row out of the [b, r] result.
    std::vector<std::vector<int64_t>> query_pos(b), target_slot(b);
    std::vector<int64_t> slot(t), rows, targets, owners;
    // Padding: token 0 at position 0 in segment -1, which attends only to itself and earlier
    // padding, and which no real token attends to.
    std::vector<int64_t> ids(b * t, 0), positions(b * t, 0), segments(b * t, -1);
    for (int64_t i = 0; i < b; ++i) {
      const Pack& p = packs[batch[i]];
      std::copy(p.tokens.begin(), p.tokens.end(), ids.begin() + i * t);
      std::copy(p.positions.begin(), p.positions.end(), positions.begin() + i * t);
      std::copy(p.segments.begin(), p.segments.end(), segments.begin() + i * t);
      TORCH_CHECK(!p.targets.empty(), "a pack without targets");
      std::fill(slot.begin(), slot.end(), -1);
      for (const Pack::Target& target : p.targets) {
        if (slot[target.index] < 0) {
          slot[target.index] = int64_t(query_pos[i].size());
          query_pos[i].push_back(target.index);
        }
        target_slot[i].push_back(slot[target.index]);
        targets.push_back(target.token);
        owners.push_back(target.request);
      }
    }
    size_t r = 1;
    for (const auto& q : query_pos) r = std::max(r, q.size());
    std::vector<int64_t> query_rows(b * r);
    for (int64_t i = 0; i < b; ++i) {
      for (size_t k = 0; k < r; ++k) query_rows[i * r + k] = query_pos[i][k < query_pos[i].size() ? k : 0];
      for (int64_t k : target_slot[i]) rows.push_back(i * int64_t(r) + k);
    }
    auto to_device = [&](const std::vector<int64_t>& v, at::IntArrayRef shape) {
      return torch::tensor(v, i64).view(shape).to(device);
    };
    torch::Tensor seg = to_device(segments, {b, t});
    // Key j is visible to query i: j <= i, and j is in the prefix or in i's own segment.
    torch::Tensor key = seg.unsqueeze(1), query = seg.unsqueeze(2);
    torch::Tensor mask = (key.eq(0) | key.eq(query)) & torch::ones({t, t}, seg.options().dtype(torch::kBool)).tril();
    torch::Tensor hidden =
        model->hidden_states(to_device(ids, {b, t}), to_device(positions, {b, t}), mask,
                             to_device(query_rows, {b, int64_t(r)}));
    torch::Tensor selected = hidden.reshape({b * int64_t(r), -1}).index_select(0, to_device(rows, {-1}));
    TokenScores s = ScoreRows(selected, to_device(targets, {-1}),
                              [&](const torch::Tensor& h) { return model->head_logits(h); });
    // Targets list each request's tokens in continuation order: the sums run in the plain loop's order.
    for (size_t k = 0; k < owners.size(); ++k) {
      out[owners[k]].loglikelihood += s.logprob[k];
      out[owners[k]].greedy = out[owners[k]].greedy && s.greedy[k];
    }
  }
  return out;
}

}  // namespace saturn
