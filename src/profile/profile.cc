#include "profile/profile.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "technique/names.h"
#include "util/files.h"
#include "util/suggest.h"
#include "util/json_error.h"

namespace saturn {
namespace {

using json = nlohmann::json;

// Line of each element of the top-level "records" array. nlohmann/json keeps no positions, so
// scan the text once: root object is depth 1, the array depth 2, a record opens at depth 3.
std::vector<int> RecordLines(const std::string& text) {
  std::vector<int> lines;
  int depth = 0, line = 1;
  bool in_string = false, escaped = false, in_records = false;
  std::string last_key, cur;
  for (char c : text) {
    if (c == '\n') ++line;
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      else cur += c;
      continue;
    }
    if (c == '"') { in_string = true; cur.clear(); continue; }
    if (c == ':' && depth == 1) last_key = cur;
    if (c == '{' || c == '[') {
      ++depth;
      if (depth == 2 && c == '[' && last_key == "records") in_records = true;
      if (depth == 3 && c == '{' && in_records) lines.push_back(line);
    } else if (c == '}' || c == ']') {
      if (depth == 2) in_records = false;
      --depth;
    }
  }
  return lines;
}

constexpr long long kMaxDevices = 1 << 20;

const std::vector<std::string> kTopKeys = {"version", "sweep", "measured", "links", "records"};
const std::vector<std::string> kCollectives = {"all_reduce", "all_gather", "reduce_scatter", "send_recv"};

Status ParseLinks(const json& links, const std::string& path, std::vector<LinkRecord>* out) {
  if (!links.is_array()) return Status::UserError(path + ": \"links\" must be an array");
  static const std::vector<std::string> keys = {"collective", "ranks", "bytes", "seconds", "algbw",
                                                "busbw",      "scope", "nodes", "kind"};
  for (size_t i = 0; i < links.size(); ++i) {
    const json& l = links[i];
    auto bad = [&](const std::string& what) {
      return Status::UserError(path + ": links[" + std::to_string(i) + "]: " + what);
    };
    if (!l.is_object()) return bad("must be an object");
    for (auto it = l.begin(); it != l.end(); ++it)
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
        return bad("unknown key \"" + it.key() + "\"" + DidYouMean(it.key(), keys));
    LinkRecord r;
    if (!l.contains("collective") || !l["collective"].is_string() ||
        std::find(kCollectives.begin(), kCollectives.end(), l["collective"].get<std::string>()) == kCollectives.end())
      return bad("\"collective\" must be one of all_reduce, all_gather, reduce_scatter, send_recv");
    r.collective = l["collective"].get<std::string>();
    if (!l.contains("ranks") || !l["ranks"].is_number_integer() || l["ranks"].get<long long>() < 2 ||
        l["ranks"].get<long long>() > kMaxDevices)
      return bad("\"ranks\" must be an integer from 2 to " + std::to_string(kMaxDevices));
    r.ranks = l["ranks"].get<int>();
    if (!l.contains("bytes") || !l["bytes"].is_number_integer() || l["bytes"].get<long long>() < 1)
      return bad("\"bytes\" must be a positive integer");
    r.bytes = l["bytes"].get<long long>();
    for (const char* k : {"seconds", "algbw", "busbw"}) {
      if (!l.contains(k) || !l[k].is_number() || !std::isfinite(l[k].get<double>()) || l[k].get<double>() < 0 ||
          (std::string(k) == "seconds" && l[k].get<double>() <= 0))
        return bad("\"" + std::string(k) + "\" must be a " + (std::string(k) == "seconds" ? "positive" : "non-negative") +
                   " number");
    }
    r.seconds = l["seconds"].get<double>();
    r.algbw = l["algbw"].get<double>();
    r.busbw = l["busbw"].get<double>();
    if (l.contains("kind")) {
      if (!l["kind"].is_string() || l["kind"].get<std::string>().empty())
        return bad("\"kind\" must be a node kind's name from the sweep's cluster.kinds");
      r.kind = l["kind"].get<std::string>();
    }
    if (l.contains("scope")) {
      if (!l["scope"].is_string() || (l["scope"] != "node" && l["scope"] != "nodes"))
        return bad("\"scope\" must be \"node\" (within one node) or \"nodes\" (across nodes)");
      r.scope = l["scope"].get<std::string>();
    }
    if (r.across() != l.contains("nodes"))
      return bad(r.across() ? "\"scope\": \"nodes\" needs \"nodes\", how many nodes the ranks spanned"
                            : "\"nodes\" belongs to links of \"scope\": \"nodes\"");
    if (r.across()) {
      if (!l["nodes"].is_number_integer() || l["nodes"].get<long long>() < 2 || l["nodes"].get<long long>() > r.ranks)
        return bad("\"nodes\" must be an integer from 2 to the ranks (" + std::to_string(r.ranks) + ")");
      r.nodes = l["nodes"].get<int>();
    }
    out->push_back(r);
  }
  return Status::Ok();
}

// A count in the provenance: a non-negative integer, at most a million.
bool IsCount(const json& v) { return v.is_number_integer() && v.get<long long>() >= 0 && v.get<long long>() <= 1000000; }

Status ParseMachine(const json& m, const std::string& where, MachineProvenance* out) {
  auto bad = [&](const std::string& what) { return Status::UserError(where + ": " + what); };
  if (!m.is_object()) return bad("must be an object with the kind, device_name, cores and device_slots of a machine");
  for (auto it = m.begin(); it != m.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "kind" || k == "device_name") {
      if (!v.is_string()) return bad("\"" + k + "\" must be a string");
      (k == "kind" ? out->kind : out->device_name) = v.get<std::string>();
    } else if (k == "cores" || k == "device_slots") {
      if (!IsCount(v)) return bad("\"" + k + "\" must be a non-negative integer");
      (k == "cores" ? out->cores : out->device_slots) = v.get<int>();
    } else if (k == "packed") {
      if (!v.is_boolean()) return bad("\"packed\" must be true or false");
      out->packed = v.get<bool>();
    } else {
      static const std::vector<std::string> keys = {"kind", "device_name", "cores", "device_slots", "packed"};
      return bad("unknown key \"" + k + "\"" + DidYouMean(k, keys));
    }
  }
  return Status::Ok();
}

