// Sweep files: the example parses as documented, grids expand and are named by the documented
// rule, every kind of mistake gets a "FILE:LINE:COL: FIELD: ..." user error, and docs/sweep.md
// is exactly what the field table renders.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "config/fields.h"
#include "config/sweep.h"
#include "technique/names.h"
#include "util/files.h"

using Catch::Matchers::Contains;
using namespace saturn;

namespace {

// Line numbers matter to the tests below: the job's own fields start at line 9, column 5.
const std::string kBase =
    "name: s\n"                       // 1
    "cluster:\n"                      // 2
    "  nodes:\n"                      // 3
    "    - {name: n0, devices: 4}\n"  // 4
    "    - {name: n1, devices: 4}\n"  // 5
    "jobs:\n"                         // 6
    "  - name: j\n"                   // 7
    "    model: m.json\n";            // 8

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

Sweep Parse(const std::string& yaml) {
  Result<Sweep> r = ParseSweep(yaml, "t.yaml");
  INFO((r.ok() ? std::string() : r.status().message()));
  REQUIRE(r.ok());
  return *r;
}

// The message of the user error `yaml` must produce.
std::string ErrorOf(const std::string& yaml) {
  Result<Sweep> r = ParseSweep(yaml, "t.yaml");
  INFO(yaml);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 2);
  return r.status().message();
}

std::vector<std::string> Names(const Sweep& s) {
  std::vector<std::string> names;
  for (const auto& j : s.jobs) names.push_back(j.name);
  return names;
}

std::string BuildDir() {
#ifdef SATURN_BINARY
  return std::filesystem::path(SATURN_BINARY).parent_path().string();
#else
  return std::filesystem::current_path().string();
#endif
}

}  // namespace

TEST_CASE("the example sweep parses as documented", "[sweep]") {
  const std::string path = std::string(SATURN_SOURCE_DIR) + "/configs/example-sweep.yaml";
  Result<std::string> text = ReadFile(path);
  REQUIRE(text.ok());
  CHECK(*text == ExampleSweepYaml());  // the docs show the same file

  Result<Sweep> r = LoadSweep(path);
  INFO((r.ok() ? std::string() : r.status().message()));
  REQUIRE(r.ok());
  const Sweep& s = *r;
  CHECK(s.path == path);
  CHECK(s.name == "gpt2-hparams");
  CHECK(s.output_dir == "runs/gpt2-hparams");
  CHECK(s.cluster.device == "cuda");
  CHECK(s.cluster.device_memory_gib == 80);
  REQUIRE(s.cluster.nodes.size() == 2);
  CHECK(s.cluster.nodes[1].name == "node1");
  CHECK(s.cluster.nodes[1].loc.str() == path + ":8:7");
  CHECK(s.cluster.total_devices() == 16);
  CHECK(s.cluster.max_node_devices() == 8);

  CHECK(Names(s) == std::vector<std::string>{
                        "gpt2-xl.lr=1.0e-4.batch_size=16", "gpt2-xl.lr=1.0e-4.batch_size=32",
                        "gpt2-xl.lr=3.0e-4.batch_size=16", "gpt2-xl.lr=3.0e-4.batch_size=32",
                        "gpt2-xl.lr=1.0e-3.batch_size=16", "gpt2-xl.lr=1.0e-3.batch_size=32",
                        "llama-7b"});
  const JobSpec& g = s.jobs[5];
  CHECK(g.base_name == "gpt2-xl");
  CHECK(g.model == "models/gpt2-xl.json");
  CHECK(g.tokenizer == "gpt2");
  CHECK(g.data_train == "datasets/wikitext103.tokens");
  CHECK(g.data_valid.empty());
  CHECK(g.seq_len == 1024);
  CHECK(g.batch_size == 32);  // from the grid, over the job's 16
  CHECK(g.steps == 5000);
  CHECK(g.optimizer.name == "adamw");
  CHECK(g.optimizer.lr == Approx(1.0e-3));  // from the grid, over the job's 3.0e-4
  CHECK(g.optimizer.weight_decay == Approx(0.1));
  CHECK(g.optimizer.beta2 == Approx(0.95));
  CHECK(g.techniques == TechniqueNames());
  CHECK(g.devices == std::vector<int>{1, 2, 4, 8, 16});
  CHECK(g.grid_values == std::vector<std::pair<std::string, std::string>>{
                             {"optimizer.lr", "1.0e-3"}, {"batch_size", "32"}});
  CHECK(g.loc.str() == path + ":10:5");

  const JobSpec* j = s.find_job("llama-7b");
  REQUIRE(j != nullptr);
  CHECK(j->base_name == "llama-7b");
  CHECK(j->grid_values.empty());
  CHECK(j->seq_len == 2048);
  CHECK(j->micro_batch_size == 0);
  CHECK(j->techniques == TechniqueNames());
  CHECK(j->devices == std::vector<int>{1, 2, 4, 8, 16});
  CHECK(s.find_job("gpt2-xl") == nullptr);  // only expanded names exist

  CHECK(s.eval.every_steps == 1000);
  REQUIRE(s.eval.tasks.size() == 2);
  CHECK(s.eval.tasks[0].name == "lambada");
  CHECK(s.eval.tasks[0].kind == "lm");
  CHECK(s.eval.tasks[0].path == "datasets/lambada_openai.jsonl");
  CHECK(s.eval.tasks[0].format == "composer");
  CHECK(s.eval.tasks[1].kind == "mc");
  CHECK(s.eval.tasks[1].num_fewshot == 0);
}

