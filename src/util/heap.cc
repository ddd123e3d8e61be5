#include "util/heap.h"

#include <sys/resource.h>

#include <fstream>
#include <string>
#include <cstdlib>  // defines __GLIBC__ (through <features.h>) on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif
// Under a sanitizer (scripts/test.sh --sanitize, --tsan) malloc is the sanitizer's, and glibc's
// counters stay at zero: ask its allocator instead.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SATURN_SANITIZER_HEAP 1
#include <cstddef>
// The sanitizer runtimes export it (sanitizer/allocator_interface.h, which gcc does not ship).
extern "C" size_t __sanitizer_get_current_allocated_bytes(void);
#endif

namespace saturn {

void KeepLargeAllocationsInHeap() {
#if defined(__GLIBC__)
  // Setting either threshold also turns off glibc's dynamic threshold adjustment. A rejected
  // value leaves the default policy, which is slower but correct, so the results are not checked.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

unsigned long long HeapBytesInUse() {
#if defined(SATURN_SANITIZER_HEAP)
  return __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 m = mallinfo2();
  return (unsigned long long)m.uordblks + (unsigned long long)m.hblkhd;
#else
  return 0;
#endif
}

unsigned long long PeakResidentBytes() {
  struct rusage u {};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return (unsigned long long)u.ru_maxrss * 1024ull;  // Linux reports KiB
}

unsigned long long ProcStatusBytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = key + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size())) * 1024ull;  // "VmHWM:  1234 kB"
  return 0;
}

unsigned long long ResidentPeakSinceReset() { return ProcStatusBytes("VmHWM"); }

bool ResetResidentPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return bool(out);
}

}  // namespace saturn
