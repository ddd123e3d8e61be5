// The NCCL backend of tensor collectives, for CUDA tensors. CMake adds this file only with
// SATURN_USE_NCCL. The unique id travels over the control communicator (MPI), as llm.c does.
//
// Streams: LibTorch computes on the legacy default stream unless told otherwise, and so does
// saturn. Operations run on a stream of their own, after an event recorded on the default
// stream (their inputs are ready); Wait() makes the default stream wait for their end event, so
// compute overlaps communication until the result is needed. A Work keeps its tensors alive
// until it is waited on or destroyed (the caching allocator must not hand their memory to the
// default stream while NCCL still reads or writes it); destroying an unwaited Work orders the
// default stream after it.
//
// Point to point: NCCL runs a communicator's operations in issue order, so a send that waits
// for a receive the peer issues later would block everything behind it (a 1F1B pipeline sends
// activations forward while the next stage sends gradients back). Sends and receives are
// therefore held back and launched together in one ncclGroupStart/End the moment anything needs
// them: a Wait on one of them, or the next collective. Within a group NCCL progresses them all
// at once, as torch's batch_isend_irecv does.
#include <ATen/ATen.h>
#include <nccl.h>

#include <cstring>

#include "comm/communicator.h"
#include "comm/cuda_check.h"
#include "comm/process_group.h"

#define SATURN_NCCL_CHECK(call)                                                                          \
  do {                                                                                                   \
    ncclResult_t _r = (call);                                                                            \
    if (_r != ncclSuccess)                                                                               \
      return ::saturn::Status::Internal(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #call \
                                        ": " + ncclGetErrorString(_r));                                  \
  } while (0)

namespace saturn {
namespace {

Result<ncclDataType_t> NcclType(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte: return ncclUint8;
    case at::kChar: return ncclInt8;
    case at::kBool: return ncclUint8;
    default: return Status::Internal(std::string("NCCL process group: no NCCL type for ") + c10::toString(t));
  }
}

Status CheckTensor(const at::Tensor& t) {
  if (!t.defined() || !t.is_cuda() || !t.is_contiguous())
    return Status::Internal("NCCL process group: takes contiguous CUDA tensors (CPU tensors go through MPI)");
  return NcclType(t.scalar_type()).status();
}

// An operation's end on the group's stream, and the tensors it uses.
struct Launched {
  cudaEvent_t done = nullptr;
  ncclComm_t comm = nullptr;
  std::vector<at::Tensor> keep;
  Status status = Status::Ok();
  ~Launched() {
    if (done) {
      cudaStreamWaitEvent(nullptr, done, 0);  // whatever reuses the memory comes after
      cudaEventDestroy(done);
    }
  }
  Status Wait() {
    if (!status.ok()) return status;
    SATURN_CUDA_CHECK(cudaStreamWaitEvent(nullptr, done, 0));
    ncclResult_t async = ncclSuccess;
    SATURN_NCCL_CHECK(ncclCommGetAsyncError(comm, &async));
    if (async != ncclSuccess) return Status::Internal(std::string("NCCL: ") + ncclGetErrorString(async));
    return Status::Ok();
  }
};

class LaunchedWork : public Work {
 public:
  explicit LaunchedWork(std::shared_ptr<Launched> l) : l_(std::move(l)) {}
  Status Wait() override { return l_->Wait(); }

 private:
  std::shared_ptr<Launched> l_;
};

class NcclGroup;

// Sends and receives held back until something needs them (see the top of the file).
struct P2pBatch {
  struct Op {
    bool send;
    at::Tensor t;
    int peer;
  };
  std::vector<Op> ops;
  std::shared_ptr<Launched> launched;  // set once launched
};

class P2pWork : public Work {
 public:
  P2pWork(NcclGroup* g, std::shared_ptr<P2pBatch> b) : g_(g), b_(std::move(b)) {}
  Status Wait() override;

