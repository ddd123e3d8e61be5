#include "model/config.h"

#include <cmath>
#include <filesystem>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/files.h"
#include "util/suggest.h"
#include "util/json_error.h"

namespace saturn {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

const std::vector<std::string> kModelTypes = {"gpt2", "gpt_neox", "llama"};
// Activations as transformers' ACT2FN names them; gelu is exact (erf), gelu_new and
// gelu_pytorch_tanh are the tanh approximation.
const std::vector<std::string> kActivations = {"gelu_new", "gelu_pytorch_tanh", "gelu", "silu", "relu"};

// Reads typed keys of one config object; every error names the file and the key and says what to do.
class Reader {
 public:
  Reader(const json& doc, std::string path) : doc_(doc), path_(std::move(path)) {}

  Status error(const std::string& key, const std::string& expected) const {
    std::string got = doc_.contains(key) ? doc_.at(key).dump() : "nothing (the key is missing)";
    return Status::UserError(path_ + ": key '" + key + "': expected " + expected + ", got " + got +
                             "; fix the value in the config.json (as transformers writes it)");
  }

  // A positive integer; `fallback` < 0 means the key is required.
  Status Int(const std::string& key, int* out, int fallback = -1) const {
    if (!doc_.contains(key) || doc_.at(key).is_null()) {
      if (fallback < 0) return error(key, "a positive integer");
      *out = fallback;
      return Status::Ok();
    }
    const json& v = doc_.at(key);
    if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > (1LL << 30))
      return error(key, "a positive integer");
    *out = v.get<int>();
    return Status::Ok();
  }

  Status Number(const std::string& key, double* out, double fallback, double lo, double hi,
                const std::string& expected) const {
    if (!doc_.contains(key) || doc_.at(key).is_null()) {
      *out = fallback;
      return Status::Ok();
    }
    const json& v = doc_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= lo || v.get<double>() > hi)
      return error(key, expected);
    *out = v.get<double>();
    return Status::Ok();
  }

  Status Bool(const std::string& key, bool* out, bool fallback) const {
    if (!doc_.contains(key) || doc_.at(key).is_null()) {
      *out = fallback;
      return Status::Ok();
    }
    if (!doc_.at(key).is_boolean()) return error(key, "true or false");
    *out = doc_.at(key).get<bool>();
    return Status::Ok();
  }

  Status Activation(const std::string& key, std::string* out, const std::string& fallback) const {
    if (!doc_.contains(key) || doc_.at(key).is_null()) {
      *out = fallback;
      return Status::Ok();
    }
    const json& v = doc_.at(key);
    std::string names;
    for (const auto& a : kActivations) names += (names.empty() ? "" : ", ") + a;
    if (!v.is_string()) return error(key, "one of " + names);
    std::string s = v.get<std::string>();
    for (const auto& a : kActivations)
      if (s == a) {
        *out = s;
        return Status::Ok();
      }
    return error(key, "one of " + names + DidYouMean(s, kActivations));
  }

  // Features this implementation does not have must be absent, null or at their neutral value.
  Status Unsupported(const std::string& key, const json& neutral, const std::string& why) const {
    if (!doc_.contains(key) || doc_.at(key).is_null() || doc_.at(key) == neutral) return Status::Ok();
    return Status::UserError(path_ + ": key '" + key + "': " + doc_.at(key).dump() + " is not supported (" + why +
                             "); remove it or set it to " + (neutral.is_null() ? "null" : neutral.dump()));
  }

 private:
  const json& doc_;
  std::string path_;
};

