#include "data/bpe.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

namespace saturn {

namespace {
// Words up to this many bytes use the simple algorithm (fast for short words); longer ones the
// heap, so that a megabyte without spaces does not take quadratic time.
constexpr size_t kQuadraticMax = 48;
}  // namespace

BpeMerges::BpeMerges() {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  keys_.assign(1024, kEmpty);
  values_.resize(1024);
  mask_ = 1023;
  shift_ = 64 - 10;
}

void BpeMerges::Grow() {
  std::vector<uint64_t> old_keys = std::move(keys_);
  std::vector<Merge> old_values = std::move(values_);
  keys_.assign(old_keys.size() * 2, kEmpty);
  values_.assign(old_keys.size() * 2, Merge{});
  mask_ = keys_.size() - 1;
  --shift_;
  for (size_t i = 0; i < old_keys.size(); ++i) {
    if (old_keys[i] == kEmpty) continue;
    size_t s = Slot(old_keys[i]);
    while (keys_[s] != kEmpty) s = (s + 1) & mask_;
    keys_[s] = old_keys[i];
    values_[s] = old_values[i];
  }
}

void BpeMerges::Add(int32_t left, int32_t right, int32_t merged) {
  if ((size_ + 1) * 2 > keys_.size()) Grow();
  uint64_t key = Key(left, right);
  size_t s = Slot(key);
  while (keys_[s] != kEmpty && keys_[s] != key) s = (s + 1) & mask_;
  if (keys_[s] == kEmpty) ++size_;
  keys_[s] = key;
  values_[s] = Merge{next_rank_++, merged};
  added_.emplace_back(key, merged);
}

void BpeMerges::Finish() {
  // The latest rank at which each token can be made; a merge must rank after those of its parts.
  std::unordered_map<int32_t, uint32_t> made_at;
  for (const auto& [key, merged] : added_) {
    const Merge* m = Find(int32_t(key >> 32), int32_t(uint32_t(key)));
    if (m->id != merged) continue;  // overridden by a later duplicate
    auto [it, fresh] = made_at.emplace(merged, m->rank);
    if (!fresh) it->second = std::max(it->second, m->rank);
  }
  heap_ok_ = true;
  for (const auto& [key, merged] : added_) {
    const Merge* m = Find(int32_t(key >> 32), int32_t(uint32_t(key)));
    for (int32_t part : {int32_t(key >> 32), int32_t(uint32_t(key))}) {
      auto it = made_at.find(part);
      if (it != made_at.end() && it->second >= m->rank) heap_ok_ = false;
    }
  }
  added_.clear();
  added_.shrink_to_fit();
}

void BpeMerges::EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
  size_t n = word.size();
  if (n <= kQuadraticMax || !heap_ok_) {
    // Merge in place at the end of *out: no allocation for the common short word.
    size_t base = out->size();
    out->resize(base + n);
    int32_t* s = out->data() + base;
    for (size_t i = 0; i < n; ++i) s[i] = byte_ids_[static_cast<unsigned char>(word[i])];
    out->resize(base + EncodeQuadratic(s, n));
    return;
  }
  std::vector<int32_t> syms(n);
  for (size_t i = 0; i < n; ++i) syms[i] = byte_ids_[static_cast<unsigned char>(word[i])];
  EncodeHeap(&syms);
  out->insert(out->end(), syms.begin(), syms.end());
}

// OpenAI's algorithm: take the lowest-ranked adjacent pair, merge every occurrence left to right.
// The pairs' merges are looked up once and kept in step with the symbols, so a word of n bytes
// costs O(n) look-ups and O(n^2) integer compares at worst.
size_t BpeMerges::EncodeQuadratic(int32_t* s, size_t n) const {
  if (n < 2) return n;
  uint32_t rank_buf[kQuadraticMax];
  int32_t made_buf[kQuadraticMax];
  std::vector<uint32_t> rank_vec;
  std::vector<int32_t> made_vec;
  if (n > kQuadraticMax) {  // only when the heap is not equivalent (see Finish)
    rank_vec.resize(n);
    made_vec.resize(n);
  }
  uint32_t* rank = n > kQuadraticMax ? rank_vec.data() : rank_buf;  // of the pair (s[i], s[i + 1])
  int32_t* made = n > kQuadraticMax ? made_vec.data() : made_buf;   // the merged id of that pair
  auto look = [&](size_t i) {
    const Merge* m = Find(s[i], s[i + 1]);
    rank[i] = m ? m->rank : UINT32_MAX;
    made[i] = m ? m->id : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) look(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (rank[i] < rank[best]) best = i;
    }
    if (rank[best] == UINT32_MAX) break;
    const int32_t a = s[best], b = s[best + 1], merged = made[best];
    size_t w = best;
    bool prev_new = false;
    for (size_t i = best; i < n;) {
      bool now_new = i + 1 < n && s[i] == a && s[i + 1] == b;
      size_t old = i;
      s[w] = now_new ? merged : s[i];
      i += now_new ? 2 : 1;
      if (w > 0) {
        if (now_new || prev_new) {
          look(w - 1);
        } else {
          rank[w - 1] = rank[old - 1];  // both were adjacent before: the same pair (old - 1 >= w - 1)
          made[w - 1] = made[old - 1];
        }
      }
      prev_new = now_new;
      ++w;
    }
    n = w;
  }
  return n;
}

// Hugging Face's algorithm: a heap of candidate merges ordered by (rank, position), symbols in a
// linked list; an entry whose pair has since changed is skipped.
void BpeMerges::EncodeHeap(std::vector<int32_t>* syms) const {
  std::vector<int32_t>& s = *syms;
  const int n = static_cast<int>(s.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Entry {
    uint32_t rank;
    int pos;
    int32_t left, right;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const Merge* m = Find(s[pos], s[next[pos]])) heap.push({m->rank, pos, s[pos], s[next[pos]]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    Entry e = heap.top();
    heap.pop();
    if (!alive[e.pos] || next[e.pos] < 0 || s[e.pos] != e.left || s[next[e.pos]] != e.right) continue;
    int r = next[e.pos];
    s[e.pos] = Find(e.left, e.right)->id;
    alive[r] = false;
    next[e.pos] = next[r];
    if (next[r] >= 0) prev[next[r]] = e.pos;
    push(prev[e.pos]);
    push(e.pos);
  }
  size_t w = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) s[w++] = s[i];
  s.resize(w);
}

}  // namespace saturn
