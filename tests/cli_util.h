// Helpers for tests that run the `saturn` binary as a user would.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "temp_dir.h"

namespace testutil {

struct Run {
  int code;
  std::string out;  // stdout and stderr together
};

// A shell command's exit code and its stdout and stderr together.
inline Run Shell(const std::string& command) {
  std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

inline Run Saturn(const std::string& args) { return Shell(std::string(SATURN_BINARY) + " " + args); }


}  // namespace testutil

using namespace testutil;  // NOLINT: test helpers
