// The MPI backend of the control plane (Open MPI). CMake adds this file only with SATURN_USE_MPI.
#include <mpi.h>

#include <cstdint>

#include "comm/communicator.h"
#include "comm/mpi_check.h"

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
      // Tensor groups run their collectives on a thread of their own (overlap with compute)
      // while this thread keeps talking: that needs MPI_THREAD_MULTIPLE.
      SATURN_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &thread_level_));
    } else {
      SATURN_MPI_CHECK(MPI_Query_thread(&thread_level_));
    }
    SATURN_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    // The control plane talks on its own communicator, never mixing with tensor traffic.
    SATURN_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
    SATURN_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    SATURN_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    SATURN_MPI_CHECK(MPI_Comm_size(comm_, &size_));
    return Status::Ok();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "MPI"; }

  Result<std::vector<std::string>> AllGather(const std::string& bytes) override {
    std::vector<std::string> out;
    Status st = AllGatherInto(bytes, &out);
    if (!st.ok()) return st;
    return out;
  }

  Status Barrier() override {
    SATURN_MPI_CHECK(MPI_Barrier(comm_));
    return Status::Ok();
  }

 private:
  Status AllGatherInto(const std::string& bytes, std::vector<std::string>* out) {
    long long mine = (long long)bytes.size();
    std::vector<long long> sizes(size_t(size_), 0);
    SATURN_MPI_CHECK(MPI_Allgather(&mine, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, comm_));
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
                                    MPI_BYTE, comm_));
    out->assign(size_t(size_), std::string());
    for (int r = 0; r < size_; ++r) (*out)[size_t(r)] = all.substr(size_t(displs[size_t(r)]), size_t(counts[size_t(r)]));
    return Status::Ok();
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, thread_level_ = MPI_THREAD_SINGLE;
};

}  // namespace

std::unique_ptr<Communicator> MakeMpiCommunicator(Status* status) {
  auto c = std::make_unique<Mpi>();
  *status = c->Init();
  return c;
}

}  // namespace saturn