TEST_CASE("grid jobs are named <base>.<key>=<value as written>, first key slowest", "[sweep]") {
  Sweep s = Parse(kBase +
                  "    grid:\n"
                  "      seed: [1, 2]\n"
                  "      optimizer.lr: [1e-4, 0.00020, 2.5e-4]\n"
                  "      model: [\"models/a b.json\"]\n");
  CHECK(Names(s) == std::vector<std::string>{
                        "j.seed=1.lr=1e-4.model=models_a_b.json",
                        "j.seed=1.lr=0.00020.model=models_a_b.json",
                        "j.seed=1.lr=2.5e-4.model=models_a_b.json",
                        "j.seed=2.lr=1e-4.model=models_a_b.json",
                        "j.seed=2.lr=0.00020.model=models_a_b.json",
                        "j.seed=2.lr=2.5e-4.model=models_a_b.json"});
  CHECK(s.jobs[4].seed == 2);
  CHECK(s.jobs[4].optimizer.lr == Approx(2e-4));
  CHECK(s.jobs[4].model == "models/a b.json");  // the field keeps the real value
  CHECK(s.jobs[4].grid_values[2] == std::make_pair(std::string("model"),
                                                   std::string("models/a b.json")));
  CHECK(SanitizeJobName("a/b c=d+e-f.g~h") == "a_b_c=d+e-f.g_h");

  // A grid may supply a nested field the job does not write, and a required one.
  Sweep d = Parse(Replace(kBase, "    model: m.json\n", "") +
                  "    grid: {model: [m1], data.train: [t1, t2]}\n");
  CHECK(Names(d) == std::vector<std::string>{"j.model=m1.train=t1", "j.model=m1.train=t2"});
  CHECK(d.jobs[1].data_train == "t2");
}

TEST_CASE("defaults fill what the sweep leaves out, as the table documents", "[sweep]") {
  Sweep s = Parse("name: s\n"
                  "cluster: {nodes: [{name: a, devices: 8}, {name: b, devices: 4}]}\n"
                  "jobs: [{name: j, model: m}]\n");
  CHECK(s.output_dir == "runs/s");
  CHECK(s.cluster.device == "cuda");
  CHECK(s.cluster.device_memory_gib == 80);
  CHECK(s.cluster.total_devices() == 12);
  CHECK(s.eval.tasks.empty());
  const JobSpec& j = s.jobs.at(0);
  CHECK(j.devices == std::vector<int>{1, 2, 4, 8});  // powers of two up to 12
  CHECK(j.techniques == TechniqueNames());
  CHECK(j.tokenizer == "gpt2");

  // Every numeric default in the table is the one the parser applies.
  std::map<std::string, double> applied = {
      {"cluster.device_memory_gib", s.cluster.device_memory_gib},
      {"jobs[].seq_len", j.seq_len},
      {"jobs[].batch_size", j.batch_size},
      {"jobs[].micro_batch_size", j.micro_batch_size},
      {"jobs[].steps", static_cast<double>(j.steps)},
      {"jobs[].warmup_steps", j.warmup_steps},
      {"jobs[].checkpoint_every", j.checkpoint_every},
      {"jobs[].log_every", j.log_every},
      {"jobs[].seed", static_cast<double>(j.seed)},
      {"jobs[].optimizer.lr", j.optimizer.lr},
      {"jobs[].optimizer.weight_decay", j.optimizer.weight_decay},
      {"jobs[].optimizer.beta1", j.optimizer.beta1},
      {"jobs[].optimizer.beta2", j.optimizer.beta2},
      {"jobs[].optimizer.grad_clip", j.optimizer.grad_clip},
      {"eval.every_steps", s.eval.every_steps},
      {"eval.tasks[].num_fewshot", TaskSpec().num_fewshot},
      {"eval.tasks[].fewshot_seed", static_cast<double>(TaskSpec().fewshot_seed)},
  };
  for (const auto& [path, value] : applied) {
    const FieldSpec* f = FindField(path);
    REQUIRE(f != nullptr);
    INFO(path << " documents " << f->default_text);
    REQUIRE(f->default_text.size() > 2);
    CHECK(std::stod(f->default_text.substr(1, f->default_text.size() - 2)) == Approx(value));
  }
  CHECK(FindField("cluster.device")->default_text == "`" + s.cluster.device + "`");
  CHECK(FindField("jobs[].tokenizer")->default_text == "`" + j.tokenizer + "`");
  CHECK(FindField("jobs[].optimizer.name")->default_text == "`" + j.optimizer.name + "`");
  CHECK(FindField("eval.tasks[].format")->default_text == "`" + TaskSpec().format + "`");

  // The map form of a tokenizer is kept as "kind:path".
  Sweep t = Parse(kBase + "    tokenizer: {kind: hf, path: tok/gpt2}\n");
  CHECK(t.jobs[0].tokenizer == "hf:tok/gpt2");
  Sweep u = Parse(kBase + "    tokenizer: {kind: gpt2}\n");
  CHECK(u.jobs[0].tokenizer == "gpt2");

  // Explicit values win; devices are kept sorted, techniques in the order written.
  Sweep e = Parse(kBase +
                  "    devices: [8, 2]\n"
                  "    techniques: [offload, ddp]\n"
                  "    micro_batch_size: 4\n"
                  "    data: {train: t, valid: v}\n"
                  "eval:\n"
                  "  tasks:\n"
                  "    - {name: hs, kind: mc, path: p, format: hellaswag, num_fewshot: 5,\n"
                  "       prompt_string: 'Q:', example_delimiter: '', fewshot_seed: 7}\n");
  CHECK(e.jobs[0].devices == std::vector<int>{2, 8});
  CHECK(e.jobs[0].techniques == std::vector<std::string>{"offload", "ddp"});
  CHECK(e.jobs[0].data_valid == "v");
  CHECK(e.eval.tasks[0].format == "hellaswag");
  CHECK(e.eval.tasks[0].prompt_string == "Q:");
  CHECK(e.eval.tasks[0].example_delimiter.empty());
  CHECK(e.eval.tasks[0].continuation_delimiter == " ");
  CHECK(e.eval.tasks[0].fewshot_seed == 7);
}

