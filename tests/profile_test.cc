// `saturn profile` as a user runs it: a sweep of four tiny jobs (two cost keys) on a CPU
// "cluster" of 4 devices, trials launched under a real mpirun and packed onto the devices; then
// `saturn plan` plans from the measured profile. Plus what goes wrong: a trial past its
// timeout, a trial that fails, --resume of another sweep's profile, a profile of other devices.
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "config/sweep.h"
#include "data/tokenizer.h"
#include "profile/estimate.h"
#include "profile/profile.h"
#include "profile/profiler.h"
#include "profile/trials.h"
#include "run_util.h"
#include "util/files.h"
#include "util/subprocess.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kMpirun = std::string("--launcher '") + SATURN_MPIRUN + "' --links-max-bytes 1048576";

// Four jobs, two cost keys (seq_len), on one node of 4 CPU devices.
std::string Sweep(const TempDir& d, const std::string& name = "prof", const std::string& techniques = "[ddp, fsdp, offload]",
                  const std::string& devices = "[1, 2, 4]", const std::string& seq = "[32, 64]") {
  auto gpt2 = saturn::FindGpt2Dir();
  INFO((gpt2.ok() ? std::string() : gpt2.status().message() + " (scripts/setup.sh fetches the GPT-2 files)"));
  REQUIRE(gpt2.ok());
  return d.write(name + ".yaml", "name: " + name + "\noutput_dir: " + (d / "runs") +
                                     "\ncluster: {device: cpu, device_memory_gib: 8, nodes: [{name: n, devices: 4}]}\n"
                                     "jobs:\n  - name: tiny\n    model: " SATURN_SOURCE_DIR "/models/gpt2-tiny.json\n"
                                     "    tokenizer: {kind: gpt2, path: " + *gpt2 + "}\n"
                                     "    data: {train: " + Corpus() + "}\n"
                                     "    batch_size: 8\n    steps: 50\n"
                                     "    techniques: " + techniques + "\n    devices: " + devices + "\n"
                                     "    grid:\n      optimizer.lr: [1.0e-3, 3.0e-3]\n      seq_len: " + seq + "\n");
}

json Load(const std::string& path) { return json::parse(*saturn::ReadFile(path)); }

// A copy of the sweep file with one piece of text replaced, written as d/name.
std::string Variant(const TempDir& d, const std::string& sweep, const std::string& name, const std::string& from,
                    const std::string& to) {
  std::string text = *saturn::ReadFile(sweep);
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return d.write(name, text);
}

}  // namespace

