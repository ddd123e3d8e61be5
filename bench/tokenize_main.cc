// saturn_bench_tokenize: the C++ side of bench/tokenize.
//   saturn_bench_tokenize [--repeat N] [--dump DIR] SPEC FILE...
// For each FILE prints "name<TAB>bytes<TAB>tokens<TAB>first_s<TAB>best_s": the seconds of the
// first Encode of the whole file (cold word cache) and the best of N. --dump writes the ids to
// DIR/<file name>.ids, space-separated, for comparison with the reference encoder.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "util/files.h"

int main(int argc, char** argv) {
  int repeat = 3;
  std::string dump;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--dump" && i + 1 < argc)
      dump = argv[++i];
    else
      args.push_back(a);
  }
  if (args.size() < 2) {
    std::fprintf(stderr, "usage: saturn_bench_tokenize [--repeat N] [--dump DIR] SPEC FILE...\n");
    return 2;
  }
  auto tok = saturn::Tokenizer::Load(args[0]);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.status().message().c_str());
    return tok.status().exit_code();
  }
  for (size_t f = 1; f < args.size(); ++f) {
    auto text = saturn::ReadFile(args[f]);
    if (!text.ok()) {
      std::fprintf(stderr, "%s\n", text.status().message().c_str());
      return text.status().exit_code();
    }
    double first = 0, best = 1e30;
    std::vector<int32_t> ids;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      ids = (*tok)->Encode(*text);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r == 0) first = s;
      best = std::min(best, s);
    }
    std::string name = std::filesystem::path(args[f]).filename().string();
    std::printf("%s\t%zu\t%zu\t%.6f\t%.6f\n", name.c_str(), text->size(), ids.size(), first, best);
    std::fflush(stdout);
    if (!dump.empty()) {
      std::string out;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ' ';
        out += std::to_string(ids[i]);
      }
      out += '\n';
      auto st = saturn::WriteFileAtomic(dump + "/" + name + ".ids", out);
      if (!st.ok()) {
        std::fprintf(stderr, "%s\n", st.message().c_str());
        return st.exit_code();
      }
    }
  }
  return 0;
}