Status ParseProvenance(const json& m, const std::string& path, Provenance* out) {
  auto bad = [&](const std::string& what) { return Status::UserError(path + ": \"measured\": " + what); };
  if (!m.is_object()) return bad("must be an object");
  out->present = true;
  for (auto it = m.begin(); it != m.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "saturn" || k == "device" || k == "host" || k == "date" || k == "launcher") {
      if (!v.is_string()) return bad("\"" + k + "\" must be a string");
      (k == "saturn"   ? out->saturn_version
       : k == "device" ? out->device
       : k == "host"   ? out->host
       : k == "date"   ? out->date
                       : out->launcher) = v.get<std::string>();
    } else if (k == "warmup_steps" || k == "timed_steps") {
      if (!IsCount(v)) return bad("\"" + k + "\" must be a non-negative integer");
      (k == "warmup_steps" ? out->warmup_steps : out->timed_steps) = v.get<int>();
    } else if (k == "machines") {
      if (!v.is_array()) return bad("\"machines\" must be a list, one machine a node kind");
      for (size_t i = 0; i < v.size(); ++i) {
        MachineProvenance mp;
        SATURN_RETURN_IF_ERROR(ParseMachine(v[i], path + ": \"measured\": \"machines\"[" + std::to_string(i) + "]", &mp));
        if (out->machine(mp.kind))
          return bad("\"machines\" lists kind '" + mp.kind + "' twice; each node kind has one machine");
        out->machines.push_back(mp);
      }
    } else if (k == "cost_keys") {
      if (!v.is_object()) return bad("\"cost_keys\" must map job names to cost keys");
      for (auto c = v.begin(); c != v.end(); ++c) {
        if (!c.value().is_string()) return bad("\"cost_keys\": the key of '" + c.key() + "' must be a string");
        out->cost_keys[c.key()] = c.value().get<std::string>();
      }
    } else {
      static const std::vector<std::string> keys = {"saturn",   "device",       "host",        "date",     "launcher",
                                                    "machines", "warmup_steps", "timed_steps", "cost_keys"};
      return bad("unknown key \"" + k + "\"" + DidYouMean(k, keys));
    }
  }
  return Status::Ok();
}

const std::vector<std::string> kRecordKeys = {"job", "technique", "devices", "feasible", "step_seconds",
                                              "peak_memory_bytes", "knobs", "reason", "measured_steps",
                                              "cost_key", "spread", "estimated", "estimate", "kind"};

}  // namespace

std::string Profile::where(const ProfileRecord& r) const {
  return r.line > 0 ? path + ":" + std::to_string(r.line) : path;
}

Result<Profile> LoadProfile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseProfile(*text, path);
}

