// Token files and training windows.
#include <filesystem>
#include <fstream>
#include <set>

#include <catch2/catch.hpp>
#include <cstring>

#include "cli_util.h"
#include "data/token_file.h"
#include "data/windows.h"
#include "util/files.h"

namespace {

std::vector<uint32_t> Ramp(size_t n, uint32_t vocab) {
  std::vector<uint32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = uint32_t((i * 7919) % vocab);
  return t;
}

}  // namespace

TEST_CASE("token files round trip in both widths", "[data]") {
  TempDir d;
  for (uint32_t vocab : {50257u, 100000u}) {
    auto tokens = Ramp(10007, vocab);
    std::string path = d / ("t" + std::to_string(vocab) + ".tokens");
    REQUIRE(saturn::WriteTokenFile(path, tokens, vocab, vocab - 1, "gpt2").ok());
    REQUIRE(saturn::IsTokenFile(path));
    auto f = saturn::TokenFile::Open(path);
    REQUIRE(f.ok());
    CHECK((*f)->header().bytes_per_token == (vocab <= 65536 ? 2u : 4u));
    CHECK((*f)->header().tokenizer == "gpt2");
    CHECK((*f)->header().eot_id == vocab - 1);
    REQUIRE((*f)->size() == tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) REQUIRE((*f)->at(i) == tokens[i]);
    CHECK(std::filesystem::file_size(path) == saturn::kTokenHeaderBytes + tokens.size() * (vocab <= 65536 ? 2 : 4));
  }
}

TEST_CASE("damaged token files are user errors that name the file", "[data]") {
  TempDir d;
  std::string path = d / "a.tokens";
  REQUIRE(saturn::WriteTokenFile(path, Ramp(1000, 50257), 50257, 50256, "gpt2").ok());
  std::string bytes = *saturn::ReadFile(path);

  SECTION("truncated") {
    std::string cut = d.write("cut.tokens", bytes.substr(0, bytes.size() - 3));
    auto f = saturn::TokenFile::Open(cut);
    REQUIRE(!f.ok());
    CHECK(f.status().exit_code() == 2);
    CHECK_THAT(f.status().message(), Catch::Contains(cut) && Catch::Contains("truncated"));
  }
  SECTION("a flipped token") {
    std::string bad = bytes;
    bad[saturn::kTokenHeaderBytes + 501] ^= 0x01;
    auto f = saturn::TokenFile::Open(d.write("bad.tokens", bad));
    REQUIRE(!f.ok());
    CHECK_THAT(f.status().message(), Catch::Contains("checksum"));
  }
  // Both found by tests/fuzz/token_file_fuzz: the checks once sampled every 4099th id and
  // multiplied the header's count, which can wrap.
  auto put_u64 = [](std::string* b, size_t at, uint64_t v) { std::memcpy(&(*b)[at], &v, 8); };
  SECTION("an id past the vocabulary with a valid checksum") {
    std::string bad = bytes;
    const uint16_t big = 60000;
    std::memcpy(&bad[saturn::kTokenHeaderBytes + 2], &big, 2);  // token 1
    put_u64(&bad, 32, saturn::Fnv1a64(bad.data() + saturn::kTokenHeaderBytes, bad.size() - saturn::kTokenHeaderBytes));
    auto f = saturn::TokenFile::Open(d.write("big.tokens", bad));
    REQUIRE(!f.ok());
    CHECK(f.status().exit_code() == 2);
    CHECK_THAT(f.status().message(), Catch::Contains("token 1 is 60000, past the vocabulary of 50257"));
  }
  SECTION("a count whose byte size wraps") {
    std::string bad = bytes.substr(0, saturn::kTokenHeaderBytes);
    put_u64(&bad, 24, 1ull << 63);  // x 2 bytes wraps to 0
    put_u64(&bad, 32, saturn::Fnv1a64(nullptr, 0));
    auto f = saturn::TokenFile::Open(d.write("wrap.tokens", bad));
    REQUIRE(!f.ok());
    CHECK_THAT(f.status().message(), Catch::Contains("header says 9223372036854775808 tokens"));
  }
  SECTION("not a token file") {
    std::string text = d.write("text.txt", "just some text that is long enough to fill a whole header of bytes.....");
    CHECK(!saturn::IsTokenFile(text));
    auto f = saturn::TokenFile::Open(text);
    REQUIRE(!f.ok());
    CHECK_THAT(f.status().message(), Catch::Contains("not a token file"));
  }
  SECTION("missing") {
    auto f = saturn::TokenFile::Open(d / "none.tokens");
    REQUIRE(!f.ok());
    CHECK_THAT(f.status().message(), Catch::Contains("none.tokens"));
  }
}

TEST_CASE("windows: each epoch is a seeded permutation, a pure function of the sample index", "[data]") {
  TempDir d;
  std::string path = d / "w.tokens";
  const int seq = 16;
  REQUIRE(saturn::WriteTokenFile(path, Ramp(seq * 50 + 1, 50257), 50257, 50256, "gpt2").ok());
  auto f = *saturn::TokenFile::Open(path);
  saturn::WindowSampler a(f, 0, f->size(), seq, 7), b(f, 0, f->size(), seq, 7), c(f, 0, f->size(), seq, 8);
  REQUIRE(a.windows() == 50);
  std::set<uint64_t> epoch0, epoch1;
  std::vector<uint64_t> order0, order1;
  for (uint64_t n = 0; n < 50; ++n) epoch0.insert(a.start_of(n)), order0.push_back(a.start_of(n));
  for (uint64_t n = 50; n < 100; ++n) epoch1.insert(a.start_of(n)), order1.push_back(a.start_of(n));
  CHECK(epoch0.size() == 50);
  CHECK(epoch1 == epoch0);
  CHECK(order0 != order1);  // a new order each epoch
  for (uint64_t s : epoch0) CHECK(s % seq == 0);
  // Random access in any order gives the same samples (what resuming relies on).
  for (uint64_t n : {97u, 3u, 60u, 0u, 49u}) CHECK(b.start_of(n) == (n < 50 ? order0[n] : order1[n - 50]));
  bool differs = false;
  for (uint64_t n = 0; n < 50; ++n) differs |= c.start_of(n) != order0[n];
  CHECK(differs);
  std::vector<int64_t> w(seq + 1);
  a.fill(5, w.data());
  for (int i = 0; i <= seq; ++i) CHECK(uint32_t(w[i]) == f->at(a.start_of(5) + i));
}

TEST_CASE("splits hold out the tail, and refuse splits too small for a window", "[data]") {
  TempDir d;
  std::string path = d / "s.tokens";
  REQUIRE(saturn::WriteTokenFile(path, Ramp(1000, 50257), 50257, 50256, "gpt2").ok());
  auto f = *saturn::TokenFile::Open(path);
  auto s = saturn::SplitData(f, nullptr, 0.1, 32);
  REQUIRE(s.ok());
  CHECK(s->train_end == 900);
  CHECK(s->valid_begin == 900);
  CHECK(s->valid_end == 1000);
  auto none = saturn::SplitData(f, nullptr, 0.0, 32);
  REQUIRE(none.ok());
  CHECK(!none->valid);
  CHECK(none->train_end == 1000);
  auto small = saturn::SplitData(f, nullptr, 0.01, 32);
  REQUIRE(!small.ok());
  CHECK_THAT(small.status().message(), Catch::Contains("valid_fraction"));
  auto long_seq = saturn::SplitData(f, nullptr, 0.0, 1000);
  REQUIRE(!long_seq.ok());
  CHECK_THAT(long_seq.status().message(), Catch::Contains("seq_len"));
}
