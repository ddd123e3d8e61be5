// Tensor collectives, checked on the in-process thread backend for 1 to 4 ranks and, under
// mpirun (tests/CMakeLists.txt runs "[comm]" with 3 ranks), on the MPI backend across real
// processes: the same checks run on each.
#include <chrono>
#include <cstdlib>
#include <thread>

#include <torch/torch.h>

#include "comm/link_bench.h"
#include "comm/registry.h"
#include "comm/thread_group.h"

#undef CHECK
#include <catch2/catch.hpp>

namespace {

using saturn::ProcessGroup;

// Values no two ranks share, so a wrong chunk or order shows: rank r, element i -> 1000 r + i.
torch::Tensor Pattern(int rank, int64_t n, torch::ScalarType t = torch::kFloat32) {
  return (torch::arange(n, torch::kFloat64) + 1000.0 * rank).to(t);
}

// Every collective on one group; returns failures as text (checked by the caller, on any thread).
std::string Exercise(ProcessGroup& g) {
  const int r = g.rank(), k = g.size();
  std::string bad;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) bad += what + "; ";
  };
  {  // AllReduce sum and max, float32 and float64, and bf16 (upcast on MPI)
    torch::Tensor t = Pattern(r, 37);
    expect(g.AllReduce(t)->Wait().ok(), "allreduce wait");
    torch::Tensor want = torch::zeros({37}, torch::kFloat64);
    for (int q = 0; q < k; ++q) want += Pattern(q, 37, torch::kFloat64);
    expect(torch::allclose(t.to(torch::kFloat64), want), "allreduce sum");
    torch::Tensor m = Pattern(r, 5, torch::kFloat64);
    expect(g.AllReduce(m, saturn::ReduceOp::kMax)->Wait().ok(), "allreduce max wait");
    expect(torch::equal(m, Pattern(k - 1, 5, torch::kFloat64)), "allreduce max");
    torch::Tensor h = torch::full({8}, double(r + 1), torch::kBFloat16);
    expect(g.AllReduce(h)->Wait().ok(), "allreduce bf16 wait");
    expect(h[0].item<double>() == k * (k + 1) / 2, "allreduce bf16");
  }
  {  // ReduceScatter: chunk r of the sum
    const int64_t n = 6;
    torch::Tensor in = Pattern(r, n * k), out = torch::empty({n});
    expect(g.ReduceScatter(out, in)->Wait().ok(), "reducescatter wait");
    torch::Tensor sum = torch::zeros({n * k});
    for (int q = 0; q < k; ++q) sum += Pattern(q, n * k);
    expect(torch::allclose(out, sum.narrow(0, r * n, n)), "reducescatter");
  }
  {  // AllGather: rank order, ranks' sizes equal
    torch::Tensor in = Pattern(r, 4), out = torch::empty({4 * k});
    expect(g.AllGather(out, in)->Wait().ok(), "allgather wait");
    for (int q = 0; q < k; ++q) expect(torch::equal(out.narrow(0, 4 * q, 4), Pattern(q, 4)), "allgather chunk");
  }
  {  // Broadcast from the last rank, int64
    torch::Tensor t = torch::full({3}, int64_t(r), torch::kInt64);
    expect(g.Broadcast(t, k - 1)->Wait().ok(), "broadcast wait");
    expect(torch::equal(t, torch::full({3}, int64_t(k - 1), torch::kInt64)), "broadcast");
  }
  if (k > 1) {  // A ring both ways, both sides issued before either waits (as a pipeline does)
    const int next = (r + 1) % k, prev = (r + k - 1) % k;
    torch::Tensor from_prev = torch::empty({9}), from_next = torch::empty({9});
    auto s1 = g.Send(Pattern(r, 9), next, 7), s2 = g.Send(Pattern(r, 9) * -1, prev, 8);
    auto r1 = g.Recv(from_prev, prev, 7), r2 = g.Recv(from_next, next, 8);
    expect(saturn::WaitAll({s1, s2, r1, r2}).ok(), "ring wait");
    expect(torch::equal(from_prev, Pattern(prev, 9)), "ring forward");
    expect(torch::equal(from_next, Pattern(next, 9) * -1), "ring backward");
  }
  {  // Split: even and odd ranks, each a group of its own, ordered by rank
    auto sub = g.Split(r % 2);
    expect(sub.ok() && *sub != nullptr, "split");
    if (sub.ok() && *sub) {
      ProcessGroup& s = **sub;
      expect(s.size() == (k - r % 2 + 1) / 2 && s.rank() == r / 2, "split rank and size");
      torch::Tensor t = torch::full({1}, double(r));
      expect(s.AllReduce(t)->Wait().ok(), "split allreduce wait");
      double want = 0;
      for (int q = r % 2; q < k; q += 2) want += q;
      expect(t.item<double>() == want, "split allreduce");
    }
    auto none = g.Split(r == 0 ? -1 : 1);
    expect(none.ok() && ((r == 0) == (*none == nullptr)), "split out");
  }
  return bad;
}

}  // namespace

TEST_CASE("thread groups: every collective for 1 to 4 ranks", "[pg]") {
  for (int k = 1; k <= 4; ++k) {
    auto groups = saturn::MakeThreadGroups(k, 30);
    std::vector<std::string> bad(static_cast<size_t>(k));
    std::vector<std::thread> threads;
    for (int r = 0; r < k; ++r) threads.emplace_back([&, r] { bad[size_t(r)] = Exercise(*groups[size_t(r)]); });
    for (auto& t : threads) t.join();
    for (int r = 0; r < k; ++r) {
      INFO("ranks " << k << ", rank " << r);
      REQUIRE(bad[size_t(r)].empty());
    }
  }
}

