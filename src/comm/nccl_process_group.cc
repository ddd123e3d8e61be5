// The NCCL backend of tensor collectives, for CUDA tensors. CMake adds this file only with
// SATURN_USE_NCCL. The unique id travels over the control communicator (MPI), as llm.c does.
//
// Streams: LibTorch computes on the legacy default stream unless told otherwise, and so does
// saturn. Collectives run on a stream of their own, after an event recorded on the default
// stream (their inputs are ready); Wait() makes the default stream wait for their end event, so
// compute overlaps communication until the result is needed. Sends and receives have a stream
// each, so that a send and a receive between the same two ranks (a pipeline's activations one
// way, gradients the other) cannot block each other.
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

class EventWork : public Work {
 public:
  EventWork(cudaEvent_t done, ncclComm_t comm) : done_(done), comm_(comm) {}
  ~EventWork() override { cudaEventDestroy(done_); }
  Status Wait() override {
    SATURN_CUDA_CHECK(cudaStreamWaitEvent(nullptr, done_, 0));
    ncclResult_t async = ncclSuccess;
    SATURN_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
    if (async != ncclSuccess) return Status::Internal(std::string("NCCL: ") + ncclGetErrorString(async));
    return Status::Ok();
  }

 private:
  cudaEvent_t done_;
  ncclComm_t comm_;
};

class NcclGroup : public ProcessGroup {
 public:
  static Result<std::shared_ptr<ProcessGroup>> Make(ncclComm_t comm, int device) {
    auto g = std::shared_ptr<NcclGroup>(new NcclGroup());
    g->comm_ = comm;
    g->device_ = device;
    SATURN_NCCL_CHECK(ncclCommUserRank(comm, &g->rank_));
    SATURN_NCCL_CHECK(ncclCommCount(comm, &g->size_));
    for (cudaStream_t* s : {&g->coll_, &g->send_, &g->recv_})
      SATURN_CUDA_CHECK(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking));
    return std::shared_ptr<ProcessGroup>(g);
  }
  ~NcclGroup() override {
    if (comm_) ncclCommDestroy(comm_);
    for (cudaStream_t s : {coll_, send_, recv_})
      if (s) cudaStreamDestroy(s);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "NCCL"; }

  WorkPtr AllReduce(const at::Tensor& t, ReduceOp op) override {
    return Launch(coll_, t, [&](ncclDataType_t type) {
      return ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, op == ReduceOp::kSum ? ncclSum : ncclMax,
                           comm_, coll_);
    });
  }
  WorkPtr ReduceScatter(const at::Tensor& out, const at::Tensor& in) override {
    if (in.numel() != out.numel() * size_) return DoneWork(Status::Internal("NCCL: ReduceScatter input is not size() x output"));
    return Launch(coll_, in, [&](ncclDataType_t type) {
      return ncclReduceScatter(in.data_ptr(), out.data_ptr(), size_t(out.numel()), type, ncclSum, comm_, coll_);
    });
  }
  WorkPtr AllGather(const at::Tensor& out, const at::Tensor& in) override {
    if (out.numel() != in.numel() * size_) return DoneWork(Status::Internal("NCCL: AllGather output is not size() x input"));
    return Launch(coll_, in, [&](ncclDataType_t type) {
      return ncclAllGather(in.data_ptr(), out.data_ptr(), size_t(in.numel()), type, comm_, coll_);
    });
  }
  WorkPtr Broadcast(const at::Tensor& t, int root) override {
    return Launch(coll_, t, [&](ncclDataType_t type) {
      return ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, root, comm_, coll_);
    });
  }
  // NCCL has no tags: messages between two ranks match in issue order, which is what callers
  // rely on anyway (the tag is checked by the other backends).
  WorkPtr Send(const at::Tensor& t, int dst, int /*tag*/) override {
    return Launch(send_, t, [&](ncclDataType_t type) { return ncclSend(t.data_ptr(), size_t(t.numel()), type, dst, comm_, send_); });
  }
  WorkPtr Recv(const at::Tensor& t, int src, int /*tag*/) override {
    return Launch(recv_, t, [&](ncclDataType_t type) { return ncclRecv(t.data_ptr(), size_t(t.numel()), type, src, comm_, recv_); });
  }

  Result<std::shared_ptr<ProcessGroup>> Split(int color) override {
    ncclComm_t sub = nullptr;
    SATURN_NCCL_CHECK(ncclCommSplit(comm_, color < 0 ? NCCL_SPLIT_NOCOLOR : color, rank_, &sub, nullptr));
    if (color < 0) return std::shared_ptr<ProcessGroup>();
    return Make(sub, device_);
  }

 private:
  NcclGroup() = default;

  template <typename F>
  WorkPtr Launch(cudaStream_t stream, const at::Tensor& t, F call) {
    Status st = Enqueue(stream, t, call);
    if (!st.ok()) return DoneWork(st);
    return std::make_shared<EventWork>(done_, comm_);
  }
  template <typename F>
  Status Enqueue(cudaStream_t stream, const at::Tensor& t, F call) {
    if (!t.is_cuda() || !t.is_contiguous())
      return Status::Internal("NCCL process group: takes contiguous CUDA tensors (CPU tensors go through MPI)");
    Result<ncclDataType_t> type = NcclType(t.scalar_type());
    if (!type.ok()) return type.status();
    cudaEvent_t ready = nullptr;
    SATURN_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    SATURN_CUDA_CHECK(cudaEventRecord(ready, nullptr));  // inputs written by the default stream
    SATURN_CUDA_CHECK(cudaStreamWaitEvent(stream, ready, 0));
    cudaEventDestroy(ready);
    SATURN_NCCL_CHECK(call(*type));
    SATURN_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    SATURN_CUDA_CHECK(cudaEventRecord(done_, stream));
    return Status::Ok();
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t coll_ = nullptr, send_ = nullptr, recv_ = nullptr;
  cudaEvent_t done_ = nullptr;  // the last launch's end event, handed to its Work
  int rank_ = 0, size_ = 1, device_ = 0;
};

}  // namespace

// Every rank of `control` joins one NCCL communicator on CUDA device `device`.
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
