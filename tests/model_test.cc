// The model: logits of each architecture equal a reference written here from the Hugging Face
// tensors with plain ops (explicit loops over sequences, layers and heads; rotary written per
// pair of dims), gradients agree with finite differences, activation checkpointing changes
// nothing, initialization is seeded, and Hugging Face directories save and load bit-exactly.
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/gpt.h"
#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "util/files.h"
#include "temp_dir.h"

// LibTorch pulls in glog, whose one-argument CHECK would shadow Catch's: include Catch last.
#undef CHECK
#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using namespace saturn;
namespace fs = std::filesystem;
using torch::Tensor;

namespace {


ModelConfig Config(const std::string& json_text) {
  auto r = ParseModelConfig(json_text, "test.json");
  INFO((r.ok() ? std::string() : r.status().message()));
  REQUIRE(r.ok());
  return *r;
}

// Tiny configs covering each architecture and its variants.
std::vector<ModelConfig> TinyConfigs() {
  return {
      Config(R"({"model_type": "gpt2", "vocab_size": 37, "n_embd": 16, "n_layer": 2, "n_head": 4, "n_positions": 12})"),
      Config(R"({"model_type": "gpt2", "vocab_size": 37, "n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 12,
                 "n_inner": 24, "activation_function": "relu", "tie_word_embeddings": false})"),
      Config(R"({"model_type": "gpt_neox", "vocab_size": 37, "hidden_size": 32, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "intermediate_size": 40, "max_position_embeddings": 12, "rotary_pct": 0.5})"),
      Config(R"({"model_type": "gpt_neox", "vocab_size": 37, "hidden_size": 32, "num_hidden_layers": 2,
                 "num_attention_heads": 2, "intermediate_size": 40, "max_position_embeddings": 12, "rotary_pct": 0.25,
                 "use_parallel_residual": false, "tie_word_embeddings": true, "rotary_emb_base": 500})"),
      Config(R"({"model_type": "llama", "vocab_size": 37, "hidden_size": 32, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 40,
                 "max_position_embeddings": 12, "rms_norm_eps": 1e-5})"),
      Config(R"({"model_type": "llama", "vocab_size": 37, "hidden_size": 32, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "intermediate_size": 40, "max_position_embeddings": 12,
                 "attention_bias": true, "mlp_bias": true, "tie_word_embeddings": true, "rope_theta": 300})"),
  };
}

std::string Describe(const ModelConfig& c) {
  return c.model_type + " layers=" + std::to_string(c.layers) + " heads=" + std::to_string(c.heads) + "/" +
         std::to_string(c.kv_heads) + " tie=" + std::to_string(c.tie_word_embeddings);
}

// Every parameter random and O(1) (biases and norm gains too, so that a dropped or misplaced
// one shows), in the given dtype.
CausalLM RandomModel(const ModelConfig& c, torch::ScalarType dtype, uint64_t seed = 1) {
  CausalLM m(c);
  m->to(dtype);
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) p.copy_(torch::randn(p.sizes()) * 0.5);
  return m;
}

Tensor Ids(const ModelConfig& c, int64_t batch, int64_t time, uint64_t seed = 2) {
  torch::manual_seed(seed);
  return torch::randint(c.vocab_size, {batch, time}, torch::kInt64);
}

// ---- The reference, in float64, from the Hugging Face tensors only. ----

using Weights = std::map<std::string, Tensor>;

Weights HfWeights(const CausalLM& m) {
  Weights w;
  for (const auto& [name, t] : m->hf_tensors()) w[name] = t.detach().to(torch::kFloat64);
  return w;
}

const Tensor& W(const Weights& w, const std::string& name) {
  INFO(name);
  REQUIRE(w.count(name) == 1);
  return w.at(name);
}

Tensor RefLayerNorm(const Tensor& x, const Tensor& g, const Tensor& b, double eps) {
  Tensor mean = x.mean(-1, true);
  Tensor var = (x - mean).pow(2).mean(-1, true);
  return (x - mean) / (var + eps).sqrt() * g + b;
}

