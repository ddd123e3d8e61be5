#include "data/windows.h"

#include <cassert>

#include "util/splitmix64.h"

namespace saturn {
namespace {

// Uniform in [0, n) without modulo bias, rejecting draws at the top of the range. (Not
// SplitMix64::Below, which rejects at the bottom: the windows' order predates it and stays.)
uint64_t Below(uint64_t n, SplitMix64* gen) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    uint64_t r = gen->Next();
    if (r < limit) return r % n;
  }
}

}  // namespace

WindowSampler::WindowSampler(std::shared_ptr<const TokenFile> file, uint64_t begin, uint64_t end, int seq_len,
                             uint64_t seed, bool shuffle)
    : file_(std::move(file)), begin_(begin), seq_len_(seq_len), seed_(seed), shuffle_(shuffle) {
  assert(end >= begin + uint64_t(seq_len) + 1 && end <= file_->size());
  windows_ = (end - begin - 1) / uint64_t(seq_len);
}

uint64_t WindowSampler::start_of(uint64_t n) const {
  const int64_t epoch = int64_t(n / windows_);
  const uint64_t k = n % windows_;
  if (!shuffle_) return begin_ + k * uint64_t(seq_len_);
  if (epoch != epoch_) {
    order_.resize(windows_);
    for (uint64_t i = 0; i < windows_; ++i) order_[i] = i;
    SplitMix64 gen(seed_ * 0x9e3779b97f4a7c15ull ^ (uint64_t(epoch) + 1) * 0xd1b54a32d192ed03ull);
    for (uint64_t i = windows_ - 1; i > 0; --i) std::swap(order_[i], order_[Below(i + 1, &gen)]);
    epoch_ = epoch;
  }
  return begin_ + order_[k] * uint64_t(seq_len_);
}

void WindowSampler::fill(uint64_t n, int64_t* out) const {
  const uint64_t s = start_of(n);
  for (int i = 0; i <= seq_len_; ++i) out[i] = int64_t(file_->at(s + uint64_t(i)));
}

Result<DataSplit> SplitData(std::shared_ptr<const TokenFile> train, std::shared_ptr<const TokenFile> valid,
                            double valid_fraction, int seq_len) {
  DataSplit d;
  const uint64_t need = uint64_t(seq_len) + 1;
  d.train = train;
  d.train_end = train->size();
  if (valid) {
    d.valid = valid;
    d.valid_end = valid->size();
  } else if (valid_fraction > 0) {
    const uint64_t held = uint64_t(double(train->size()) * valid_fraction);
    d.valid = train;
    d.valid_begin = train->size() - held;
    d.valid_end = train->size();
    d.train_end = d.valid_begin;
  }
  if (d.train_end - d.train_begin < need)
    return Status::UserError(train->path() + ": " + std::to_string(d.train_end - d.train_begin) +
                             " training tokens, fewer than one window of seq_len + 1 = " + std::to_string(need) +
                             "; give more text or a shorter seq_len");
  if (d.valid && d.valid_end - d.valid_begin < need)
    return Status::UserError(d.valid->path() + ": " + std::to_string(d.valid_end - d.valid_begin) +
                             " validation tokens, fewer than one window of seq_len + 1 = " + std::to_string(need) +
                             (valid ? "; give a longer validation file" : "; raise data.valid_fraction or set it to 0"));
  return d;
}

}  // namespace saturn
