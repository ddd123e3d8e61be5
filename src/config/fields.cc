#include "config/fields.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "config/sweep.h"
#include "technique/names.h"
#include "util/suggest.h"

namespace saturn {
namespace {

// Builds one table row; reads like the table it makes.
struct Row {
  FieldSpec f;
  Row(std::string path, FieldType type, std::string meaning) {
    f.path = std::move(path);
    f.type = type;
    f.meaning = std::move(meaning);
  }
  Row& required() { f.required = true; return *this; }
  Row& def(std::string text) { f.default_text = std::move(text); return *this; }
  Row& min(double v, bool open = false) { f.min = v; f.min_open = open; return *this; }
  Row& max(double v, bool open = false) { f.max = v; f.max_open = open; return *this; }
  Row& allowed(std::vector<std::string> v) { f.allowed = std::move(v); return *this; }
  Row& safe_name() { f.safe_name = true; return *this; }
  Row& may_be_empty() { f.may_be_empty = true; return *this; }
  Row& grid() { f.griddable = true; return *this; }
};

using T = FieldType;

std::vector<FieldSpec> BuildTable() {
  const bool kOpen = true;
  std::vector<Row> rows = {
      Row("name", T::kString, "Name of the sweep.").required().safe_name(),
      Row("output_dir", T::kString, "Directory for everything the sweep writes.")
          .def("`runs/<name>`"),

      Row("cluster", T::kMap, "The machines the jobs share.").required(),
      Row("cluster.device", T::kEnum, "Kind of device on every node.")
          .def("`cuda`").allowed({"cuda", "cpu"}),
      Row("cluster.device_memory_gib", T::kNumber, "Memory of one device of a node with no kind, in GiB.")
          .def("`80`").min(0, kOpen),
      Row("cluster.kinds", T::kMapList, "Kinds of node, for a cluster that mixes them (e.g. A100-40GB and "
                                        "H100-80GB nodes): the profile holds records per kind, and a job runs "
                                        "on nodes of one kind; see [docs/planner.md](planner.md).")
          .def("none: every node is alike"),
      Row("cluster.kinds[].name", T::kString, "Kind name, as nodes and profile records name it; unique.")
          .required().safe_name(),
      Row("cluster.kinds[].device_memory_gib", T::kNumber, "Memory of one device of this kind, in GiB.")
          .required().min(0, kOpen),
      Row("cluster.nodes", T::kMapList, "The nodes.").required(),
      Row("cluster.nodes[].name", T::kString, "Node name (a host name); unique.").required(),
      Row("cluster.nodes[].devices", T::kInt, "Devices on the node (at most 4096).").required().min(1).max(4096),
      Row("cluster.nodes[].kind", T::kString, "The node's kind, one of `cluster.kinds`; its devices have that "
                                              "kind's memory.")
          .def("none: `device_memory_gib` applies"),
      Row("cluster.nodes[].host", T::kString, "The machine the node's ranks start on (`mpirun --host`; inside "
                                              "Slurm, the allocation's node of that name). A cluster of one node "
                                              "without it is this machine; see docs/run.md.")
          .def("the node's name"),

      Row("jobs", T::kMapList, "The training jobs; a job with a `grid` stands for one job per "
                               "combination of its values.").required(),
      Row("jobs[].name", T::kString, "Job name; unique after grid expansion.")
          .required().safe_name(),
      Row("jobs[].model", T::kString, "Path to the model's Hugging Face config.json.")
          .required().grid(),
      Row("jobs[].tokenizer", T::kTokenizer,
          "A tokenizer name such as `gpt2`, or a map `{kind, path}`, kept as \"kind:path\".")
          .def("`gpt2`"),
      Row("jobs[].tokenizer.kind", T::kEnum, "Tokenizer kind.").required()
          .allowed({"gpt2", "hf"}),
      Row("jobs[].tokenizer.path", T::kString, "Directory with the tokenizer files; required "
                                               "for `hf`.").def("none"),
      Row("jobs[].data", T::kMap, "The job's data.").def("none"),
      Row("jobs[].data.train", T::kString,
          "Text file to train on (tokenized once, cached in the job's output directory), or a token "
          "file made by `saturn tokenize`; see [docs/data.md](data.md).").required().grid(),
      Row("jobs[].data.valid", T::kString, "Text or token file to validate on.")
          .def("the held-out tail of `train`").grid(),
      Row("jobs[].data.valid_fraction", T::kNumber,
          "Without `valid`: the fraction of `train`'s tokens, from its end, held out for validation.")
          .def("`0.01`").min(0).max(0.5).grid(),
      Row("jobs[].seq_len", T::kInt, "Tokens per sequence.").def("`1024`").min(1).grid(),
      Row("jobs[].batch_size", T::kInt, "Sequences per optimizer step (global batch).")
          .def("`8`").min(1).grid(),
      Row("jobs[].micro_batch_size", T::kInt,
          "Sequences per micro-batch; must divide `batch_size`. 0 means `batch_size`.")
          .def("`0`").min(0).grid(),
      Row("jobs[].steps", T::kInt, "Optimizer steps.").def("`1000`").min(1).grid(),
      Row("jobs[].warmup_steps", T::kInt, "Learning-rate warmup steps; at most `steps`.")
          .def("`0`").min(0).grid(),
      Row("jobs[].checkpoint_every", T::kInt, "Steps between checkpoints; 0: none.")
          .def("`0`").min(0).grid(),
      Row("jobs[].keep_checkpoints", T::kInt, "How many of the latest checkpoints to keep.")
          .def("`2`").min(1),
      Row("jobs[].log_every", T::kInt, "Steps between log lines.").def("`10`").min(1).grid(),
      Row("jobs[].activation_checkpointing", T::kBool,
          "Keep only each block's input in the forward pass and recompute the block in backward: "
          "less memory, about a third more compute.").def("`false`").grid(),
      Row("jobs[].precision", T::kEnum,
          "Arithmetic of the forward and backward passes; weights and optimizer state stay fp32. "
          "`auto`: bf16 autocast on CUDA devices that support it, fp32 otherwise.")
          .def("`auto`").allowed({"auto", "fp32", "bf16"}).grid(),
      Row("jobs[].seed", T::kInt, "Random seed.").def("`0`").min(0).grid(),
      Row("jobs[].priority", T::kNumber,
          "Weight of the job's end time: under `saturn plan --objective mean-completion` the plan minimizes "
          "the priority-weighted mean of end times; under `makespan`, among plans of one makespan it "
          "prefers those that end heavier jobs first.")
          .def("`1`").min(0, kOpen).max(1e6).grid(),
      Row("jobs[].deadline_hours", T::kNumber,
          "Hours from the sweep's start by which the job must end. Every objective meets deadlines "
          "first; a plan that cannot meet one says which job misses it and by how much. A deadline "
          "shorter than the job's fastest configuration is an error.")
          .def("none").min(0, kOpen).max(1e5).grid(),
      Row("jobs[].optimizer", T::kMap, "Optimizer settings.").def("all defaults"),
      Row("jobs[].optimizer.name", T::kEnum, "Optimizer.")
          .def("`adamw`").allowed({"adamw", "adam", "sgd"}).grid(),
      Row("jobs[].optimizer.lr", T::kNumber, "Peak learning rate.")
          .def("`3.0e-4`").min(0, kOpen).grid(),
      Row("jobs[].optimizer.weight_decay", T::kNumber, "Decoupled weight decay.")
          .def("`0`").min(0).grid(),
      Row("jobs[].optimizer.beta1", T::kNumber, "First-moment decay (momentum for `sgd`).")
          .def("`0.9`").min(0).max(1, kOpen).grid(),
      Row("jobs[].optimizer.beta2", T::kNumber, "Second-moment decay.")
          .def("`0.95`").min(0).max(1, kOpen).grid(),
      Row("jobs[].optimizer.final_lr_fraction", T::kNumber,
          "The cosine schedule decays the learning rate from `lr` to `lr` x this at the last step.")
          .def("`0.1`").min(0).max(1).grid(),
      Row("jobs[].optimizer.grad_clip", T::kNumber, "Clip the gradient norm to this; 0: no "
                                                    "clipping.").def("`1.0`").min(0).grid(),
      Row("jobs[].techniques", T::kEnumList,
          "Parallelism techniques the planner may choose from, in the order written.")
          .def("all of them").allowed(TechniqueNames()),
      Row("jobs[].devices", T::kIntList,
          "Device counts the planner may give the job, each at most the cluster's total; "
          "kept sorted.").def("powers of two up to the cluster's total").min(1),
      Row("jobs[].grid", T::kGrid, "Job fields to vary; see [Grids](#grids).").def("none"),

      Row("eval", T::kMap,
          "Evaluation of every job on its own ranks, its scores in its metrics.jsonl and the report.").def("none"),
      Row("eval.every_steps", T::kInt,
          "Steps between evaluations of a checkpoint written at that step; 0: only the final weights.")
          .def("`0`").min(0),
      Row("eval.tasks", T::kMapList, "Evaluation tasks.").def("`[]`").may_be_empty(),
      Row("eval.tasks[].name", T::kString, "Task name; unique.").required().safe_name(),
      Row("eval.tasks[].kind", T::kEnum,
          "`lm`: predict the continuation; `mc`: multiple choice; `schema`: pick the context "
          "that fits the continuation.").required().allowed({"lm", "mc", "schema"}),
      Row("eval.tasks[].path", T::kString, "JSONL file with the examples.").required(),
      Row("eval.tasks[].format", T::kEnum, "Layout of the JSONL records.").def("`composer`")
          .allowed({"composer", "lambada", "piqa", "hellaswag", "hellaswag-text"}),
      Row("eval.tasks[].num_fewshot", T::kInt, "Solved examples put before each question.")
          .def("`0`").min(0),
      Row("eval.tasks[].prompt_string", T::kString, "Text before the few-shot examples.")
          .def("`\"\"`").may_be_empty(),
      Row("eval.tasks[].example_delimiter", T::kString, "Text between examples.")
          .def("`\"\\n\"`").may_be_empty(),
      Row("eval.tasks[].continuation_delimiter", T::kString,
          "Text between a context and its continuation.").def("`\" \"`").may_be_empty(),
      Row("eval.tasks[].fewshot_seed", T::kInt, "Seed for choosing the few-shot examples.")
          .def("`1234`").min(0),
  };
  std::vector<FieldSpec> table;
  for (auto& r : rows) table.push_back(std::move(r.f));
  return table;
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string RangeText(const FieldSpec& f) {
  if (f.min && f.max) {
    return "in " + std::string(f.min_open ? "(" : "[") + FormatNumber(*f.min) + ", " +
           FormatNumber(*f.max) + (f.max_open ? ")" : "]");
  }
  if (f.min) return (f.min_open ? "> " : ">= ") + FormatNumber(*f.min);
  if (f.max) return (f.max_open ? "< " : "<= ") + FormatNumber(*f.max);
  return "";
}

bool InRange(const FieldSpec& f, double v) {
  if (f.min && (f.min_open ? v <= *f.min : v < *f.min)) return false;
  if (f.max && (f.max_open ? v >= *f.max : v > *f.max)) return false;
  return true;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep,
                 const std::string& quote = "") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + quote + v[i] + quote;
  return out;
}

}  // namespace

const std::vector<FieldSpec>& SweepFields() {
  static const std::vector<FieldSpec> table = BuildTable();
  return table;
}

const FieldSpec* FindField(const std::string& path) {
  for (const auto& f : SweepFields())
    if (f.path == path) return &f;
  return nullptr;
}

std::vector<std::string> ChildKeys(const std::string& parent) {
  std::string prefix = parent.empty() ? "" : parent + ".";
  std::vector<std::string> keys;
  for (const auto& f : SweepFields()) {
    if (f.path.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = f.path.substr(prefix.size());
    if (rest.find_first_of(".[") == std::string::npos) keys.push_back(rest);
  }
  return keys;
}

std::vector<std::string> GridKeys() {
  const std::string prefix = "jobs[].";
  std::vector<std::string> keys;
  for (const auto& f : SweepFields())
    if (f.griddable) keys.push_back(f.path.substr(prefix.size()));
  return keys;
}

std::string ExpectedText(const FieldSpec& f) {
  std::string range = RangeText(f);
  if (!range.empty()) range = " " + range;
  switch (f.type) {
    case T::kString:
      if (f.safe_name) return "a name of letters, digits and . _ + -";
      return f.may_be_empty ? "a string" : "a non-empty string";
    case T::kInt: return "an integer" + range;
    case T::kNumber: return "a number" + range;
    case T::kBool: return "true or false";
    case T::kEnum: return "one of: " + Join(f.allowed, ", ");
    case T::kMap: return "a map";
    case T::kMapList: return f.may_be_empty ? "a list of maps" : "a non-empty list of maps";
    case T::kIntList: return "a non-empty list of integers" + range;
    case T::kEnumList: return "a non-empty list of: " + Join(f.allowed, ", ");
    case T::kTokenizer: return "a tokenizer name, or a map {kind, path}";
    case T::kGrid: return "a map from job field to a non-empty list of values";
  }
  return "";
}

bool IsSafeName(const std::string& s) {
  static const std::regex re("[A-Za-z0-9._+-]+");
  // "." and ".." match the characters but name the output folder itself and its parent.
  return std::regex_match(s, re) && s != "." && s != "..";
}

std::string SanitizeJobName(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::string("._=+-").find(c) !=
                                                                   std::string::npos;
    if (!ok) c = '_';
  }
  return out;
}

std::string DescribeValue(const YAML::Node& node) {
  if (node.IsSequence()) return "got a list";
  if (node.IsMap()) return "got a map";
  if (node.IsScalar()) return "got '" + node.Scalar() + "'";
  return "no value";
}

std::string CheckScalar(const FieldSpec& f, const YAML::Node& node, ScalarValue* out) {
  const std::string expected = "; expected " + ExpectedText(f);
  if (!node.IsScalar()) return DescribeValue(node) + expected;
  const std::string& text = node.Scalar();
  const bool quoted = node.Tag() == "!";  // yaml-cpp tags quoted scalars "!" and plain ones "?"
  out->text = text;
  switch (f.type) {
    case T::kString:
      if (text.empty() && !f.may_be_empty) return "got an empty string" + expected;
      if (f.safe_name && !IsSafeName(text)) return "'" + text + "' is not a valid name" + expected;
      return "";
    case T::kEnum:
    case T::kEnumList: {
      if (std::find(f.allowed.begin(), f.allowed.end(), text) != f.allowed.end()) return "";
      return "unknown value '" + text + "'" + expected + DidYouMean(text, f.allowed);
    }
    case T::kInt:
    case T::kIntList: {
      static const std::regex int_re("[-+]?[0-9]+");
      if (quoted) return "got the quoted string '" + text + "'" + expected;
      if (!std::regex_match(text, int_re)) return "got '" + text + "'" + expected;
      errno = 0;
      out->integer = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) return text + " is too large" + expected;
      out->number = static_cast<double>(out->integer);
      if (!InRange(f, out->number)) return text + " is out of range" + expected;
      return "";
    }
    case T::kNumber: {
      static const std::regex num_re("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
      if (quoted) return "got the quoted string '" + text + "'" + expected;
      if (!std::regex_match(text, num_re)) return "got '" + text + "'" + expected;
      out->number = std::strtod(text.c_str(), nullptr);
      if (!std::isfinite(out->number)) return text + " is too large" + expected;
      if (!InRange(f, out->number)) return text + " is out of range" + expected;
      return "";
    }
    case T::kBool:
      if (quoted || (text != "true" && text != "false")) return "got '" + text + "'" + expected;
      out->boolean = text == "true";
      return "";
    default:
      break;
  }
  return DescribeValue(node) + expected;  // a map or list field given a scalar
}

// ---- Documentation: docs/sweep.md -------------------------------------------------------------

const std::string& ExampleSweepYaml() {
  static const std::string text = R"(name: gpt2-hparams
output_dir: runs/gpt2-hparams
cluster:
  device: cuda            # cuda | cpu
  device_memory_gib: 80
  nodes:
    - {name: node0, devices: 8}
    - {name: node1, devices: 8}
jobs:
  - name: gpt2-xl
    model: models/gpt2-xl.json      # Hugging Face config.json
    tokenizer: gpt2
    data: {train: datasets/wikitext103.tokens}
    seq_len: 1024
    batch_size: 16
    steps: 5000
    optimizer: {name: adamw, lr: 3.0e-4, weight_decay: 0.1}
    techniques: [ddp, fsdp, pipeline, offload]   # default: all
    devices: [1, 2, 4, 8, 16]                    # allowed device counts
    grid:                                        # expands into one job per combination
      optimizer.lr: [1.0e-4, 3.0e-4, 1.0e-3]
      batch_size: [16, 32]
  - name: llama-7b
    model: models/llama-7b.json
    tokenizer: gpt2
    data: {train: datasets/wikitext103.tokens}
    seq_len: 2048
    batch_size: 8
    steps: 2000
eval:
  every_steps: 1000
  tasks:
    - {name: lambada, kind: lm, path: datasets/lambada_openai.jsonl}
    - {name: piqa, kind: mc, path: datasets/piqa.jsonl, num_fewshot: 0}
)";
  return text;
}