TEST_CASE("saturn profile measures every cost key, technique and device count, and saturn plan plans from it",
          "[profile]") {
  TempDir d;
  const std::string sweep = Sweep(d), out = d / "profile.json";
  Run dry = Saturn("profile " + sweep + " -o " + out + " --dry-run " + kMpirun);
  INFO(dry.out);
  REQUIRE(dry.code == 0);
  // With the knob search (the default): 2 or 3 settings a trial, e.g. half the micro-batch.
  CHECK_THAT(dry.out, Catch::Contains("31 trials to run") && Catch::Contains("6 not run") && Catch::Contains("links-trial") &&
                          Catch::Contains("--knobs '{\"micro_batch_size\": 1}'") &&
                          Catch::Contains("-n 4 ") && Catch::Contains("profile-trial"));
  CHECK_FALSE(fs::exists(out));

  Run r = Saturn("profile " + sweep + " -o " + out + " --warmup 1 --steps 2 --no-search --pack " + kMpirun);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("[15/15]") && Catch::Contains("12 of 18 records feasible"));
  // Packed: trials ran at the same time on disjoint slots, so their times add up to more than
  // the profile's wall time.
  std::smatch packing;
  REQUIRE(std::regex_search(r.out, packing, std::regex("\\(([0-9.]+)x from packing\\)")));
  CHECK(std::stod(packing[1]) > 1.0);
  json p = Load(out);
  CHECK(p["version"] == 2);
  CHECK(p["sweep"] == "prof");
  CHECK(p["measured"]["device"] == "cpu");
  CHECK(p["measured"]["timed_steps"] == 2);
  // Where it was measured: this CPU's model (where /proc/cpuinfo names one), and the cores the
  // node's 4 slots shared.
  const std::string cpuinfo = *saturn::ReadFile("/proc/cpuinfo");
  const bool named = cpuinfo.find("model name") != std::string::npos;
  REQUIRE(p["measured"]["machines"].size() == 1);
  const json& machine = p["measured"]["machines"][0];
  CHECK_FALSE(machine.contains("kind"));  // nodes of no kind
  CHECK(machine.contains("device_name") == named);
  if (named) CHECK(cpuinfo.find(machine["device_name"].get<std::string>()) != std::string::npos);
  CHECK(machine["cores"].get<int>() >= 1);
  CHECK(machine["device_slots"] == 4);
  // Packed (--pack) onto fewer cores than its 4 slots, the trials shared cores already: said, so
  // the model does not count that sharing again.
  CHECK(machine.value("packed", false) == (machine["cores"].get<int>() < 4));
  REQUIRE(p["records"].size() == 18);
  // One job per cost key is measured (the first of each); the others share its records.
  std::set<std::string> jobs;
  for (const json& rec : p["records"]) {
    jobs.insert(rec["job"]);
    INFO(rec.dump());
    if (rec["technique"] == "offload") {
      CHECK_FALSE(rec["feasible"].get<bool>());
      CHECK_THAT(rec["reason"].get<std::string>(), Catch::Contains("CPU cluster"));
      continue;
    }
    REQUIRE(rec["feasible"].get<bool>());
    CHECK(rec["step_seconds"].get<double>() > 0);
    CHECK(rec["measured_steps"] == 2);
    // The process's own peak resident set: LibTorch alone is tens of MB; a rank is < 4 GB here.
    CHECK(rec["peak_memory_bytes"].get<double>() > 20e6);
    CHECK(rec["peak_memory_bytes"].get<double>() < 4e9);
    CHECK(rec["knobs"].contains("micro_batch_size"));
  }
  CHECK(jobs == std::set<std::string>{"tiny.lr=1.0e-3.seq_len=32", "tiny.lr=1.0e-3.seq_len=64"});
  CHECK(p["measured"]["cost_keys"].size() == 2);
  // The links: every collective over 2, 3 and 4 ranks at sizes 4 KiB, 16 KiB, ... 1 MiB (each
  // result checked by the trial), with nccl-tests' bus bandwidth.
  std::map<std::pair<std::string, int>, std::vector<long long>> sizes;
  for (const json& l : p["links"]) {
    INFO(l.dump());
    CHECK(l["seconds"].get<double>() > 0);
    const int n = l["ranks"];
    const double factor = l["collective"] == "all_reduce" ? 2.0 * (n - 1) / n : l["collective"] == "send_recv" ? 1.0 : double(n - 1) / n;
    CHECK(l["busbw"].get<double>() == Approx(l["algbw"].get<double>() * factor));
    CHECK(l["algbw"].get<double>() == Approx(l["bytes"].get<double>() / l["seconds"].get<double>()));
    sizes[{l["collective"], n}].push_back(l["bytes"]);
  }
  CHECK(sizes.size() == 12);  // 4 collectives x 3 rank counts
  for (const auto& [key, s] : sizes) {
    INFO(key.first << " x" << key.second);
    REQUIRE(s.size() == 5);
    CHECK(s.back() <= 1048576);
    CHECK(s.back() > 1048576 - 4 * 4);
    CHECK(std::is_sorted(s.begin(), s.end()));
  }
  // Each trial left its log beside the runs.
  CHECK(fs::exists(d / "runs/profile/tiny.lr=1.0e-3.seq_len=64_fsdp_x4.log"));

  Run plan = Saturn("plan " + sweep + " --profile " + out + " -o " + (d / "plan.json") + " --time-limit 10");
  INFO(plan.out);
  REQUIRE(plan.code == 0);
  json pl = Load(d / "plan.json");
  CHECK(pl["jobs"].size() == 4);

  // Again without --resume: refused, nothing lost. With --resume: nothing left to measure.
  const std::string before = *saturn::ReadFile(out);
  Run again = Saturn("profile " + sweep + " -o " + out + " " + kMpirun);
  CHECK(again.code == 2);
  CHECK_THAT(again.out, Catch::Contains("--resume") && Catch::Contains(out));
  Run resumed = Saturn("profile " + sweep + " -o " + out + " --resume --no-search " + kMpirun);
  INFO(resumed.out);
  REQUIRE(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("keeping 18 records and the links of 3 rank counts") && Catch::Contains("ran 0 trials"));
  json p2 = Load(out);
  CHECK(p2["records"] == p["records"]);  // the measured numbers kept exactly
  CHECK(p2["links"] == p["links"]);

  // --resume onto the profile of another sweep: exit 2, the file untouched.
  const std::string other = Sweep(d, "other");
  Run wrong = Saturn("profile " + other + " -o " + out + " --resume " + kMpirun);
  CHECK(wrong.code == 2);
  CHECK_THAT(wrong.out, Catch::Contains("sweep 'prof'") && Catch::Contains(out));
  CHECK(Load(out)["records"] == p["records"]);

  // --resume of a profile measured on another machine's CPU: step times would mix; exit 2.
  if (named) {
    json elsewhere = p;
    elsewhere["measured"]["machines"][0]["device_name"] = "Imaginary CPU 9000";
    const std::string moved = d.write("elsewhere.json", elsewhere.dump());
    Run mixed = Saturn("profile " + sweep + " -o " + moved + " --resume " + kMpirun);
    CHECK(mixed.code == 2);
    CHECK_THAT(mixed.out, Catch::Contains("measured on Imaginary CPU 9000") && Catch::Contains("--restart"));
    CHECK(Load(moved) == elsewhere);
  }
  // Nor one measured with another core count a node (another allocation): on CPU devices the
  // cores set every step time.
  json wider = p;
  wider["measured"]["machines"][0]["cores"] = 1000;
  const std::string resized = d.write("resized.json", wider.dump());
  Run cores = Saturn("profile " + sweep + " -o " + resized + " --resume " + kMpirun);
  CHECK(cores.code == 2);
  CHECK_THAT(cores.out, Catch::Contains("measured with 1000 cores a node") && Catch::Contains("--restart"));
  CHECK(Load(resized) == wider);

  // --estimate on the same jobs on two such nodes: 8 devices cannot be measured on one node, so
  // the model fills them in, marked; the plan says how many records are estimates.
  Variant(d, Variant(d, sweep, "two.yaml", "nodes: [{name: n, devices: 4}]",
                     "nodes: [{name: n, devices: 4}, {name: m, devices: 4}]"),
          "two.yaml", "devices: [1, 2, 4]", "devices: [1, 2, 4, 8]");
  const std::string est = d / "estimated.json";
  fs::copy_file(out, est);
  Run e = Saturn("profile " + (d / "two.yaml") + " -o " + est + " --resume --estimate --no-search " + kMpirun);
  INFO(e.out);
  REQUIRE(e.code == 0);
  CHECK_THAT(e.out, Catch::Contains("estimated 4 records") && Catch::Contains("estimate check: ") &&
                        Catch::Contains("ran 0 trials"));
  int estimated = 0;
  const json with_estimates = Load(est);
  for (const json& rec : with_estimates["records"]) {
    if (!rec.value("estimated", false)) continue;
    ++estimated;
    CHECK(rec["devices"] == 8);
    CHECK(rec["step_seconds"].get<double>() > 0);
    CHECK(rec["estimate"]["comm_seconds"].get<double>() > 0);
    // Its inputs: the one-device record it started from, and the cores 4 ranks a node shared.
    const json& from = rec["estimate"]["from"];
    CHECK(from["devices"] == 1);
    for (const json& m : with_estimates["records"])
      if (m["job"] == rec["job"] && m["technique"] == from["technique"] && m["devices"] == 1)
        CHECK(m["step_seconds"] == from["step_seconds"]);
    // The one-device records it kept ran packed (above) or each on a core of its own: either
    // way no sharing is counted on top of theirs.
    const json& kept = with_estimates["measured"]["machines"][0];
    CHECK(kept.value("packed", false) == (kept["cores"].get<int>() < 4));
    CHECK(rec["estimate"]["core_share"] == 1);
    CHECK(rec["estimate"]["link_fits"].size() >= 1);
  }
  CHECK(estimated == 4);  // ddp and fsdp x8 for both cost keys (offload has no model)
  Run ep = Saturn("plan " + (d / "two.yaml") + " --profile " + est + " -o " + (d / "plan2.json") + " --time-limit 5");
  INFO(ep.out);
  REQUIRE(ep.code == 0);
  CHECK_THAT(ep.out, Catch::Contains("4 of its 16 feasible records are estimates"));
  // And how many of its jobs run on them: each marked in the plan, counted, and said. Allowed
  // 8 devices alone, every job runs on an estimate; allowed 1 and 2 alone, none does.
  for (const auto& [devices, want] : {std::make_pair("[8]", 4), std::make_pair("[1, 2]", 0)}) {
    Variant(d, d / "two.yaml", "narrow.yaml", "devices: [1, 2, 4, 8]", std::string("devices: ") + devices);
    Run np = Saturn("plan " + (d / "narrow.yaml") + " --profile " + est + " -o " + (d / "plan3.json") +
                    " --time-limit 2");
    INFO(np.out);
    REQUIRE(np.code == 0);
    const json narrow = Load(d / "plan3.json");
    int on_estimates = 0;
    for (const json& j : narrow["jobs"]) on_estimates += j.value("estimated", false);
    CHECK(on_estimates == want);
    CHECK(narrow["estimated_jobs"] == want);
    CHECK((np.out.find("4 jobs run on configurations the analytic model estimated") != std::string::npos) == (want == 4));
  }

  // A plan refuses a measured profile whose jobs changed cost key or whose devices differ.
  Variant(d, sweep, "changed.yaml", "batch_size: 8", "batch_size: 4");
  Run stale = Saturn("plan " + (d / "changed.yaml") + " --profile " + out + " -o " + (d / "p2.json"));
  CHECK(stale.code == 2);
  CHECK_THAT(stale.out, Catch::Contains("was measured as") && Catch::Contains("saturn profile"));
  CHECK_FALSE(fs::exists(d / "p2.json"));
}

