// safetensors: the writer's bytes follow the format (8-byte length, space-padded JSON header,
// data in the given order), files round-trip bit-exactly, dtype conversion equals torch's,
// sharded directories round-trip, and every kind of corruption is a user error naming the file
// and, where there is one, the tensor.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "util/files.h"
#include "temp_dir.h"

// LibTorch pulls in glog, whose one-argument CHECK would shadow Catch's: include Catch last.
#undef CHECK
#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using namespace saturn;
namespace fs = std::filesystem;

namespace {


NamedTensors Sample() {
  torch::manual_seed(3);
  return {{"b.weight", torch::randn({3, 5})},
          {"a.bias", torch::randn({7})},
          {"scalar", torch::randn({})},
          {"empty", torch::randn({0, 4})},
          {"ids", torch::arange(6, torch::kInt64).view({2, 3})},
          {"big", torch::randn({64, 33})}};
}

std::string Bytes(const std::string& path) { return *ReadFile(path); }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A file written by hand: 8-byte little-endian header length, header, data.
std::string Handmade(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

std::string Floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(v.begin()), v.size() * sizeof(float));
}

std::string ReadError(const std::string& path) {
  auto r = ReadSafetensors(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 2);
  CHECK_THAT(r.status().message(), Contains(path));
  return r.status().message();
}

}  // namespace

TEST_CASE("safetensors: float32 round trip is bit-exact and the bytes follow the format", "[model]") {
  TempDir d;
  NamedTensors in = Sample();
  REQUIRE(WriteSafetensors(d / "m.safetensors", in, torch::kFloat32).ok());
  auto r = ReadSafetensors(d / "m.safetensors");
  REQUIRE(r.ok());
  REQUIRE(r->size() == in.size());
  for (const auto& [name, t] : in) {
    INFO(name);
    const torch::Tensor& got = r->at(name);
    CHECK(got.scalar_type() == t.scalar_type());
    CHECK(got.sizes() == t.sizes());
    CHECK(torch::equal(got, t));
  }
  std::string bytes = Bytes(d / "m.safetensors");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  std::string header = bytes.substr(8, n);
  CHECK(header.rfind("{\"__metadata__\":{\"format\":\"pt\"},\"b.weight\":", 0) == 0);  // given order
  auto j = nlohmann::json::parse(header);
  CHECK(j["b.weight"]["dtype"] == "F32");
  CHECK(j["b.weight"]["data_offsets"] == nlohmann::json({0, 60}));
  CHECK(j["ids"]["dtype"] == "I64");  // non-float tensors keep their dtype
  CHECK(bytes.size() == 8 + n + (15 + 7 + 1 + 0 + 64 * 33) * 4 + 6 * 8);
  // The first tensor's bytes follow the header.
  torch::Tensor first = in[0].second.contiguous();
  CHECK(std::memcmp(bytes.data() + 8 + n, first.data_ptr(), 60) == 0);
  // No temporary file is left behind.
  int files = 0;
  for (const auto& f : fs::directory_iterator(d.path)) files += !f.path().string().empty();
  CHECK(files == 1);
}

TEST_CASE("safetensors: bf16 and f16 conversion equals torch's", "[model]") {
  TempDir d;
  NamedTensors in = Sample();
  for (auto dtype : {torch::kBFloat16, torch::kFloat16}) {
    REQUIRE(WriteSafetensors(d / "h.safetensors", in, dtype).ok());
    auto r = ReadSafetensors(d / "h.safetensors");
    REQUIRE(r.ok());
    for (const auto& [name, t] : in) {
      INFO(name);
      torch::Tensor want = t.is_floating_point() ? t.to(dtype) : t;
      CHECK(r->at(name).scalar_type() == want.scalar_type());
      CHECK(torch::equal(r->at(name), want));
    }
    // Back to float32 and re-saved in float32: exact.
    NamedTensors back;
    for (const auto& [name, t] : in) back.emplace_back(name, r->at(name).to(torch::kFloat32));
    REQUIRE(WriteSafetensors(d / "f.safetensors", back, torch::kFloat32).ok());
    CHECK(torch::equal(ReadSafetensors(d / "f.safetensors")->at("big"), in[5].second.to(dtype).to(torch::kFloat32)));
  }
}