TEST_CASE("cost keys join model, seq_len, batch and effective micro-batch", "[sweep]") {
  JobSpec a;
  a.model = "m.json";
  a.batch_size = 16;
  JobSpec b = a;
  b.optimizer.lr = 1;  // not part of the cost
  b.steps = 7;
  b.seed = 3;
  CHECK(a.cost_key() == b.cost_key());
  b.micro_batch_size = 16;  // same as 0: the whole batch
  CHECK(a.cost_key() == b.cost_key());
  b.micro_batch_size = 8;
  CHECK(a.cost_key() != b.cost_key());
  JobSpec c = a;
  c.seq_len = 2048;
  CHECK(a.cost_key() != c.cost_key());
  CHECK(a.cost_key() == "m.json|seq_len=1024|batch_size=16|micro_batch_size=16");
}

TEST_CASE("source locations print file:line:col, leaving out what is unknown", "[sweep]") {
  CHECK(SourceLoc{"f.yaml", 3, 7}.str() == "f.yaml:3:7");
  CHECK(SourceLoc{"f.yaml", 3, 0}.str() == "f.yaml:3");
  CHECK(SourceLoc{"f.yaml", 0, 0}.str() == "f.yaml");
  CHECK(SourceLoc{"", 3, 7}.str() == "3:7");
}

TEST_CASE("sweep errors: unknown keys name the nearest known one", "[sweep]") {
  SECTION("top level") {
    std::string m = ErrorOf(kBase + "evals: {}\n");
    CHECK_THAT(m, Contains("t.yaml:9:1: evals: unknown field; expected one of: name,"));
    CHECK_THAT(m, Contains("(did you mean 'eval'?)"));
  }
  SECTION("cluster") {
    std::string m = ErrorOf(Replace(kBase, "  nodes:\n", "  device_memory: 40\n  nodes:\n"));
    CHECK_THAT(m, Contains("t.yaml:3:3: cluster.device_memory: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'device_memory_gib'?)"));
  }
  SECTION("node") {
    std::string m = ErrorOf(Replace(kBase, "n1, devices", "n1, device"));
    CHECK_THAT(m, Contains("t.yaml:5:18: cluster.nodes[1].device: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'devices'?)"));
  }
  SECTION("job") {
    std::string m = ErrorOf(kBase + "    batchsize: 8\n");
    CHECK_THAT(m, Contains("t.yaml:9:5: jobs[0].batchsize: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'batch_size'?)"));
  }
  SECTION("optimizer") {
    std::string m = ErrorOf(kBase + "    optimizer: {name: adamw, lrr: 1}\n");
    CHECK_THAT(m, Contains("t.yaml:9:30: jobs[0].optimizer.lrr: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'lr'?)"));
  }
  SECTION("data") {
    std::string m = ErrorOf(kBase + "    data: {train: a, vlid: b}\n");
    CHECK_THAT(m, Contains("t.yaml:9:22: jobs[0].data.vlid: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'valid'?)"));
  }
  SECTION("tokenizer") {
    std::string m = ErrorOf(kBase + "    tokenizer: {kind: hf, paths: d}\n");
    CHECK_THAT(m, Contains("t.yaml:9:27: jobs[0].tokenizer.paths: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'path'?)"));
  }
  SECTION("eval") {
    std::string m = ErrorOf(kBase + "eval:\n  every_step: 5\n");
    CHECK_THAT(m, Contains("t.yaml:10:3: eval.every_step: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'every_steps'?)"));
  }
  SECTION("task") {
    std::string m = ErrorOf(kBase + "eval:\n  tasks:\n"
                                    "    - {name: t, kind: lm, path: p, num_fewshots: 2}\n");
    CHECK_THAT(m, Contains("t.yaml:11:36: eval.tasks[0].num_fewshots: unknown field"));
    CHECK_THAT(m, Contains("(did you mean 'num_fewshot'?)"));
  }
  SECTION("a key given twice") {
    std::string m = ErrorOf(kBase + "    steps: 5\n    steps: 6\n");
    CHECK_THAT(m, Contains("t.yaml:10:5: jobs[0].steps: repeated field (first at t.yaml:9:5)"));
  }
}