namespace {

std::string TypeText(const FieldSpec& f) {
  switch (f.type) {
    case T::kString: return "string";
    case T::kInt: return "integer";
    case T::kNumber: return "number";
    case T::kBool: return "boolean";
    case T::kEnum: return "string";
    case T::kMap: return "map";
    case T::kMapList: return "list of maps";
    case T::kIntList: return "list of integers";
    case T::kEnumList: return "list of strings";
    case T::kTokenizer: return "string or map";
    case T::kGrid: return "map of lists";
  }
  return "";
}

std::string AllowedText(const FieldSpec& f) {
  std::string range = RangeText(f);
  switch (f.type) {
    case T::kEnum: return Join(f.allowed, ", ", "`");
    case T::kEnumList: return "each of " + Join(f.allowed, ", ", "`");
    case T::kIntList: return "each " + range;
    case T::kMapList: return f.may_be_empty ? "" : "at least one";
    case T::kString:
      if (f.safe_name) return "`[A-Za-z0-9._+-]+`";
      return f.may_be_empty ? "" : "non-empty";
    default: return range;
  }
}

// Markdown table cells may not hold '|'.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// The top-level section a field is documented in: its first path component when that is a map
// or list of maps ("cluster", "jobs"), else "" (plain top-level fields).
std::string SectionOf(const FieldSpec& f) {
  std::string first = f.path.substr(0, f.path.find_first_of(".["));
  const FieldSpec* top = FindField(first);
  bool nested = top && (top->type == T::kMap || top->type == T::kMapList);
  return nested ? first : "";
}

// What ParseSweep says about the example with `from` replaced by `to`: real messages, so the
// docs show exactly what users will see.
std::string ExampleError(const std::string& from, const std::string& to) {
  std::string text = ExampleSweepYaml();
  size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  Result<Sweep> r = ParseSweep(text, "sweep.yaml");
  return r.ok() ? "(no error)" : r.status().message();
}

}  // namespace