Tensor RefRmsNorm(const Tensor& x, const Tensor& g, double eps) { return x / (x.pow(2).mean(-1, true) + eps).sqrt() * g; }

// y = x W^T + b, nn.Linear's convention ([out, in] weight).
Tensor RefLinear(const Tensor& x, const Weights& w, const std::string& name, bool bias) {
  Tensor y = x.matmul(W(w, name + ".weight").t());
  return bias ? y + W(w, name + ".bias") : y;
}

Tensor RefAct(const std::string& name, const Tensor& x) {
  if (name == "gelu_new") return 0.5 * x * (1 + torch::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x.pow(3))));
  if (name == "gelu") return 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)));
  if (name == "silu") return x * torch::sigmoid(x);
  if (name == "relu") return x.clamp_min(0);
  FAIL("activation " << name);
  return x;
}

// One head: q, k, v [time, head_dim]; row i attends to columns 0..i.
Tensor RefHeadAttention(const Tensor& q, const Tensor& k, const Tensor& v) {
  Tensor s = q.matmul(k.t()) / std::sqrt(static_cast<double>(q.size(1)));
  for (int64_t i = 0; i < s.size(0); ++i)
    for (int64_t j = i + 1; j < s.size(1); ++j) s[i][j] = -INFINITY;
  return torch::softmax(s, 1).matmul(v);
}

// Rotary on the first `dims` of a head ([time, head_dim]): pair (i, i + dims/2) at position t
// turns by angle t / theta^(2i/dims).
Tensor RefRotary(const Tensor& x, int64_t dims, double theta) {
  Tensor y = x.clone();
  int64_t half = dims / 2;
  for (int64_t t = 0; t < x.size(0); ++t)
    for (int64_t i = 0; i < half; ++i) {
      double a = t / std::pow(theta, 2.0 * i / dims);
      double x1 = x[t][i].item<double>(), x2 = x[t][i + half].item<double>();
      y[t][i] = x1 * std::cos(a) - x2 * std::sin(a);
      y[t][i + half] = x2 * std::cos(a) + x1 * std::sin(a);
    }
  return y;
}