TEST_CASE("sweep errors: wrong types", "[sweep]") {
  SECTION("string where an integer is expected") {
    CHECK_THAT(ErrorOf(kBase + "    steps: many\n"),
               Contains("t.yaml:9:12: jobs[0].steps: got 'many'; expected an integer >= 1"));
  }
  SECTION("a quoted number is a string") {
    CHECK_THAT(ErrorOf(kBase + "    steps: \"5\"\n"),
               Contains("t.yaml:9:12: jobs[0].steps: got the quoted string '5'; expected an "
                        "integer"));
  }
  SECTION("a fraction where an integer is expected") {
    CHECK_THAT(ErrorOf(kBase + "    batch_size: 1.5\n"),
               Contains("t.yaml:9:17: jobs[0].batch_size: got '1.5'; expected an integer >= 1"));
  }
  SECTION("string where a number is expected") {
    CHECK_THAT(ErrorOf(kBase + "    optimizer: {lr: fast}\n"),
               Contains("t.yaml:9:21: jobs[0].optimizer.lr: got 'fast'; expected a number > 0"));
  }
  SECTION("list where a scalar is expected") {
    CHECK_THAT(ErrorOf(kBase + "    seq_len: [1, 2]\n"),
               Contains("t.yaml:9:14: jobs[0].seq_len: got a list; expected an integer >= 1"));
  }
  SECTION("map where a string is expected") {
    CHECK_THAT(ErrorOf(Replace(kBase, "model: m.json", "model: {path: m.json}")),
               Contains("t.yaml:8:12: jobs[0].model: got a map; expected a non-empty string"));
  }
  SECTION("no value") {
    CHECK_THAT(ErrorOf(kBase + "    steps:\n"),
               Contains("jobs[0].steps: no value; expected an integer >= 1"));
  }
  SECTION("scalar where a list is expected") {
    CHECK_THAT(ErrorOf(kBase + "    devices: 8\n"),
               Contains("t.yaml:9:14: jobs[0].devices: got '8'; expected a non-empty list of "
                        "integers >= 1"));
  }
  SECTION("scalar where a map is expected") {
    CHECK_THAT(ErrorOf(kBase + "    optimizer: adamw\n"),
               Contains("t.yaml:9:16: jobs[0].optimizer: got 'adamw'; expected a map of: name,"));
  }
  SECTION("scalar where a list of maps is expected") {
    CHECK_THAT(ErrorOf(Replace(kBase, "jobs:\n  - name: j\n    model: m.json\n", "jobs: j\n")),
               Contains("t.yaml:6:7: jobs: got 'j'; expected a non-empty list of maps"));
  }
  SECTION("a list element that is not a map") {
    CHECK_THAT(ErrorOf(kBase + "  - just-a-name\n"),
               Contains("t.yaml:9:5: jobs[1]: got 'just-a-name'; expected a map of: name,"));
  }
  SECTION("a file that is not a map") {
    CHECK_THAT(ErrorOf("- a\n- b\n"),
               Contains("t.yaml:1:1: (top level): got a list; expected a map of: name,"));
  }
}