 private:
  NcclGroup* g_;  // outlives its works: callers wait before they drop a group
  std::shared_ptr<P2pBatch> b_;
};

class NcclGroup : public ProcessGroup {
 public:
  static Result<std::shared_ptr<ProcessGroup>> Make(ncclComm_t comm, int device) {
    auto g = std::shared_ptr<NcclGroup>(new NcclGroup());
    g->comm_ = comm;
    g->device_ = device;
    SATURN_NCCL_CHECK(ncclCommUserRank(comm, &g->rank_));
    SATURN_NCCL_CHECK(ncclCommCount(comm, &g->size_));
    SATURN_CUDA_CHECK(cudaStreamCreateWithFlags(&g->stream_, cudaStreamNonBlocking));
    return std::shared_ptr<ProcessGroup>(g);
  }
  ~NcclGroup() override {
    (void)Flush();
    if (stream_) cudaStreamSynchronize(stream_);
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "NCCL"; }

  WorkPtr AllReduce(const at::Tensor& t, ReduceOp op) override {
    return Collective({t}, t.scalar_type(), [&](ncclDataType_t type) {
      return ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, op == ReduceOp::kSum ? ncclSum : ncclMax,
                           comm_, stream_);
    });
  }
  WorkPtr ReduceScatter(const at::Tensor& out, const at::Tensor& in) override {
    if (in.numel() != out.numel() * size_) return DoneWork(Status::Internal("NCCL: ReduceScatter input is not size() x output"));
    return Collective({out, in}, in.scalar_type(), [&](ncclDataType_t type) {
      return ncclReduceScatter(in.data_ptr(), out.data_ptr(), size_t(out.numel()), type, ncclSum, comm_, stream_);
    });
  }
  WorkPtr AllGather(const at::Tensor& out, const at::Tensor& in) override {
    if (out.numel() != in.numel() * size_) return DoneWork(Status::Internal("NCCL: AllGather output is not size() x input"));
    return Collective({out, in}, in.scalar_type(), [&](ncclDataType_t type) {
      return ncclAllGather(in.data_ptr(), out.data_ptr(), size_t(in.numel()), type, comm_, stream_);
    });
  }
  WorkPtr Broadcast(const at::Tensor& t, int root) override {
    return Collective({t}, t.scalar_type(), [&](ncclDataType_t type) {
      return ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, root, comm_, stream_);
    });
  }
  // NCCL has no tags: messages between two ranks match in issue order, which is what callers
  // rely on anyway (the other backends check the tag).
  WorkPtr Send(const at::Tensor& t, int dst, int /*tag*/) override { return PointToPoint(true, t, dst); }
  WorkPtr Recv(const at::Tensor& t, int src, int /*tag*/) override { return PointToPoint(false, t, src); }

  Result<std::shared_ptr<ProcessGroup>> Split(int color) override {
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 18, 0)
    SATURN_RETURN_IF_ERROR(Flush());
    ncclComm_t sub = nullptr;
    SATURN_NCCL_CHECK(ncclCommSplit(comm_, color < 0 ? NCCL_SPLIT_NOCOLOR : color, rank_, &sub, nullptr));
    if (color < 0) return std::shared_ptr<ProcessGroup>();
    return Make(sub, device_);
#else
    (void)color;
    return Status::UserError("NCCL sub-groups need NCCL 2.18 or newer (ncclCommSplit); this saturn was built "
                             "against " + std::to_string(NCCL_VERSION_CODE));