// One sequence (ids [time]) -> logits [time, vocab].
Tensor RefForward(const ModelConfig& c, const Weights& w, const Tensor& ids) {
  const int64_t T = ids.size(0), H = c.hidden, D = c.head_dim();
  const std::string& type = c.model_type;
  const std::string base = type == "gpt2" ? "transformer." : type == "gpt_neox" ? "gpt_neox." : "model.";
  const std::string emb_name = base + (type == "gpt2" ? "wte" : type == "gpt_neox" ? "embed_in" : "embed_tokens");
  Tensor emb = W(w, emb_name + ".weight");
  Tensor x = emb.index_select(0, ids);
  if (type == "gpt2") x = x + W(w, base + "wpe.weight").narrow(0, 0, T);
  for (int l = 0; l < c.layers; ++l) {
    if (type == "gpt2") {
      std::string p = base + "h." + std::to_string(l) + ".";
      Tensor h = RefLayerNorm(x, W(w, p + "ln_1.weight"), W(w, p + "ln_1.bias"), c.norm_eps);
      Tensor qkv = h.matmul(W(w, p + "attn.c_attn.weight")) + W(w, p + "attn.c_attn.bias");  // Conv1D: [in, out]
      std::vector<Tensor> heads;
      for (int hd = 0; hd < c.heads; ++hd)
        heads.push_back(RefHeadAttention(qkv.narrow(1, hd * D, D), qkv.narrow(1, H + hd * D, D),
                                         qkv.narrow(1, 2 * H + hd * D, D)));
      x = x + torch::cat(heads, 1).matmul(W(w, p + "attn.c_proj.weight")) + W(w, p + "attn.c_proj.bias");
      Tensor m = RefLayerNorm(x, W(w, p + "ln_2.weight"), W(w, p + "ln_2.bias"), c.norm_eps);
      m = RefAct(c.activation, m.matmul(W(w, p + "mlp.c_fc.weight")) + W(w, p + "mlp.c_fc.bias"));
      x = x + m.matmul(W(w, p + "mlp.c_proj.weight")) + W(w, p + "mlp.c_proj.bias");
    } else if (type == "gpt_neox") {
      std::string p = base + "layers." + std::to_string(l) + ".";
      Tensor h = RefLayerNorm(x, W(w, p + "input_layernorm.weight"), W(w, p + "input_layernorm.bias"), c.norm_eps);
      Tensor qkv = RefLinear(h, w, p + "attention.query_key_value", true);
      std::vector<Tensor> heads;
      for (int hd = 0; hd < c.heads; ++hd) {
        // Per head: [q | k | v], each head_dim wide.
        Tensor q = RefRotary(qkv.narrow(1, hd * 3 * D, D), c.rotary_dims(), c.rope_theta);
        Tensor k = RefRotary(qkv.narrow(1, hd * 3 * D + D, D), c.rotary_dims(), c.rope_theta);
        heads.push_back(RefHeadAttention(q, k, qkv.narrow(1, hd * 3 * D + 2 * D, D)));
      }
      Tensor attn = RefLinear(torch::cat(heads, 1), w, p + "attention.dense", true);
      auto mlp = [&](const Tensor& in) {
        Tensor m = RefLayerNorm(in, W(w, p + "post_attention_layernorm.weight"),
                                W(w, p + "post_attention_layernorm.bias"), c.norm_eps);
        return RefLinear(RefAct(c.activation, RefLinear(m, w, p + "mlp.dense_h_to_4h", true)), w,
                         p + "mlp.dense_4h_to_h", true);
      };
      if (c.parallel_residual) {
        x = x + attn + mlp(x);
      } else {
        x = x + attn;
        x = x + mlp(x);
      }
    } else {
      std::string p = base + "layers." + std::to_string(l) + ".";
      Tensor h = RefRmsNorm(x, W(w, p + "input_layernorm.weight"), c.norm_eps);
      Tensor q = RefLinear(h, w, p + "self_attn.q_proj", c.attention_bias);
      Tensor k = RefLinear(h, w, p + "self_attn.k_proj", c.attention_bias);
      Tensor v = RefLinear(h, w, p + "self_attn.v_proj", c.attention_bias);
      std::vector<Tensor> heads;
      for (int hd = 0; hd < c.heads; ++hd) {
        int kv = hd / (c.heads / c.kv_heads);
        heads.push_back(RefHeadAttention(RefRotary(q.narrow(1, hd * D, D), D, c.rope_theta),
                                         RefRotary(k.narrow(1, kv * D, D), D, c.rope_theta), v.narrow(1, kv * D, D)));
      }
      x = x + RefLinear(torch::cat(heads, 1), w, p + "self_attn.o_proj", c.attention_bias);
      Tensor m = RefRmsNorm(x, W(w, p + "post_attention_layernorm.weight"), c.norm_eps);
      Tensor g = RefAct(c.activation, RefLinear(m, w, p + "mlp.gate_proj", c.mlp_bias));
      x = x + RefLinear(g * RefLinear(m, w, p + "mlp.up_proj", c.mlp_bias), w, p + "mlp.down_proj", c.mlp_bias);
    }
  }
  if (type == "gpt2") x = RefLayerNorm(x, W(w, base + "ln_f.weight"), W(w, base + "ln_f.bias"), c.norm_eps);
  if (type == "gpt_neox")
    x = RefLayerNorm(x, W(w, base + "final_layer_norm.weight"), W(w, base + "final_layer_norm.bias"), c.norm_eps);
  if (type == "llama") x = RefRmsNorm(x, W(w, base + "norm.weight"), c.norm_eps);
  std::string head = type == "gpt_neox" ? "embed_out.weight" : "lm_head.weight";
  if (c.tie_word_embeddings) {
    CHECK(w.count(head) == 0);  // tied weights appear once, as transformers saves them
    return x.matmul(emb.t());
  }
  return x.matmul(W(w, head).t());
}

double MaxDiff(const Tensor& a, const Tensor& b) { return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>(); }