TEST_CASE("saturn profile on nodes that name their hosts: trials on either node, one wider than a node across both",
          "[profile]") {
  TempDir d;
  // Two one-device "hosts" that are both this machine as Open MPI sees them: ddp x1 trials run on
  // either node (two at a time), ddp x2 as one launch over both.
  const std::string sweep = Variant(d, Sweep(d, "prof", "[ddp]", "[1, 2]", "[32]"), "two.yaml",
                                    "nodes: [{name: n, devices: 4}]",
                                    "nodes: [{name: a, devices: 1, host: localhost}, {name: b, devices: 1, host: 127.0.0.1}]");
  const std::string out = d / "two.json";
  Run dry = Saturn("profile " + sweep + " -o " + out + " --dry-run --no-search --no-links " + kMpirun);
  INFO(dry.out);
  REQUIRE(dry.code == 0);
  CHECK_THAT(dry.out, Catch::Contains("--host localhost:1 -n 1 ") && Catch::Contains("--host localhost:1,127.0.0.1:1 -n 2 ") &&
                          Catch::Contains("packed onto 2 device slots"));
  Run r = Saturn("profile " + sweep + " -o " + out + " --warmup 1 --steps 2 --no-search --no-links " + kMpirun);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const json p = Load(out);
  std::set<int> measured;
  for (const json& rec : p["records"]) {
    CHECK(rec["feasible"] == true);
    CHECK(rec["step_seconds"].get<double>() > 0);
    measured.insert(rec["devices"].get<int>());
  }
  CHECK(measured == std::set<int>{1, 2});
  CHECK_THAT(*saturn::ReadFile(d / "runs/profile/tiny.lr=1.0e-3.seq_len=32_ddp_x2.log"),
             Catch::Contains("--host localhost:1,127.0.0.1:1 -n 2 ") && Catch::Contains("--slots local") &&
                 !Catch::Contains("--slots 0"));

  // The links across the two nodes, added to the same file: one rank on each, stored as measured
  // across 2 nodes; the estimate of ddp x2 (a job wider than a node) is checked against them.
  Run links = Saturn("profile " + sweep + " -o " + out + " --links --resume --estimate " + kMpirun);
  INFO(links.out);
  REQUIRE(links.code == 0);
  CHECK_THAT(links.out, Catch::Contains("links x2 over 2 nodes: all-reduce bus bandwidth up to") &&
                            Catch::Contains("ddp x2: step ") && Catch::Contains("(links nodes)"));
  CHECK_THAT(*saturn::ReadFile(d / "runs/profile/links_x2_over_2_nodes.log"),
             Catch::Contains("--host localhost:1,127.0.0.1:1 -n 2 ") && Catch::Contains("links-trial"));
  const json pl = Load(out);
  std::set<std::string> collectives;
  for (const json& l : pl["links"]) {
    CHECK(l["scope"] == "nodes");
    CHECK(l["nodes"] == 2);
    CHECK(l["ranks"] == 2);
    CHECK(l["busbw"].get<double>() > 0);
    collectives.insert(l["collective"].get<std::string>());
  }
  CHECK(collectives == std::set<std::string>{"all_gather", "all_reduce", "reduce_scatter", "send_recv"});
  CHECK(pl["records"].size() == p["records"].size());  // measured records kept, nothing to estimate

  // Without host: names, this machine stands in for one node: x2 is wider than it and skipped.
  const std::string local = Variant(d, sweep, "local.yaml", ", host: localhost}, {name: b, devices: 1, host: 127.0.0.1}",
                                    "}, {name: b, devices: 1}");
  Run skipped = Saturn("profile " + local + " -o " + (d / "local.json") + " --dry-run --no-search --no-links " + kMpirun);
  INFO(skipped.out);
  REQUIRE(skipped.code == 0);
  CHECK_THAT(skipped.out, Catch::Contains("skipped tiny.lr=1.0e-3.seq_len=32 ddp x2: more devices than one node has") &&
                              !Catch::Contains("--host"));
  Run no_across = Saturn("profile " + local + " -o " + (d / "local.json") + " --dry-run --links " + kMpirun);
  INFO(no_across.out);
  REQUIRE(no_across.code == 0);
  CHECK_THAT(no_across.out, Catch::Contains("links across nodes not measured: the trials reach one node") &&
                                Catch::Contains("0 trials to run"));
}