Status ParseGpt2(const Reader& r, ModelConfig* c) {
  SATURN_RETURN_IF_ERROR(r.Int("n_embd", &c->hidden));
  SATURN_RETURN_IF_ERROR(r.Int("n_layer", &c->layers));
  SATURN_RETURN_IF_ERROR(r.Int("n_head", &c->heads));
  SATURN_RETURN_IF_ERROR(r.Int("n_positions", &c->max_positions));
  SATURN_RETURN_IF_ERROR(r.Int("n_inner", &c->intermediate, 4 * c->hidden));
  SATURN_RETURN_IF_ERROR(r.Number("layer_norm_epsilon", &c->norm_eps, 1e-5, 0, 1, "a small positive number"));
  SATURN_RETURN_IF_ERROR(r.Activation("activation_function", &c->activation, "gelu_new"));
  SATURN_RETURN_IF_ERROR(r.Bool("tie_word_embeddings", &c->tie_word_embeddings, true));
  SATURN_RETURN_IF_ERROR(r.Unsupported("scale_attn_weights", true, "attention is always scaled by 1/sqrt(head_dim)"));
  SATURN_RETURN_IF_ERROR(r.Unsupported("scale_attn_by_inverse_layer_idx", false, "no per-layer attention scaling"));
  SATURN_RETURN_IF_ERROR(r.Unsupported("add_cross_attention", false, "decoder-only models only"));
  c->kv_heads = c->heads;
  c->attention_bias = c->mlp_bias = true;
  return Status::Ok();
}

Status ParseNeox(const Reader& r, ModelConfig* c) {
  SATURN_RETURN_IF_ERROR(r.Int("hidden_size", &c->hidden));
  SATURN_RETURN_IF_ERROR(r.Int("num_hidden_layers", &c->layers));
  SATURN_RETURN_IF_ERROR(r.Int("num_attention_heads", &c->heads));
  SATURN_RETURN_IF_ERROR(r.Int("intermediate_size", &c->intermediate));
  SATURN_RETURN_IF_ERROR(r.Int("max_position_embeddings", &c->max_positions));
  // Newer transformers also spell rotary_pct as partial_rotary_factor.
  double partial = 0.25;
  SATURN_RETURN_IF_ERROR(r.Number("partial_rotary_factor", &partial, 0.25, 0, 1, "a fraction in (0, 1]"));
  SATURN_RETURN_IF_ERROR(r.Number("rotary_pct", &c->rotary_pct, partial, 0, 1, "a fraction in (0, 1]"));
  SATURN_RETURN_IF_ERROR(r.Number("rotary_emb_base", &c->rope_theta, 10000, 0, 1e12, "a positive number"));
  SATURN_RETURN_IF_ERROR(r.Bool("use_parallel_residual", &c->parallel_residual, true));
  SATURN_RETURN_IF_ERROR(r.Number("layer_norm_eps", &c->norm_eps, 1e-5, 0, 1, "a small positive number"));
  SATURN_RETURN_IF_ERROR(r.Bool("tie_word_embeddings", &c->tie_word_embeddings, false));
  SATURN_RETURN_IF_ERROR(r.Activation("hidden_act", &c->activation, "gelu"));
  SATURN_RETURN_IF_ERROR(r.Bool("attention_bias", &c->attention_bias, true));
  SATURN_RETURN_IF_ERROR(r.Unsupported("rope_scaling", nullptr, "plain rotary embeddings only"));
  c->kv_heads = c->heads;
  c->mlp_bias = true;
  return Status::Ok();
}