TEST_CASE("sweep errors: numbers out of range", "[sweep]") {
  SECTION("negative steps") {
    CHECK_THAT(ErrorOf(kBase + "    steps: -1\n"),
               Contains("t.yaml:9:12: jobs[0].steps: -1 is out of range; expected an integer "
                        ">= 1"));
  }
  SECTION("zero devices on a node") {
    CHECK_THAT(ErrorOf(Replace(kBase, "n0, devices: 4", "n0, devices: 0")),
               Contains("t.yaml:4:27: cluster.nodes[0].devices: 0 is out of range"));
  }
  SECTION("zero devices for a job") {
    CHECK_THAT(ErrorOf(kBase + "    devices: [1, 0]\n"),
               Contains("t.yaml:9:18: jobs[0].devices[1]: 0 is out of range; expected a "
                        "non-empty list of integers >= 1"));
  }
  SECTION("lr <= 0") {
    CHECK_THAT(ErrorOf(kBase + "    optimizer: {lr: 0}\n"),
               Contains("t.yaml:9:21: jobs[0].optimizer.lr: 0 is out of range; expected a "
                        "number > 0"));
    CHECK_THAT(ErrorOf(kBase + "    optimizer: {lr: -1.0e-3}\n"),
               Contains("jobs[0].optimizer.lr: -1.0e-3 is out of range"));
  }
  SECTION("beta at 1") {
    CHECK_THAT(ErrorOf(kBase + "    optimizer: {beta2: 1.0}\n"),
               Contains("t.yaml:9:24: jobs[0].optimizer.beta2: 1.0 is out of range; expected "
                        "a number in [0, 1)"));
  }
  SECTION("device memory") {
    CHECK_THAT(ErrorOf(Replace(kBase, "  nodes:\n", "  device_memory_gib: 0\n  nodes:\n")),
               Contains("t.yaml:3:22: cluster.device_memory_gib: 0 is out of range"));
  }
  SECTION("too large for an int") {
    CHECK_THAT(ErrorOf(kBase + "    seq_len: 99999999999\n"),
               Contains("t.yaml:9:14: jobs[0].seq_len: 99999999999 is too large"));
    CHECK_THAT(ErrorOf(kBase + "    steps: 99999999999999999999999\n"),
               Contains("t.yaml:9:12: jobs[0].steps: 99999999999999999999999 is too large"));
  }
  SECTION("negative few-shot count") {
    CHECK_THAT(ErrorOf(kBase + "eval: {tasks: [{name: t, kind: lm, path: p, num_fewshot: -1}]}\n"),
               Contains("t.yaml:9:58: eval.tasks[0].num_fewshot: -1 is out of range"));
  }
  SECTION("micro-batch that does not divide the batch") {
    CHECK_THAT(ErrorOf(kBase + "    batch_size: 8\n    micro_batch_size: 3\n"),
               Contains("t.yaml:10:23: jobs[0].micro_batch_size: 3 does not divide batch_size "
                        "8; expected a divisor of batch_size, or 0"));
  }
  SECTION("more warmup than steps") {
    CHECK_THAT(ErrorOf(kBase + "    steps: 10\n    warmup_steps: 11\n"),
               Contains("t.yaml:10:19: jobs[0].warmup_steps: 11 is more than steps 10"));
  }
}

TEST_CASE("sweep errors: unknown techniques", "[sweep]") {
  std::string m = ErrorOf(kBase + "    techniques: [ddp, fsdb]\n");
  CHECK_THAT(m, Contains("t.yaml:9:23: jobs[0].techniques[1]: unknown value 'fsdb'; expected "
                         "a non-empty list of: ddp, fsdp, pipeline, offload"));
  CHECK_THAT(m, Contains("(did you mean 'fsdp'?)"));
  CHECK_THAT(ErrorOf(kBase + "    techniques: []\n"),
             Contains("t.yaml:9:17: jobs[0].techniques: empty list"));
  CHECK_THAT(ErrorOf(kBase + "    techniques: [ddp, ddp]\n"),
             Contains("t.yaml:9:23: jobs[0].techniques[1]: 'ddp' repeats the one at t.yaml:9:18"));
}

TEST_CASE("sweep errors: duplicate job names point at both jobs", "[sweep]") {
  SECTION("written twice") {
    std::string m = ErrorOf(kBase + "  - name: j\n    model: m2.json\n");
    CHECK_THAT(m, Contains("t.yaml:9:11: jobs[1].name: duplicate job name 'j' (also made by "
                           "jobs[0] at t.yaml:7:11)"));
  }
  SECTION("made twice by grids of two jobs") {
    std::string m = ErrorOf(kBase + "    grid: {optimizer.lr: [1.0e-4]}\n" +
                            "  - name: j\n    model: m.json\n"
                            "    grid: {optimizer.lr: [2.0e-4, 1.0e-4]}\n");
    CHECK_THAT(m, Contains("t.yaml:10:11: jobs[1].name: duplicate job name 'j.lr=1.0e-4' (also "
                           "made by jobs[0] at t.yaml:7:11)"));
  }
  SECTION("one grid repeating a value") {
    std::string m = ErrorOf(kBase + "    grid:\n      optimizer.lr: [1.0e-4, 1.0e-4]\n");
    CHECK_THAT(m, Contains("t.yaml:10:30: jobs[0].grid.optimizer.lr[1]: '1.0e-4' gives the same "
                           "job names as the value at t.yaml:10:22"));
  }
  SECTION("values that differ only in characters made safe") {
    std::string m = ErrorOf(kBase + "    grid:\n      model: [a/b, a_b]\n");
    CHECK_THAT(m, Contains("t.yaml:10:20: jobs[0].grid.model[1]: 'a_b' gives the same job names "
                           "as the value at t.yaml:10:15"));
  }
}

TEST_CASE("sweep errors: a job asking for more devices than the cluster has", "[sweep]") {
  std::string m = ErrorOf(kBase + "    devices: [1, 16]\n");
  CHECK_THAT(m, Contains("t.yaml:9:18: jobs[0].devices[1]: 16 devices, but the cluster has 8 in "
                         "total; expected at most 8"));
  CHECK_THAT(ErrorOf(kBase + "    devices: [2, 2]\n"),
             Contains("t.yaml:9:18: jobs[0].devices[1]: 2 repeats the count at t.yaml:9:15"));
}

