#include "util/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

extern char** environ;

namespace saturn {
namespace {

// This process's environment with `extra` ("NAME=VALUE") added, each replacing any variable of its
// name. Built before fork: the child may call nothing that allocates.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  auto name = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || name(x) == name(kv);
    if (!replaced) out.push_back(kv);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace

Result<Subprocess> Subprocess::Start(const std::vector<std::string>& argv, const std::string& log_path,
                                     int death_signal, const std::vector<std::string>& env) {
  if (argv.empty()) return Status::UserError("an empty command line");
  for (const auto& kv : env)
    assert(kv.find('=') != std::string::npos && kv[0] != '=' && "an environment entry is NAME=VALUE");
  const bool inherit = log_path.empty();
  int log = inherit ? -1 : ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0 && !inherit) return Status::UserError(log_path + ": cannot open for writing: " + std::strerror(errno));
  // A pipe closed on exec tells the parent whether exec worked, and errno if not.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    if (log >= 0) ::close(log);
    return Status::Internal(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> merged = env.empty() ? std::vector<std::string>{} : MergedEnvironment(env);
  std::vector<char*> envp;
  for (const auto& kv : merged) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    if (log >= 0) ::close(log);
    ::close(report[0]), ::close(report[1]);
    return Status::Internal(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {  // the child: only async-signal-safe calls until exec
    ::setpgid(0, 0);
    // Never outlive the parent (holding devices). Not SIGKILL: a killed srun would leave its job
    // step running. A parent that died before prctl took effect: act as if it had just now.
    ::prctl(PR_SET_PDEATHSIG, death_signal);
    if (::getppid() != parent) ::_exit(128 + death_signal);
    if (log >= 0) ::dup2(log, 1), ::dup2(log, 2);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    if (env.empty()) ::execvp(args[0], args.data());
    else ::execvpe(args[0], args.data(), envp.data());
    int e = errno;
    ssize_t ignored = ::write(report[1], &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before the parent might signal it
  if (log >= 0) ::close(log);
  ::close(report[1]);
  int e = 0;
  ssize_t n;
  do n = ::read(report[0], &e, sizeof e); while (n < 0 && errno == EINTR);
  ::close(report[0]);
  Subprocess p;
  p.pid_ = pid;
  if (n == sizeof e) {
    p.Poll();
    while (!p.done_) p.Poll();
    return Status::UserError(argv[0] + ": cannot run: " + std::strerror(e));
  }
  return p;
}

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this == &o) return *this;
  if (pid_ > 0 && !done_) Stop(0);
  pid_ = o.pid_, done_ = o.done_, code_ = o.code_, signal_ = o.signal_;
  o.pid_ = -1;
  o.done_ = true;
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !done_) Stop(0);
}

bool Subprocess::Poll() {
  if (done_ || pid_ <= 0) return true;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    done_ = true;
    ::kill(-pid_, SIGKILL);  // what the leader left behind in its group; the group id is not reused while any remain
    if (WIFEXITED(st)) code_ = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) signal_ = WTERMSIG(st), code_ = 128 + signal_;
  } else if (r < 0 && errno == ECHILD) {
    done_ = true, code_ = 255;
  }
  return done_;
}

void Subprocess::Terminate() {
  if (pid_ > 0 && !Poll()) ::kill(-pid_, SIGTERM);
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0 && !Poll()) ::kill(pid_, sig);
}

void Subprocess::Stop(double grace_seconds) {
  if (pid_ <= 0 || Poll()) return;
  ::kill(-pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_seconds);
  while (!Poll() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(-pid_, SIGKILL);
  while (!Poll()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

std::string ShellLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    if (!a.empty() && a.find_first_of(" \t\n'\"\\$`*?{}[]|&;<>()") == std::string::npos) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

}  // namespace saturn