TEST_CASE("safetensors: reads files written by others, aligned or not", "[model]") {
  TempDir d;
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"BF16","shape":[1,1],"data_offsets":[8,10]}})";
  // 0x3FC0 is bfloat16 1.5.
  std::string data = Floats({1.5f, -2.0f}) + std::string("\xC0\x3F", 2);
  for (int pad = 0; pad < 4; ++pad) {  // pad 1..3 leave the data misaligned for float32
    INFO(pad);
    WriteBytes(d / "o.safetensors", Handmade(header + std::string(pad, ' '), data));
    auto r = ReadSafetensors(d / "o.safetensors");
    REQUIRE(r.ok());
    CHECK(r->at("x")[0].item<float>() == 1.5f);
    CHECK(r->at("x")[1].item<float>() == -2.0f);
    CHECK(r->at("y").scalar_type() == torch::kBFloat16);
    CHECK(r->at("y").item<float>() == 1.5f);
  }
  // Tensors read are writable (copy-on-write) and outlive nothing they need.
  torch::Tensor x;
  {
    auto r = ReadSafetensors(d / "o.safetensors");
    x = r->at("x");
  }
  x.add_(1);
  CHECK(x[0].item<float>() == 2.5f);
  CHECK(ReadSafetensors(d / "o.safetensors")->at("x")[0].item<float>() == 1.5f);
}

TEST_CASE("safetensors: sharded directories round-trip with an index", "[model]") {
  TempDir d;
  NamedTensors in = Sample();
  // In bf16: b.weight 30 bytes, a.bias 14, scalar 2, empty 0, ids (int64) 48, big 4224. Greedy
  // packing under 40 bytes: [b.weight] [a.bias scalar empty] [ids] [big].
  REQUIRE(WriteSafetensorsDir(d.path, in, torch::kBFloat16, 40).ok());
  CHECK_FALSE(fs::exists(d / "model.safetensors"));
  auto index = nlohmann::json::parse(Bytes(d / "model.safetensors.index.json"));
  CHECK(index["metadata"]["total_size"] == (15 + 7 + 1 + 64 * 33) * 2 + 6 * 8);
  CHECK(index["weight_map"]["b.weight"] == "model-00001-of-00004.safetensors");
  CHECK(index["weight_map"]["a.bias"] == "model-00002-of-00004.safetensors");
  CHECK(index["weight_map"]["empty"] == "model-00002-of-00004.safetensors");
  CHECK(index["weight_map"]["ids"] == "model-00003-of-00004.safetensors");
  CHECK(index["weight_map"]["big"] == "model-00004-of-00004.safetensors");
  std::map<std::string, std::string> sources;
  auto r = ReadSafetensorsDir(d.path, &sources);
  REQUIRE(r.ok());
  REQUIRE(r->size() == in.size());
  for (const auto& [name, t] : in) CHECK(torch::equal(r->at(name), t.is_floating_point() ? t.to(torch::kBFloat16) : t));
  CHECK(sources["big"] == d / index["weight_map"]["big"].get<std::string>());

  // Saving unsharded into the same directory replaces the shards and the index.
  REQUIRE(WriteSafetensorsDir(d.path, in, torch::kFloat32).ok());
  CHECK_FALSE(fs::exists(d / "model.safetensors.index.json"));
  CHECK_FALSE(fs::exists(d / "model-00001-of-00004.safetensors"));
  auto single = ReadSafetensorsDir(d.path);
  REQUIRE(single.ok());
  CHECK(torch::equal(single->at("big"), in[5].second));
}

