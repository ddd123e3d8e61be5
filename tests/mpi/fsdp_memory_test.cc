// FSDP's memory per rank, measured by the allocator: run under mpirun with 3 ranks
// (tests/CMakeLists.txt). The bytes a rank keeps between steps for parameters, gradients and
// optimizer state (glibc's in-use bytes after a step, less those before the model was built)
// must fall as 1/ranks for fsdp, and stay whole for ddp (which shows the measure sees them).
#include <torch/torch.h>

#include "comm/registry.h"
#include "technique/registry.h"
#include "technique/train_step.h"
#include "util/heap.h"

#undef CHECK
#include <catch2/catch.hpp>

namespace {

using namespace saturn;

size_t InUse() { return size_t(HeapBytesInUse()); }

// Bytes this rank keeps after one step of `technique` on `group` (collective over it).
size_t KeptBytes(const std::string& technique, const std::shared_ptr<ProcessGroup>& group) {
  ModelConfig c;
  c.model_type = "gpt2";
  c.vocab_size = 1024;
  c.max_positions = 64;
  c.hidden = 128;
  c.layers = 4;
  c.heads = 4;
  c.kv_heads = 4;
  c.intermediate = 512;
  c.source = "memory-test";
  JobSpec job;
  job.seq_len = 16;
  job.batch_size = 6;
  job.micro_batch_size = 1;
  job.optimizer.grad_clip = 1.0;
  torch::manual_seed(0);
  torch::Tensor data = torch::randint(0, 1024, {64, 17}, torch::kInt64);
  const size_t before = InUse();
  size_t kept = 0;
  {
    CausalLM model(c);
    model->init_weights(1);
    StepContext ctx;
    ctx.job = job;
    ctx.model = model;
    ctx.group = group;
    const Technique& t = **FindTechnique(technique);
    ctx.knobs = *ParseKnobs(t, "", "test");
    auto step = t.MakeStep(ctx);
    REQUIRE(step.ok());
    model = CausalLM(nullptr);
    ctx.model = CausalLM(nullptr);
    auto r = (*step)->Step([&](uint64_t f, int n) { return data.narrow(0, int64_t(f % 32), n); }, 0, 1e-3);
    REQUIRE(r.ok());
    kept = InUse() - before;
  }
  return kept;
}

}  // namespace

TEST_CASE("fsdp: bytes kept per rank fall as 1/ranks, by the allocator's count", "[.fsdp-memory]") {
  KeepLargeAllocationsInHeap();  // every block in glibc's heap, counted by mallinfo2
  torch::set_num_threads(1);
  auto world = GetWorld();
  REQUIRE(world.ok());
  auto& w = **world;
  REQUIRE(w.size() == 3);
  auto alone = w.cpu->Split(w.rank());
  REQUIRE(alone.ok());
  auto pair = w.cpu->Split(w.rank() < 2 ? 0 : -1);
  REQUIRE(pair.ok());
  const double one = double(KeptBytes("fsdp", *alone));
  const double three = double(KeptBytes("fsdp", w.cpu));
  double two = 0;
  if (*pair) two = double(KeptBytes("fsdp", *pair));
  const double ddp1 = double(KeptBytes("ddp", *alone)), ddp3 = double(KeptBytes("ddp", w.cpu));
  INFO("rank " << w.rank() << ": fsdp 1 rank " << one << " B, 2 ranks " << two << " B, 3 ranks " << three
                << " B; ddp 1 rank " << ddp1 << " B, 3 ranks " << ddp3 << " B");
  // 16 bytes a parameter (master, gradient, two Adam moments): ~0.9M parameters.
  REQUIRE(one > 12e6);
  REQUIRE(three == Approx(one / 3).epsilon(0.1));
  if (*pair) REQUIRE(two == Approx(one / 2).epsilon(0.1));
  REQUIRE(ddp3 == Approx(ddp1).epsilon(0.1));
  std::printf("fsdp memory, rank %d: 1 rank %.2f MB, 2 ranks %.2f MB, 3 ranks %.2f MB; ddp 1 rank %.2f MB, 3 ranks %.2f MB\n",
              w.rank(), one / 1e6, two / 1e6, three / 1e6, ddp1 / 1e6, ddp3 / 1e6);
}
