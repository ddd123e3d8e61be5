// The techniques against one process: each trains a tiny model for 20 steps on 2 to 4 ranks
// (threads of this process, on the in-process thread groups) from the same initial weights
// and data as a single process, and must give its losses and final weights within a stated
// tolerance; with gradient accumulation, activation checkpointing, bf16, a tied and an untied
// head. Checkpoint states move between techniques and rank counts. The real-MPI runs of the
// same steps are in run_parallel_test.cc.
#include <thread>

#include <torch/torch.h>

#include "comm/thread_group.h"
#include "technique/grad_buckets.h"
#include "technique/names.h"
#include "technique/registry.h"
#include "technique/stages.h"
#include "technique/train_step.h"
#include "train/lr_schedule.h"

#undef CHECK
#include <catch2/catch.hpp>

namespace {

using namespace saturn;

ModelConfig Tiny(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 97;
  c.max_positions = 32;
  c.hidden = 32;
  c.layers = 4;
  c.heads = 4;
  c.kv_heads = type == "llama" ? 2 : 4;
  c.intermediate = 64;
  c.tie_word_embeddings = type == "gpt2";
  c.activation = type == "llama" ? "silu" : "gelu_new";
  c.source = "tiny-" + type;
  return c;
}

JobSpec Job(int micro, bool checkpointing, const std::string& precision = "fp32") {
  JobSpec j;
  j.name = "t";
  j.seq_len = 16;
  j.batch_size = 12;
  j.micro_batch_size = micro;
  j.activation_checkpointing = checkpointing;
  j.precision = precision;
  j.seed = 3;
  j.steps = 20;
  j.warmup_steps = 2;
  j.optimizer.lr = 3e-3;
  j.optimizer.weight_decay = 0.1;
  j.optimizer.grad_clip = 0.5;  // low enough to clip: the global norm must be right
  return j;
}

// 256 fixed sequences; sample n is row n mod 256.
const torch::Tensor& Data() {
  static torch::Tensor d = [] {
    torch::manual_seed(11);
    return torch::randint(0, 97, {256, 17}, torch::kInt64);
  }();
  return d;
}

torch::Tensor Rows(uint64_t first, int count) {
  std::vector<int64_t> idx;
  for (int i = 0; i < count; ++i) idx.push_back(int64_t((first + uint64_t(i)) % 256));
  return Data().index_select(0, torch::tensor(idx));
}

struct Trace {
  std::vector<double> losses, norms;
  std::vector<double> valid;  // MeanLoss at the end
  FullState state;            // cloned, rank 0's
  std::string error;
};

FullState Clone(const FullState& s) {
  FullState c;
  for (auto& [n, t] : s.model) c.model.emplace_back(n, t.detach().clone());
  for (auto& [n, t] : s.optimizer) c.optimizer.emplace_back(n, t.detach().clone());
  c.updates = s.updates;
  return c;
}

std::map<std::string, torch::Tensor> AsMap(const NamedTensors& v) { return {v.begin(), v.end()}; }

// Trains steps [from, to) of the job with technique `name` on `ranks` thread ranks, starting
// from `resume` when given.
Trace Train(const std::string& name, int ranks, const ModelConfig& cfg, const JobSpec& job, int from, int to,
            const FullState* resume = nullptr, const std::string& knobs = "") {
  const Technique* t = *FindTechnique(name);
  auto groups = MakeThreadGroups(ranks, 60);
  std::vector<Trace> traces(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      Trace& tr = traces[size_t(r)];
      torch::set_num_threads(1);
      ModelOptions mo;
      mo.activation_checkpointing = job.activation_checkpointing;
      CausalLM model(cfg, mo);
      model->init_weights(uint64_t(job.seed));
      StepContext ctx;
      ctx.job = job;
      ctx.model = model;
      ctx.bf16 = job.precision == "bf16";
      ctx.group = groups[size_t(r)];
      ctx.knobs = *ParseKnobs(*t, knobs, "test");
      ctx.allow_cpu_offload = true;
      auto step = t->MakeStep(ctx);
      if (!step.ok()) {
        tr.error = step.status().message();
        return;
      }
      if (resume) {
        Status st = (*step)->Load(AsMap(resume->model), AsMap(resume->optimizer), resume->updates, "resume");
        // Stop together when any rank failed, as the trainer does.
        torch::Tensor failed = torch::full({1}, st.ok() ? 0.0 : 1.0);
        Status agreed = groups[size_t(r)]->AllReduce(failed)->Wait();
        if (!agreed.ok() || failed.item<double>() > 0) {
          tr.error = st.ok() ? "another rank failed to load" : st.message();
          return;
        }
      }
      for (int s = from; s < to; ++s) {
        const double lr = LearningRate(job.optimizer, s, job.steps, job.warmup_steps);
        auto res = (*step)->Step(Rows, uint64_t(s) * uint64_t(job.batch_size), lr);
        if (!res.ok()) {
          tr.error = res.status().message();
          return;
        }
        tr.losses.push_back(res->loss);
        tr.norms.push_back(res->grad_norm);
      }
      auto v = (*step)->MeanLoss([](uint64_t f, int c) { return Rows(200 + f, c); }, 20);
      if (v.ok()) tr.valid.push_back(*v);
      auto full = (*step)->Gather();
      if (full.ok() && r == 0) tr.state = Clone(*full);
    });
  }
  for (auto& th : threads) th.join();
  for (int r = 1; r < ranks; ++r) {
    // Every rank reports the same step results.
    if (traces[size_t(r)].error.empty() && traces[size_t(r)].losses != traces[0].losses)
      traces[0].error += "rank " + std::to_string(r) + " reports other losses; ";
    if (!traces[size_t(r)].error.empty()) traces[0].error += traces[size_t(r)].error;
  }
  return traces[0];
}

