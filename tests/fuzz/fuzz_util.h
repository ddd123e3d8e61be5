// Shared by the libFuzzer targets: the contract each target checks beyond "no crash" is that a
// parser either succeeds or returns a user error (exit code 2) with a message naming the input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "util/status.h"

namespace saturn::fuzz {

// A failure a target found: printed, then abort() so that libFuzzer records the input.
[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz contract violated: %s\n", what.c_str());
  std::abort();
}

// A parser's error must be a user error that names the file it was given (or, for a reader of
// two files, `other`).
inline void CheckUserError(const Status& s, const std::string& name, const std::string& other = "") {
  if (s.ok()) return;
  if (s.exit_code() != 2) Fail("exit code " + std::to_string(s.exit_code()) + " for: " + s.message());
  if (s.message().find(name) == std::string::npos && (other.empty() || s.message().find(other) == std::string::npos))
    Fail("message does not name " + name + ": " + s.message());
}

// For readers that take a path: the input written to a file of this process's own.
inline std::string WriteInput(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = "/tmp/saturn-fuzz-" + std::to_string(::getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) Fail("cannot write " + path);
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace saturn::fuzz
