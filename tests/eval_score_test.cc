// The scorer: every fast path (batched, padded to the batch, contexts shared, left-truncated)
// gives the plain one-request-at-a-time loop's scores; the model's packed-sequence entry point
// equals forward on plain sequences; packing lays contexts and choices out as packing.h says.
#include <random>

#include "eval/packing.h"
#include "eval/scorer.h"
#include "model/gpt.h"

// LibTorch pulls in glog, whose one-argument CHECK would shadow Catch's: include Catch last.
#undef CHECK
#include <catch2/catch.hpp>

using namespace saturn;

namespace {

ModelConfig Config(const std::string& json_text) {
  auto r = ParseModelConfig(json_text, "test.json");
  INFO((r.ok() ? std::string() : r.status().message()));
  REQUIRE(r.ok());
  return *r;
}

constexpr int kVocab = 23, kPositions = 12;

// Tiny models of each architecture (partial rotary, grouped-query attention, untied heads).
std::vector<ModelConfig> TinyConfigs() {
  return {
      Config(R"({"model_type": "gpt2", "vocab_size": 23, "n_embd": 16, "n_layer": 2, "n_head": 4, "n_positions": 12})"),
      Config(R"({"model_type": "gpt_neox", "vocab_size": 23, "hidden_size": 32, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "intermediate_size": 40, "max_position_embeddings": 12, "rotary_pct": 0.5})"),
      Config(R"({"model_type": "llama", "vocab_size": 23, "hidden_size": 32, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 40,
                 "max_position_embeddings": 12, "rms_norm_eps": 1e-5})"),
  };
}

// Weights large enough that predictions are sharp and positions matter (init_weights' 0.02 would
// make every distribution near uniform and hide misplaced positions or masks).
CausalLM RandomModel(const ModelConfig& c, uint64_t seed) {
  CausalLM m(c);
  m->init_weights(seed);
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) p.add_(torch::randn(p.sizes()) * 0.3);
  return m;
}

std::vector<int32_t> RandomTokens(std::mt19937& rng, int n) {
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % kVocab);
  return t;
}

// Items of 1-4 choices sharing a context: contexts of one token (the empty context as end-of-text),
// short ones, and ones longer than the model (left truncation, for some choices only); continuations
// of 1 to kPositions tokens. Some items repeat an earlier item's context.
std::vector<Request> RandomRequests(uint32_t seed, int items) {
  std::mt19937 rng(seed);
  std::vector<Request> reqs;
  std::vector<int32_t> previous;
  for (int item = 0; item < items; ++item) {
    const int kind = static_cast<int>(rng() % 4);
    std::vector<int32_t> context = kind == 0   ? std::vector<int32_t>{kVocab - 1}
                                   : kind == 1 ? RandomTokens(rng, 2 + rng() % 6)
                                   : kind == 2 ? RandomTokens(rng, kPositions - 3 + rng() % 8)
                                               : previous;
    if (context.empty()) context = {kVocab - 1};
    previous = context;
    const int choices = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < choices; ++c) {
      const int len = rng() % 5 == 0 ? kPositions : 1 + static_cast<int>(rng() % 4);
      reqs.push_back({item, c, context, RandomTokens(rng, len)});
    }
  }
  return reqs;
}

// Requests whose continuation is the model's own greedy decoding: their greedy flag is true.
std::vector<Request> GreedyRequests(CausalLM& m, uint32_t seed, int first_item) {
  std::mt19937 rng(seed);
  torch::NoGradGuard no_grad;
  std::vector<Request> reqs;
  for (int k = 0; k < 4; ++k) {
    Request r{first_item + k, 0, RandomTokens(rng, 1 + k * 2), {}};
    std::vector<int64_t> seq(r.context.begin(), r.context.end());
    for (int j = 0; j < 1 + k; ++j) {
      torch::Tensor logits = m->forward(torch::tensor(seq, torch::kInt64).unsqueeze(0));
      seq.push_back(logits[0][-1].argmax().item<int64_t>());
      r.continuation.push_back(static_cast<int32_t>(seq.back()));
    }
    reqs.push_back(r);
  }
  return reqs;
}

void RequireSameScores(const std::vector<Score>& got, const std::vector<Score>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("request " << i << ": " << got[i].loglikelihood << " vs " << want[i].loglikelihood);
    REQUIRE(std::abs(got[i].loglikelihood - want[i].loglikelihood) < 1e-4);
    REQUIRE(got[i].greedy == want[i].greedy);
  }
}

}  // namespace

