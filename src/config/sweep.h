// The sweep file: a cluster and a list of training jobs, some of them grids that expand into one
// job per combination. Schema: docs/sweep.md, generated from the field table in config/fields.cc.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace saturn {

// Where a value came from, for error messages: "sweep.yaml:12:5".
struct SourceLoc {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string str() const;
};

struct NodeSpec {
  std::string name;
  int devices = 0;
  std::string kind;  // one of ClusterSpec::kinds; "" when the sweep gives none
  std::string host;  // "" when the sweep gives none (launch/hosts.h)
  SourceLoc loc;
};

// A kind of node in a cluster that mixes them: profile records are per kind, and a job runs on
// nodes of one kind.
struct KindSpec {
  std::string name;
  double device_memory_gib = 0;
  SourceLoc loc;
};

struct ClusterSpec {
  std::string device = "cuda";  // cuda | cpu
  double device_memory_gib = 80;  // for nodes of no kind
  std::vector<KindSpec> kinds;
  std::vector<NodeSpec> nodes;
  // Memory of one device of `kind` ("": no kind), in GiB.
  double memory_gib(const std::string& kind) const;
  std::vector<std::string> kind_names() const;  // of `kinds`, in order
  int total_devices() const;
  int max_node_devices() const;
};

struct OptimizerSpec {
  std::string name = "adamw";
  double lr = 3.0e-4;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double grad_clip = 1.0;
  double final_lr_fraction = 0.1;
};

struct TaskSpec {
  std::string name;
  std::string kind;    // lm | mc | schema
  std::string path;
  std::string format = "composer";  // composer | lambada | piqa | hellaswag | hellaswag-text
  int num_fewshot = 0;
  std::string prompt_string;                 // before the few-shot examples
  std::string example_delimiter = "\n";      // between examples
  std::string continuation_delimiter = " ";  // between a context and its continuation
  long long fewshot_seed = 1234;             // picks the few-shot examples
  SourceLoc loc;
};

struct EvalSpec {
  int every_steps = 0;  // 0: only at the end
  std::vector<TaskSpec> tasks;
};

// One concrete job after grid expansion.
struct JobSpec {
  std::string name;       // expanded, filesystem-safe: "gpt2-xl.lr=1.0e-4.batch_size=32"
  std::string base_name;  // the name as written in the sweep
  std::string model;      // path to a Hugging Face config.json
  std::string tokenizer = "gpt2";  // a name, or "kind:path" (kind gpt2 | hf) from the map form
  std::string data_train;  // a text file or a token file
  std::string data_valid;  // empty: the held-out tail of data_train
  double valid_fraction = 0.01;
  int seq_len = 1024;
  int batch_size = 8;
  int micro_batch_size = 0;  // 0: same as batch_size
  long long steps = 1000;
  int warmup_steps = 0;
  int checkpoint_every = 0;
  int keep_checkpoints = 2;
  bool activation_checkpointing = false;
  std::string precision = "auto";  // auto | fp32 | bf16
  int log_every = 10;
  long long seed = 0;
  double priority = 1;        // weight of its end time in the plan's objective
  double deadline_hours = 0;  // 0: none
  OptimizerSpec optimizer;
  std::vector<std::string> techniques;  // allowed; defaults to all known
  std::vector<int> devices;             // allowed device counts, ascending; defaults to powers
                                        // of two up to the cluster's total
  // The grid combination this job is: (grid key as written, e.g. "optimizer.lr"; value as
  // written, e.g. "1.0e-4"), in the order the keys are written. Empty for a job without a grid.
  std::vector<std::pair<std::string, std::string>> grid_values;
  SourceLoc loc;                        // the job's entry in the sweep file

  // Jobs with equal cost keys cost the same per step under every (technique, device count) and
  // may share profile records: model, seq_len, batch_size, micro_batch_size. Not the optimizer
  // settings, steps, seed or data.
  std::string cost_key() const;
};

struct Sweep {
  std::string path;  // the file it was read from
  std::string name;
  std::string output_dir;
  ClusterSpec cluster;
  std::vector<JobSpec> jobs;  // expanded
  EvalSpec eval;

  const JobSpec* find_job(const std::string& name) const;
};

// Parses and validates a sweep file. Errors name file:line:column, the field, what was expected,
// and the nearest known key for a typo.
Result<Sweep> LoadSweep(const std::string& path);
Result<Sweep> ParseSweep(const std::string& yaml_text, const std::string& path_for_errors);

// The pieces a TASKS.yaml (config/tasks_file.h) shares with the sweep, so both are checked by the
// same field rows with the same messages. `file` and `where` ("tasks", "tokenizer") name the place
// in errors. ReadTaskList: a non-empty list of task maps by the "eval.tasks[]" rows, appended to
// `tasks` with unique names. ReadTokenizerValue: a name or {kind, path} by the "jobs[].tokenizer"
// rows, as the spec string Tokenizer::Load takes ("gpt2", "kind:path").
Status ReadTaskList(const YAML::Node& list, const std::string& file, const std::string& where,
                    std::vector<TaskSpec>* tasks);
Status ReadTokenizerValue(const YAML::Node& value, const std::string& file,
                          const std::string& where, std::string* out);

}  // namespace saturn
