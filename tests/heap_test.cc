// The heap policy (util/heap.h) takes effect: a block above glibc's largest dynamic mmap
// threshold (32 MiB) comes from the heap instead of a fresh mapping. On other C libraries the
// policy is a no-op and there is nothing to check.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <catch2/catch.hpp>

#include "util/heap.h"

TEST_CASE("heap: after KeepLargeAllocationsInHeap, a 64 MiB block is not a fresh mapping", "[heap]") {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  saturn::KeepLargeAllocationsInHeap();
  const size_t mapped_before = mallinfo2().hblkhd;  // bytes in blocks that have their own mapping
  static void* volatile block;
  block = std::malloc(64u << 20);
  REQUIRE(block != nullptr);
  std::memset(block, 1, 4096);
  const size_t mapped_during = mallinfo2().hblkhd;
  std::free(block);
  CHECK(mapped_during == mapped_before);
#else
  SUCCEED("not glibc 2.33+: the policy is a no-op here");
#endif
}
