// The MPI backend of tensor collectives, for CPU tensors. CMake adds this file only with
// SATURN_USE_MPI.
//
// Collectives run in issue order on one thread per group, as blocking MPI calls, so they make
// progress while the issuing thread computes (Open MPI's non-blocking collectives progress only
// inside MPI calls). Point-to-point operations are posted at once (MPI_Isend / MPI_Irecv on a
// communicator of their own) and completed in Wait. Both need MPI_THREAD_MULTIPLE; where the
// library gives less, every operation runs inside its call instead.
#include <mpi.h>

#include <ATen/ATen.h>

#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "comm/mpi_check.h"
#include "comm/process_group.h"

namespace saturn {
namespace {

// MPI's type for a dtype; half types have none (reductions upcast them, copies move bytes).
MPI_Datatype MpiType(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    case at::kBool: return MPI_C_BOOL;
    default: return MPI_DATATYPE_NULL;
  }
}

Status CheckTensor(const at::Tensor& t, const char* op) {
  if (!t.defined() || !t.is_cpu() || !t.is_contiguous())
    return Status::Internal(std::string("MPI process group: ") + op + " takes defined, contiguous CPU tensors "
                            "(CUDA tensors go through NCCL)");
  if (t.numel() > INT_MAX)
    return Status::Internal(std::string("MPI process group: ") + op + " of more than 2^31 elements; split the tensor");
  return Status::Ok();
}

// (buffer, count, type) for a plain copy: half types travel as pairs of bytes.
struct Buf {
  void* ptr;
  int count;
  MPI_Datatype type;
};
Buf Bytes(const at::Tensor& t) {
  MPI_Datatype type = MpiType(t.scalar_type());
  if (type != MPI_DATATYPE_NULL) return {t.data_ptr(), int(t.numel()), type};
  return {t.data_ptr(), int(t.numel() * int64_t(t.element_size())), MPI_BYTE};
}

class FutureWork : public Work {
 public:
  explicit FutureWork(std::future<Status> f) : f_(std::move(f)) {}
  Status Wait() override {
    if (!waited_) {
      status_ = f_.get();
      waited_ = true;
    }
    return status_;
  }

 private:
  std::future<Status> f_;
  bool waited_ = false;
  Status status_ = Status::Ok();
};

class RequestWork : public Work {
 public:
  RequestWork(MPI_Request r, at::Tensor keep) : req_(r), keep_(std::move(keep)) {}
  // Dropped unwaited (a step that failed half way): MPI must finish with the buffer first.
  ~RequestWork() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (req_ != MPI_REQUEST_NULL && !finalized) MPI_Wait(&req_, MPI_STATUS_IGNORE);
  }
  Status Wait() override {
    if (req_ != MPI_REQUEST_NULL) {
      int rc = MPI_Wait(&req_, MPI_STATUS_IGNORE);
      status_ = MpiStatus(rc, __FILE__, __LINE__, "MPI_Wait(point to point)");
    }
    return status_;
  }

 private:
  MPI_Request req_;
  at::Tensor keep_;
  Status status_ = Status::Ok();
};

class MpiGroup : public ProcessGroup {
 public:
  // Takes ownership of comm (a communicator this group alone uses).
  static Result<std::shared_ptr<ProcessGroup>> Make(MPI_Comm comm) {
    auto g = std::shared_ptr<MpiGroup>(new MpiGroup());
    g->comm_ = comm;
    SATURN_MPI_CHECK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
    SATURN_MPI_CHECK(MPI_Comm_rank(comm, &g->rank_));
    SATURN_MPI_CHECK(MPI_Comm_size(comm, &g->size_));
    SATURN_MPI_CHECK(MPI_Comm_dup(comm, &g->p2p_));
    int level = MPI_THREAD_SINGLE;
    SATURN_MPI_CHECK(MPI_Query_thread(&level));
    if (level == MPI_THREAD_MULTIPLE) g->worker_ = std::thread([p = g.get()] { p->Loop(); });
    return std::shared_ptr<ProcessGroup>(g);
  }