TEST_CASE("sweep errors: empty grids", "[sweep]") {
  CHECK_THAT(ErrorOf(kBase + "    grid: {}\n"),
             Contains("t.yaml:9:11: jobs[0].grid: empty grid; expected at least one job field"));
  CHECK_THAT(ErrorOf(kBase + "    grid:\n      seq_len: []\n"),
             Contains("t.yaml:10:16: jobs[0].grid.seq_len: empty list; expected a non-empty "
                      "list of"));
  CHECK_THAT(ErrorOf(kBase + "    grid:\n      seq_len: 5\n"),
             Contains("t.yaml:10:16: jobs[0].grid.seq_len: got '5'; expected a non-empty list"));
  CHECK_THAT(ErrorOf(kBase + "    grid: [seq_len]\n"),
             Contains("t.yaml:9:11: jobs[0].grid: got a list; expected a map from job field"));
}

TEST_CASE("sweep errors: grid keys and values are checked like the fields", "[sweep]") {
  SECTION("a misspelt key") {
    std::string m = ErrorOf(kBase + "    grid:\n      seq_lenn: [1]\n");
    CHECK_THAT(m, Contains("t.yaml:10:7: jobs[0].grid.seq_lenn: unknown job field; expected one "
                           "of: model,"));
    CHECK_THAT(m, Contains("(did you mean 'seq_len'?)"));
  }
  SECTION("a short key") {
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      lr: [1]\n"),
               Contains("t.yaml:10:7: jobs[0].grid.lr: unknown job field; expected one of: "));
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      lr: [1]\n"),
               Contains("(did you mean 'optimizer.lr'?)"));
  }
  SECTION("a field a grid cannot vary") {
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      techniques: [[ddp]]\n"),
               Contains("t.yaml:10:7: jobs[0].grid.techniques: a grid cannot vary this field"));
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      name: [a, b]\n"),
               Contains("t.yaml:10:7: jobs[0].grid.name: a grid cannot vary this field"));
  }
  SECTION("a value of the wrong type") {
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      batch_size: [8, big]\n"),
               Contains("t.yaml:10:23: jobs[0].grid.batch_size[1]: got 'big'; expected an "
                        "integer >= 1"));
  }
  SECTION("a value out of range") {
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      optimizer.lr: [1.0e-4, -1]\n"),
               Contains("t.yaml:10:30: jobs[0].grid.optimizer.lr[1]: -1 is out of range"));
  }
  SECTION("equal values written differently") {
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      optimizer.lr: [1e-4, 1.0e-4, 0.0001]\n"),
               Contains("t.yaml:10:28: jobs[0].grid.optimizer.lr[1]: '1.0e-4' is the same value as '1e-4' at "
                        "t.yaml:10:22"));
    CHECK_THAT(ErrorOf(kBase + "    grid:\n      batch_size: [8, 08]\n"),
               Contains("jobs[0].grid.batch_size[1]: '08' is the same value as '8'"));
  }
  SECTION("a value that breaks a rule between fields") {
    CHECK_THAT(ErrorOf(kBase + "    micro_batch_size: 4\n    grid:\n      batch_size: [8, 6]\n"),
               Contains("t.yaml:9:23: jobs[0].micro_batch_size: 4 does not divide batch_size 6"));
    CHECK_THAT(ErrorOf(kBase + "    batch_size: 8\n    grid:\n      micro_batch_size: [4, 3]\n"),
               Contains("t.yaml:11:29: jobs[0].grid.micro_batch_size[1]: 3 does not divide"));
  }
}

TEST_CASE("sweep errors: missing required fields", "[sweep]") {
  CHECK_THAT(ErrorOf(Replace(kBase, "name: s\n", "")),
             Contains("t.yaml:1:1: name: missing required field; expected a name of letters"));
  CHECK_THAT(ErrorOf(Replace(kBase, "jobs:\n  - name: j\n    model: m.json\n", "")),
             Contains("t.yaml:1:1: jobs: missing required field; expected a non-empty list of "
                      "maps"));
  CHECK_THAT(ErrorOf("name: s\njobs: [{name: j, model: m}]\n"),
             Contains("t.yaml:1:1: cluster: missing required field; expected a map"));
  CHECK_THAT(ErrorOf("name: s\ncluster:\n  device: cpu\njobs: [{name: j, model: m}]\n"),
             Contains("t.yaml:3:3: cluster.nodes: missing required field"));
  CHECK_THAT(ErrorOf(Replace(kBase, "jobs:\n  - name: j\n    model: m.json\n", "jobs: []\n")),
             Contains("t.yaml:6:7: jobs: empty list; expected a non-empty list of maps"));
  CHECK_THAT(ErrorOf(Replace(kBase, "  - name: j\n    model", "  - model")),
             Contains("t.yaml:7:5: jobs[0].name: missing required field"));
  CHECK_THAT(ErrorOf(Replace(kBase, "    model: m.json\n", "")),
             Contains("t.yaml:7:5: jobs[0].model: missing required field; expected a non-empty "
                      "string"));
  CHECK_THAT(ErrorOf(Replace(kBase, "n0, devices: 4", "n0")),
             Contains("t.yaml:4:7: cluster.nodes[0].devices: missing required field"));
  CHECK_THAT(ErrorOf(kBase + "    data: {valid: v}\n"),
             Contains("t.yaml:9:11: jobs[0].data.train: missing required field"));
  CHECK_THAT(ErrorOf(kBase + "    tokenizer: {path: d}\n"),
             Contains("t.yaml:9:16: jobs[0].tokenizer.kind: missing required field; expected "
                      "one of: gpt2, hf"));
  CHECK_THAT(ErrorOf(kBase + "    tokenizer: {kind: hf}\n"),
             Contains("t.yaml:9:16: jobs[0].tokenizer.path: missing for kind hf"));
  CHECK_THAT(ErrorOf(kBase + "eval:\n  tasks: [{name: t, path: p}]\n"),
             Contains("t.yaml:10:11: eval.tasks[0].kind: missing required field; expected one "
                      "of: lm, mc, schema"));
  CHECK_THAT(ErrorOf(""), Contains("t.yaml:1:1: (top level): the file is empty"));
}