double MaxAbsDiff(const NamedTensors& a, const NamedTensors& b, std::string* worst) {
  double m = 0;
  auto bm = AsMap(b);
  for (auto& [n, t] : a) {
    auto it = bm.find(n);
    if (it == bm.end()) {
      *worst = "missing " + n;
      return 1e9;
    }
    const double d = (t - it->second).abs().max().item<double>();
    if (d > m) m = d, *worst = n;
  }
  return m;
}

// The tolerances this suite states: fp32 losses within 2e-5 (relative), weights within 2e-5
// (absolute; they are O(0.02-1)), over 20 AdamW steps; bf16 ten times looser on losses only.
void ExpectClose(const Trace& ref, const Trace& got, bool bf16 = false) {
  REQUIRE(ref.error.empty());
  REQUIRE(got.error.empty());
  REQUIRE(got.losses.size() == ref.losses.size());
  for (size_t i = 0; i < ref.losses.size(); ++i) {
    INFO("step " << i + 1 << ": " << got.losses[i] << " vs " << ref.losses[i]);
    REQUIRE(std::abs(got.losses[i] - ref.losses[i]) <= (bf16 ? 2e-3 : 2e-5) * ref.losses[i]);
    REQUIRE(std::abs(got.norms[i] - ref.norms[i]) <= (bf16 ? 2e-2 : 1e-4) * ref.norms[i]);
  }
  REQUIRE(std::abs(got.valid.at(0) - ref.valid.at(0)) <= (bf16 ? 2e-3 : 2e-5) * ref.valid.at(0));
  if (bf16) return;
  std::string worst;
  REQUIRE(got.state.model.size() == ref.state.model.size());
  const double dw = MaxAbsDiff(ref.state.model, got.state.model, &worst);
  INFO("largest weight difference " << dw << " in " << worst);
  REQUIRE(dw <= 2e-5);
  const double ds = MaxAbsDiff(ref.state.optimizer, got.state.optimizer, &worst);
  INFO("largest optimizer state difference " << ds << " in " << worst);
  REQUIRE(ds <= 2e-5);
  REQUIRE(got.state.updates == ref.state.updates);
}