Result<Profile> ParseProfile(const std::string& text, const std::string& path) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, text, &at);
    return Status::UserError(path + (at.empty() ? "" : ":" + at) + ": not valid JSON: " + why);
  }
  Profile p;
  p.path = path;
  if (!doc.is_object()) return Status::UserError(path + ":1: a profile is a JSON object with \"version\" and \"records\"");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<long long>() < 1 ||
      doc["version"].get<long long>() > kProfileVersion)
    return Status::UserError(path + ": \"version\" must be 1 or 2 (this saturn reads profile versions 1 and 2); "
                             "a newer saturn wrote it, or write it as docs/profile.md describes");
  p.version = doc["version"].get<int>();
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (std::find(kTopKeys.begin(), kTopKeys.end(), it.key()) == kTopKeys.end())
      return Status::UserError(path + ": unknown key \"" + it.key() + "\"" + DidYouMean(it.key(), kTopKeys));
  if (doc.contains("measured")) {
    if (p.version < 2) return Status::UserError(path + ": \"measured\" needs \"version\": 2");
    SATURN_RETURN_IF_ERROR(ParseProvenance(doc["measured"], path, &p.measured));
  }
  if (doc.contains("links")) {
    if (p.version < 2) return Status::UserError(path + ": \"links\" needs \"version\": 2");
    SATURN_RETURN_IF_ERROR(ParseLinks(doc["links"], path, &p.links));
  }
  if (doc.contains("sweep")) {
    if (!doc["sweep"].is_string()) return Status::UserError(path + ": \"sweep\" must be a string");
    p.sweep = doc["sweep"].get<std::string>();
  }
  if (!doc.contains("records") || !doc["records"].is_array())
    return Status::UserError(path + ": \"records\" must be an array of records");
  std::vector<int> lines = RecordLines(text);
  const json& recs = doc["records"];
  for (size_t i = 0; i < recs.size(); ++i) {
    const json& r = recs[i];
    ProfileRecord rec;
    rec.line = i < lines.size() ? lines[i] : 0;
    std::string at = (rec.line ? path + ":" + std::to_string(rec.line) : path) + ": records[" + std::to_string(i) + "]";
    auto bad = [&](const std::string& what) { return Status::UserError(at + ": " + what); };
    if (!r.is_object()) return bad("a record must be an object");
    for (auto it = r.begin(); it != r.end(); ++it)
      if (std::find(kRecordKeys.begin(), kRecordKeys.end(), it.key()) == kRecordKeys.end())
        return bad("unknown key \"" + it.key() + "\"" + DidYouMean(it.key(), kRecordKeys));
    if (!r.contains("job") || !r["job"].is_string() || r["job"].get<std::string>().empty())
      return bad("\"job\" (a job name from the sweep) is missing");
    rec.job = r["job"].get<std::string>();
    at += " (job '" + rec.job + "')";
    if (!r.contains("technique") || !r["technique"].is_string()) return bad("\"technique\" is missing");
    rec.technique = r["technique"].get<std::string>();
    const auto& names = TechniqueNames();
    if (std::find(names.begin(), names.end(), rec.technique) == names.end())
      return bad("unknown technique '" + rec.technique + "'" + DidYouMean(rec.technique, names));
    if (!r.contains("devices") || !r["devices"].is_number_integer() || r["devices"].get<long long>() < 1 ||
        r["devices"].get<long long>() > kMaxDevices)
      return bad("\"devices\" must be a positive integer, at most " + std::to_string(kMaxDevices));
    rec.devices = r["devices"].get<int>();
    if (r.contains("kind")) {
      if (!r["kind"].is_string() || r["kind"].get<std::string>().empty())
        return bad("\"kind\" must be a node kind's name from the sweep's cluster.kinds");
      rec.kind = r["kind"].get<std::string>();
    }
    if (!r.contains("feasible") || !r["feasible"].is_boolean()) return bad("\"feasible\" must be true or false");
    rec.feasible = r["feasible"].get<bool>();
    if (rec.feasible) {
      if (!r.contains("step_seconds")) return bad("feasible record has no \"step_seconds\"");
      if (!r["step_seconds"].is_number()) return bad("\"step_seconds\" must be a number");
      rec.step_seconds = r["step_seconds"].get<double>();
      if (!std::isfinite(rec.step_seconds) || rec.step_seconds <= 0)
        return bad("\"step_seconds\" must be a positive number of seconds, got " + r["step_seconds"].dump());
    }
    if (r.contains("peak_memory_bytes")) {
      if (!r["peak_memory_bytes"].is_number_integer() || r["peak_memory_bytes"].get<long long>() < 0)
        return bad("\"peak_memory_bytes\" must be a non-negative integer");
      rec.peak_memory_bytes = r["peak_memory_bytes"].get<long long>();
    }
    if (r.contains("knobs")) {
      if (!r["knobs"].is_object()) return bad("\"knobs\" must be an object");
      rec.knobs_json = r["knobs"].dump();
    }
    if (r.contains("reason")) {
      if (!r["reason"].is_string()) return bad("\"reason\" must be a string");
      rec.reason = r["reason"].get<std::string>();
    }
    if (r.contains("spread")) {
      if (!r["spread"].is_number() || !std::isfinite(r["spread"].get<double>()) || r["spread"].get<double>() < 0)
        return bad("\"spread\" must be a non-negative number");
      rec.spread = r["spread"].get<double>();
    }
    if (r.contains("estimated")) {
      if (!r["estimated"].is_boolean()) return bad("\"estimated\" must be true or false");
      rec.estimated = r["estimated"].get<bool>();
    }
    if (r.contains("estimate")) {
      if (!r["estimate"].is_object()) return bad("\"estimate\" must be an object (the model's inputs)");
      rec.estimate_json = r["estimate"].dump();
    }
    if (r.contains("measured_steps")) {
      if (!r["measured_steps"].is_number_integer() || r["measured_steps"].get<long long>() < 0 ||
          r["measured_steps"].get<long long>() > 1000000)
        return bad("\"measured_steps\" must be a non-negative integer");
      rec.measured_steps = r["measured_steps"].get<int>();
    }
    p.records.push_back(std::move(rec));
  }
  return p;
}

