// Status and Result<T>: how user errors travel up to main, which alone exits.
// A user error (bad file, bad flag) is a Status with a message that already names the place
// (file:line:column), what is wrong and what to do. Broken invariants assert instead.
// A failure with an empty message was reported by another rank of the same launch: main prints
// nothing for it and exits with its code.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace saturn {

class Status {
 public:
  static Status Ok() { return Status(); }
  // A mistake in what the user gave us: exit code 2.
  static Status UserError(std::string msg) { return Status(2, std::move(msg)); }
  // Something failed that the user did not cause (a solver, the file system): exit code 1.
  static Status Internal(std::string msg) { return Status(1, std::move(msg)); }
  // Stopped on request by signal `sig` (after saving what can be resumed): exit code 128 + sig,
  // as a shell reports a process the signal ended, so batch scripts can tell (and requeue).
  static Status Stopped(int sig, std::string msg) { return Status(128 + sig, std::move(msg)); }
  // The same failure with another message (a rank's label added, a message carried between
  // ranks); code 0 is Ok.
  static Status FromCode(int code, std::string msg) { return code == 0 ? Status() : Status(code, std::move(msg)); }

  bool ok() const { return code_ == 0; }
  int exit_code() const { return code_; }
  const std::string& message() const { return msg_; }

 private:
  Status() = default;
  Status(int code, std::string msg) : code_(code), msg_(std::move(msg)) {}
  int code_ = 0;
  std::string msg_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)), status_(Status::Ok()) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { assert(ok()); return *value_; }
  const T& value() const { assert(ok()); return *value_; }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace saturn

// Propagate a failed Status (or the status of a failed Result) to the caller.
#define SATURN_RETURN_IF_ERROR(expr)              \
  do {                                            \
    auto _st = (expr);                            \
    if (!_st.ok()) return ::saturn::Status(_st);  \
  } while (0)