std::map<std::string, Tensor> Grads(CausalLM& m) {
  std::map<std::string, Tensor> g;
  for (const auto& item : m->named_parameters()) {
    REQUIRE(item.value().grad().defined());
    g[item.key()] = item.value().grad().clone();
  }
  return g;
}

}  // namespace

TEST_CASE("model: tensors have transformers' names, shapes and count", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    CausalLM m(c);
    int64_t n = 0;
    for (const auto& [name, t] : m->hf_tensors()) n += t.numel();
    CHECK(n == c.parameter_count());
  }
  ModelConfig g = TinyConfigs()[0];
  CausalLM m(g);
  auto t = m->hf_tensors();
  std::vector<std::string> names;
  for (const auto& [name, x] : t) names.push_back(name);
  std::vector<std::string> want = {"transformer.wte.weight", "transformer.wpe.weight",
                                   "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                                   "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
                                   "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias",
                                   "transformer.h.0.ln_2.weight", "transformer.h.0.ln_2.bias",
                                   "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_fc.bias",
                                   "transformer.h.0.mlp.c_proj.weight", "transformer.h.0.mlp.c_proj.bias"};
  REQUIRE(names.size() == 4 + 12 * 2);
  CHECK(std::vector<std::string>(names.begin(), names.begin() + want.size()) == want);
  CHECK(names.back() == "transformer.ln_f.bias");
  CHECK(t[4].second.sizes() == torch::IntArrayRef({16, 48}));  // Conv1D: [in, out]

  CausalLM neox(TinyConfigs()[2]);
  std::set<std::string> nn;
  for (const auto& [name, x] : neox->hf_tensors()) nn.insert(name);
  for (const char* name : {"gpt_neox.embed_in.weight", "gpt_neox.layers.1.attention.query_key_value.weight",
                           "gpt_neox.layers.0.attention.dense.bias", "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
                           "gpt_neox.layers.0.mlp.dense_4h_to_h.bias", "gpt_neox.layers.0.post_attention_layernorm.bias",
                           "gpt_neox.final_layer_norm.weight", "embed_out.weight"})
    CHECK(nn.count(name));
  CausalLM llama(TinyConfigs()[4]);
  std::map<std::string, std::vector<int64_t>> ln;
  for (const auto& [name, x] : llama->hf_tensors()) ln[name] = x.sizes().vec();
  CHECK(ln.size() == 1 + 2 * 9 + 1 + 1);
  using Shape = std::vector<int64_t>;
  CHECK(ln["model.layers.0.self_attn.k_proj.weight"] == Shape({16, 32}));  // 2 kv heads of 8
  CHECK(ln["model.layers.1.mlp.gate_proj.weight"] == Shape({40, 32}));
  CHECK(ln["model.norm.weight"] == Shape({32}));
  CHECK(ln["lm_head.weight"] == Shape({37, 32}));
}

TEST_CASE("model: logits equal the plain reference for every architecture", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    Tensor ids = Ids(c, 2, 7);
    for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
      INFO(c10::toString(dtype));
      CausalLM m = RandomModel(c, dtype);
      torch::NoGradGuard no_grad;
      Tensor logits = m->forward(ids);
      REQUIRE(logits.sizes() == torch::IntArrayRef({2, 7, c.vocab_size}));
      CHECK(logits.scalar_type() == dtype);
      Weights w = HfWeights(m);
      for (int64_t b = 0; b < 2; ++b) {
        Tensor ref = RefForward(c, w, ids[b]);
        // float64 differs only by transformers' float32 rotary frequencies; float32 by rounding.
        CHECK(MaxDiff(logits[b], ref) < (dtype == torch::kFloat64 ? 1e-5 : 1e-4) * (1 + ref.abs().max().item<double>()));
      }
      // Causal: a prefix's logits do not depend on what follows.
      Tensor prefix = m->forward(ids.narrow(1, 0, 4));
      CHECK(MaxDiff(prefix, logits.narrow(1, 0, 4)) < 1e-5);
    }
  }
}

