#include "util/threads.h"

#include <string>
#include <thread>

namespace saturn {

Status CheckThreadCount(int threads) {
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  if (threads < 0 || threads > 4 * cores)
    return Status::UserError("--threads " + std::to_string(threads) + ": expected 0 (the default) or 1 to " +
                             std::to_string(4 * cores) + " (4 x this machine's " + std::to_string(cores) + " cores)");
  return Status::Ok();
}

}  // namespace saturn