TEST_CASE("safetensors: corrupt files are user errors naming the file and the tensor", "[model]") {
  TempDir d;
  const std::string p = d / "c.safetensors";
  NamedTensors in = {{"first", torch::ones({4})}, {"second", torch::ones({4})}};
  REQUIRE(WriteSafetensors(p, in, torch::kFloat32).ok());
  std::string good = Bytes(p);

  WriteBytes(p, good.substr(0, good.size() - 3));  // truncated inside "second"
  CHECK_THAT(ReadError(p), Contains("tensor 'second'") && Contains("truncated"));
  WriteBytes(p, good + "xx");
  CHECK_THAT(ReadError(p), Contains("2 bytes after the last tensor"));
  WriteBytes(p, good.substr(0, 5));
  CHECK_THAT(ReadError(p), Contains("shorter than the 8-byte header length"));
  WriteBytes(p, std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + good.substr(8));
  CHECK_THAT(ReadError(p), Contains("header length"));
  WriteBytes(p, Handmade("{\"a\": ", ""));
  CHECK_THAT(ReadError(p), Contains("not valid JSON"));

  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, int b, int e) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
           std::to_string(b) + "," + std::to_string(e) + "]}";
  };
  std::string data = Floats({1, 2, 3, 4});
  WriteBytes(p, Handmade("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[3]", 4, 16) + "}", data));
  CHECK_THAT(ReadError(p), Contains("tensor 'b'") && Contains("overlap tensor 'a'"));
  WriteBytes(p, Handmade("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[1]", 12, 16) + "}", data));
  CHECK_THAT(ReadError(p), Contains("tensor 'b'") && Contains("unused bytes"));
  WriteBytes(p, Handmade("{" + entry("a", "F32", "[3]", 0, 16) + "}", data));
  CHECK_THAT(ReadError(p), Contains("tensor 'a'") && Contains("needs 12"));
  WriteBytes(p, Handmade("{" + entry("a", "F8_E4M3", "[16]", 0, 16) + "}", data));
  CHECK_THAT(ReadError(p), Contains("tensor 'a'") && Contains("not supported"));
  WriteBytes(p, Handmade("{" + entry("a", "F32", "[-4]", 0, 16) + "}", data));
  CHECK_THAT(ReadError(p), Contains("tensor 'a'"));
  WriteBytes(p, Handmade("{" + entry("a", "F32", "[8]", 0, 32) + "}", data));
  CHECK_THAT(ReadError(p), Contains("tensor 'a'") && Contains("past the data section"));
  WriteBytes(p, Handmade("{\"__metadata__\": [1], " + entry("a", "F32", "[4]", 0, 16) + "}", data));
  CHECK_THAT(ReadError(p), Contains("__metadata__"));
  CHECK_THAT(ReadError(d / "missing.safetensors"), Contains("cannot open"));

  // Index problems name the index and the tensor.
  TempDir s;
  REQUIRE(WriteSafetensorsDir(s.path, in, torch::kFloat32, 16).ok());
  std::string index = Bytes(s / "model.safetensors.index.json");
  auto j = nlohmann::json::parse(index);
  j["weight_map"]["ghost"] = "model-00001-of-00002.safetensors";
  REQUIRE(WriteFileAtomic(s / "model.safetensors.index.json", j.dump()).ok());
  auto r = ReadSafetensorsDir(s.path);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Contains("model.safetensors.index.json") && Contains("tensor 'ghost'"));
  j["weight_map"].erase("ghost");
  j["weight_map"]["first"] = "../escape.safetensors";
  REQUIRE(WriteFileAtomic(s / "model.safetensors.index.json", j.dump()).ok());
  CHECK_THAT(ReadSafetensorsDir(s.path).status().message(), Contains("tensor 'first'"));
  fs::remove(s / "model.safetensors.index.json");
  CHECK_THAT(ReadSafetensorsDir(s.path).status().message(), Contains("no model.safetensors"));
}