TEST_CASE("thread groups: a rank that waits alone times out with an error", "[pg]") {
  auto groups = saturn::MakeThreadGroups(2, 0.2);
  torch::Tensor t = torch::ones({2});
  saturn::Status st = groups[0]->AllReduce(t)->Wait();
  REQUIRE(!st.ok());
  REQUIRE_THAT(st.message(), Catch::Contains("waited") && Catch::Contains("AllReduce"));
  torch::Tensor in = torch::empty({2});
  st = groups[1]->Recv(in, 0, 3)->Wait();
  REQUIRE(!st.ok());
  REQUIRE_THAT(st.message(), Catch::Contains("from rank 0"));
}

TEST_CASE("world tensor group: every collective across the launched ranks", "[comm]") {
  auto world = saturn::GetWorld();
  REQUIRE(world.ok());
  saturn::ProcessGroup& g = *(*world)->cpu;
  REQUIRE(g.size() == (*world)->size());
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) REQUIRE(g.backend() == "MPI");
  REQUIRE(Exercise(g).empty());
}

TEST_CASE("thread groups: ranks that disagree on a shape all get the error, at once", "[pg]") {
  auto groups = saturn::MakeThreadGroups(2, 30);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      torch::Tensor in = torch::ones({3 + r}), out = torch::empty({2 * (3 + r)});
      errors[size_t(r)] = groups[size_t(r)]->AllGather(out, in)->Wait().message();
    });
  }
  auto t0 = std::chrono::steady_clock::now();
  for (auto& t : threads) t.join();
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));  // not the 30 s timeout
  for (const auto& e : errors) REQUIRE_THAT(e, Catch::Contains("AllGather #0"));
}

namespace {

// Delegates to a real group, but every all-reduce comes back off by one: what the link
// measurement's result check must catch.
class OffByOne : public saturn::ProcessGroup {
 public:
  explicit OffByOne(std::shared_ptr<saturn::ProcessGroup> g) : g_(std::move(g)) {}
  int rank() const override { return g_->rank(); }
  int size() const override { return g_->size(); }
  std::string backend() const override { return "off-by-one"; }
  saturn::WorkPtr AllReduce(const at::Tensor& t, saturn::ReduceOp op) override {
    saturn::Status st = g_->AllReduce(t, op)->Wait();
    if (t.scalar_type() == at::kFloat) t.add_(1);
    return saturn::DoneWork(st);
  }
  saturn::WorkPtr ReduceScatter(const at::Tensor& o, const at::Tensor& i) override { return g_->ReduceScatter(o, i); }
  saturn::WorkPtr AllGather(const at::Tensor& o, const at::Tensor& i) override { return g_->AllGather(o, i); }
  saturn::WorkPtr Broadcast(const at::Tensor& t, int root) override { return g_->Broadcast(t, root); }
  saturn::WorkPtr Send(const at::Tensor& t, int dst, int tag) override { return g_->Send(t, dst, tag); }
  saturn::WorkPtr Recv(const at::Tensor& t, int src, int tag) override { return g_->Recv(t, src, tag); }
  saturn::Result<std::shared_ptr<saturn::ProcessGroup>> Split(int color) override { return g_->Split(color); }

 private:
  std::shared_ptr<saturn::ProcessGroup> g_;
};

}  // namespace

TEST_CASE("link measurements: every collective and size, checked, the same on every rank / a wrong result is caught",
          "[pg]") {
  saturn::LinkBenchOptions opt;
  opt.min_bytes = 64;
  opt.max_bytes = 4096;
  opt.warmup = 1;
  opt.iters = 2;
  auto groups = saturn::MakeThreadGroups(3, 30);
  std::vector<saturn::Result<std::vector<saturn::LinkSample>>> got(3, saturn::Status::Ok());
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r)
    threads.emplace_back([&, r] { got[size_t(r)] = saturn::MeasureLinks(*groups[size_t(r)], torch::kCPU, opt); });
  for (auto& t : threads) t.join();
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r << ": " << got[size_t(r)].status().message());
    REQUIRE(got[size_t(r)].ok());
  }
  const auto& s = *got[0];
  REQUIRE(s.size() == 4 * 4);  // 4 collectives x sizes 64 (at least 4 x 3), 256, 1024, 4096 rounded to chunks
  for (size_t i = 0; i < s.size(); ++i) {
    CHECK(s[i].ranks == 3);
    CHECK(s[i].bytes % 12 == 0);  // whole float chunks per rank
    CHECK(s[i].seconds == (*got[1])[i].seconds);  // the slowest rank's time, agreed
    CHECK(s[i].busbw == Approx(s[i].algbw * (s[i].collective == "all_reduce" ? 4.0 / 3 : s[i].collective == "send_recv" ? 1.0 : 2.0 / 3)));
  }

  auto inner = saturn::MakeThreadGroups(2, 30);
  std::vector<saturn::Status> st(2, saturn::Status::Ok());
  threads.clear();
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      OffByOne g(inner[size_t(r)]);
      st[size_t(r)] = saturn::MeasureLinks(g, torch::kCPU, opt).status();
    });
  for (auto& t : threads) t.join();
  CHECK_THAT(st[0].message(), Catch::Contains("all_reduce") && Catch::Contains("wrong result"));
}