TEST_CASE("model: bfloat16 runs close to float32, with a float32 loss", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    Tensor ids = Ids(c, 2, 8), targets = Ids(c, 2, 8, 3);
    CausalLM f = RandomModel(c, torch::kFloat32), h = RandomModel(c, torch::kFloat32);
    h->to(torch::kBFloat16);
    torch::NoGradGuard no_grad;
    Tensor lf = f->loss(ids, targets), lh = h->loss(ids, targets);
    CHECK(lh.scalar_type() == torch::kFloat32);
    CHECK(h->forward(ids).scalar_type() == torch::kBFloat16);
    CHECK(std::abs(lf.item<double>() - lh.item<double>()) < 0.05 * lf.item<double>());
  }
}

TEST_CASE("model: loss is the mean cross entropy and its gradients match finite differences", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    CausalLM m = RandomModel(c, torch::kFloat64);
    Tensor ids = Ids(c, 2, 5), targets = Ids(c, 2, 5, 9);
    Tensor loss = m->loss(ids, targets);
    {
      torch::NoGradGuard no_grad;
      Tensor logp = torch::log_softmax(m->forward(ids), -1);
      CHECK(std::abs(loss.item<double>() + logp.gather(-1, targets.unsqueeze(-1)).mean().item<double>()) < 1e-12);
    }
    loss.backward();
    auto params = m->named_parameters();
    int checked = 0;
    for (const auto& item : params) {
      // A few entries of every third tensor (and every 1-D one): biases, gains, projections.
      if (checked++ % 3 != 0 && item.value().dim() != 1) continue;
      Tensor p = item.value();
      Tensor flat = p.detach().view(-1);
      Tensor grad = p.grad().view(-1);
      for (int64_t i : {int64_t{0}, flat.numel() / 2, flat.numel() - 1}) {
        INFO(item.key() << "[" << i << "]");
        const double eps = 1e-6, orig = flat[i].item<double>();
        torch::NoGradGuard no_grad;
        flat[i] = orig + eps;
        double up = m->loss(ids, targets).item<double>();
        flat[i] = orig - eps;
        double down = m->loss(ids, targets).item<double>();
        flat[i] = orig;
        double fd = (up - down) / (2 * eps), g = grad[i].item<double>();
        CHECK(std::abs(fd - g) < 1e-7 + 1e-5 * std::abs(g));
      }
    }
  }
}

TEST_CASE("model: activation checkpointing gives identical loss and gradients", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    Tensor ids = Ids(c, 3, 9), targets = Ids(c, 3, 9, 4);
    CausalLM plain = RandomModel(c, torch::kFloat32, 5);
    Tensor l0 = plain->loss(ids, targets);
    l0.backward();
    auto g0 = Grads(plain);
    for (int run = 0; run < 2; ++run) {  // twice: recomputation is deterministic
      CausalLM ck = RandomModel(c, torch::kFloat32, 5);
      ck->options().activation_checkpointing = true;
      Tensor l1 = ck->loss(ids, targets);
      CHECK(torch::equal(l0, l1));
      l1.backward();
      auto g1 = Grads(ck);
      REQUIRE(g1.size() == g0.size());
      for (const auto& [name, g] : g0) {
        INFO(name);
        CHECK(torch::equal(g, g1[name]));
      }
    }
    // Gradient accumulation across two backward passes also matches.
    CausalLM ck = RandomModel(c, torch::kFloat32, 5);
    ck->options().activation_checkpointing = true;
    ck->loss(ids, targets).backward();
    ck->loss(ids, targets).backward();
    plain->loss(ids, targets).backward();
    for (const auto& item : ck->named_parameters())
      CHECK(torch::allclose(item.value().grad(), plain->named_parameters()[item.key()].grad(), 1e-6, 1e-7));
  }
}

