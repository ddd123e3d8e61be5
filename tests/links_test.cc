// Links within a node and across nodes: which link trials a profile runs, how the profile file
// keeps their scope, and how the analytic model prices a job that spans nodes by the links
// measured across them (and says so when only links within a node were measured).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/sweep.h"
#include "profile/estimate.h"
#include "profile/profile.h"
#include "profile/trials.h"

using Catch::Matchers::Contains;
using namespace saturn;

namespace {

Sweep Cluster(const std::string& nodes) {
  Result<Sweep> s = ParseSweep("name: links\ncluster:\n  device: cpu\n  nodes: " + nodes +
                                   "\njobs:\n  - name: j\n    model: m.json\n",
                               "links.yaml");
  REQUIRE(s.ok());
  return *s;
}

std::vector<std::string> Labels(const std::vector<Trial>& trials) {
  std::vector<std::string> out;
  for (const Trial& t : trials) out.push_back(t.label());
  return out;
}

// Two sizes of each collective on `ranks` ranks, `nodes` nodes: latency `alpha`, bus bandwidth
// `busbw` exactly.
void AddLinks(Profile* p, int ranks, int nodes, double alpha, double busbw) {
  for (const std::string c : {"all_reduce", "all_gather", "reduce_scatter", "send_recv"}) {
    const double f = c == "all_reduce" ? 2.0 * (ranks - 1) / ranks : c == "send_recv" ? 1.0 : double(ranks - 1) / ranks;
    for (long long bytes : {1000LL, 1001000LL}) {
      LinkRecord l;
      l.collective = c;
      l.ranks = ranks;
      l.nodes = nodes;
      l.scope = nodes > 1 ? "nodes" : "node";
      l.bytes = bytes;
      l.seconds = alpha + double(bytes - 1000) * f / busbw;
      p->links.push_back(l);
    }
  }
}

}  // namespace

TEST_CASE("link trials: 2 .. a node's devices within one, then whole nodes across those within reach", "[links]") {
  const Sweep s = Cluster("[{name: a, devices: 4}, {name: b, devices: 4}, {name: c, devices: 4}, {name: d, devices: 2},"
                          " {name: e, devices: 4}, {name: f, devices: 4}, {name: g, devices: 4}]");
  CHECK(Labels(LinkTrials(s, 1)) == std::vector<std::string>{"links x2", "links x3", "links x4"});
  CHECK(Labels(LinkTrials(s, 2)) == std::vector<std::string>{"links x2", "links x3", "links x4", "links x8 over 2 nodes"});
  CHECK(Labels(LinkTrials(s, 6)) == std::vector<std::string>{"links x2", "links x3", "links x4", "links x8 over 2 nodes",
                                                             "links x16 over 4 nodes", "links x24 over 6 nodes"});
  CHECK(Labels(LinkTrials(s, 4)).back() == "links x16 over 4 nodes");
  CHECK(Labels(LinkTrials(s, 4)).size() == 5);  // 2 and 4 nodes, once each
  const Sweep ones = Cluster("[{name: a, devices: 1, host: h1}, {name: b, devices: 1, host: h2}]");
  CHECK(Labels(LinkTrials(ones, 2)) == std::vector<std::string>{"links x2 over 2 nodes"});
  CHECK(LinkTrials(ones, 1).empty());
}

TEST_CASE("the profile keeps each link's scope and node count, and refuses ones that do not add up", "[links]") {
  Profile p;
  p.sweep = "links";
  AddLinks(&p, 4, 1, 1e-5, 1e10);
  AddLinks(&p, 8, 2, 1e-4, 1e9);
  Result<Profile> back = ParseProfile(ProfileToJson(p), "p.json");
  REQUIRE(back.ok());
  REQUIRE(back->links.size() == p.links.size());
  for (size_t i = 0; i < p.links.size(); ++i) {
    CHECK(back->links[i].scope == p.links[i].scope);
    CHECK(back->links[i].nodes == p.links[i].nodes);
    CHECK(back->links[i].ranks == p.links[i].ranks);
  }
  auto parse = [](const std::string& link) {
    return ParseProfile("{\"version\": 2, \"sweep\": \"links\", \"links\": [" + link + "], \"records\": []}", "p.json");
  };
  const std::string base = "{\"collective\": \"all_reduce\", \"ranks\": 8, \"bytes\": 4096, \"seconds\": 0.001, "
                           "\"algbw\": 1, \"busbw\": 1, ";
  CHECK(parse(base + "\"scope\": \"nodes\", \"nodes\": 2}").ok());
  CHECK(parse(base + "\"scope\": \"node\"}").ok());
  CHECK_THAT(parse(base + "\"scope\": \"nodes\"}").status().message(),
             Contains("p.json: links[0]:") && Contains("needs \"nodes\""));
  CHECK_THAT(parse(base + "\"scope\": \"node\", \"nodes\": 2}").status().message(), Contains("belongs to links of"));
  CHECK_THAT(parse(base + "\"scope\": \"nodes\", \"nodes\": 9}").status().message(), Contains("from 2 to the ranks (8)"));
  CHECK_THAT(parse(base + "\"scope\": \"rack\"}").status().message(), Contains("\"scope\" must be \"node\""));
}

