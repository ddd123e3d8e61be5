#include "util/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace saturn {

namespace {

// The note the holder wrote in the lock file.
std::string Note(int fd) {
  char holder[256] = {0};
  ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
  std::string who = n > 0 ? std::string(holder, size_t(n)) : std::string("another process");
  while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
  return who;
}

}  // namespace

std::string DirLock::Holder(const std::string& dir) {
  int fd = ::open((dir + "/.saturn.lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string who;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) who = Note(fd);
  else ::flock(fd, LOCK_UN);
  ::close(fd);
  return who;
}

Result<std::unique_ptr<DirLock>> DirLock::Acquire(const std::string& dir, const std::string& what,
                                                  const std::string& doing) {
  const std::string path = dir + "/.saturn.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::UserError(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string who = Note(fd);
    ::close(fd);
    return Status::UserError(dir + ": " + what + " is " + doing + " by " + who + " (it holds " + path +
                             "); wait for it to finish, or stop it, before running it again");
  }
  char host[128] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string me = "saturn pid " + std::to_string(::getpid()) + " on " + host + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != ssize_t(me.size())) {
    // The lock holds without the note; only the message to a second run is poorer.
  }
  return std::unique_ptr<DirLock>(new DirLock(fd));
}

DirLock::~DirLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace saturn