TEST_CASE("model: activation checkpointing trains blocks behind frozen embeddings", "[model]") {
  ModelConfig c = TinyConfigs()[4];
  Tensor ids = Ids(c, 2, 6), targets = Ids(c, 2, 6, 4);
  std::map<std::string, Tensor> want;
  for (bool ckpt : {false, true}) {
    CausalLM m = RandomModel(c, torch::kFloat32, 5);
    m->options().activation_checkpointing = ckpt;
    for (auto& item : m->named_parameters())
      if (item.key() == "model.embed_tokens.weight") item.value().set_requires_grad(false);
    m->loss(ids, targets).backward();
    for (const auto& item : m->named_parameters()) {
      INFO(item.key() << " checkpointing " << ckpt);
      if (item.key() == "model.embed_tokens.weight") {
        CHECK_FALSE(item.value().grad().defined());
        continue;
      }
      REQUIRE(item.value().grad().defined());
      if (!ckpt) want[item.key()] = item.value().grad().clone();
      else CHECK(torch::equal(item.value().grad(), want[item.key()]));
    }
  }
}

TEST_CASE("model: init_weights is seeded, global-RNG-free and follows transformers", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    CausalLM a(c), b(c), other(c);
    torch::manual_seed(1);
    a->init_weights(42);
    torch::manual_seed(2);
    b->init_weights(42);
    other->init_weights(43);
    auto pb = b->named_parameters(), po = other->named_parameters();
    for (const auto& item : a->named_parameters()) {
      INFO(item.key());
      CHECK(torch::equal(item.value(), pb[item.key()]));
      if (item.value().dim() == 2) CHECK_FALSE(torch::equal(item.value(), po[item.key()]));
      if (item.value().dim() == 1) {
        bool bias = item.key().size() > 5 && item.key().substr(item.key().size() - 5) == ".bias";
        CHECK(torch::equal(item.value(), bias ? torch::zeros_like(item.value()) : torch::ones_like(item.value())));
      }
    }
  }
  // GPT-2's residual projections: std 0.02 / sqrt(2 * layers); the rest 0.02.
  ModelConfig big = Config(R"({"model_type": "gpt2", "vocab_size": 500, "n_embd": 128, "n_layer": 8, "n_head": 4,
                               "n_positions": 64})");
  CausalLM g(big);
  g->init_weights(7);
  auto p = g->named_parameters();
  CHECK(p["transformer.h.3.mlp.c_proj.weight"].std().item<double>() == Approx(0.005).epsilon(0.05));
  CHECK(p["transformer.h.3.attn.c_proj.weight"].std().item<double>() == Approx(0.005).epsilon(0.05));
  CHECK(p["transformer.h.3.attn.c_attn.weight"].std().item<double>() == Approx(0.02).epsilon(0.05));
  CHECK(p["transformer.wte.weight"].std().item<double>() == Approx(0.02).epsilon(0.05));
  // Any dtype gets the same values, rounded.
  CausalLM h(big);
  h->to(torch::kBFloat16);
  h->init_weights(7);
  CHECK(torch::equal(h->named_parameters()["transformer.wpe.weight"],
                     p["transformer.wpe.weight"].to(torch::kBFloat16)));
}

TEST_CASE("model: Hugging Face directories save and load bit-exactly", "[model]") {
  for (const ModelConfig& c : TinyConfigs()) {
    INFO(Describe(c));
    TempDir d;
    CausalLM m = RandomModel(c, torch::kFloat32);
    Tensor ids = Ids(c, 2, 6);
    torch::NoGradGuard no_grad;
    Tensor want = m->forward(ids);
    for (int64_t shard : {int64_t{0}, int64_t{4000}}) {
      INFO("max_shard_bytes " << shard);
      REQUIRE(SaveHfModel(d.path, m, torch::kFloat32, shard).ok());
      CHECK(fs::exists(d / (shard ? "model.safetensors.index.json" : "model.safetensors")));
      auto loaded = LoadHfModel(d.path);
      INFO((loaded.ok() ? std::string() : loaded.status().message()));
      REQUIRE(loaded.ok());
      CHECK(torch::equal((*loaded)->forward(ids), want));
      CHECK(ModelConfigDifference((*loaded)->config(), c).empty());
    }
    // bf16 on disk: the weights come back rounded as torch rounds them.
    REQUIRE(SaveHfModel(d.path, m, torch::kBFloat16).ok());
    CHECK(nlohmann::json::parse(*ReadFile(d / "config.json"))["torch_dtype"] == "bfloat16");
    auto loaded = LoadHfModel(d.path);
    REQUIRE(loaded.ok());
    auto lp = (*loaded)->named_parameters();
    for (const auto& item : m->named_parameters())
      CHECK(torch::equal(lp[item.key()], item.value().to(torch::kBFloat16).to(torch::kFloat32)));
  }
}