Status ParseLlama(const Reader& r, ModelConfig* c) {
  SATURN_RETURN_IF_ERROR(r.Int("hidden_size", &c->hidden));
  SATURN_RETURN_IF_ERROR(r.Int("intermediate_size", &c->intermediate));
  SATURN_RETURN_IF_ERROR(r.Int("num_hidden_layers", &c->layers));
  SATURN_RETURN_IF_ERROR(r.Int("num_attention_heads", &c->heads));
  SATURN_RETURN_IF_ERROR(r.Int("num_key_value_heads", &c->kv_heads, c->heads));
  SATURN_RETURN_IF_ERROR(r.Int("max_position_embeddings", &c->max_positions));
  SATURN_RETURN_IF_ERROR(r.Number("rms_norm_eps", &c->norm_eps, 1e-6, 0, 1, "a small positive number"));
  SATURN_RETURN_IF_ERROR(r.Number("rope_theta", &c->rope_theta, 10000, 0, 1e12, "a positive number"));
  SATURN_RETURN_IF_ERROR(r.Bool("tie_word_embeddings", &c->tie_word_embeddings, false));
  SATURN_RETURN_IF_ERROR(r.Bool("attention_bias", &c->attention_bias, false));
  SATURN_RETURN_IF_ERROR(r.Bool("mlp_bias", &c->mlp_bias, false));
  SATURN_RETURN_IF_ERROR(r.Activation("hidden_act", &c->activation, "silu"));
  SATURN_RETURN_IF_ERROR(r.Unsupported("rope_scaling", nullptr, "plain rotary embeddings only"));
  c->rotary_pct = 1.0;
  c->parallel_residual = false;
  return Status::Ok();
}

// transformers >= 5 gathers the rotary settings in "rope_parameters": {"rope_type", "rope_theta",
// "partial_rotary_factor"}; they override the older top-level keys.
Status ParseRopeParameters(const json& doc, const std::string& path, ModelConfig* c) {
  if (!doc.contains("rope_parameters") || doc["rope_parameters"].is_null()) return Status::Ok();
  const json& rp = doc["rope_parameters"];
  if (!rp.is_object())
    return Reader(doc, path).error("rope_parameters", "an object {\"rope_type\": \"default\", \"rope_theta\": ...}");
  Reader r(rp, path + ": rope_parameters");
  SATURN_RETURN_IF_ERROR(r.Unsupported("rope_type", "default", "plain rotary embeddings only"));
  SATURN_RETURN_IF_ERROR(r.Unsupported("type", "default", "plain rotary embeddings only"));
  SATURN_RETURN_IF_ERROR(r.Number("rope_theta", &c->rope_theta, c->rope_theta, 0, 1e12, "a positive number"));
  if (c->model_type == "gpt_neox")
    SATURN_RETURN_IF_ERROR(
        r.Number("partial_rotary_factor", &c->rotary_pct, c->rotary_pct, 0, 1, "a fraction in (0, 1]"));
  return Status::Ok();
}

const char* Architecture(const std::string& model_type) {
  if (model_type == "gpt2") return "GPT2LMHeadModel";
  if (model_type == "gpt_neox") return "GPTNeoXForCausalLM";
  return "LlamaForCausalLM";
}

}  // namespace

int ModelConfig::rotary_dims() const {
  if (model_type == "gpt2") return 0;
  return static_cast<int>(head_dim() * rotary_pct);  // int() truncation, as transformers does
}

int64_t ModelConfig::block_parameter_count() const {
  const int64_t H = hidden, I = intermediate;
  const int64_t q = static_cast<int64_t>(heads) * head_dim();
  const int64_t kv = static_cast<int64_t>(kv_heads > 0 ? kv_heads : heads) * head_dim();
  if (model_type == "gpt2") return 4 * H + (H * 3 * H + 3 * H) + (H * H + H) + (H * I + I) + (I * H + H);
  if (model_type == "gpt_neox") {
    const int64_t attn_bias = attention_bias ? 3 * H + H : 0;
    return 4 * H + 3 * H * H + H * H + attn_bias + (H * I + I) + (I * H + H);
  }
  const int64_t attn_bias = attention_bias ? q + 2 * kv + H : 0;
  const int64_t mlp_b = mlp_bias ? 2 * I + H : 0;
  return 2 * H + H * q + 2 * H * kv + q * H + attn_bias + 3 * H * I + mlp_b;
}

int64_t ModelConfig::parameter_count() const {
  const int64_t V = vocab_size, H = hidden, L = layers, P = max_positions;
  int64_t total = V * H + (tie_word_embeddings ? 0 : V * H);
  if (model_type == "gpt2") total += P * H + 2 * H;  // wpe, ln_f
  else if (model_type == "gpt_neox") total += 2 * H;  // final_layer_norm
  else total += H;                                    // model.norm
  return total + L * block_parameter_count();
}

