#include "util/heap.h"

#include <cstdlib>  // defines __GLIBC__ (through <features.h>) on glibc

#if defined(__GLIBC__)
#include <malloc.h>
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

}  // namespace saturn
