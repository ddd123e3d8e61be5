#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "model/safetensors_header.h"
#include "util/files.h"
#include "util/json_error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader maps it directly and needs a little-endian host"
#endif

namespace saturn {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

const char* kSingleFile = "model.safetensors";
const char* kIndexFile = "model.safetensors.index.json";

struct DType {
  const char* name;
  torch::ScalarType type;
  int64_t size;
};
const DType kDTypes[] = {{"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
                         {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},  {"I32", torch::kInt32, 4},
                         {"I16", torch::kInt16, 2},    {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
                         {"BOOL", torch::kBool, 1}};

const DType* FindDType(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DType* FindDType(torch::ScalarType t) {
  for (const auto& d : kDTypes)
    if (t == d.type) return &d;
  return nullptr;
}

// The whole file mapped copy-on-write: tensors alias it (no copy of a multi-GB checkpoint) and
// may still be written in place; the mapping lives until the last tensor is freed.
class MappedFile {
 public:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~MappedFile() { ::munmap(addr_, size_); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* data() const { return static_cast<const char*>(addr_); }

 private:
  void* addr_;
  size_t size_;
};

// Where the tensors of `tensors` are converted to on writing: floating point to `dtype`, others kept.
torch::ScalarType TargetType(const torch::Tensor& t, torch::ScalarType dtype) {
  return t.is_floating_point() ? dtype : t.scalar_type();
}

bool IsShardName(const std::string& name) {
  // model-00001-of-00002.safetensors
  return name.size() == 32 && name.compare(0, 6, "model-") == 0 && name.compare(11, 4, "-of-") == 0 &&
         name.compare(20, 12, ".safetensors") == 0;
}

std::string ShardName(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i, n);
  return buf;
}

// Removes files of an earlier save in `dir` that the new one does not use, so that a reader never
// mixes the two (an index left beside a new model.safetensors would win).
void RemoveStale(const std::string& dir, const std::set<std::string>& keep) {
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    if ((name == kSingleFile || name == kIndexFile || IsShardName(name)) && !keep.count(name)) fs::remove(f.path(), ec);
  }
}

}  // namespace

Result<std::map<std::string, torch::Tensor>> ReadSafetensors(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::UserError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::UserError(path + ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return ParseSafetensorsHeader("", size, path).status();
  }
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);
  if (addr == MAP_FAILED) return Status::UserError(path + ": cannot map: " + std::strerror(map_errno));
  auto file = std::make_shared<MappedFile>(addr, size);
  Result<SafetensorsHeader> header = ParseSafetensorsHeader(file->data(), size, path);
  if (!header.ok()) return header.status();

  std::map<std::string, torch::Tensor> out;
  const char* data = file->data() + header->data_offset;
  for (const SafetensorsEntry& e : header->entries) {
    const char* ptr = data + e.begin;
    auto options = torch::TensorOptions().dtype(FindDType(e.dtype)->type);
    if (reinterpret_cast<uintptr_t>(ptr) % static_cast<uintptr_t>(e.dtype_size) == 0) {
      out[e.name] = torch::from_blob(const_cast<char*>(ptr), e.shape, [file](void*) {}, options);
    } else {
      // Misaligned for its dtype (a writer that did not pad the header): copy into aligned memory.
      torch::Tensor t = torch::empty(e.shape, options);
      std::memcpy(t.data_ptr(), ptr, e.end - e.begin);
      out[e.name] = t;
    }
  }
  return out;
}

Result<std::map<std::string, torch::Tensor>> ReadSafetensorsDir(const std::string& dir) {
  return ReadSafetensorsDir(dir, nullptr);
}

Result<std::map<std::string, torch::Tensor>> ReadSafetensorsDir(const std::string& dir,
                                                                 std::map<std::string, std::string>* sources) {
  const std::string index_path = (fs::path(dir) / kIndexFile).string();
  const std::string single_path = (fs::path(dir) / kSingleFile).string();
  std::error_code ec;
  if (!fs::exists(index_path, ec)) {
    if (!fs::exists(single_path, ec))
      return Status::UserError(dir + ": no " + kSingleFile + " or " + kIndexFile +
                               "; a model directory holds config.json and its safetensors weights");
    auto r = ReadSafetensors(single_path);
    if (r.ok() && sources)
      for (const auto& [name, t] : *r) (*sources)[name] = single_path;
    return r;
  }
  auto text = ReadFile(index_path);
  if (!text.ok()) return text.status();
  json index;
  try {
    index = json::parse(*text);
  } catch (const json::exception& e) {
    std::string at;
    const std::string why = JsonReason(e, *text, &at);
    return Status::UserError(index_path + (at.empty() ? "" : ":" + at) + ": not valid JSON: " + why);
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    return Status::UserError(index_path + ": no \"weight_map\" object {tensor name: shard file}");
  std::map<std::string, std::string> shard_of;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      return Status::UserError(index_path + ": tensor '" + it.key() + "': shard file must be a string");
    std::string file = it.value().get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      return Status::UserError(index_path + ": tensor '" + it.key() + "': shard '" + file +
                               "' must be a file name in the same directory");
    shard_of[it.key()] = file;
  }
  std::map<std::string, torch::Tensor> out;
  std::map<std::string, std::string> origin;
  std::set<std::string> files;
  for (const auto& [name, file] : shard_of) files.insert(file);
  for (const auto& file : files) {
    const std::string path = (fs::path(dir) / file).string();
    auto shard = ReadSafetensors(path);
    if (!shard.ok()) return shard.status();
    for (auto& [name, t] : *shard) {
      if (out.count(name))
        return Status::UserError(path + ": tensor '" + name + "' is also in " + origin[name] + "; remove one copy");
      out[name] = t;
      origin[name] = path;
    }
  }
  for (const auto& [name, file] : shard_of)
    if (!out.count(name) || fs::path(origin[name]).filename().string() != file)
      return Status::UserError(index_path + ": tensor '" + name + "' is mapped to " + file +
                               ", which does not contain it; the index and the shards do not match");
  if (sources)
    for (const auto& [name, path] : origin) (*sources)[name] = path;
  return out;
}

Status WriteSafetensors(const std::string& path, const NamedTensors& tensors, torch::ScalarType dtype,
                        const std::map<std::string, std::string>& metadata) {
  TORCH_CHECK(FindDType(dtype) && c10::isFloatingType(dtype), "WriteSafetensors: dtype must be a floating type");
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || !names.insert(name).second)
      return Status::Internal(path + ": tensor name '" + name + "' is reserved or repeated");
    const DType* d = FindDType(TargetType(t, dtype));
    if (!d) return Status::Internal(path + ": tensor '" + name + "' has a dtype safetensors cannot store here");
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * d->size;
    header[name] = {{"dtype", d->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // as safetensors does: data starts 8-byte aligned
  const uint64_t header_len = text.size();

  // Streamed into a temporary file and renamed, so a reader never sees a partial checkpoint and no
  // copy of the whole checkpoint is built in memory.
  return WriteFileAtomicWith(path, [&](FILE* f) {
    bool good = std::fwrite(&header_len, 8, 1, f) == 1 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (const auto& [name, t] : tensors) {
      if (!good) break;
      torch::Tensor c = t.detach().to(TargetType(t, dtype)).to(torch::kCPU).contiguous();
      size_t bytes = c.numel() * c.element_size();
      good = bytes == 0 || std::fwrite(c.data_ptr(), 1, bytes, f) == bytes;
    }
    return good;
  });
}

Status WriteSafetensorsDir(const std::string& dir, const NamedTensors& tensors, torch::ScalarType dtype,
                           int64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::UserError(dir + ": cannot create directory: " + ec.message());
  std::vector<uint64_t> sizes;
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) {
    sizes.push_back(static_cast<uint64_t>(t.numel()) * c10::elementSize(TargetType(t, dtype)));
    total += sizes.back();
  }
  if (max_shard_bytes <= 0 || total <= static_cast<uint64_t>(max_shard_bytes)) {
    SATURN_RETURN_IF_ERROR(WriteSafetensors((fs::path(dir) / kSingleFile).string(), tensors, dtype));
    RemoveStale(dir, {kSingleFile});
    return Status::Ok();
  }
  // Greedy, in order, as transformers shards: a new shard when the next tensor would overflow
  // this one; a tensor larger than the limit gets a shard of its own.
  std::vector<NamedTensors> shards(1);
  uint64_t in_shard = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!shards.back().empty() && in_shard + sizes[i] > static_cast<uint64_t>(max_shard_bytes)) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(tensors[i]);
    in_shard += sizes[i];
  }
  ordered_json weight_map = ordered_json::object();
  std::map<std::string, std::string> sorted;  // transformers writes the weight map sorted by name
  std::set<std::string> keep = {kIndexFile};
  for (size_t s = 0; s < shards.size(); ++s) {
    std::string file = ShardName(s + 1, shards.size());
    SATURN_RETURN_IF_ERROR(WriteSafetensors((fs::path(dir) / file).string(), shards[s], dtype));
    keep.insert(file);
    for (const auto& [name, t] : shards[s]) sorted[name] = file;
  }
  for (const auto& [name, file] : sorted) weight_map[name] = file;
  ordered_json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = weight_map;
  SATURN_RETURN_IF_ERROR(WriteFileAtomic((fs::path(dir) / kIndexFile).string(), index.dump(2) + "\n"));
  RemoveStale(dir, keep);
  return Status::Ok();
}

}  // namespace saturn