TEST_CASE("saturn profile records a trial past --trial-timeout, or one that fails, as infeasible and goes on",
          "[profile]") {
  TempDir d;
  // seq_len 512 is past the tiny model's 256 positions: that trial fails when it builds the step.
  const std::string sweep = Sweep(d, "fail", "[ddp]", "[1, 2]", "[32, 512]"), out = d / "profile.json";
  Run r = Saturn("profile " + sweep + " -o " + out + " --warmup 1 --steps 2 --serial --no-links --no-search " + kMpirun);
  INFO(r.out);
  REQUIRE(r.code == 0);
  json p = Load(out);
  REQUIRE(p["records"].size() == 4);
  for (const json& rec : p["records"]) {
    INFO(rec.dump());
    const bool long_seq = rec["job"].get<std::string>().find("seq_len=512") != std::string::npos;
    CHECK(rec["feasible"].get<bool>() == !long_seq);
    if (long_seq) CHECK_THAT(rec["reason"].get<std::string>(), Catch::Contains("256 positions"));
  }

  const std::string out2 = d / "timeout.json";
  Run t = Saturn("profile " + sweep + " -o " + out2 + " --trial-timeout 0.3 --no-links --no-search " + kMpirun);
  INFO(t.out);
  REQUIRE(t.code == 0);
  json pt = Load(out2);
  REQUIRE(pt["records"].size() == 4);
  for (const json& rec : pt["records"]) {
    INFO(rec.dump());
    CHECK_FALSE(rec["feasible"].get<bool>());
    const bool long_seq = rec["job"].get<std::string>().find("seq_len=512") != std::string::npos;
    if (!long_seq) CHECK_THAT(rec["reason"].get<std::string>(), Catch::Contains("timed out after 0.3 s"));
  }
  // No rank of a stopped trial is left behind.
  Run ps = Shell("pgrep -f 'profile-tria[l] " + sweep + "' || true");
  CHECK(ps.out.empty());
}