TEST_CASE("evalscore: hidden_states with causal mask and positions 0..T-1 is forward before the head", "[evalscore]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(c.model_type);
    CausalLM m = RandomModel(c, 3);
    torch::NoGradGuard no_grad;
    const int64_t b = 2, t = kPositions;
    torch::Tensor ids = torch::randint(kVocab, {b, t}, torch::kInt64);
    torch::Tensor positions = torch::arange(t, torch::kInt64).expand({b, t}).contiguous();
    torch::Tensor mask = torch::ones({b, t, t}, torch::kBool).tril();
    torch::Tensor via_hidden = m->head_logits(m->hidden_states(ids, positions, mask));
    REQUIRE(torch::allclose(via_hidden, m->forward(ids), 1e-5, 1e-5));
    // Positions are read, not implied by time: spreading them out changes the later tokens' logits.
    torch::Tensor head = ids.narrow(1, 0, 6), causal = mask.narrow(1, 0, 6).narrow(2, 0, 6);
    torch::Tensor spread = m->head_logits(m->hidden_states(head, positions.narrow(1, 0, 6) * 2, causal));
    REQUIRE(!torch::allclose(spread.narrow(1, 5, 1), m->forward(head).narrow(1, 5, 1), 1e-3, 1e-3));
  }
}

TEST_CASE("evalscore: hidden_states at given rows equals the full states at those rows", "[evalscore]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(c.model_type);
    CausalLM m = RandomModel(c, 5);
    torch::NoGradGuard no_grad;
    const int64_t b = 2, t = kPositions;
    torch::Tensor ids = torch::randint(kVocab, {b, t}, torch::kInt64);
    // Sequence 0: plain causal; sequence 1: two segments after a shared prefix of 4, positions
    // restarting at 4 for the second (as packing lays out choices).
    torch::Tensor positions = torch::arange(t, torch::kInt64).expand({b, t}).contiguous();
    torch::Tensor seg = torch::zeros({b, t}, torch::kInt64);
    for (int64_t j = 4; j < t; ++j) {
      seg[1][j] = j < 8 ? 1 : 2;
      if (j >= 8) positions[1][j] = j - 4;
    }
    torch::Tensor key = seg.unsqueeze(1), query = seg.unsqueeze(2);
    torch::Tensor mask = (key.eq(0) | key.eq(query)) & torch::ones({t, t}, torch::kBool).tril();
    torch::Tensor full = m->hidden_states(ids, positions, mask);
    // Rows in any order, repeated, first and last positions included.
    torch::Tensor rows = torch::tensor({11, 3, 3, 0, 5, 6, 7, 2}, torch::kInt64).view({b, 4});
    torch::Tensor got = m->hidden_states(ids, positions, mask, rows);
    REQUIRE(got.sizes() == torch::IntArrayRef({b, 4, full.size(2)}));
    torch::Tensor want = full.gather(1, rows.unsqueeze(-1).expand({b, 4, full.size(2)}));
    REQUIRE(torch::allclose(got, want, 1e-5, 1e-5));
    // The rows are read: others give other states.
    REQUIRE(!torch::allclose(m->hidden_states(ids, positions, mask, rows.flip(1)), want, 1e-3, 1e-3));
    REQUIRE_THROWS(m->hidden_states(ids, positions, mask, torch::full({b, 1}, t, torch::kInt64)));
  }
}

