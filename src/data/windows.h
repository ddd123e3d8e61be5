// Training windows: a token range cut into windows of seq_len + 1 tokens (inputs and the targets
// shifted by one), window k starting at begin + k x seq_len, so neighbours share one token.
// Samples are drawn epoch by epoch, each epoch a permutation of the windows seeded by (seed,
// epoch). The n-th sample is a pure function of (range, seq_len, seed, n): a trainer's data
// position is just the count of samples it has drawn.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/token_file.h"

namespace saturn {

class WindowSampler {
 public:
  // Requires at least one window: end - begin >= seq_len + 1.
  WindowSampler(std::shared_ptr<const TokenFile> file, uint64_t begin, uint64_t end, int seq_len, uint64_t seed,
                bool shuffle = true);

  uint64_t windows() const { return windows_; }
  int seq_len() const { return seq_len_; }
  // First token of the window that sample n (counting from 0 over all epochs) reads.
  uint64_t start_of(uint64_t n) const;
  // Writes sample n's seq_len + 1 tokens to out.
  void fill(uint64_t n, int64_t* out) const;

 private:
  std::shared_ptr<const TokenFile> file_;
  uint64_t begin_, windows_;
  int seq_len_;
  uint64_t seed_;
  bool shuffle_;
  mutable int64_t epoch_ = -1;               // whose permutation order_ holds
  mutable std::vector<uint64_t> order_;
};

// The train and held-out token ranges of one job's data.
struct DataSplit {
  std::shared_ptr<const TokenFile> train, valid;
  uint64_t train_begin = 0, train_end = 0, valid_begin = 0, valid_end = 0;
};

// With no separate validation file, holds out the last `valid_fraction` of the train tokens
// (none when 0). A split too small for one window of seq_len + 1 tokens is a user error.
Result<DataSplit> SplitData(std::shared_ptr<const TokenFile> train, std::shared_ptr<const TokenFile> valid,
                            double valid_fraction, int seq_len);

}  // namespace saturn