TEST_CASE("profile user errors: exit 2 naming the place, nothing written", "[profile]") {
  TempDir d;
  const std::string sweep = Sweep(d), out = d / "profile.json";
  Run no_out = Saturn("profile " + sweep);
  CHECK(no_out.code == 2);
  CHECK_THAT(no_out.out, Catch::Contains("-o PROFILE.json"));
  Run both = Saturn("profile " + sweep + " -o " + out + " --resume --restart");
  CHECK(both.code == 2);
  Run links = Saturn("profile " + sweep + " -o " + out + " --links --no-links");
  CHECK(links.code == 2);
  CHECK_THAT(links.out, Catch::Contains("contradict"));
  Variant(d, sweep, "bad.yaml", "gpt2-tiny.json", "nonexistent.json");
  Run missing = Saturn("profile " + (d / "bad.yaml") + " -o " + out + " " + kMpirun);
  CHECK(missing.code == 2);
  CHECK_THAT(missing.out, Catch::Contains("bad.yaml:") && Catch::Contains("nonexistent.json"));
  Run no_mpirun = Saturn("profile " + sweep + " -o " + out + " --mpirun /nonexistent/mpirun");
  CHECK(no_mpirun.code == 2);
  CHECK_THAT(no_mpirun.out, Catch::Contains("/nonexistent/mpirun"));
  Variant(d, sweep, "many.yaml", "devices: [1, 2, 4]", "devices: [1, 8]");
  Run many = Saturn("profile " + (d / "many.yaml") + " -o " + out + " " + kMpirun);
  CHECK(many.code == 2);
  CHECK_THAT(many.out, Catch::Contains("many.yaml:"));
  // A model directory whose weights do not load (a file cut short): exit 2 before any trial.
  fs::create_directories(d / "cut");
  fs::copy_file(SATURN_SOURCE_DIR "/models/gpt2-tiny.json", d / "cut/config.json");
  d.write("cut/model.safetensors", std::string("\x40\0\0\0\0\0\0\0{\"wte.weight\"", 20));
  Variant(d, sweep, "cut.yaml", SATURN_SOURCE_DIR "/models/gpt2-tiny.json", d / "cut");
  Run cut = Saturn("profile " + (d / "cut.yaml") + " -o " + out + " " + kMpirun);
  CHECK(cut.code == 2);
  CHECK_THAT(cut.out, Catch::Contains("cut.yaml:") && Catch::Contains("cut/model.safetensors") &&
                          Catch::Contains("weights"));
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("a trial that cannot fit by the memory estimate is recorded, not launched", "[profile]") {
  TempDir d;
  // gpt2-tiny has 6.9M parameters: 0.10 GiB of fp32 weights, gradients and AdamW's moments.
  const std::string sweep = Variant(d, Sweep(d), "small.yaml", "device_memory_gib: 8", "device_memory_gib: 0.06");
  Run dry = Saturn("profile " + sweep + " -o " + (d / "p.json") + " --dry-run --no-search --no-links " + kMpirun);
  INFO(dry.out);
  REQUIRE(dry.code == 0);
  // ddp keeps all of it on every rank; fsdp's share fits from 2 ranks on; offload is not on CPU.
  for (const char* t : {"ddp x1", "ddp x2", "ddp x4", "fsdp x1"})
    CHECK_THAT(dry.out, Catch::Contains(std::string(t) + ": out of memory by the memory estimate"));
  CHECK_THAT(dry.out, !Catch::Contains("fsdp x2: out of memory") && Catch::Contains("fsdp x2: ") &&
                          Catch::Contains("0.10 GiB per device (16 bytes x 6862464 parameters)") &&
                          Catch::Contains("above device_memory_gib 0.06"));
  CHECK_THAT(dry.out, Catch::Contains("--technique fsdp --slots 0,1 "));
}

TEST_CASE("saturn profile on a cluster of two node kinds: each kind on its nodes with its memory, into one file, and "
          "saturn plan keeps each job on one kind",
          "[profile]") {
  TempDir d;
  const std::string sweep =
      Variant(d, Sweep(d, "prof", "[ddp, fsdp]", "[1, 2]", "[32]"), "kinds.yaml",
              "device_memory_gib: 8, nodes: [{name: n, devices: 4}]",
              "kinds: [{name: small, device_memory_gib: 0.06}, {name: big, device_memory_gib: 8}],\n"
              "          nodes: [{name: s, devices: 2, kind: small}, {name: b, devices: 2, kind: big}]");
  const std::string out = d / "profile.json", flags = " --warmup 1 --steps 2 --no-search --no-links " + kMpirun;
  Run mixed = Saturn("profile " + sweep + " -o " + out + flags);
  CHECK(mixed.code == 2);
  CHECK_THAT(mixed.out, Catch::Contains("mixes node kinds (small, big)") && Catch::Contains("--kind KIND"));
  Run unknown = Saturn("profile " + sweep + " -o " + out + " --kind bigg" + flags);
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.out, Catch::Contains("did you mean 'big'"));
  CHECK_FALSE(fs::exists(out));

  Run small = Saturn("profile " + sweep + " -o " + out + " --kind small" + flags);
  INFO(small.out);
  REQUIRE(small.code == 0);
  Run big = Saturn("profile " + sweep + " -o " + out + " --kind big --resume" + flags);
  INFO(big.out);
  REQUIRE(big.code == 0);
  // Small's 0.06 GiB holds fsdp's half of the 0.10 GiB of state, never ddp's whole; big's 8 GiB all.
  std::map<std::string, std::set<std::string>> feasible, infeasible;
  const json prof = Load(out);
  for (const json& rec : prof["records"]) {
    INFO(rec.dump());
    REQUIRE(rec.contains("kind"));
    const std::string what = rec["technique"].get<std::string>() + " x" + std::to_string(rec["devices"].get<int>());
    (rec["feasible"].get<bool>() ? feasible : infeasible)[rec["kind"].get<std::string>()].insert(what);
    if (!rec["feasible"].get<bool>())
      CHECK_THAT(rec["reason"].get<std::string>(), Catch::Contains("above device_memory_gib 0.06"));
  }
  CHECK(feasible["small"] == std::set<std::string>{"fsdp x2"});
  CHECK(infeasible["small"] == std::set<std::string>{"ddp x1", "ddp x2", "fsdp x1"});
  CHECK(feasible["big"] == std::set<std::string>{"ddp x1", "ddp x2", "fsdp x1", "fsdp x2"});
  CHECK(infeasible["big"].empty());

  // Each kind keeps the machine it was measured on. Resuming one kind checks that kind's machine
  // alone: another kind's may be another CPU (the documented one file of A100 and H100 nodes).
  REQUIRE(prof["measured"]["machines"].size() == 2);
  json moved = prof;
  for (json& m : moved["measured"]["machines"]) {
    if (m["kind"] != "small") continue;
    m["device_name"] = "Imaginary CPU 9000";
    m["cores"] = 1000;
  }
  const std::string elsewhere = d.write("elsewhere.json", moved.dump());
  Run other_kind = Saturn("profile " + sweep + " -o " + elsewhere + " --kind big --resume --dry-run" + flags);
  INFO(other_kind.out);
  CHECK(other_kind.code == 0);
  Run same_kind = Saturn("profile " + sweep + " -o " + elsewhere + " --kind small --resume --dry-run" + flags);
  CHECK(same_kind.code == 2);
  CHECK_THAT(same_kind.out, Catch::Contains(elsewhere + ": --resume: measured ") && Catch::Contains("(kind small)") &&
                                Catch::Contains("--restart"));
  CHECK(Load(elsewhere) == moved);

  Run plan = Saturn("plan " + sweep + " --profile " + out + " -o " + (d / "plan.json") + " --time-limit 5");
  INFO(plan.out);
  REQUIRE(plan.code == 0);
  const json p = Load(d / "plan.json");
  for (const json& j : p["jobs"]) {
    INFO(j.dump());
    REQUIRE(j.contains("kind"));
    for (const json& on : j["placement"]) CHECK(on["node"] == (j["kind"] == "small" ? "s" : "b"));
  }
}

