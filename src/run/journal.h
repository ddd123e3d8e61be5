// The orchestrator's journal: append-only JSON lines in the sweep's output directory, each event
// flushed and fsynced before the orchestrator acts on it, so that after a crash (SIGKILL, a node
// reboot) `saturn run --plan ... --resume` knows which jobs finished. Events: docs/run.md.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace saturn {

class Journal {
 public:
  // Opens `path` for appending, creating it.
  static Result<Journal> Open(const std::string& path);
  Journal() = default;
  Journal(Journal&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  Journal& operator=(Journal&& o) noexcept;
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes `event` with "time" (seconds since the Unix epoch) added, as one line, durably.
  Status Append(nlohmann::json event);
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Every event of the journal at `path`, in order. A last line cut short (the orchestrator died
// writing it) is dropped; any other line that is not a JSON object is an error naming file:line.
Result<std::vector<nlohmann::json>> ReadJournal(const std::string& path);

}  // namespace saturn