std::string SweepSchemaMarkdown() {
  std::ostringstream md;
  md << "# Sweep files\n\n"
     << "<!-- Generated by SweepSchemaMarkdown() from the field table in src/config/fields.cc. "
        "Do not edit: change the table, then regenerate as the failing test says. -->\n\n"
     << "A sweep file is YAML. It names a cluster and the training jobs to plan and run on it "
        "together. A job with a `grid` stands for one job per combination of the grid's "
        "values. Saturn checks the whole file before doing anything and reports the first "
        "problem it finds (see [Errors](#errors)).\n\n"
     << "## Example\n\n"
     << "This is `configs/example-sweep.yaml`:\n\n"
     << "```yaml\n" << ExampleSweepYaml() << "```\n\n"
     << "## Fields\n\n"
     << "Paths are dotted; `[]` stands for each element of a list. A field marked *required* "
        "must be present; any other may be left out and takes its default. Integers are "
        "written in decimal and numbers in decimal or scientific notation (`3.0e-4`), both "
        "unquoted. Unknown fields are errors.\n";
  std::string section = "-";
  for (const auto& f : SweepFields()) {
    std::string s = SectionOf(f);
    if (s != section) {
      section = s;
      md << "\n### " << (s.empty() ? "Top level" : "`" + s + "`") << "\n\n"
         << "| Field | Type | Default | Allowed | Meaning |\n"
         << "|---|---|---|---|---|\n";
    }
    md << "| `" << f.path << "` | " << TypeText(f) << " | "
       << (f.required ? "*required*" : Cell(f.default_text)) << " | " << Cell(AllowedText(f))
       << " | " << Cell(f.meaning) << " |\n";
  }

  Result<Sweep> example = ParseSweep(ExampleSweepYaml(), "sweep.yaml");
  md << "\n## Grids\n\n"
     << "`grid` maps job fields to lists of values. Keys are paths relative to the job "
        "(`batch_size`, `optimizer.lr`); each value replaces what the job says for that field "
        "and is checked like it. A grid key may be one of:\n"
     << Join(GridKeys(), ", ", "`") << ".\n\n"
     << "A job with a grid expands into one job per combination of values. The first key "
        "varies slowest; the last, fastest.\n\n"
     << "Each expanded job is named `<name>.<key>=<value>`, one `.<key>=<value>` per grid key "
        "in the order the keys are written, where:\n\n"
     << "- `<key>` is the key's last component: `optimizer.lr` gives `lr`;\n"
     << "- `<value>` is the value exactly as written in the file, without quotes: `1.0e-4` "
        "stays `1.0e-4` (not `0.0001`), and `1e-4` would give `1e-4`;\n"
     << "- every character outside `[A-Za-z0-9._=+-]` is then replaced by `_`, so names can "
        "name directories.\n\n"
     << "Two values of one key that give the same name are an error, as are two jobs with the "
        "same name after expansion. The example's jobs, in order:\n\n```\n";
  if (example.ok()) {
    for (const auto& j : example->jobs) md << j.name << "\n";
  } else {
    md << example.status().message() << "\n";
  }
  md << "```\n\n"
     << "## Defaults worth knowing\n\n"
     << "- `output_dir` is `runs/<name>`.\n"
     << "- `techniques` is every technique Saturn knows: "
     << Join(TechniqueNames(), ", ", "`") << ".\n"
     << "- `devices` is 1, 2, 4, ... up to the cluster's total device count.\n"
     << "- `micro_batch_size: 0` means one micro-batch per step: the whole `batch_size`.\n\n"
     << "## Errors\n\n"
     << "Every problem is reported as\n\n"
     << "```\nFILE:LINE:COLUMN: FIELD: what was wrong; expected ...\n```\n\n"
     << "where FIELD is the concrete path, with list indexes counted from 0 (`jobs[1].steps`, "
        "`jobs[0].grid.optimizer.lr[2]`), and a misspelt key or value comes with the nearest "
        "known one. YAML syntax errors carry yaml-cpp's position and the FIELD `YAML syntax`. "
        "Saturn then exits with status 2. Some messages for mistakes in the example:\n\n```\n"
     << ExampleError("    batch_size: 16\n", "    batchsize: 16\n") << "\n"
     << ExampleError("[ddp, fsdp, pipeline, offload]", "[ddp, fsdb]") << "\n"
     << ExampleError("[1, 2, 4, 8, 16]", "[1, 2, 4, 8, 16, 32]") << "\n"
     << ExampleError("[16, 32]", "[16, 32, 16]") << "\n"
     << ExampleError("steps: 2000", "steps: -1") << "\n"
     << "```\n";
  return md.str();
}

}  // namespace saturn