TEST_CASE("jobs sharing a cost key but allowing other techniques: each pair measured once, and every job planned",
          "[profile]") {
  TempDir d;
  const std::string sweep = d.write("shared.yaml", "name: shared\noutput_dir: " + (d / "runs") +
                                                       "\ncluster: {device: cpu, nodes: [{name: n, devices: 4}]}\njobs:\n"
                                                       "  - {name: a, model: m.json, steps: 10, techniques: [fsdp], devices: [2]}\n"
                                                       "  - name: b\n    model: m.json\n    steps: 10\n    techniques: [ddp]\n"
                                                       "    devices: [1]\n    grid: {optimizer.lr: [1.0e-3, 3.0e-3]}\n");
  auto s = saturn::LoadSweep(sweep);
  REQUIRE(s.ok());
  REQUIRE(s->jobs[0].cost_key() == s->jobs[2].cost_key());
  saturn::TrialPlan plan = saturn::PlanTrials(*s, [](const saturn::JobSpec&, const std::string&, int) { return ""; }, nullptr);
  REQUIRE(plan.trials.size() == 2);
  CHECK(plan.trials[0].label() == "a fsdp x2");
  CHECK(plan.trials[1].label() == "b.lr=1.0e-3 ddp x1");
  // What the profiler then writes: the planner gives b.lr=3.0e-3 the record measured under b.lr=1.0e-3.
  const std::string profile = d.write("p.json", R"({"version": 1, "sweep": "shared", "records": [
 {"job": "a", "technique": "fsdp", "devices": 2, "feasible": true, "step_seconds": 1.0},
 {"job": "b.lr=1.0e-3", "technique": "ddp", "devices": 1, "feasible": true, "step_seconds": 1.5}]})");
  Run p = Saturn("plan " + sweep + " --profile " + profile + " -o " + (d / "plan.json") + " --time-limit 5");
  INFO(p.out);
  REQUIRE(p.code == 0);
  CHECK_THAT(p.out, Catch::Contains("b.lr=3.0e-3  ddp"));
}

TEST_CASE("a trial's failure reason comes from its log", "[profile]") {
  CHECK(saturn::TrialFailureReason("starting\nsaturn profile-trial: error: seq_len 512 is long\n") == "seq_len 512 is long");
  CHECK(saturn::TrialFailureReason("x\nsaturn profile-trial: error: rank 1: DefaultCPUAllocator: can't allocate memory\n") ==
        "out of memory: rank 1: DefaultCPUAllocator: can't allocate memory");
  CHECK(saturn::TrialFailureReason("just a line\n\n") == "just a line");
  // One rank's out-of-memory line wins over the errors it then caused on the others.
  CHECK(saturn::TrialFailureReason("saturn profile-trial: error: rank 0 of 2: DefaultCPUAllocator: can't allocate memory\n"
                                   "saturn profile-trial: error: rank 1 of 2: MPI_Recv: peer went away\n") ==
        "out of memory: rank 0 of 2: DefaultCPUAllocator: can't allocate memory");
  CHECK(saturn::TrialFailureReason("terminate called after throwing an instance of 'std::bad_alloc'\n") ==
        "out of memory: terminate called after throwing an instance of 'std::bad_alloc'");
  CHECK(saturn::TrialFailureReason("") == "");
  // Under srun: its closing lines say less than the rank's error; its out-of-memory words count.
  CHECK(saturn::TrialFailureReason("saturn profile-trial: error: seq_len 512 is long\n"
                                   "srun: error: node3: task 0: Exited with exit code 2\n") == "seq_len 512 is long");
  CHECK(saturn::TrialFailureReason("srun: error: node3: task 1: Out Of Memory\n") ==
        "out of memory: node3: task 1: Out Of Memory");
  CHECK(saturn::TrialFailureReason("slurmstepd: error: Detected 1 oom_kill event in StepId=12.3\n")
            .rfind("out of memory: ", 0) == 0);
}

