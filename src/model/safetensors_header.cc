#include "model/safetensors_header.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "util/json_error.h"

namespace saturn {
namespace {

using json = nlohmann::json;

// The header size limit safetensors itself enforces (100 MB): anything larger is corrupt.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

Status Corrupt(const std::string& path, const std::string& what) {
  return Status::UserError(path + ": " + what + "; the file is truncated or not a safetensors file (re-save or re-download it)");
}

const SafetensorsDType* FindDType(const std::string& name) {
  for (const auto& d : SafetensorsDTypes())
    if (name == d.name) return &d;
  return nullptr;
}

Status ParseEntry(const std::string& path, const std::string& name, const json& v, uint64_t data_size,
                  SafetensorsEntry* e) {
  auto bad = [&](const std::string& what) { return Corrupt(path, "tensor '" + name + "': " + what); };
  if (!v.is_object()) return bad("header entry is not an object");
  if (!v.contains("dtype") || !v["dtype"].is_string()) return bad("no \"dtype\"");
  e->name = name;
  const SafetensorsDType* dtype = FindDType(v["dtype"].get<std::string>());
  if (!dtype)
    return Status::UserError(path + ": tensor '" + name + "': dtype " + v["dtype"].dump() +
                             " is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
  e->dtype = dtype->name;
  e->dtype_size = dtype->size;
  if (!v.contains("shape") || !v["shape"].is_array()) return bad("no \"shape\" array");
  uint64_t numel = 1;
  for (const auto& d : v["shape"]) {
    if (!d.is_number_unsigned()) return bad("shape " + v["shape"].dump() + " is not a list of sizes");
    uint64_t n = d.get<uint64_t>();
    if (n > (1ULL << 48) || __builtin_mul_overflow(numel, n, &numel)) return bad("shape " + v["shape"].dump() + " is too large");
    e->shape.push_back(static_cast<int64_t>(n));
  }
  const json& off = v.contains("data_offsets") ? v["data_offsets"] : json();
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    return bad("\"data_offsets\" is not [begin, end]");
  e->begin = off[0].get<uint64_t>();
  e->end = off[1].get<uint64_t>();
  uint64_t bytes;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype->size), &bytes)) return bad("shape is too large");
  if (e->end < e->begin || e->end - e->begin != bytes)
    return bad("data_offsets " + off.dump() + " span " + std::to_string(e->end - e->begin) + " bytes, but shape " +
               v["shape"].dump() + " of " + dtype->name + " needs " + std::to_string(bytes));
  if (e->end > data_size)
    return bad("data_offsets " + off.dump() + " end past the data section (" + std::to_string(data_size) + " bytes)");
  return Status::Ok();
}

// The data section is exactly the tensors, back to back: no gaps, no overlaps, nothing after.
Status CheckTiling(const std::string& path, const std::vector<SafetensorsEntry>& entries, uint64_t data_size) {
  std::vector<const SafetensorsEntry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const SafetensorsEntry* e : order) {
    if (e->begin < at)
      return Corrupt(path, "tensor '" + e->name + "': data_offsets [" + std::to_string(e->begin) + ", " +
                               std::to_string(e->end) + "] overlap tensor '" + prev->name + "'");
    if (e->begin > at)
      return Corrupt(path, "tensor '" + e->name + "': " + std::to_string(e->begin - at) + " unused bytes before its data");
    at = e->end;
    prev = e;
  }
  if (at != data_size)
    return Corrupt(path, std::to_string(data_size - at) + " bytes after the last tensor" +
                             (prev ? " ('" + prev->name + "')" : std::string()));
  return Status::Ok();
}

}  // namespace

const std::vector<SafetensorsDType>& SafetensorsDTypes() {
  static const std::vector<SafetensorsDType> kDTypes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                        {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  return kDTypes;
}

Result<SafetensorsHeader> ParseSafetensorsHeader(const char* data, uint64_t size, const std::string& path) {
  if (size < 8) return Corrupt(path, "only " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t header_len;
  std::memcpy(&header_len, data, 8);
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    return Corrupt(path, "header length " + std::to_string(header_len) + " does not fit the file's " +
                             std::to_string(size) + " bytes");
  json header;
  try {
    header = json::parse(data + 8, data + 8 + header_len);
  } catch (const json::exception& e) {
    return Corrupt(path, "header is not valid JSON: " + JsonReason(e, ""));
  }
  if (!header.is_object()) return Corrupt(path, "header is not a JSON object");
  SafetensorsHeader out;
  out.data_offset = 8 + header_len;
  const uint64_t data_size = size - out.data_offset;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) return Corrupt(path, "\"__metadata__\" is not an object");
      for (const auto& m : it.value())
        if (!m.is_string()) return Corrupt(path, "\"__metadata__\" values must be strings");
      continue;
    }
    SafetensorsEntry e;
    SATURN_RETURN_IF_ERROR(ParseEntry(path, it.key(), it.value(), data_size, &e));
    out.entries.push_back(std::move(e));
  }
  SATURN_RETURN_IF_ERROR(CheckTiling(path, out.entries, data_size));
  return out;
}

}  // namespace saturn