Result<ModelConfig> LoadModelConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseModelConfig(*text, path);
}

Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& path) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, json_text, &at);
    return Status::UserError(path + (at.empty() ? "" : ":" + at) + ": not valid JSON: " + why +
                             "; a model config is a Hugging Face config.json");
  }
  if (!doc.is_object())
    return Status::UserError(path + ": a model config is a JSON object (a Hugging Face config.json)");
  ModelConfig c;
  c.source = path;
  Reader r(doc, path);
  std::string types = "\"gpt2\", \"gpt_neox\" or \"llama\"";
  if (!doc.contains("model_type") || !doc["model_type"].is_string()) return r.error("model_type", types);
  c.model_type = doc["model_type"].get<std::string>();
  if (c.model_type != "gpt2" && c.model_type != "gpt_neox" && c.model_type != "llama")
    return Status::UserError(path + ": key 'model_type': expected " + types + ", got \"" + c.model_type + "\"" +
                             DidYouMean(c.model_type, kModelTypes) + "; saturn builds only these architectures");
  SATURN_RETURN_IF_ERROR(r.Int("vocab_size", &c.vocab_size));
  if (c.model_type == "gpt2") SATURN_RETURN_IF_ERROR(ParseGpt2(r, &c));
  else if (c.model_type == "gpt_neox") SATURN_RETURN_IF_ERROR(ParseNeox(r, &c));
  else SATURN_RETURN_IF_ERROR(ParseLlama(r, &c));
  if (c.model_type != "gpt2") SATURN_RETURN_IF_ERROR(ParseRopeParameters(doc, path, &c));

  const bool gpt2 = c.model_type == "gpt2";
  const std::string hidden_key = gpt2 ? "n_embd" : "hidden_size", heads_key = gpt2 ? "n_head" : "num_attention_heads";
  if (c.hidden % c.heads != 0)
    return Status::UserError(path + ": key '" + heads_key + "': " + hidden_key + " " + std::to_string(c.hidden) +
                             " is not divisible by " + heads_key + " " + std::to_string(c.heads) +
                             "; choose a head count that divides the hidden size");
  if (c.heads % c.kv_heads != 0)
    return Status::UserError(path + ": key 'num_key_value_heads': num_attention_heads " + std::to_string(c.heads) +
                             " is not divisible by num_key_value_heads " + std::to_string(c.kv_heads) +
                             "; each key/value head must serve the same number of query heads");
  if (doc.contains("head_dim") && !doc["head_dim"].is_null() &&
      (!doc["head_dim"].is_number_integer() || doc["head_dim"].get<long long>() != c.head_dim()))
    return r.error("head_dim", "null or hidden_size / num_attention_heads = " + std::to_string(c.head_dim()) +
                                   " (other head sizes are not supported)");
  if (c.model_type != "gpt2") {
    int rot = c.rotary_dims();
    if (rot < 2 || rot % 2 != 0)
      return r.error("rotary_pct", "a fraction that rotates an even number (>= 2) of each head's " +
                                       std::to_string(c.head_dim()) + " dims (int(head_dim * rotary_pct) = " +
                                       std::to_string(rot) + ")");
  }
  return c;
}

