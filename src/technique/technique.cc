#include "technique/technique.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "util/suggest.h"

namespace saturn {

const std::vector<KnobSpec>& CommonKnobs() {
  static const std::vector<KnobSpec> knobs = {
      {"micro_batch_size", "number", "0", {}, 0, 1 << 20,
       "sequences per forward/backward on a rank; 0: the job's micro_batch_size"},
      {"activation_checkpointing", "bool", "job", {}, 0, 0,
       "recompute each block in backward instead of keeping its activations; default: the job's setting"},
  };
  return knobs;
}

Result<Knobs> ParseKnobs(const Technique& t, const std::string& json_text, const std::string& where) {
  std::vector<KnobSpec> specs = CommonKnobs();
  for (const KnobSpec& k : t.knobs()) specs.push_back(k);
  Knobs out;
  for (const KnobSpec& k : specs) out[k.name] = k.def;
  if (json_text.empty()) return out;
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::UserError(where + ": knobs must be a JSON object, e.g. {\"bucket_mb\": 25}");
  std::vector<std::string> names;
  for (const KnobSpec& k : specs) names.push_back(k.name);
  for (const auto& [name, value] : j.items()) {
    const KnobSpec* spec = nullptr;
    for (const KnobSpec& k : specs)
      if (k.name == name) spec = &k;
    if (!spec)
      return Status::UserError(where + ": " + t.name() + " has no knob '" + name + "'" + DidYouMean(name, names) +
                               "; its knobs: " + [&] {
                                 std::string s;
                                 for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
                                 return s;
                               }());
    const std::string what = where + ": knob " + name + ": ";
    if (spec->type == "bool") {
      if (!value.is_boolean()) return Status::UserError(what + "expected true or false");
      out[name] = value.get<bool>() ? "true" : "false";
    } else if (spec->type == "number") {
      if (!value.is_number()) return Status::UserError(what + "expected a number");
      const double v = value.get<double>();
      if (!std::isfinite(v) || v < spec->min || v > spec->max)
        return Status::UserError(what + "expected a number in [" + nlohmann::json(spec->min).dump() + ", " +
                                 nlohmann::json(spec->max).dump() + "]");
      out[name] = value.dump();
    } else {
      const std::string v = value.is_string() ? value.get<std::string>() : "";
      bool known = false;
      for (const auto& c : spec->choices) known = known || c == v;
      if (!known) {
        std::string list;
        for (const auto& c : spec->choices) list += (list.empty() ? "" : ", ") + c;
        return Status::UserError(what + "expected one of " + list + DidYouMean(v, spec->choices));
      }
      out[name] = v;
    }
  }
  return out;
}

std::string ResolvedKnobsJson(const Technique& t, const Knobs& k, const JobSpec& job) {
  nlohmann::json j = nlohmann::json::object();
  j["micro_batch_size"] = job.micro_batch_size;
  j["activation_checkpointing"] = job.activation_checkpointing;
  for (const KnobSpec& spec : t.knobs()) {
    auto it = k.find(spec.name);
    const std::string v = it == k.end() ? spec.def : it->second;
    if (spec.type == "number") j[spec.name] = nlohmann::json::parse(v);
    else if (spec.type == "bool") j[spec.name] = v == "true";
    else j[spec.name] = v;
  }
  return j.dump();
}

namespace {

// The micro-batch the defaults give, and the sequences it must divide (a rank's share; the
// whole batch for a pipeline, whose ranks each see every micro-batch).
std::pair<int, int> MicroAndShare(const Technique& t, const JobSpec& job, int devices) {
  const bool pipeline = t.name() == "pipeline";
  const int ranks = pipeline ? 1 : std::max(1, devices);
  return {MicroBatch(job, ranks, 0), std::max(1, job.batch_size / ranks)};
}

std::string MicroKnob(int micro) { return "\"micro_batch_size\": " + std::to_string(micro); }

}  // namespace

std::vector<std::string> SearchKnobs(const Technique& t, const JobSpec& job, int devices) {
  std::vector<std::string> out = {"{}"};
  auto [micro, share] = MicroAndShare(t, job, devices);
  for (int div : t.name() == "pipeline" ? std::vector<int>{2, 4} : std::vector<int>{2}) {
    const int m = micro / div;
    if (m >= 1 && micro % div == 0 && share % m == 0) out.push_back("{" + MicroKnob(m) + "}");
  }
  if (t.name() == "ddp" && devices > 1) out.push_back("{\"bucket_mb\": 4}");
  return out;
}

std::vector<std::string> MemoryKnobs(const Technique& t, const JobSpec& job, int devices) {
  if (job.activation_checkpointing) return {};
  std::vector<std::string> out = {"{\"activation_checkpointing\": true}"};
  auto [micro, share] = MicroAndShare(t, job, devices);
  if (micro % 2 == 0 && share % (micro / 2) == 0)
    out.push_back("{\"activation_checkpointing\": true, " + MicroKnob(micro / 2) + "}");
  return out;
}

double KnobNumber(const Knobs& k, const std::string& name) {
  auto it = k.find(name);
  return it == k.end() ? 0 : std::stod(it->second);
}

bool KnobBool(const Knobs& k, const std::string& name) {
  auto it = k.find(name);
  return it != k.end() && it->second == "true";
}

int MicroBatch(const JobSpec& job, int devices, int micro_batch) {
  const int share = std::max(1, job.batch_size / std::max(1, devices));
  const int want = micro_batch > 0 ? micro_batch : job.micro_batch_size > 0 ? job.micro_batch_size : share;
  return std::min(want, share);
}

Feasibility DataParallelSplit(const JobSpec& job, int devices, int micro_batch) {
  if (devices < 1) return Feasibility::No("needs at least one device");
  if (job.batch_size % devices != 0)
    return Feasibility::No("batch_size " + std::to_string(job.batch_size) + " does not split evenly over " +
                           std::to_string(devices) + " ranks");
  const int share = job.batch_size / devices;
  const int micro = MicroBatch(job, devices, micro_batch);
  if (share % micro != 0)
    return Feasibility::No("each of " + std::to_string(devices) + " ranks takes " + std::to_string(share) +
                           " sequences a step, which micro-batches of " + std::to_string(micro) + " do not divide");
  return Feasibility::Yes();
}

}  // namespace saturn
