#include "run/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstring>
#include <sstream>

#include "util/files.h"

namespace saturn {

Result<Journal> Journal::Open(const std::string& path) {
  Journal j;
  j.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (j.fd_ < 0) return Status::UserError(path + ": cannot open the journal for writing: " + std::strerror(errno));
  j.path_ = path;
  // A line cut short by a crash would run into the next event: cut the file back to its last
  // whole line first.
  const off_t size = ::lseek(j.fd_, 0, SEEK_END);
  off_t keep = size;
  char c = 0;
  while (keep > 0 && ::pread(j.fd_, &c, 1, keep - 1) == 1 && c != '\n') --keep;
  if (keep != size && (::ftruncate(j.fd_, keep) != 0 || ::fsync(j.fd_) != 0))
    return Status::UserError(path + ": cannot cut the journal's torn last line: " + std::strerror(errno));
  return j;
}

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_, path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::Append(nlohmann::json event) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  event["time"] = std::round(now * 1000) / 1000;
  const std::string line = event.dump() + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::UserError(path_ + ": cannot write the journal: " + std::strerror(errno));
    done += size_t(n);
  }
  if (::fsync(fd_) != 0) return Status::UserError(path_ + ": cannot sync the journal: " + std::strerror(errno));
  return Status::Ok();
}

Result<std::vector<nlohmann::json>> ReadJournal(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<nlohmann::json> events;
  std::istringstream in(*text);
  std::string line;
  int number = 0;
  const bool ends_whole = text->empty() || text->back() == '\n';
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_object() && e.contains("event") && e["event"].is_string()) {
      events.push_back(std::move(e));
      continue;
    }
    if (!ends_whole && in.peek() == EOF) break;  // the line the orchestrator was writing when it died
    return Status::UserError(path + ":" + std::to_string(number) +
                             ": not a journal event (a JSON object with \"event\"); the journal is damaged: move it "
                             "away and pass --restart, or repair the line");
  }
  return events;
}

}  // namespace saturn