std::string ModelConfigDifference(const ModelConfig& a, const ModelConfig& b) {
  auto num = [](double x) { return nlohmann::json(x).dump(); };
  auto b2s = [](bool x) { return std::string(x ? "true" : "false"); };
  std::vector<std::tuple<std::string, std::string, std::string>> fields = {
      {"model_type", a.model_type, b.model_type},
      {"vocab_size", std::to_string(a.vocab_size), std::to_string(b.vocab_size)},
      {"max_positions", std::to_string(a.max_positions), std::to_string(b.max_positions)},
      {"hidden", std::to_string(a.hidden), std::to_string(b.hidden)},
      {"layers", std::to_string(a.layers), std::to_string(b.layers)},
      {"heads", std::to_string(a.heads), std::to_string(b.heads)},
      {"kv_heads", std::to_string(a.kv_heads), std::to_string(b.kv_heads)},
      {"intermediate", std::to_string(a.intermediate), std::to_string(b.intermediate)},
      {"norm_eps", num(a.norm_eps), num(b.norm_eps)},
      {"rotary_pct", num(a.rotary_pct), num(b.rotary_pct)},
      {"rope_theta", num(a.rope_theta), num(b.rope_theta)},
      {"parallel_residual", b2s(a.parallel_residual), b2s(b.parallel_residual)},
      {"tie_word_embeddings", b2s(a.tie_word_embeddings), b2s(b.tie_word_embeddings)},
      {"attention_bias", b2s(a.attention_bias), b2s(b.attention_bias)},
      {"mlp_bias", b2s(a.mlp_bias), b2s(b.mlp_bias)},
      {"activation", a.activation, b.activation},
  };
  for (const auto& [name, x, y] : fields)
    if (x != y) return name + " " + x + " vs " + y;
  return "";
}

std::string ModelConfigToJson(const ModelConfig& c) { return ModelConfigToJson(c, "float32"); }

std::string ModelConfigToJson(const ModelConfig& c, const std::string& torch_dtype) {
  ordered_json j;
  j["architectures"] = {Architecture(c.model_type)};
  j["model_type"] = c.model_type;
  j["torch_dtype"] = torch_dtype;
  j["vocab_size"] = c.vocab_size;
  if (c.model_type == "gpt2") {
    j["n_embd"] = c.hidden;
    j["n_layer"] = c.layers;
    j["n_head"] = c.heads;
    j["n_positions"] = c.max_positions;
    j["n_ctx"] = c.max_positions;
    j["n_inner"] = c.intermediate == 4 * c.hidden ? json(nullptr) : json(c.intermediate);
    j["layer_norm_epsilon"] = c.norm_eps;
    j["activation_function"] = c.activation;
    j["initializer_range"] = 0.02;
    j["tie_word_embeddings"] = c.tie_word_embeddings;
  } else if (c.model_type == "gpt_neox") {
    j["hidden_size"] = c.hidden;
    j["num_hidden_layers"] = c.layers;
    j["num_attention_heads"] = c.heads;
    j["intermediate_size"] = c.intermediate;
    j["max_position_embeddings"] = c.max_positions;
    j["rotary_pct"] = c.rotary_pct;
    j["rotary_emb_base"] = c.rope_theta;
    j["use_parallel_residual"] = c.parallel_residual;
    j["layer_norm_eps"] = c.norm_eps;
    j["hidden_act"] = c.activation;
    j["attention_bias"] = c.attention_bias;
    j["initializer_range"] = 0.02;
    j["tie_word_embeddings"] = c.tie_word_embeddings;
  } else {
    j["hidden_size"] = c.hidden;
    j["intermediate_size"] = c.intermediate;
    j["num_hidden_layers"] = c.layers;
    j["num_attention_heads"] = c.heads;
    j["num_key_value_heads"] = c.kv_heads;
    j["max_position_embeddings"] = c.max_positions;
    j["rms_norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope_theta;
    j["rope_scaling"] = nullptr;
    j["hidden_act"] = c.activation;
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = c.mlp_bias;
    j["initializer_range"] = 0.02;
    j["tie_word_embeddings"] = c.tie_word_embeddings;
  }
  return j.dump(2) + "\n";
}

std::string ModelConfigPath(const std::string& model) {
  std::error_code ec;
  if (std::filesystem::is_directory(model, ec)) return (std::filesystem::path(model) / "config.json").string();
  return model;
}

}  // namespace saturn