#endif
  }

  // Launches the held-back sends and receives as one group.
  Status Flush() {
    if (!batch_ || batch_->ops.empty()) return Status::Ok();
    std::shared_ptr<P2pBatch> b = std::move(batch_);
    batch_ = nullptr;
    auto l = std::make_shared<Launched>();
    l->comm = comm_;
    for (const auto& op : b->ops) l->keep.push_back(op.t);
    b->launched = l;
    l->status = Launch(l.get(), [&]() -> Status {
      SATURN_NCCL_CHECK(ncclGroupStart());
      for (const auto& op : b->ops) {
        ncclDataType_t type = *NcclType(op.t.scalar_type());
        ncclResult_t r = op.send ? ncclSend(op.t.data_ptr(), size_t(op.t.numel()), type, op.peer, comm_, stream_)
                                 : ncclRecv(op.t.data_ptr(), size_t(op.t.numel()), type, op.peer, comm_, stream_);
        if (r != ncclSuccess) {
          ncclGroupEnd();
          return Status::Internal(std::string(op.send ? "ncclSend: " : "ncclRecv: ") + ncclGetErrorString(r));
        }
      }
      SATURN_NCCL_CHECK(ncclGroupEnd());
      return Status::Ok();
    });
    return l->status;
  }

 private:
  NcclGroup() = default;

  WorkPtr PointToPoint(bool send, const at::Tensor& t, int peer) {
    Status st = CheckTensor(t);
    if (st.ok() && (peer < 0 || peer >= size_ || peer == rank_))
      st = Status::Internal("NCCL: point to point with rank " + std::to_string(peer) + " from rank " + std::to_string(rank_));
    if (!st.ok()) return DoneWork(st);
    if (!batch_) batch_ = std::make_shared<P2pBatch>();
    batch_->ops.push_back({send, t, peer});
    return std::make_shared<P2pWork>(this, batch_);
  }

  template <typename F>
  WorkPtr Collective(std::vector<at::Tensor> tensors, at::ScalarType dtype, F call) {
    for (const auto& t : tensors) {
      Status st = CheckTensor(t);
      if (!st.ok()) return DoneWork(st);
    }
    Status flushed = Flush();  // NCCL keeps issue order: sends and receives issued before go first
    if (!flushed.ok()) return DoneWork(flushed);
    auto l = std::make_shared<Launched>();
    l->comm = comm_;
    l->keep = std::move(tensors);
    ncclDataType_t type = *NcclType(dtype);
    l->status = Launch(l.get(), [&]() -> Status {
      SATURN_NCCL_CHECK(call(type));
      return Status::Ok();
    });
    return std::make_shared<LaunchedWork>(l);
  }

  // Orders the group's stream after the default stream, runs `enqueue` on it, records the end.
  template <typename F>
  Status Launch(Launched* l, F enqueue) {
    cudaEvent_t ready = nullptr;
    SATURN_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    cudaError_t e = cudaEventRecord(ready, nullptr);  // inputs written by the default stream
    if (e == cudaSuccess) e = cudaStreamWaitEvent(stream_, ready, 0);
    cudaEventDestroy(ready);
    SATURN_CUDA_CHECK(e);
    SATURN_RETURN_IF_ERROR(enqueue());
    SATURN_CUDA_CHECK(cudaEventCreateWithFlags(&l->done, cudaEventDisableTiming));
    SATURN_CUDA_CHECK(cudaEventRecord(l->done, stream_));
    return Status::Ok();
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::shared_ptr<P2pBatch> batch_;  // sends and receives not launched yet
  int rank_ = 0, size_ = 1, device_ = 0;
};

Status P2pWork::Wait() {
  if (!b_->launched) SATURN_RETURN_IF_ERROR(g_->Flush());
  return b_->launched->Wait();
}

}  // namespace

// Every rank of `control` joins one NCCL communicator on CUDA device `device` (this process's).
Result<std::shared_ptr<ProcessGroup>> MakeNcclGroup(Communicator& control, int device) {
  SATURN_CUDA_CHECK(cudaSetDevice(device));
  ncclUniqueId id;
  if (control.rank() == 0) SATURN_NCCL_CHECK(ncclGetUniqueId(&id));
  Result<std::string> bytes = Broadcast(control, std::string(reinterpret_cast<const char*>(&id), sizeof id), 0);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != sizeof id) return Status::Internal("NCCL: the unique id arrived with the wrong size");
  std::memcpy(&id, bytes->data(), sizeof id);
  ncclComm_t comm = nullptr;
  SATURN_NCCL_CHECK(ncclCommInitRank(&comm, control.size(), id, control.rank()));
  return NcclGroup::Make(comm, device);
}

}  // namespace saturn
