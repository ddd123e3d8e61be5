// The MPI backend (Open MPI), compiled only when CMake found MPI.
#ifdef SATURN_MPI

#include <mpi.h>

#include <cstdint>
#include <cstdio>

#include "comm/communicator.h"

// Every MPI call goes through this: a failure reports file:line and MPI's own message.
#define SATURN_MPI_CHECK(call)                                                                   \
  do {                                                                                           \
    int _rc = (call);                                                                            \
    if (_rc != MPI_SUCCESS) {                                                                    \
      char _msg[MPI_MAX_ERROR_STRING];                                                           \
      int _len = 0;                                                                              \
      MPI_Error_string(_rc, _msg, &_len);                                                        \
      return ::saturn::Status::Internal(std::string(__FILE__) + ":" + std::to_string(__LINE__) + \
                                        ": " #call ": " + std::string(_msg, size_t(_len)));      \
    }                                                                                            \
  } while (0)

namespace saturn {
namespace {

class Mpi : public Communicator {
 public:
  ~Mpi() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  Status Init() {
    int initialized = 0;
    SATURN_MPI_CHECK(MPI_Initialized(&initialized));
    if (!initialized) {
      int provided = 0;
      SATURN_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    }
    // Errors come back as codes for SATURN_MPI_CHECK instead of aborting the job.
    SATURN_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    SATURN_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    SATURN_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
    return Status::Ok();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "MPI"; }

  Result<std::vector<std::string>> AllGather(const std::string& bytes) override {
    Status st = AllGatherInto(bytes);
    if (!st.ok()) return st;
    return std::move(gathered_);
  }

  Status Barrier() override {
    SATURN_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    return Status::Ok();
  }

 private:
  Status AllGatherInto(const std::string& bytes) {
    long long mine = (long long)bytes.size();
    std::vector<long long> sizes(size_t(size_), 0);
    SATURN_MPI_CHECK(MPI_Allgather(&mine, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, MPI_COMM_WORLD));
    std::vector<int> counts(size_t(size_), 0), displs(size_t(size_), 0);
    long long total = 0;
    for (int r = 0; r < size_; ++r) {
      if (sizes[size_t(r)] > INT32_MAX || total > INT32_MAX)
        return Status::Internal("AllGather: more than 2 GiB in one call; split the data");
      counts[size_t(r)] = int(sizes[size_t(r)]);
      displs[size_t(r)] = int(total);
      total += sizes[size_t(r)];
    }
    std::string all(size_t(total), '\0');
    SATURN_MPI_CHECK(MPI_Allgatherv(bytes.data(), int(mine), MPI_BYTE, &all[0], counts.data(), displs.data(),
                                    MPI_BYTE, MPI_COMM_WORLD));
    gathered_.assign(size_t(size_), std::string());
    for (int r = 0; r < size_; ++r) gathered_[size_t(r)] = all.substr(size_t(displs[size_t(r)]), size_t(counts[size_t(r)]));
    return Status::Ok();
  }

  int rank_ = 0, size_ = 1;
  std::vector<std::string> gathered_;
};

}  // namespace

std::unique_ptr<Communicator> MakeMpiCommunicator(Status* status) {
  auto c = std::make_unique<Mpi>();
  *status = c->Init();
  return c;
}

}  // namespace saturn

#endif  // SATURN_MPI