// One rank of ddp is the reference itself.
std::vector<int> RankCounts(const std::string& technique) {
  if (technique == "ddp") return {2, 3};
  if (technique == "pipeline") return {1, 2, 4};
  return {1, 2, 3};
}

}  // namespace

TEST_CASE("technique registry: the names sweeps and plans use, each with knobs that parse", "[technique]") {
  std::vector<std::string> names;
  for (const Technique* t : Techniques()) names.push_back(t->name());
  REQUIRE(names == TechniqueNames());
  auto bad = FindTechnique("fsdb");
  REQUIRE(!bad.ok());
  REQUIRE_THAT(bad.status().message(), Catch::Contains("did you mean 'fsdp'"));
  const Technique& ddp = **FindTechnique("ddp");
  auto k = ParseKnobs(ddp, "{\"bucket_mb\": 4, \"micro_batch_size\": 2}", "--knobs");
  REQUIRE(k.ok());
  REQUIRE(KnobNumber(*k, "bucket_mb") == 4);
  REQUIRE(KnobNumber(*k, "micro_batch_size") == 2);
  auto typo = ParseKnobs(ddp, "{\"bucket_mbs\": 4}", "--knobs");
  REQUIRE(!typo.ok());
  REQUIRE_THAT(typo.status().message(), Catch::Contains("--knobs") && Catch::Contains("did you mean 'bucket_mb'"));
  REQUIRE(!ParseKnobs(ddp, "{\"bucket_mb\": -1}", "k").ok());
  REQUIRE(!ParseKnobs(**FindTechnique("pipeline"), "{\"schedule\": \"zigzag\"}", "k").ok());
  REQUIRE(ParseKnobs(**FindTechnique("pipeline"), "{\"schedule\": \"gpipe\"}", "k").ok());
}

TEST_CASE("technique feasibility: answers with a reason, never throws", "[technique]") {
  JobSpec job = Job(2, false);
  job.model = SATURN_SOURCE_DIR "/models/gpt2-tiny.json";
  ClusterSpec cpu;
  cpu.device = "cpu";
  ClusterSpec gpu;
  gpu.device = "cuda";
  const Technique& ddp = **FindTechnique("ddp");
  REQUIRE(ddp.Feasible(job, cpu, 3).ok);
  Feasibility f = ddp.Feasible(job, cpu, 5);
  REQUIRE(!f.ok);
  REQUIRE_THAT(f.reason, Catch::Contains("batch_size 12") && Catch::Contains("5 ranks"));
  Feasibility off = (*FindTechnique("offload"))->Feasible(job, cpu, 2);
  REQUIRE(!off.ok);
  REQUIRE_THAT(off.reason, Catch::Contains("CPU cluster"));
  REQUIRE((*FindTechnique("offload"))->Feasible(job, gpu, 2).ok);
  const Technique& pipe = **FindTechnique("pipeline");
  REQUIRE(pipe.Feasible(job, cpu, 2).ok);
  Feasibility deep = pipe.Feasible(job, cpu, 64);
  REQUIRE(!deep.ok);
  REQUIRE_THAT(deep.reason, Catch::Contains("blocks"));
  job.model = "/nonexistent/config.json";
  REQUIRE(!pipe.Feasible(job, cpu, 2).ok);
}

