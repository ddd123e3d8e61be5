// Model configs: every shipped models/*.json parses with its published parameter count, configs
// round-trip through ModelConfigToJson, and each kind of mistake is a user error naming the file
// and the key.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/config.h"

using Catch::Matchers::Contains;
using namespace saturn;

namespace {

std::string ModelsDir() { return std::string(SATURN_SOURCE_DIR) + "/models/"; }

ModelConfig Load(const std::string& name) {
  auto r = LoadModelConfig(ModelsDir() + name + ".json");
  INFO((r.ok() ? std::string() : r.status().message()));
  REQUIRE(r.ok());
  return *r;
}

std::string ErrorOf(const std::string& text) {
  auto r = ParseModelConfig(text, "m.json");
  INFO(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 2);
  CHECK_THAT(r.status().message(), Contains("m.json"));
  return r.status().message();
}

const char* kLlama = R"({"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96,
  "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 32})";

std::string With(const std::string& base, const std::string& key, const std::string& value) {
  auto j = nlohmann::json::parse(base);
  if (value.empty()) j.erase(key);
  else j[key] = nlohmann::json::parse(value);
  return j.dump();
}

}  // namespace

TEST_CASE("shipped model configs parse with their published parameter counts", "[model]") {
  // Counts are those transformers' num_parameters() reports for the published checkpoints.
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"gpt2", 124439808},         {"gpt2-medium", 354823168}, {"gpt2-large", 774030080},
      {"gpt2-xl", 1557611200},     {"pythia-160m", 162322944}, {"pythia-410m", 405334016},
      {"pythia-1b", 1011781632},   {"llama-1b", 1100048384},   {"llama-7b", 6738415616},
  };
  for (const auto& [name, count] : expected) {
    INFO(name);
    CHECK(Load(name).parameter_count() == count);
  }
  for (const char* name : {"gpt2-tiny", "neox-tiny", "llama-tiny"}) {
    INFO(name);
    ModelConfig c = Load(name);
    CHECK(c.layers == 2);
    CHECK(c.parameter_count() > 0);
  }
  // Every file in models/ is one of the above.
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(ModelsDir())) {
    if (f.path().extension() != ".json") continue;
    ++files;
    Load(f.path().stem().string());
  }
  CHECK(files == 12);
}

TEST_CASE("model config fields follow transformers' names and defaults", "[model]") {
  ModelConfig g = Load("gpt2");
  CHECK(g.model_type == "gpt2");
  CHECK(g.hidden == 768);
  CHECK(g.intermediate == 4 * 768);  // n_inner null
  CHECK(g.kv_heads == 12);
  CHECK(g.tie_word_embeddings);
  CHECK(g.activation == "gelu_new");
  CHECK(g.rotary_dims() == 0);

  ModelConfig p = Load("pythia-160m");
  CHECK(p.rotary_dims() == 16);  // 0.25 of 64
  CHECK(p.parallel_residual);
  CHECK_FALSE(p.tie_word_embeddings);
  CHECK(p.activation == "gelu");
  CHECK(p.max_positions == 2048);

  ModelConfig l = Load("llama-1b");
  CHECK(l.kv_heads == 4);
  CHECK(l.heads == 32);
  CHECK(l.rotary_dims() == 64);
  CHECK(l.norm_eps == 1e-5);
  CHECK(l.activation == "silu");

  auto r = ParseModelConfig(With(kLlama, "num_key_value_heads", ""), "m.json");
  REQUIRE(r.ok());
  CHECK(r->kv_heads == 8);  // defaults to the head count
  CHECK(r->norm_eps == 1e-6);

  // transformers >= 5 writes rotary settings under rope_parameters.
  auto v5 = ParseModelConfig(With(kLlama, "rope_parameters", R"({"rope_type": "default", "rope_theta": 500000.0})"),
                             "m.json");
  REQUIRE(v5.ok());
  CHECK(v5->rope_theta == 500000.0);
  const char* neox = R"({"model_type": "gpt_neox", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96,
    "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 32,
    "rope_parameters": {"rope_type": "default", "rope_theta": 20000, "partial_rotary_factor": 0.5}})";
  auto n5 = ParseModelConfig(neox, "m.json");
  REQUIRE(n5.ok());
  CHECK(n5->rope_theta == 20000);
  CHECK(n5->rotary_dims() == 8);

  // A hand-made config without kv_heads counts them as heads.
  ModelConfig hand = l, full = l;
  hand.kv_heads = 0;
  full.kv_heads = full.heads;
  CHECK(hand.parameter_count() == full.parameter_count());
  CHECK(full.parameter_count() > l.parameter_count());
}