TEST_CASE("the profile keeps one machine a node kind, and refuses a kind listed twice or an unknown key", "[links]") {
  Profile p;
  p.sweep = "links";
  p.measured.present = true;
  p.measured.device = "cpu";
  p.measured.machines = {{"", "Some CPU", 2, 4, true}, {"big", "Other CPU", 64, 8, false}};
  Result<Profile> back = ParseProfile(ProfileToJson(p), "p.json");
  REQUIRE(back.ok());
  REQUIRE(back->measured.machines.size() == 2);
  REQUIRE(back->measured.machine("big") != nullptr);
  CHECK(back->measured.machine("big")->device_name == "Other CPU");
  CHECK(back->measured.machine("big")->cores == 64);
  CHECK(back->measured.machine("big")->device_slots == 8);
  CHECK(back->measured.machine("")->cores == 2);
  CHECK(back->measured.machine("")->packed);
  CHECK_FALSE(back->measured.machine("big")->packed);
  CHECK(back->measured.machine("small") == nullptr);
  auto parse = [](const std::string& machines) {
    return ParseProfile("{\"version\": 2, \"sweep\": \"links\", \"measured\": {\"device\": \"cpu\", \"machines\": " +
                            machines + "}, \"records\": []}",
                        "p.json");
  };
  CHECK_THAT(parse("[{\"kind\": \"a\"}, {\"kind\": \"a\"}]").status().message(),
             Contains("p.json: \"measured\": \"machines\" lists kind 'a' twice"));
  CHECK_THAT(parse("[{\"core\": 2}]").status().message(),
             Contains("\"machines\"[0]: unknown key \"core\"") && Contains("cores"));
  CHECK_THAT(parse("{}").status().message(), Contains("must be a list"));
}

TEST_CASE("the model prices a job that spans nodes by the links across them, and says when none were measured",
          "[links]") {
  Profile p;
  AddLinks(&p, 4, 1, 1e-5, 1e10);  // within a node of 4: fast
  ProfileRecord one;
  one.job = "j";
  one.technique = "ddp";
  one.devices = 1;
  one.feasible = true;
  one.step_seconds = 2.0;
  p.records.push_back(one);
  JobSpec job;
  job.name = "j";
  job.batch_size = 8;
  job.micro_batch_size = 2;
  job.seq_len = 100;
  JobShape shape;
  shape.parameters = 100000000;
  shape.layers = 16;
  shape.hidden = 1000;
  const double P4 = 4.0 * 1e8;

  // Only links within a node: a job of 8 on nodes of 4 is priced by them, and the estimate says so.
  Estimator within(p, 4);
  Estimate e = within.Predict(job, shape, "ddp", 8);
  REQUIRE(e.ok);
  CHECK(e.comm_seconds == Approx(1e-5 + P4 * 2 * 7 / 8 / 1e10));
  CHECK(e.links == "node (none measured across nodes)");
  CHECK(within.Predict(job, shape, "ddp", 4).links == "node");

  // Measured across 2 nodes: 10x slower. The job of 8 and one of 16 take those links; one of 4
  // (within a node) still the node's.
  AddLinks(&p, 8, 2, 1e-4, 1e9);
  Estimator both(p, 4);
  e = both.Predict(job, shape, "ddp", 8);
  REQUIRE(e.ok);
  CHECK(e.links == "nodes");
  CHECK(e.comm_seconds == Approx(1e-4 + P4 * 2 * 7 / 8 / 1e9));
  CHECK(both.Predict(job, shape, "ddp", 16).comm_seconds == Approx(1e-4 + P4 * 2 * 15 / 16 / 1e9));
  e = both.Predict(job, shape, "ddp", 4);
  CHECK(e.links == "node");
  CHECK(e.comm_seconds == Approx(1e-5 + P4 * 2 * 3 / 4 / 1e10));
  e = both.Predict(job, shape, "fsdp", 8);
  // 16 blocks: 2 gathers (the last 1) and 1 reduce-scatter each.
  CHECK(e.comm_seconds == Approx((2 * 16 - 1 + 16) * (1e-4 + P4 / 16 * 7 / 8 / 1e9)));
  // A pipeline over nodes: every hop priced as one between nodes.
  e = both.Predict(job, shape, "pipeline", 8);
  REQUIRE(e.ok);
  const int m = 4;  // batch 8 in micro-batches of 2
  CHECK(e.comm_seconds == Approx(2.0 * (m + 8 - 2) * (1e-4 + 2.0 * 100 * 1000 * 4 / 1e9)));
  CHECK(both.Predict(job, shape, "pipeline", 4).comm_seconds == Approx(2.0 * (m + 2) * (1e-5 + 2.0 * 100 * 1000 * 4 / 1e10)));
  CHECK(both.CollectiveSeconds("all_reduce", 8, P4, true) > 5 * both.CollectiveSeconds("all_reduce", 8, P4, false));
}