TEST_CASE("pipeline stages: balanced by FLOPs, the head counted on the last stage", "[technique]") {
  ModelConfig c = Tiny("gpt2");
  c.layers = 12;
  c.hidden = 768;
  c.intermediate = 3072;
  c.vocab_size = 50257;
  // GPT-2 124M at seq 1024: the head is ~5.5 blocks' worth, so the last stage gets fewer blocks.
  auto two = BalanceStages(c, 1024, 2);
  REQUIRE(two.size() == 3);
  REQUIRE(two.front() == 0);
  REQUIRE(two.back() == 12);
  REQUIRE(two[1] > 6);
  auto four = BalanceStages(c, 1024, 4);
  for (size_t s = 0; s + 1 < four.size(); ++s) REQUIRE(four[s + 1] > four[s]);
  // A model without a costly head splits evenly.
  c.vocab_size = 8;
  REQUIRE(BalanceStages(c, 1024, 3) == std::vector<int>{0, 4, 8, 12});
}

TEST_CASE("techniques train like one process: 20 steps on 1-4 ranks, losses and weights", "[technique]") {
  for (const std::string type : {"gpt2", "llama"}) {
    for (const bool ac : {false, true}) {
      const JobSpec job = Job(2, ac);
      const Trace ref = Train("ddp", 1, Tiny(type), job, 0, 20);
      for (const std::string name : {"ddp", "fsdp", "pipeline", "offload"}) {
        for (int ranks : RankCounts(name)) {
          DYNAMIC_SECTION(type << " " << name << " x" << ranks << (ac ? " checkpointing" : "")) {
            ExpectClose(ref, Train(name, ranks, Tiny(type), job, 0, 20));
          }
        }
      }
    }
  }
}

TEST_CASE("techniques train like one process: no accumulation, small buckets, gpipe, no prefetch", "[technique]") {
  const JobSpec whole = Job(0, false);  // each rank's share in one micro-batch
  const Trace ref = Train("ddp", 1, Tiny("gpt2"), whole, 0, 20);
  REQUIRE(ref.losses.back() < ref.losses.front());  // it learns
  SECTION("ddp, 1 KiB buckets") { ExpectClose(ref, Train("ddp", 3, Tiny("gpt2"), whole, 0, 20, nullptr, "{\"bucket_mb\": 0.001}")); }
  SECTION("fsdp without prefetch") { ExpectClose(ref, Train("fsdp", 2, Tiny("gpt2"), whole, 0, 20, nullptr, "{\"prefetch\": false}")); }
  const JobSpec micro = Job(3, false);
  const Trace ref3 = Train("ddp", 1, Tiny("gpt2"), micro, 0, 20);
  SECTION("pipeline gpipe") { ExpectClose(ref3, Train("pipeline", 3, Tiny("gpt2"), micro, 0, 20, nullptr, "{\"schedule\": \"gpipe\"}")); }
  SECTION("pipeline 1f1b, fewer micro-batches than stages") {
    JobSpec few = Job(6, false);
    ExpectClose(Train("ddp", 1, Tiny("gpt2"), few, 0, 20), Train("pipeline", 4, Tiny("gpt2"), few, 0, 20));
  }
}

TEST_CASE("techniques train like one process in bf16 autocast", "[technique]") {
  const JobSpec job = Job(2, false, "bf16");
  const Trace ref = Train("ddp", 1, Tiny("gpt2"), job, 0, 20);
  for (const std::string name : {"ddp", "fsdp", "pipeline", "offload"}) {
    DYNAMIC_SECTION(name) { ExpectClose(ref, Train(name, 2, Tiny("gpt2"), job, 0, 20), /*bf16=*/true); }
  }
}