TEST_CASE("sweep errors: duplicate node and task names", "[sweep]") {
  CHECK_THAT(ErrorOf(Replace(kBase, "{name: n1", "{name: n0")),
             Contains("t.yaml:5:14: cluster.nodes[1].name: duplicate node name 'n0' (first at "
                      "t.yaml:4:7); expected unique node names"));
  CHECK_THAT(ErrorOf(kBase + "eval:\n  tasks:\n    - {name: t, kind: lm, path: p}\n"
                             "    - {name: t, kind: mc, path: q}\n"),
             Contains("t.yaml:12:14: eval.tasks[1].name: duplicate task name 't' (first at "
                      "t.yaml:11:7)"));
}

TEST_CASE("sweep errors: bad device kind and other unknown values", "[sweep]") {
  std::string m = ErrorOf(Replace(kBase, "  nodes:\n", "  device: cudaa\n  nodes:\n"));
  CHECK_THAT(m, Contains("t.yaml:3:11: cluster.device: unknown value 'cudaa'; expected one of: "
                         "cuda, cpu (did you mean 'cuda'?)"));
  CHECK_THAT(ErrorOf(kBase + "    optimizer: {name: adamm}\n"),
             Contains("t.yaml:9:23: jobs[0].optimizer.name: unknown value 'adamm'; expected one "
                      "of: adamw, adam, sgd (did you mean 'adamw'?)"));
  CHECK_THAT(ErrorOf(kBase + "    tokenizer: {kind: bpe, path: d}\n"),
             Contains("t.yaml:9:23: jobs[0].tokenizer.kind: unknown value 'bpe'"));
  CHECK_THAT(ErrorOf(kBase + "eval: {tasks: [{name: t, kind: lm, path: p, format: piqaa}]}\n"),
             Contains("eval.tasks[0].format: unknown value 'piqaa'; expected one of: composer, "
                      "lambada, piqa, hellaswag, hellaswag-text (did you mean 'piqa'?)"));
}

TEST_CASE("sweep errors: names that cannot name a directory", "[sweep]") {
  CHECK_THAT(ErrorOf(Replace(kBase, "name: j", "name: my job")),
             Contains("t.yaml:7:11: jobs[0].name: 'my job' is not a valid name; expected a name "
                      "of letters, digits and . _ + -"));
  CHECK_THAT(ErrorOf(Replace(kBase, "name: j", "name: a=b")),
             Contains("t.yaml:7:11: jobs[0].name: 'a=b' is not a valid name"));
  CHECK_THAT(ErrorOf(Replace(kBase, "name: j", "name: ''")),
             Contains("t.yaml:7:11: jobs[0].name: got an empty string; expected a name"));
  CHECK_THAT(ErrorOf(Replace(kBase, "name: s", "name: a/b")),
             Contains("t.yaml:1:7: name: 'a/b' is not a valid name"));
  // "." and ".." would put a job's results in the output folder itself, or above it.
  CHECK_THAT(ErrorOf(Replace(kBase, "name: j", "name: .")), Contains("t.yaml:7:11: jobs[0].name: '.' is not a valid name"));
  CHECK_THAT(ErrorOf(Replace(kBase, "name: j", "name: ..")), Contains("t.yaml:7:11: jobs[0].name: '..' is not a valid name"));
  CHECK_THAT(ErrorOf(Replace(kBase, "devices: 4}\n    - {name: n1", "devices: 100000000}\n    - {name: n1")),
             Contains("t.yaml:4:27: cluster.nodes[0].devices: 100000000 is out of range; expected an integer in [1, 4096]"));
}

TEST_CASE("sweep errors: invalid YAML reports yaml-cpp's position", "[sweep]") {
  std::string m = ErrorOf("name: s\ncluster: {nodes: [a, b}\n");
  CHECK_THAT(m, Contains("t.yaml:2:"));
  CHECK_THAT(m, Contains(": YAML syntax: "));
  CHECK_THAT(ErrorOf("name: s\n  bad: indent\n"), Contains("t.yaml:2:6: YAML syntax: "));
}

