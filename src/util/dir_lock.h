// An exclusive lock on a directory for as long as the object lives: flock on DIR/.saturn.lock,
// which also records who holds it. Two saturn runs on one job (a --resume started while the
// first still trains) would overwrite each other's checkpoints; the second is refused, told
// which process holds the directory. The kernel drops the lock when the holder dies, however it
// dies, so a killed run never leaves a stale lock behind.
#pragma once

#include <memory>
#include <string>

#include "util/status.h"

namespace saturn {

class DirLock {
 public:
  // `what` and `doing` name the work in the refusal ("job 'tiny'" "being trained").
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir, const std::string& what,
                                                  const std::string& doing = "being trained");
  // Who holds the lock on `dir` now ("saturn pid 12 on node7"), or "" when nobody does.
  static std::string Holder(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace saturn
