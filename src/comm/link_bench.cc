#include "comm/link_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "util/bus_bandwidth.h"

namespace saturn {
namespace {

using Clock = std::chrono::steady_clock;

// Buffers of one collective at one size: `count` float32 elements in the whole buffer.
struct Buffers {
  torch::Tensor in, out;
};

Buffers Make(const std::string& c, int64_t count, int n, c10::Device dev) {
  auto f = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
  const int64_t chunk = count / n;
  if (c == "all_gather") return {torch::zeros({chunk}, f), torch::zeros({chunk * n}, f)};
  if (c == "reduce_scatter") return {torch::zeros({chunk * n}, f), torch::zeros({chunk}, f)};
  return {torch::zeros({count}, f), torch::zeros({count}, f)};  // all_reduce (in place), send_recv
}

// One operation on the buffers; waits for it (on CUDA, until the host sees it finished).
Status Run(ProcessGroup& g, const std::string& c, Buffers& b) {
  Status st = Status::Ok();
  if (c == "all_reduce") st = g.AllReduce(b.in)->Wait();
  else if (c == "all_gather") st = g.AllGather(b.out, b.in)->Wait();
  else if (c == "reduce_scatter") st = g.ReduceScatter(b.out, b.in)->Wait();
  else {  // a ring: every rank sends to the next and receives from the previous
    const int n = g.size(), r = g.rank();
    WorkPtr send = g.Send(b.in, (r + 1) % n, 7);
    WorkPtr recv = g.Recv(b.out, (r + n - 1) % n, 7);
    st = WaitAll({send, recv});
  }
  if (st.ok() && b.out.is_cuda()) (void)b.out[0].item<float>();  // the host waits for the device
  return st;
}

// Fills the inputs with rank-dependent values, runs once, and checks every element.
Status Check(ProcessGroup& g, const std::string& c, Buffers& b) {
  const int n = g.size(), r = g.rank();
  b.in.fill_(float(r + 1));
  b.out.fill_(-1.0f);
  SATURN_RETURN_IF_ERROR(Run(g, c, b));
  torch::Tensor got = c == "all_reduce" ? b.in : b.out, want;
  const float sum = float(n) * float(n + 1) / 2;
  if (c == "all_reduce" || c == "reduce_scatter") {
    want = torch::full_like(got, sum);
  } else if (c == "all_gather") {
    want = torch::arange(1, n + 1, got.options()).repeat_interleave(got.numel() / n);
  } else {
    want = torch::full_like(got, float((r + n - 1) % n + 1));
  }
  if (!torch::equal(got, want))
    return Status::Internal(c + " of " + std::to_string(got.numel()) + " floats on " + std::to_string(n) +
                            " ranks gave a wrong result on rank " + std::to_string(r));
  b.in.zero_();
  b.out.zero_();
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& LinkCollectives() {
  static const std::vector<std::string> kAll = {"all_reduce", "all_gather", "reduce_scatter", "send_recv"};
  return kAll;
}

Result<std::vector<LinkSample>> MeasureLinks(ProcessGroup& g, c10::Device dev, const LinkBenchOptions& opt) {
  const int n = g.size();
  if (n < 2) return Status::UserError("measuring links needs at least 2 ranks");
  std::vector<long long> sizes;
  for (long long s = std::max<long long>(opt.min_bytes, 4LL * n); s < opt.max_bytes; s *= 4) sizes.push_back(s);
  sizes.push_back(opt.max_bytes);
  std::vector<LinkSample> out;
  auto slowest = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat64).device(dev));
  for (const std::string& c : LinkCollectives()) {
    for (long long bytes : sizes) {
      const int64_t count = std::max<int64_t>(n, bytes / 4 / n * n);  // whole chunks of floats
      Buffers b = Make(c, count, n, dev);
      SATURN_RETURN_IF_ERROR(Check(g, c, b));
      for (int i = 0; i < opt.warmup; ++i) SATURN_RETURN_IF_ERROR(Run(g, c, b));
      SATURN_RETURN_IF_ERROR(g.AllReduce(slowest)->Wait());  // start together
      if (slowest.is_cuda()) (void)slowest.cpu();          // the host waits for it too
      const auto t0 = Clock::now();
      for (int i = 0; i < opt.iters; ++i) SATURN_RETURN_IF_ERROR(Run(g, c, b));
      slowest.fill_(std::chrono::duration<double>(Clock::now() - t0).count() / opt.iters);
      SATURN_RETURN_IF_ERROR(g.AllReduce(slowest, ReduceOp::kMax)->Wait());
      LinkSample s;
      s.collective = c;
      s.ranks = n;
      s.bytes = count * 4;
      s.seconds = slowest.cpu().item<double>();
      s.algbw = s.seconds > 0 ? double(s.bytes) / s.seconds : 0;
      s.busbw = s.algbw * BusFactor(c, n);
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace saturn
