// Every MPI call goes through SATURN_MPI_CHECK: a failure returns a Status naming file:line, the
// call and MPI's own message (communicators are set to MPI_ERRORS_RETURN, so errors come back as
// codes instead of aborting). Included by the MPI backend files only.
#pragma once

#include <mpi.h>

#include <string>

#include "util/status.h"

namespace saturn {

inline Status MpiStatus(int rc, const char* file, int line, const char* call) {
  if (rc == MPI_SUCCESS) return Status::Ok();
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return Status::Internal(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + std::string(msg, size_t(len)));
}

}  // namespace saturn

#define SATURN_MPI_CHECK(call)                                                        \
  do {                                                                                \
    ::saturn::Status _mst = ::saturn::MpiStatus((call), __FILE__, __LINE__, #call);   \
    if (!_mst.ok()) return _mst;                                                      \
  } while (0)