TEST_CASE("evalscore: packing shares a context among its choices and keeps truncation's definition", "[evalscore]") {
  // Item 0: context of 3 and choices of 1, 2, 3 tokens; item 1: a context that only the long
  // choice must truncate. max_positions 6.
  std::vector<Request> reqs = {{0, 0, {1, 2, 3}, {4}},
                               {0, 1, {1, 2, 3}, {5, 6}},
                               {0, 2, {1, 2, 3}, {7, 8, 9}},
                               {1, 0, {1, 2, 3, 4, 5}, {6, 7}},
                               {1, 1, {1, 2, 3, 4, 5}, {6, 7, 8, 9}}};
  std::vector<Pack> packs = PackRequests(reqs, 6, true);
  REQUIRE(packs.size() == 3);
  const Pack& p = packs[0];
  CHECK(p.tokens == std::vector<int32_t>{1, 2, 3, 5, 7, 8});
  CHECK(p.positions == std::vector<int32_t>{0, 1, 2, 3, 3, 4});
  CHECK(p.segments == std::vector<int32_t>{0, 0, 0, 1, 2, 2});
  REQUIRE(p.targets.size() == 6);
  CHECK((p.targets[0].index == 2 && p.targets[0].token == 4 && p.targets[0].request == 0));
  CHECK((p.targets[1].index == 2 && p.targets[2].index == 3 && p.targets[2].token == 6));
  CHECK((p.targets[3].index == 2 && p.targets[4].index == 4 && p.targets[5].index == 5 && p.targets[5].token == 9));
  // Item 1: whole lengths 7 and 9 -> prefixes {1..5} and {3, 4, 5}: two packs, the second truncated.
  CHECK(packs[1].tokens == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
  CHECK(packs[2].tokens == std::vector<int32_t>{3, 4, 5, 6, 7, 8});
  CHECK(PackRequests(reqs, 6, false).size() == reqs.size());
  // Batches: longest first, count x longest within the budget, at least one pack.
  CHECK(BatchPacks(packs, 12) == std::vector<std::vector<int>>{{0, 1}, {2}});
  CHECK(BatchPacks(packs, 1).size() == 3);
}

TEST_CASE("evalscore: every scorer equals the plain loop for every architecture", "[evalscore]") {
  const std::vector<Request> base = RandomRequests(7, 40);
  REQUIRE(PackRequests(base, kPositions, true).size() < base.size());
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(c.model_type);
    CausalLM m = RandomModel(c, 5);
    std::vector<Request> reqs = base;
    for (const Request& r : GreedyRequests(m, 11, 1000)) reqs.push_back(r);
    const std::vector<Score> plain = ScorePlain(m, reqs, "cpu");
    int greedy = 0;
    for (const Score& s : plain) greedy += s.greedy;
    CHECK(greedy >= 4);  // the greedy flags are exercised both ways
    CHECK(greedy < static_cast<int>(reqs.size()));
    for (bool share : {true, false}) {
      for (int64_t batch_tokens : {1, 13, 50, 8192}) {
        INFO("share " << share << " batch_tokens " << batch_tokens);
        RequireSameScores(ScoreRequests(m, reqs, {batch_tokens, share, "cpu"}), plain);
      }
    }
    RequireSameScores(ScorePaddedToMax(m, reqs, 3, "cpu"), plain);
    RequireSameScores(ScorePaddedToMax(m, reqs, 64, "cpu"), plain);
    RequireSameScores(ScorePlain(m, reqs, "cpu", PlainHead::kContinuationRows), plain);
  }
}

TEST_CASE("evalscore: the plain loop is log_softmax of forward, and the model's mode is restored", "[evalscore]") {
  CausalLM m = RandomModel(TinyConfigs()[2], 9);
  m->train();
  std::vector<Request> reqs = {{0, 0, {1, 2, 3}, {4, 5}}};
  const Score s = ScorePlain(m, reqs, "cpu")[0];
  CHECK(m->is_training());
  torch::NoGradGuard no_grad;
  torch::Tensor lp = torch::log_softmax(m->forward(torch::tensor({1, 2, 3, 4}, torch::kInt64).unsqueeze(0))[0], -1);
  const double want = lp[2][4].item<double>() + lp[3][5].item<double>();
  CHECK(std::abs(s.loglikelihood - want) < 1e-5);
  CHECK(s.greedy == (lp[2].argmax().item<int64_t>() == 4 && lp[3].argmax().item<int64_t>() == 5));
}

TEST_CASE("evalscore: requests outside request.h's contract are errors", "[evalscore]") {
  CausalLM m = RandomModel(TinyConfigs()[0], 1);
  CHECK_THROWS_WITH(ScoreRequests(m, {{0, 0, {}, {1}}}, {}), Catch::Contains("empty context"));
  CHECK_THROWS_WITH(ScorePlain(m, {{0, 0, {1}, {}}}, "cpu"), Catch::Contains("continuation of 0 tokens"));
  CHECK_THROWS_WITH(ScorePaddedToMax(m, {{0, 0, {1}, std::vector<int32_t>(kPositions + 1, 2)}}, 2, "cpu"),
                    Catch::Contains("outside 1..12"));
}