TEST_CASE("Subprocess: exit codes, signals, a command that does not exist, and stopping a group", "[profile]") {
  TempDir d;
  const std::string log = d / "log";
  auto run = [&](const std::vector<std::string>& argv) {
    auto p = saturn::Subprocess::Start(argv, log);
    REQUIRE(p.ok());
    while (!p->Poll()) {}
    return std::make_pair(p->exit_code(), p->signal());
  };
  CHECK(run({"sh", "-c", "exit 3"}) == std::make_pair(3, 0));
  CHECK(run({"sh", "-c", "echo hello; kill -SEGV $$"}) == std::make_pair(128 + SIGSEGV, SIGSEGV));
  CHECK_THAT(*saturn::ReadFile(log), Catch::Contains("hello"));
  auto missing = saturn::Subprocess::Start({"/nonexistent/cmd"}, log);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), Catch::Contains("/nonexistent/cmd"));
  // A child and its grandchild, both stopped by Stop().
  auto p = saturn::Subprocess::Start({"sh", "-c", "sleep 300 & sleep 300; wait"}, log);
  REQUIRE(p.ok());
  p->Stop(1);
  CHECK(p->exited());
  CHECK(p->signal() == SIGTERM);
  Run left = Shell("pgrep -f 'slee[p] 300' || true");
  CHECK(left.out.empty());
}

TEST_CASE("profiler knob search: the fastest setting that ran is kept / when all run out of memory, activation "
          "checkpointing is tried", "[profile]") {
  TempDir d;
  // Stands in for `saturn profile-trial`: out of memory unless activation checkpointing is on;
  // smaller micro-batches are faster.
  const std::string fake = d.write("fake-saturn", R"(#!/bin/sh
knobs="{}"; result=""
while [ $# -gt 0 ]; do case "$1" in --knobs) knobs="$2"; shift 2;; --result) result="$2"; shift 2;; *) shift;; esac; done
case "$knobs" in *activation_checkpointing*) ;; *) echo "saturn profile-trial: error: DefaultCPUAllocator: can't allocate memory" >&2; exit 1;; esac
case "$knobs" in *micro_batch_size*) t=0.5;; *) t=0.8;; esac
echo "{\"step_seconds\": [$t, $t, $t], \"peak_memory_bytes\": 1000, \"knobs\": $knobs}" > "$result"
)");
  fs::permissions(fake, fs::perms::owner_all);
  auto sweep = saturn::LoadSweep(Sweep(d, "search", "[ddp]", "[1]", "[32]"));
  REQUIRE(sweep.ok());
  saturn::TrialPlan plan;
  saturn::Trial t;
  t.job = &sweep->jobs[0];
  t.technique = "ddp";
  t.devices = 1;
  t.variants = {"{}", R"({"micro_batch_size": 4})"};
  t.fallbacks = {R"({"activation_checkpointing": true})", R"({"activation_checkpointing": true, "micro_batch_size": 4})"};
  plan.trials.push_back(t);
  saturn::ProfilerOptions opt;
  opt.out = d / "p.json";
  opt.saturn = fake;
  opt.quiet = true;
  REQUIRE(saturn::RunProfiler(*sweep, plan, opt).ok());
  json p = Load(opt.out);
  REQUIRE(p["records"].size() == 1);
  const json& rec = p["records"][0];
  INFO(rec.dump());
  CHECK(rec["feasible"].get<bool>());
  CHECK(rec["step_seconds"].get<double>() == 0.5);
  CHECK(rec["knobs"] == json::parse(t.fallbacks[1]));

  // Without the search: the defaults only, out of memory, with the reason.
  opt.search = false;
  opt.restart = true;
  REQUIRE(saturn::RunProfiler(*sweep, plan, opt).ok());
  json q = Load(opt.out);
  CHECK_FALSE(q["records"][0]["feasible"].get<bool>());
  CHECK_THAT(q["records"][0]["reason"].get<std::string>(), Catch::StartsWith("out of memory: DefaultCPUAllocator"));
}