  ~MpiGroup() override {
    if (worker_.joinable()) {
      {
        std::lock_guard<std::mutex> l(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      worker_.join();
    }
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      MPI_Comm_free(&p2p_);
      MPI_Comm_free(&comm_);
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "MPI"; }

  WorkPtr AllReduce(const at::Tensor& t, ReduceOp op) override {
    Status st = CheckTensor(t, "AllReduce");
    if (!st.ok()) return DoneWork(st);
    return Enqueue([this, t, op]() -> Status {
      const MPI_Op mop = op == ReduceOp::kSum ? MPI_SUM : MPI_MAX;
      if (MpiType(t.scalar_type()) != MPI_DATATYPE_NULL) {
        SATURN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), int(t.numel()), MpiType(t.scalar_type()), mop, comm_));
        return Status::Ok();
      }
      at::Tensor f = t.to(at::kFloat);  // bf16 / fp16: reduce in float32, round once
      SATURN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, f.data_ptr(), int(f.numel()), MPI_FLOAT, mop, comm_));
      t.copy_(f);
      return Status::Ok();
    });
  }

  WorkPtr ReduceScatter(const at::Tensor& out, const at::Tensor& in) override {
    Status st = CheckTensor(out, "ReduceScatter");
    if (st.ok()) st = CheckTensor(in, "ReduceScatter");
    if (st.ok() && in.numel() != out.numel() * size_)
      st = Status::Internal("MPI process group: ReduceScatter input is not size() x output");
    if (!st.ok()) return DoneWork(st);
    return Enqueue([this, out, in]() -> Status {
      if (MpiType(in.scalar_type()) != MPI_DATATYPE_NULL) {
        SATURN_MPI_CHECK(MPI_Reduce_scatter_block(in.data_ptr(), out.data_ptr(), int(out.numel()),
                                                  MpiType(in.scalar_type()), MPI_SUM, comm_));
        return Status::Ok();
      }
      at::Tensor fi = in.to(at::kFloat), fo = at::empty({out.numel()}, fi.options());
      SATURN_MPI_CHECK(MPI_Reduce_scatter_block(fi.data_ptr(), fo.data_ptr(), int(fo.numel()), MPI_FLOAT, MPI_SUM, comm_));
      out.view({-1}).copy_(fo);
      return Status::Ok();
    });
  }

  WorkPtr AllGather(const at::Tensor& out, const at::Tensor& in) override {
    Status st = CheckTensor(out, "AllGather");
    if (st.ok()) st = CheckTensor(in, "AllGather");
    if (st.ok() && out.numel() != in.numel() * size_)
      st = Status::Internal("MPI process group: AllGather output is not size() x input");
    if (!st.ok()) return DoneWork(st);
    return Enqueue([this, out, in]() -> Status {
      Buf i = Bytes(in), o = Bytes(out);
      SATURN_MPI_CHECK(MPI_Allgather(i.ptr, i.count, i.type, o.ptr, i.count, o.type, comm_));
      return Status::Ok();
    });
  }

  WorkPtr Broadcast(const at::Tensor& t, int root) override {
    Status st = CheckTensor(t, "Broadcast");
    if (!st.ok()) return DoneWork(st);
    return Enqueue([this, t, root]() -> Status {
      Buf b = Bytes(t);
      SATURN_MPI_CHECK(MPI_Bcast(b.ptr, b.count, b.type, root, comm_));
      return Status::Ok();
    });
  }

  WorkPtr Send(const at::Tensor& t, int dst, int tag) override { return PointToPoint(t, dst, tag, true); }
  WorkPtr Recv(const at::Tensor& t, int src, int tag) override { return PointToPoint(t, src, tag, false); }

  Result<std::shared_ptr<ProcessGroup>> Split(int color) override {
    MPI_Comm sub = MPI_COMM_NULL;
    // Ordered with the other collectives of this group: through the queue.
    Status st = Enqueue([this, color, &sub]() -> Status {
      SATURN_MPI_CHECK(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, rank_, &sub));
      return Status::Ok();
    })->Wait();
    if (!st.ok()) return st;
    if (color < 0) return std::shared_ptr<ProcessGroup>();
    return Make(sub);
  }

 private:
  MpiGroup() = default;

  WorkPtr PointToPoint(const at::Tensor& t, int peer, int tag, bool send) {
    Status st = CheckTensor(t, send ? "Send" : "Recv");
    if (st.ok() && (peer < 0 || peer >= size_ || peer == rank_))
      st = Status::Internal("MPI process group: point to point with rank " + std::to_string(peer) + " of " +
                            std::to_string(size_) + " from rank " + std::to_string(rank_));
    if (!st.ok()) return DoneWork(st);
    Buf b = Bytes(t);
    MPI_Request req = MPI_REQUEST_NULL;
    int rc = send ? MPI_Isend(b.ptr, b.count, b.type, peer, tag, p2p_, &req)
                  : MPI_Irecv(b.ptr, b.count, b.type, peer, tag, p2p_, &req);
    if (rc != MPI_SUCCESS) return DoneWork(MpiStatus(rc, __FILE__, __LINE__, send ? "MPI_Isend" : "MPI_Irecv"));
    return std::make_shared<RequestWork>(req, t);
  }

  WorkPtr Enqueue(std::function<Status()> fn) {
    std::packaged_task<Status()> task(std::move(fn));
    auto work = std::make_shared<FutureWork>(task.get_future());
    if (!worker_.joinable()) {
      task();  // no MPI_THREAD_MULTIPLE: run here, in order
      return work;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return work;
  }

  void Loop() {
    for (;;) {
      std::packaged_task<Status()> task;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_, and nothing left to run
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL, p2p_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<Status()>> queue_;
  bool stop_ = false;
};

}  // namespace

// A group over every rank of MPI_COMM_WORLD (MPI initialized by the communicator).
Result<std::shared_ptr<ProcessGroup>> MakeMpiWorldGroup() {
  MPI_Comm comm = MPI_COMM_NULL;
  SATURN_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
  return MpiGroup::Make(comm);
}

}  // namespace saturn