TEST_CASE("model: checkpoint mismatches are user errors naming file and tensor", "[model]") {
  ModelConfig c = TinyConfigs()[0];
  TempDir d;
  CausalLM m = RandomModel(c, torch::kFloat32);
  REQUIRE(SaveHfModel(d.path, m).ok());
  const std::string file = d / "model.safetensors";
  auto tensors = *ReadSafetensors(file);

  auto load_error = [&](const std::map<std::string, Tensor>& t) {
    CausalLM fresh(c);
    Status s = fresh->load_hf_tensors(t, file);
    REQUIRE_FALSE(s.ok());
    CHECK(s.exit_code() == 2);
    CHECK_THAT(s.message(), Contains(file));
    return s.message();
  };
  auto missing = tensors;
  missing.erase("transformer.h.1.ln_2.bias");
  CHECK_THAT(load_error(missing), Contains("tensor 'transformer.h.1.ln_2.bias' is missing"));
  auto extra = tensors;
  extra["transformer.h.0.attn.q_proj.weight"] = torch::zeros({1});
  CHECK_THAT(load_error(extra), Contains("tensor 'transformer.h.0.attn.q_proj.weight' is not a parameter"));
  auto shape = tensors;
  shape["transformer.h.0.attn.c_attn.weight"] = torch::zeros({48, 16});  // nn.Linear layout: wrong for Conv1D
  CHECK_THAT(load_error(shape), Contains("'transformer.h.0.attn.c_attn.weight' has shape [48, 16]") &&
                                    Contains("needs [16, 48]"));
  auto ints = tensors;
  ints["transformer.ln_f.bias"] = torch::zeros({16}, torch::kInt64);
  CHECK_THAT(load_error(ints), Contains("floating point"));

  // Old GPT-2 files: no "transformer." prefix, causal-mask buffers, a tied lm_head copy. All fine.
  std::map<std::string, Tensor> old;
  for (const auto& [name, t] : tensors) old[name.substr(std::string("transformer.").size())] = t;
  old["h.0.attn.bias"] = torch::ones({1, 1, 12, 12});
  old["h.0.attn.masked_bias"] = torch::tensor(-1e4);
  old["lm_head.weight"] = tensors["transformer.wte.weight"];
  CausalLM fresh(c);
  REQUIRE(fresh->load_hf_tensors(old, "old.safetensors").ok());
  torch::NoGradGuard no_grad;
  Tensor ids = Ids(c, 1, 5);
  CHECK(torch::equal(fresh->forward(ids), m->forward(ids)));

  // A directory whose config describes another model.
  ModelConfig wider = c;
  wider.hidden = 32;
  CausalLM other(wider);
  Status s = LoadHfWeights(d.path, other);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Contains(d / "config.json") && Contains("hidden 32 vs 16"));
  // Weights that do not fit the directory's own config.
  REQUIRE(WriteFileAtomic(d / "config.json", ModelConfigToJson(wider)).ok());
  auto r = LoadHfModel(d.path);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Contains(file) && Contains("has shape") && Contains("does not match"));
  // An unknown architecture.
  REQUIRE(WriteFileAtomic(d / "config.json", R"({"model_type": "bert", "vocab_size": 10})").ok());
  r = LoadHfModel(d.path);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Contains("config.json") && Contains("model_type"));
  REQUIRE(WriteFileAtomic(d / "config.json", ModelConfigToJson(c)).ok());
  REQUIRE(LoadHfWeights(d.path, m).ok());
  fs::remove(file);
  CHECK_THAT(LoadHfWeights(d.path, m).message(), Contains("no model.safetensors"));
}