TEST_CASE("the analytic model: compute split over ranks, collectives by the fitted links, memory by state size",
          "[profile]") {
  saturn::Profile p;
  // Links on 4 ranks: latency 1e-4 s and a bus bandwidth of exactly 1e9 B/s for every collective.
  for (const std::string c : {"all_reduce", "all_gather", "reduce_scatter", "send_recv"}) {
    const double f = c == "all_reduce" ? 1.5 : c == "send_recv" ? 1.0 : 0.75;
    for (long long bytes : {1000LL, 1001000LL}) {
      saturn::LinkRecord l;
      l.collective = c;
      l.ranks = 4;
      l.bytes = bytes;
      l.seconds = 1e-4 + double(bytes - 1000) * f / 1e9;
      p.links.push_back(l);
    }
  }
  saturn::ProfileRecord one;
  one.job = "j";
  one.technique = "ddp";
  one.devices = 1;
  one.feasible = true;
  one.step_seconds = 2.0;
  one.peak_memory_bytes = 5000000000LL;
  p.records.push_back(one);
  saturn::JobSpec job;
  job.name = "j";
  job.batch_size = 8;
  job.micro_batch_size = 2;
  job.seq_len = 100;
  saturn::JobShape shape;
  shape.parameters = 100000000;  // 16 bytes each: 1.6e9 of state
  shape.layers = 10;
  shape.hidden = 1000;
  saturn::Estimator model(p, 8);
  const double P4 = 4.0 * 1e8;
  CHECK(model.CollectiveSeconds("all_reduce", 8, P4) == Approx(1e-4 + P4 * 2 * 7 / 8 / 1e9));

  saturn::Estimate ddp = model.Predict(job, shape, "ddp", 8);
  REQUIRE(ddp.ok);
  CHECK(ddp.compute_seconds == Approx(0.25));
  CHECK(ddp.core_share == 1);  // the profile says nothing of cores
  CHECK(ddp.from_technique == "ddp");
  CHECK(ddp.from_seconds == Approx(2.0));
  REQUIRE(ddp.fits.count("all_reduce") == 1);
  CHECK(ddp.fits.at("all_reduce").busbw == Approx(1e9));
  CHECK(ddp.comm_seconds == Approx(1e-4 + P4 * 1.75 / 1e9));
  CHECK(ddp.peak_memory_bytes == 5000000000LL);  // the one-device peak: replicated state

  saturn::Estimate fsdp = model.Predict(job, shape, "fsdp", 8);
  REQUIRE(fsdp.ok);  // from ddp's one-device time, as fsdp has none of its own
  // Each of the 10 blocks gathered twice (the last once) and reduce-scattered once (no parts
  // outside blocks here).
  CHECK(fsdp.comm_seconds == Approx((2 * 10 - 1 + 10) * (1e-4 + P4 / 10 * 0.875 / 1e9)));
  CHECK(double(fsdp.peak_memory_bytes) == Approx(5e9 - 1.6e9 + 1.6e9 / 8 + 2 * P4 / 10));
  // On 2 ranks each takes 4 sequences, in 2 micro-batches of 2: every block is gathered and
  // reduce-scattered in each, twice the traffic of the whole share at once.
  saturn::JobSpec whole = job;
  whole.micro_batch_size = 0;
  const double once = model.Predict(whole, shape, "fsdp", 2).comm_seconds;
  CHECK(once > 0);
  CHECK(model.Predict(job, shape, "fsdp", 2).comm_seconds == Approx(2 * once));

  saturn::Estimate pipe = model.Predict(job, shape, "pipeline", 4);
  REQUIRE(pipe.ok);
  const int m = 4;  // batch 8 in micro-batches of 2
  CHECK(pipe.compute_seconds == Approx(2.0 / 4 * (m + 3) / m));
  CHECK(pipe.micro_batches == m);
  // A model whose blocks hold half the parameters and whose head shares the embedding (1e7 of
  // them): fsdp gathers the other half once a step; the pipeline's end stages swap its gradient.
  saturn::JobShape tied = shape;
  tied.block_parameters = 5000000;
  tied.tied_parameters = 10000000;
  const double B4 = 4.0 * 5e6, O4 = 4.0 * 5e7;
  CHECK(model.Predict(job, tied, "fsdp", 8).comm_seconds ==
        Approx(19 * (1e-4 + B4 * 0.875 / 1e9) + 10 * (1e-4 + B4 * 0.875 / 1e9) + 2 * (1e-4 + O4 * 0.875 / 1e9)));
  CHECK(model.Predict(job, tied, "pipeline", 4).comm_seconds ==
        Approx(pipe.comm_seconds + 1e-4 + 4.0 * 1e7 / 1e9));
  CHECK(pipe.comm_seconds == Approx(2.0 * (m + 2) * (1e-4 + 2.0 * 100 * 1000 * 4 / 1e9)));
  CHECK_FALSE(model.Predict(job, shape, "pipeline", 11).ok);  // more stages than blocks
  CHECK_THAT(model.Predict(job, shape, "offload", 2).why, Catch::Contains("no model"));
  job.name = "other";
  CHECK_THAT(model.Predict(job, shape, "ddp", 2).why, Catch::Contains("one-device measurement"));

  // A CPU node of 8 device slots on 3 cores: ranks on slots 0..k-1 sit on core s mod 3, so the
  // busiest core runs ceil(k / 3) of them, each as slow as the one-device trial on its own core.
  job.name = "j";
  p.measured.present = true;
  p.measured.device = "cpu";
  p.measured.machines = {{"", "", 3, 8}};
  saturn::Estimator shared(p, 8);
  CHECK(shared.CoreShare(1) == 1);
  CHECK(shared.CoreShare(3) == 1);
  CHECK(shared.CoreShare(4) == 2);
  CHECK(shared.CoreShare(8) == 3);
  saturn::Estimate crowded = shared.Predict(job, shape, "ddp", 8);
  REQUIRE(crowded.ok);
  CHECK(crowded.core_share == 3);
  CHECK(crowded.compute_seconds == Approx(0.25 * 3));
  CHECK(crowded.comm_seconds == Approx(ddp.comm_seconds));  // links measured under the same sharing
  // 16 ranks span two nodes of 8: 8 a node, as crowded as 8 on one.
  CHECK(shared.Predict(job, shape, "ddp", 16).compute_seconds == Approx(2.0 / 16 * 3));
  // The cores are those of the kind the records are: another kind's machine says nothing of them.
  CHECK(saturn::Estimator(p, 8, "other").CoreShare(8) == 1);
  // Trials packed onto those cores already shared them in their one-device steps.
  p.measured.machines[0].packed = true;
  CHECK(saturn::Estimator(p, 8).CoreShare(8) == 1);
  p.measured.machines[0].packed = false;
  p.measured.machines[0].cores = 8;  // a core per slot: no sharing
  CHECK(saturn::Estimator(p, 8).Predict(job, shape, "ddp", 8).compute_seconds == Approx(0.25));
  p.measured.machines[0].cores = 3;
  p.measured.device = "cuda";  // GPUs do not share cores
  CHECK(saturn::Estimator(p, 8).Predict(job, shape, "ddp", 8).compute_seconds == Approx(0.25));

  p.links.clear();
  saturn::Estimator no_links(p, 8);
  CHECK_THAT(no_links.Predict(job, shape, "ddp", 2).why, Catch::Contains("saturn profile --links"));
}