TEST_CASE("checkpoint states reshard: each technique at 2 ranks resumes under every other and another rank count",
          "[technique]") {
  const JobSpec job = Job(2, false);
  for (const std::string type : {"gpt2", "llama"}) {
    const Trace whole = Train("ddp", 1, Tiny(type), job, 0, 8);
    for (const std::string from : {"ddp", "fsdp", "pipeline", "offload"}) {
      const Trace first = Train(from, 2, Tiny(type), job, 0, 5);
      REQUIRE(first.error.empty());
      // The gathered state is whole: every parameter, every optimizer tensor, full shapes.
      REQUIRE(first.state.model.size() == whole.state.model.size());
      REQUIRE(first.state.optimizer.size() == whole.state.optimizer.size());
      for (const std::string to : {"ddp", "fsdp", "pipeline", "offload"}) {
        for (int ranks : {1, 3}) {
          DYNAMIC_SECTION(type << " " << from << " x2 -> " << to << " x" << ranks) {
            const Trace rest = Train(to, ranks, Tiny(type), job, 5, 8, &first.state);
            REQUIRE(rest.error.empty());
            for (size_t i = 0; i < rest.losses.size(); ++i) {
              INFO("step " << 6 + i);
              REQUIRE(std::abs(rest.losses[i] - whole.losses[5 + i]) <= 2e-5 * whole.losses[5 + i]);
            }
          }
        }
      }
      DYNAMIC_SECTION(type << " " << from << " x2 -> itself x2 is bit-exact") {
        const Trace uninterrupted = Train(from, 2, Tiny(type), job, 0, 8);
        const Trace rest = Train(from, 2, Tiny(type), job, 5, 8, &first.state);
        REQUIRE(rest.error.empty());
        for (size_t i = 0; i < rest.losses.size(); ++i) REQUIRE(rest.losses[i] == uninterrupted.losses[5 + i]);
        std::string worst;
        REQUIRE(MaxAbsDiff(uninterrupted.state.model, rest.state.model, &worst) == 0.0);
      }
    }
  }
}

TEST_CASE("technique errors: a state of another model, too many pipeline stages", "[technique]") {
  const JobSpec job = Job(2, false);
  Trace t = Train("fsdp", 2, Tiny("gpt2"), job, 0, 1);
  REQUIRE(t.error.empty());
  FullState wrong = t.state;
  wrong.model.pop_back();
  for (const std::string name : {"ddp", "fsdp", "pipeline", "offload"}) {
    Trace r = Train(name, 2, Tiny("gpt2"), job, 1, 2, &wrong);
    INFO(name);
    REQUIRE_THAT(r.error, Catch::Contains("resume") && Catch::Contains("missing"));
  }
  Trace deep = Train("pipeline", 5, Tiny("gpt2"), job, 0, 1);
  REQUIRE_THAT(deep.error, Catch::Contains("5 stages") && Catch::Contains("4 blocks"));
}

TEST_CASE("ddp buckets go out during backward, in order, and not on accumulation micro-batches", "[technique]") {
  auto groups = MakeThreadGroups(2, 30);
  std::vector<std::string> bad(2);
  std::vector<int> buckets(2), before(2), during(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      CausalLM model(Tiny("gpt2"));
      model->init_weights(1);
      std::vector<torch::Tensor> params;
      for (auto& p : model->parameters()) params.push_back(p);
      GradBuckets b(params, 4096, groups[size_t(r)]);  // 4 KiB: many buckets
      buckets[size_t(r)] = b.buckets();
      torch::Tensor rows = Rows(uint64_t(r) * 4, 4);
      model->loss(rows.slice(1, 0, 16), rows.slice(1, 1)).backward();  // an accumulation micro-batch
      before[size_t(r)] = b.sent();
      b.Arm();
      model->loss(rows.slice(1, 0, 16), rows.slice(1, 1)).backward();
      during[size_t(r)] = b.sent();  // before Finish
      if (!b.Finish().ok()) bad[size_t(r)] = "finish failed";
      // Both ranks now hold the mean of their gradients.
      torch::Tensor g = b.grad(0).reshape({-1}).clone(), both = torch::empty({2 * g.numel()});
      groups[size_t(r)]->AllGather(both, g)->Wait();
      if (!torch::equal(both.narrow(0, 0, g.numel()), both.narrow(0, g.numel(), g.numel()))) bad[size_t(r)] += "ranks differ";
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(bad[0].empty());
  REQUIRE(bad[1].empty());
  REQUIRE(buckets[0] > 10);
  REQUIRE(before[0] == 0);
  REQUIRE(during[0] == buckets[0]);
}