TEST_CASE("model configs round-trip through ModelConfigToJson", "[model]") {
  for (const char* name : {"gpt2", "gpt2-tiny", "pythia-160m", "neox-tiny", "llama-7b", "llama-tiny"}) {
    INFO(name);
    ModelConfig c = Load(name);
    std::string text = ModelConfigToJson(c, "bfloat16");
    auto j = nlohmann::json::parse(text);
    CHECK(j["architectures"].size() == 1);
    CHECK(j["torch_dtype"] == "bfloat16");
    CHECK(j["model_type"] == c.model_type);
    auto back = ParseModelConfig(text, "x.json");
    REQUIRE(back.ok());
    CHECK(ModelConfigDifference(c, *back).empty());
    CHECK(back->parameter_count() == c.parameter_count());
  }
  ModelConfig a = Load("gpt2"), b = Load("gpt2-medium");
  CHECK_THAT(ModelConfigDifference(a, b), Contains("hidden 768 vs 1024"));
}

TEST_CASE("model config mistakes are user errors naming file and key", "[model]") {
  CHECK_THAT(ErrorOf("{not json"), Contains("not valid JSON"));
  CHECK_THAT(ErrorOf("[1, 2]"), Contains("JSON object"));
  CHECK_THAT(ErrorOf(With(kLlama, "model_type", "\"lama\"")), Contains("did you mean 'llama'"));
  CHECK_THAT(ErrorOf(With(kLlama, "model_type", "\"t5\"")), Contains("key 'model_type'"));
  CHECK_THAT(ErrorOf(With(kLlama, "hidden_size", "")), Contains("key 'hidden_size': expected a positive integer, got nothing"));
  CHECK_THAT(ErrorOf(With(kLlama, "hidden_size", "\"64\"")), Contains("got \"64\""));
  CHECK_THAT(ErrorOf(With(kLlama, "hidden_size", "-64")), Contains("key 'hidden_size'"));
  CHECK_THAT(ErrorOf(With(kLlama, "hidden_size", "60")), Contains("not divisible by num_attention_heads 8"));
  CHECK_THAT(ErrorOf(With(kLlama, "num_key_value_heads", "3")), Contains("key 'num_key_value_heads'"));
  CHECK_THAT(ErrorOf(With(kLlama, "rms_norm_eps", "\"small\"")), Contains("key 'rms_norm_eps'"));
  CHECK_THAT(ErrorOf(With(kLlama, "tie_word_embeddings", "1")), Contains("expected true or false"));
  CHECK_THAT(ErrorOf(With(kLlama, "hidden_act", "\"swish\"")), Contains("key 'hidden_act'"));
  CHECK_THAT(ErrorOf(With(kLlama, "rope_scaling", R"({"type": "linear", "factor": 2})")),
             Contains("key 'rope_scaling'"));
  CHECK_THAT(ErrorOf(With(kLlama, "head_dim", "16")), Contains("key 'head_dim'"));
  CHECK_THAT(ErrorOf(With(kLlama, "rope_parameters", R"({"rope_type": "yarn", "factor": 4})")),
             Contains("m.json: rope_parameters: key 'rope_type'"));
  CHECK_THAT(ErrorOf(With(kLlama, "rope_parameters", "5")), Contains("key 'rope_parameters'"));
  const char* neox = R"({"model_type": "gpt_neox", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96,
    "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 32, "rotary_pct": 0.25})";
  REQUIRE(ParseModelConfig(neox, "m.json").ok());
  CHECK_THAT(ErrorOf(With(neox, "rotary_pct", "0.01")), Contains("key 'rotary_pct'"));
  CHECK_THAT(ErrorOf(With(neox, "rotary_pct", "1.5")), Contains("key 'rotary_pct'"));
  const char* gpt2 = R"({"model_type": "gpt2", "vocab_size": 100, "n_embd": 64, "n_layer": 2, "n_head": 4,
    "n_positions": 32})";
  REQUIRE(ParseModelConfig(gpt2, "m.json").ok());
  CHECK_THAT(ErrorOf(With(gpt2, "n_head", "5")), Contains("key 'n_head'"));
  CHECK_THAT(ErrorOf(With(gpt2, "scale_attn_by_inverse_layer_idx", "true")),
             Contains("key 'scale_attn_by_inverse_layer_idx'"));
  auto missing = LoadModelConfig("/nonexistent/config.json");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), Contains("/nonexistent/config.json"));
}
