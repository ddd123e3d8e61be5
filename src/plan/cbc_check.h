// CBC's C interface reports failures by status, not errors; this turns the ones we rely on into
// invariant checks that name the call site.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SATURN_CBC_CHECK(cond, what)                                                   \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: CBC: %s failed\n", __FILE__, __LINE__, (what));     \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