std::string ProfileToJson(const Profile& p) {
  json doc;
  doc["version"] = p.version;
  if (!p.sweep.empty()) doc["sweep"] = p.sweep;
  doc["records"] = json::array();
  for (const auto& r : p.records) {
    json j = {{"job", r.job}, {"technique", r.technique}, {"devices", r.devices}, {"feasible", r.feasible}};
    if (!r.kind.empty()) j["kind"] = r.kind;
    if (r.feasible) j["step_seconds"] = r.step_seconds;
    if (r.peak_memory_bytes) j["peak_memory_bytes"] = r.peak_memory_bytes;
    j["knobs"] = json::parse(r.knobs_json);
    if (!r.reason.empty()) j["reason"] = r.reason;
    if (r.spread >= 0) j["spread"] = r.spread;
    if (r.measured_steps > 0) j["measured_steps"] = r.measured_steps;
    if (r.estimated) j["estimated"] = true;
    if (!r.estimate_json.empty()) j["estimate"] = json::parse(r.estimate_json);
    doc["records"].push_back(j);
  }
  // One record a line: diffable, and RecordLines() finds each.
  std::string out = "{\"version\": " + std::to_string(p.version);
  if (!p.sweep.empty()) out += ", \"sweep\": " + json(p.sweep).dump();
  if (p.measured.present) {
    const Provenance& m = p.measured;
    json mj = {{"saturn", m.saturn_version}, {"device", m.device},          {"host", m.host},
               {"date", m.date},            {"warmup_steps", m.warmup_steps}, {"timed_steps", m.timed_steps},
               {"cost_keys", m.cost_keys}};
    if (!m.launcher.empty()) mj["launcher"] = m.launcher;
    for (const MachineProvenance& mp : m.machines) {
      json one = json::object();
      if (!mp.kind.empty()) one["kind"] = mp.kind;
      if (!mp.device_name.empty()) one["device_name"] = mp.device_name;
      if (mp.cores > 0) one["cores"] = mp.cores, one["device_slots"] = mp.device_slots;
      if (mp.packed) one["packed"] = true;
      mj["machines"].push_back(one);
    }
    out += ",\n \"measured\": " + mj.dump();
  }
  if (!p.links.empty()) {
    out += ",\n \"links\": [";
    for (size_t i = 0; i < p.links.size(); ++i) {
      const LinkRecord& l = p.links[i];
      json lj = {{"collective", l.collective}, {"ranks", l.ranks}, {"bytes", l.bytes}, {"seconds", l.seconds},
                 {"algbw", l.algbw}, {"busbw", l.busbw}, {"scope", l.scope}};
      if (l.across()) lj["nodes"] = l.nodes;
      if (!l.kind.empty()) lj["kind"] = l.kind;
      out += std::string(i ? ",\n  " : "\n  ") + lj.dump();
    }
    out += "]";
  }
  out += ",\n \"records\": [";
  for (size_t i = 0; i < doc["records"].size(); ++i)
    out += std::string(i ? ",\n  " : "\n  ") + doc["records"][i].dump();
  out += "]}\n";
  return out;
}

}  // namespace saturn