TEST_CASE("sweep files that cannot be read are user errors", "[sweep]") {
  Result<Sweep> r = LoadSweep("/nonexistent/sweep.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 2);
  CHECK_THAT(r.status().message(), Contains("/nonexistent/sweep.yaml"));
}

TEST_CASE("the field table is consistent", "[sweep]") {
  std::map<std::string, int> seen;
  for (const auto& f : SweepFields()) {
    INFO(f.path);
    CHECK(++seen[f.path] == 1);
    CHECK(!f.meaning.empty());
    CHECK((f.required || !f.default_text.empty()));  // the docs say something either way
    size_t cut = f.path.find_last_of('.');
    if (cut != std::string::npos) {  // the parent is a map, list of maps or tokenizer map
      std::string parent = f.path.substr(0, cut);
      bool list = parent.size() > 2 && parent.compare(parent.size() - 2, 2, "[]") == 0;
      const FieldSpec* p = FindField(list ? parent.substr(0, parent.size() - 2) : parent);
      REQUIRE(p != nullptr);
      CHECK(p->type == (list ? FieldType::kMapList
                             : p->type == FieldType::kTokenizer ? FieldType::kTokenizer
                                                                : FieldType::kMap));
    }
    if (f.griddable) {
      CHECK(f.path.rfind("jobs[].", 0) == 0);
      CHECK((f.type == FieldType::kString || f.type == FieldType::kInt ||
             f.type == FieldType::kNumber || f.type == FieldType::kEnum || f.type == FieldType::kBool));
    }
  }
  // Grid names use the last component of each key, so those must not collide.
  std::map<std::string, int> shorts;
  for (const auto& k : GridKeys()) CHECK(++shorts[k.substr(k.rfind('.') + 1)] == 1);
  CHECK(ChildKeys("cluster") ==
        std::vector<std::string>{"device", "device_memory_gib", "kinds", "nodes"});
  CHECK(FindField("jobs[].techniques")->allowed == TechniqueNames());
}

TEST_CASE("docs/sweep.md is generated from the field table", "[sweep]") {
  const std::string docs = std::string(SATURN_SOURCE_DIR) + "/docs/sweep.md";
  const std::string expected = SweepSchemaMarkdown();
  CHECK_THAT(expected, Contains("gpt2-xl.lr=1.0e-4.batch_size=16"));
  CHECK_THAT(expected, !Contains("(no error)"));  // each documented mistake is caught
  Result<std::string> committed = ReadFile(docs);
  if (!committed.ok() || *committed != expected) {
    const std::string out = BuildDir() + "/sweep.md.expected";
    Status written = WriteFileAtomic(out, expected);
    FAIL("docs/sweep.md is not what SweepSchemaMarkdown() renders from src/config/fields.cc"
         << (written.ok() ? ". Regenerate it with:\n  cp " + out + " " + docs
                          : ". Could not write the expected text: " + written.message()));
  }
}

TEST_CASE("training fields: booleans, precision, checkpoints kept, held-out fraction", "[sweep]") {
  Sweep d = Parse(kBase);
  CHECK(!d.jobs[0].activation_checkpointing);
  CHECK(d.jobs[0].precision == "auto");
  CHECK(d.jobs[0].keep_checkpoints == 2);
  CHECK(d.jobs[0].valid_fraction == 0.01);
  CHECK(d.jobs[0].optimizer.final_lr_fraction == 0.1);
  Sweep s = Parse(kBase + "    activation_checkpointing: true\n    precision: bf16\n    keep_checkpoints: 5\n"
                          "    data: {train: t.txt, valid_fraction: 0.2}\n    optimizer: {final_lr_fraction: 0}\n");
  CHECK(s.jobs[0].activation_checkpointing);
  CHECK(s.jobs[0].precision == "bf16");
  CHECK(s.jobs[0].keep_checkpoints == 5);
  CHECK(s.jobs[0].valid_fraction == 0.2);
  CHECK(s.jobs[0].optimizer.final_lr_fraction == 0);
  CHECK_THAT(ErrorOf(kBase + "    activation_checkpointing: yes\n"),
             Contains("t.yaml:9:31: jobs[0].activation_checkpointing: got 'yes'; expected true or false"));
  CHECK_THAT(ErrorOf(kBase + "    activation_checkpointing: \"true\"\n"), Contains("expected true or false"));
  CHECK_THAT(ErrorOf(kBase + "    precision: fp16\n"),
             Contains("jobs[0].precision: unknown value 'fp16'; expected one of: auto, fp32, bf16"));
  CHECK_THAT(ErrorOf(kBase + "    data: {train: t.txt, valid_fraction: 0.7}\n"),
             Contains("jobs[0].data.valid_fraction: 0.7 is out of range"));
  CHECK_THAT(ErrorOf(kBase + "    keep_checkpoints: 0\n"), Contains("jobs[0].keep_checkpoints: 0 is out of range"));
  Sweep g = Parse(kBase + "    grid: {activation_checkpointing: [false, true]}\n");
  REQUIRE(g.jobs.size() == 2);
  CHECK(g.jobs[1].name == "j.activation_checkpointing=true");
  CHECK(g.jobs[1].activation_checkpointing);
}
