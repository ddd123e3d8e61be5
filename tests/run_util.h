// Helpers for tests that train with `saturn run`: the generated corpus and reading metrics.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace testutil {

using nlohmann::json;

// The generated corpus, made once per test process.
inline const std::string& Corpus() {
  static std::string path = [] {
    std::string p = "/tmp/saturn-test-synthetic-" + std::to_string(::getpid()) + ".txt";
    std::string cmd = "python3 " SATURN_SOURCE_DIR "/datasets/make_synthetic.py --mb 0.3 --out " + p + " >/dev/null";
    INFO("making the training corpus needs python3 (scripts/setup.sh installs it): " << cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
    return p;
  }();
  return path;
}

inline std::vector<json> Metrics(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

// (step, loss) of every training line, exactly as written.
inline std::vector<std::pair<long long, double>> Losses(const std::string& path) {
  std::vector<std::pair<long long, double>> out;
  for (const json& j : Metrics(path))
    if (j.contains("loss")) out.emplace_back(j["step"].get<long long>(), j["loss"].get<double>());
  return out;
}

inline size_t Lines(const std::string& path) {
  std::ifstream in(path);
  return size_t(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

}  // namespace testutil
