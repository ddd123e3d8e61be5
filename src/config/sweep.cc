// Reading a sweep file: yaml-cpp parses, the field table (config/fields.cc) says what may appear
// and what each value must look like, and this file walks the document, fills the specs, expands
// grids and checks what involves more than one field. Every error is
// "FILE:LINE:COL: FIELD: what was wrong; expected ...", a Status::UserError.
#include "config/sweep.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <functional>
#include <map>

#include "config/fields.h"
#include "technique/names.h"
#include "util/files.h"
#include "util/suggest.h"

namespace saturn {

std::string SourceLoc::str() const {
  std::string out = file;
  if (line > 0) {
    out += (out.empty() ? "" : ":") + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

int ClusterSpec::total_devices() const {
  int total = 0;
  for (const auto& n : nodes) total += n.devices;
  return total;
}

double ClusterSpec::memory_gib(const std::string& kind) const {
  for (const auto& k : kinds)
    if (k.name == kind) return k.device_memory_gib;
  return device_memory_gib;
}

std::vector<std::string> ClusterSpec::kind_names() const {
  std::vector<std::string> names;
  for (const auto& k : kinds) names.push_back(k.name);
  return names;
}

int ClusterSpec::max_node_devices() const {
  int most = 0;
  for (const auto& n : nodes) most = std::max(most, n.devices);
  return most;
}

std::string JobSpec::cost_key() const {
  int micro = micro_batch_size > 0 ? micro_batch_size : batch_size;
  return model + "|seq_len=" + std::to_string(seq_len) + "|batch_size=" +
         std::to_string(batch_size) + "|micro_batch_size=" + std::to_string(micro);
}

const JobSpec* Sweep::find_job(const std::string& job_name) const {
  for (const auto& j : jobs)
    if (j.name == job_name) return &j;
  return nullptr;
}

namespace {

std::string PathJoin(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "." + b;
}

std::string Index(const std::string& where, size_t i) {
  return where + "[" + std::to_string(i) + "]";
}

std::string List(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

SourceLoc LocOf(const std::string& file, const YAML::Node& node) {
  YAML::Mark m = node.Mark();  // 0-based; -1 when the node was not read from the text
  SourceLoc loc;
  loc.file = file;
  loc.line = m.line >= 0 ? m.line + 1 : 0;
  loc.column = m.column >= 0 ? m.column + 1 : 0;
  return loc;
}

Status ErrorAt(const SourceLoc& loc, const std::string& field, const std::string& what) {
  return Status::UserError(loc.str() + ": " + (field.empty() ? "(top level)" : field) + ": " +
                           what);
}

// A grid value standing in for a job field, and the path that names it in errors
// ("jobs[0].grid.optimizer.lr[2]"). Keyed by the field's path relative to the job.
struct Override {
  YAML::Node value;
  std::string where;
};
using Overrides = std::map<std::string, Override>;

// One YAML map read against the table entries under `pattern` ("jobs[]"). Open() rejects a
// non-map, unknown or repeated keys and missing required fields; the getters check each value
// against its table entry and leave the output alone when the field is absent (its default).
// Overrides under `override_prefix` win over what the map says: that is how grid values apply.
class MapReader {
 public:
  // `node` is null when the map is absent; `anchor` is where to point at then.
  MapReader(const std::string& file, const YAML::Node* node, std::string pattern,
            std::string where, const YAML::Node& anchor, const Overrides* overrides = nullptr,
            std::string override_prefix = "")
      : file_(file), node_(node), pattern_(std::move(pattern)), where_(std::move(where)),
        anchor_(anchor), overrides_(overrides), prefix_(std::move(override_prefix)) {}

  // `check_required` is false only for a first look at a job whose grid may supply them.
  Status Open(bool check_required = true) {
    std::vector<std::string> known = ChildKeys(pattern_);
    if (node_) {
      if (!node_->IsMap()) {
        return Error(*node_, where_, DescribeValue(*node_) + "; expected a map of: " + List(known));
      }
      // By value: `it->first` would refer into a temporary proxy of yaml-cpp's iterator.
      for (const auto& kv : *node_) {
        const YAML::Node& k = kv.first;
        std::string key = k.IsScalar() ? k.Scalar() : "";
        std::string field = PathJoin(where_, key);
        if (std::find(known.begin(), known.end(), key) == known.end()) {
          return Error(k, field, "unknown field; expected one of: " + List(known) +
                                     DidYouMean(key, known));
        }
        auto seen = entries_.find(key);
        if (seen != entries_.end()) {
          return Error(k, field, "repeated field (first at " + Loc(seen->second.first).str() +
                                     "); expected each field once");
        }
        entries_.emplace(key, std::make_pair(k, kv.second));
      }
    }
    for (const auto& key : known) {
      const FieldSpec& f = Spec(key);
      if (check_required && f.required && !Value(key)) {
        return Error(node_ ? *node_ : anchor_, PathJoin(where_, key),
                     "missing required field; expected " + ExpectedText(f));
      }
    }
    return Status::Ok();
  }

  // The value for `key`: a grid override, what the map says, or nullptr when absent.
  const YAML::Node* Value(const std::string& key) const {
    if (overrides_) {
      auto o = overrides_->find(prefix_ + key);
      if (o != overrides_->end()) return &o->second.value;
    }
    auto e = entries_.find(key);
    return e == entries_.end() ? nullptr : &e->second.second;
  }
  // The path to name in errors about `key`.
  std::string WhereOf(const std::string& key) const {
    if (overrides_) {
      auto o = overrides_->find(prefix_ + key);
      if (o != overrides_->end()) return o->second.where;
    }
    return PathJoin(where_, key);
  }
  // Where `key`'s value is, or the map itself when the key is absent.
  SourceLoc LocOf(const std::string& key) const {
    const YAML::Node* v = Value(key);
    return Loc(v ? *v : node_ ? *node_ : anchor_);
  }
  // Whether a nested map under `key` has anything to read: written, or given by a grid.
  bool HasMap(const std::string& key) const {
    if (entries_.count(key)) return true;
    if (!overrides_) return false;
    const std::string nested = prefix_ + key + ".";
    for (const auto& o : *overrides_)
      if (o.first.compare(0, nested.size(), nested) == 0) return true;
    return false;
  }
  // A reader for the nested map under `key`, carrying the overrides along.
  MapReader Nested(const std::string& key) const {
    auto e = entries_.find(key);
    return MapReader(file_, e == entries_.end() ? nullptr : &e->second.second,
                     PathJoin(pattern_, key), PathJoin(where_, key), node_ ? *node_ : anchor_,
                     overrides_, prefix_ + key + ".");
  }

  Status Get(const std::string& key, std::string* out) const {
    ScalarValue v;
    bool found = false;
    SATURN_RETURN_IF_ERROR(Scalar(key, &v, &found));
    if (found) *out = v.text;
    return Status::Ok();
  }
  Status Get(const std::string& key, long long* out) const {
    ScalarValue v;
    bool found = false;
    SATURN_RETURN_IF_ERROR(Scalar(key, &v, &found));
    if (found) *out = v.integer;
    return Status::Ok();
  }
  Status Get(const std::string& key, int* out) const {
    long long v = *out;
    SATURN_RETURN_IF_ERROR(Get(key, &v));
    if (v > INT_MAX) {
      return Error(*Value(key), WhereOf(key),
                   std::to_string(v) + " is too large; expected at most " +
                       std::to_string(INT_MAX));
    }
    *out = static_cast<int>(v);  // the table's ranges keep values >= INT_MIN
    return Status::Ok();
  }
  Status Get(const std::string& key, bool* out) const {
    ScalarValue v;
    bool found = false;
    SATURN_RETURN_IF_ERROR(Scalar(key, &v, &found));
    if (found) *out = v.boolean;
    return Status::Ok();
  }
  Status Get(const std::string& key, double* out) const {
    ScalarValue v;
    bool found = false;
    SATURN_RETURN_IF_ERROR(Scalar(key, &v, &found));
    if (found) *out = v.number;
    return Status::Ok();
  }

  // Calls `fn` with each element of the list under `key` and its path; nothing when absent.
  Status ForEach(const std::string& key,
                 const std::function<Status(const YAML::Node&, const std::string&)>& fn) const {
    const YAML::Node* list = Value(key);
    if (!list) return Status::Ok();
    const FieldSpec& f = Spec(key);
    if (!list->IsSequence()) {
      return Error(*list, WhereOf(key), DescribeValue(*list) + "; expected " + ExpectedText(f));
    }
    if (list->size() == 0 && !f.may_be_empty) {
      return Error(*list, WhereOf(key), "empty list; expected " + ExpectedText(f));
    }
    size_t i = 0;
    for (const auto& elem : *list) SATURN_RETURN_IF_ERROR(fn(elem, Index(WhereOf(key), i++)));
    return Status::Ok();
  }

  const FieldSpec& Spec(const std::string& key) const {
    const FieldSpec* f = FindField(PathJoin(pattern_, key));
    assert(f && "the parser reads a field the table does not have");
    return *f;
  }
  SourceLoc Loc(const YAML::Node& n) const { return ::saturn::LocOf(file_, n); }
  Status Error(const YAML::Node& at, const std::string& field, const std::string& what) const {
    return ErrorAt(Loc(at), field, what);
  }
  const std::string& where() const { return where_; }

 private:
  Status Scalar(const std::string& key, ScalarValue* v, bool* found) const {
    const YAML::Node* n = Value(key);
    *found = n != nullptr;
    if (!n) return Status::Ok();
    std::string problem = CheckScalar(Spec(key), *n, v);
    return problem.empty() ? Status::Ok() : Error(*n, WhereOf(key), problem);
  }

  const std::string& file_;
  const YAML::Node* node_;
  std::string pattern_, where_;
  YAML::Node anchor_;
  const Overrides* overrides_;
  std::string prefix_;
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> entries_;  // key -> (key, value)
};

// A name ("gpt2"), or a map {kind, path} kept as "kind:path" ("kind" alone without a path),
// checked against the "jobs[].tokenizer" rows.
Status ReadTokenizerAt(const std::string& file, const YAML::Node& t, const std::string& where,
                       std::string* out) {
  if (t.IsScalar() && !t.Scalar().empty()) {
    *out = t.Scalar();
    return Status::Ok();
  }
  const FieldSpec* spec = FindField("jobs[].tokenizer");
  if (!t.IsMap()) {
    std::string got = t.IsScalar() ? "got an empty string" : DescribeValue(t);
    return ErrorAt(LocOf(file, t), where, got + "; expected " + ExpectedText(*spec));
  }
  MapReader r(file, &t, "jobs[].tokenizer", where, t);
  std::string kind, path;
  SATURN_RETURN_IF_ERROR(r.Open());
  SATURN_RETURN_IF_ERROR(r.Get("kind", &kind));
  SATURN_RETURN_IF_ERROR(r.Get("path", &path));
  if (kind == "hf" && path.empty()) {
    return ErrorAt(LocOf(file, t), where + ".path", "missing for kind hf; expected the directory "
                                                    "with the Hugging Face tokenizer files");
  }
  *out = path.empty() ? kind : kind + ":" + path;
  return Status::Ok();
}

// `name` (read by `r` from its "name" field) is not the name of an entry already in `seen`
// (tasks, kinds, nodes: each with `name` and `loc`); `what` names the entry in the message.
template <class T>
Status UniqueName(const MapReader& r, const std::string& name, const std::vector<T>& seen, const std::string& what) {
  for (const auto& other : seen)
    if (other.name == name)
      return ErrorAt(r.LocOf("name"), r.WhereOf("name"),
                     "duplicate " + what + " name '" + name + "' (first at " + other.loc.str() + "); expected unique " +
                         what + " names");
  return Status::Ok();
}

// One entry of an eval.tasks list, checked against the "eval.tasks[]" rows and appended to
// `tasks`, whose names must stay unique.
Status ReadTaskEntry(const std::string& file, const YAML::Node& elem, const std::string& where,
                     std::vector<TaskSpec>* tasks) {
  MapReader tr(file, &elem, "eval.tasks[]", where, elem);
  TaskSpec task;
  task.loc = tr.Loc(elem);
  SATURN_RETURN_IF_ERROR(tr.Open());
  SATURN_RETURN_IF_ERROR(tr.Get("name", &task.name));
  SATURN_RETURN_IF_ERROR(tr.Get("kind", &task.kind));
  SATURN_RETURN_IF_ERROR(tr.Get("path", &task.path));
  SATURN_RETURN_IF_ERROR(tr.Get("format", &task.format));
  SATURN_RETURN_IF_ERROR(tr.Get("num_fewshot", &task.num_fewshot));
  SATURN_RETURN_IF_ERROR(tr.Get("prompt_string", &task.prompt_string));
  SATURN_RETURN_IF_ERROR(tr.Get("example_delimiter", &task.example_delimiter));
  SATURN_RETURN_IF_ERROR(tr.Get("continuation_delimiter", &task.continuation_delimiter));
  SATURN_RETURN_IF_ERROR(tr.Get("fewshot_seed", &task.fewshot_seed));
  SATURN_RETURN_IF_ERROR(UniqueName(tr, task.name, *tasks, "task"));
  tasks->push_back(task);
  return Status::Ok();
}

// One grid key with its values, in the order written.
struct GridAxis {
  std::string key;        // as written, relative to the job: "optimizer.lr"
  std::string short_key;  // its last component, for job names: "lr"
  std::string where;      // "jobs[0].grid.optimizer.lr"
  std::vector<YAML::Node> values;
};

class SweepParser {
 public:
  explicit SweepParser(std::string file) : file_(std::move(file)) {}

  Result<Sweep> Parse(const YAML::Node& root) {
    Sweep sweep;
    sweep.path = file_;
    if (root.IsNull()) {
      SourceLoc start{file_, 1, 1};
      return ErrorAt(start, "", "the file is empty; expected a map of: " + List(ChildKeys("")));
    }
    MapReader top(file_, &root, "", "", root);
    SATURN_RETURN_IF_ERROR(top.Open());
    SATURN_RETURN_IF_ERROR(top.Get("name", &sweep.name));
    sweep.output_dir = "runs/" + sweep.name;
    SATURN_RETURN_IF_ERROR(top.Get("output_dir", &sweep.output_dir));
    SATURN_RETURN_IF_ERROR(ReadCluster(top.Nested("cluster"), &sweep.cluster));
    SATURN_RETURN_IF_ERROR(ReadJobs(top, sweep.cluster, &sweep.jobs));
    if (top.HasMap("eval")) SATURN_RETURN_IF_ERROR(ReadEval(top.Nested("eval"), &sweep.eval));
    return sweep;
  }

 private:
  Status ReadCluster(MapReader r, ClusterSpec* cluster) {
    SATURN_RETURN_IF_ERROR(r.Open());
    SATURN_RETURN_IF_ERROR(r.Get("device", &cluster->device));
    SATURN_RETURN_IF_ERROR(r.Get("device_memory_gib", &cluster->device_memory_gib));
    SATURN_RETURN_IF_ERROR(r.ForEach("kinds", [&](const YAML::Node& elem, const std::string& where) {
      return ReadKind(elem, where, cluster);
    }));
    return r.ForEach("nodes", [&](const YAML::Node& elem, const std::string& where) {
      return ReadNode(elem, where, cluster);
    });
  }

  Status ReadKind(const YAML::Node& elem, const std::string& where, ClusterSpec* cluster) {
    MapReader kr(file_, &elem, "cluster.kinds[]", where, elem);
    KindSpec kind;
    kind.loc = kr.Loc(elem);
    SATURN_RETURN_IF_ERROR(kr.Open());
    SATURN_RETURN_IF_ERROR(kr.Get("name", &kind.name));
    SATURN_RETURN_IF_ERROR(kr.Get("device_memory_gib", &kind.device_memory_gib));
    SATURN_RETURN_IF_ERROR(UniqueName(kr, kind.name, cluster->kinds, "kind"));
    cluster->kinds.push_back(kind);
    return Status::Ok();
  }

  // A node, after the kinds: its kind must be one of them.
  Status ReadNode(const YAML::Node& elem, const std::string& where, ClusterSpec* cluster) {
    MapReader nr(file_, &elem, "cluster.nodes[]", where, elem);
    NodeSpec node;
    node.loc = nr.Loc(elem);
    SATURN_RETURN_IF_ERROR(nr.Open());
    SATURN_RETURN_IF_ERROR(nr.Get("name", &node.name));
    SATURN_RETURN_IF_ERROR(nr.Get("devices", &node.devices));
    SATURN_RETURN_IF_ERROR(nr.Get("host", &node.host));
    SATURN_RETURN_IF_ERROR(nr.Get("kind", &node.kind));
    if (nr.Value("kind")) {
      const std::vector<std::string> names = cluster->kind_names();
      if (std::find(names.begin(), names.end(), node.kind) == names.end())
        return ErrorAt(nr.LocOf("kind"), nr.WhereOf("kind"),
                       "unknown kind '" + node.kind + "'" +
                           (names.empty() ? "; list the cluster's kinds under cluster.kinds"
                                          : "; expected one of: " + List(names) + DidYouMean(node.kind, names)));
    }
    SATURN_RETURN_IF_ERROR(UniqueName(nr, node.name, cluster->nodes, "node"));
    cluster->nodes.push_back(node);
    return Status::Ok();
  }

  Status ReadJobs(const MapReader& top, const ClusterSpec& cluster, std::vector<JobSpec>* jobs) {
    struct Named {
      SourceLoc loc;
      std::string where;
    };
    std::map<std::string, Named> names;  // expanded name -> the job entry that made it first
    return top.ForEach("jobs", [&](const YAML::Node& elem, const std::string& where) {
      MapReader r(file_, &elem, "jobs[]", where, elem);
      SATURN_RETURN_IF_ERROR(r.Open(/*check_required=*/false));  // ReadJob checks, with the grid
      std::vector<GridAxis> axes;
      SATURN_RETURN_IF_ERROR(ReadGrid(r, &axes));
      // Odometer over the axes, the last one turning fastest: the first key varies slowest.
      std::vector<size_t> at(axes.size(), 0);
      for (;;) {
        Overrides overrides;
        for (size_t a = 0; a < axes.size(); ++a) {
          overrides[axes[a].key] = {axes[a].values[at[a]], Index(axes[a].where, at[a])};
        }
        JobSpec job;
        SATURN_RETURN_IF_ERROR(ReadJob(elem, where, overrides, cluster, &job));
        job.base_name = job.name;
        std::string expanded = job.name;
        for (size_t a = 0; a < axes.size(); ++a) {
          const std::string& text = axes[a].values[at[a]].Scalar();
          job.grid_values.emplace_back(axes[a].key, text);
          expanded += "." + axes[a].short_key + "=" + text;
        }
        job.name = SanitizeJobName(expanded);
        Named here{r.LocOf("name"), where};
        auto first = names.emplace(job.name, here);
        if (!first.second) {
          const Named& other = first.first->second;
          return ErrorAt(here.loc, PathJoin(where, "name"),
                         "duplicate job name '" + job.name + "' (also made by " + other.where +
                             " at " + other.loc.str() +
                             "); expected unique job names after grid expansion");
        }
        jobs->push_back(std::move(job));
        size_t a = axes.size();
        while (a > 0 && ++at[a - 1] == axes[a - 1].values.size()) at[--a] = 0;
        if (a == 0) break;
      }
      return Status::Ok();
    });
  }

  // Checks the job's grid, if any: known griddable keys, non-empty lists, every value valid for
  // its field, and no two values of a key that would give the same job name.
  Status ReadGrid(const MapReader& job, std::vector<GridAxis>* axes) {
    const YAML::Node* grid = job.Value("grid");
    if (!grid) return Status::Ok();
    const std::string where = job.WhereOf("grid");
    if (!grid->IsMap()) {
      return job.Error(*grid, where, DescribeValue(*grid) + "; expected " +
                                         ExpectedText(job.Spec("grid")));
    }
    if (grid->size() == 0) {
      return job.Error(*grid, where, "empty grid; expected at least one job field with a list "
                                     "of values (or no grid)");
    }
    const std::vector<std::string> keys = GridKeys();
    for (const auto& kv : *grid) {
      const YAML::Node& k = kv.first;
      const YAML::Node& values = kv.second;
      GridAxis axis;
      axis.key = k.IsScalar() ? k.Scalar() : "";
      axis.short_key = axis.key.substr(axis.key.rfind('.') + 1);
      axis.where = where + "." + axis.key;
      const FieldSpec* f = FindField("jobs[]." + axis.key);
      if (!f || !f->griddable) {
        return job.Error(k, axis.where, std::string(f ? "a grid cannot vary this field"
                                                       : "unknown job field") +
                                            "; expected one of: " + List(keys) +
                                            GridKeySuggestion(axis.key, keys));
      }
      for (const auto& other : *axes) {
        if (other.key == axis.key) {
          return job.Error(k, axis.where, "repeated grid key; expected each key once");
        }
      }
      if (!values.IsSequence() || values.size() == 0) {
        std::string got = values.IsSequence() ? "empty list" : DescribeValue(values);
        return job.Error(values, axis.where, got + "; expected a non-empty list of " +
                                                 ExpectedText(*f) + " values");
      }
      std::map<std::string, YAML::Node> seen;  // name part -> first value giving it
      std::map<double, YAML::Node> seen_number;  // numeric fields: 1e-4 and 0.0001 are one value
      const bool numeric = f->type == FieldType::kInt || f->type == FieldType::kNumber;
      for (const auto& v : values) {
        std::string vwhere = Index(axis.where, axis.values.size());
        ScalarValue sv;
        std::string problem = CheckScalar(*f, v, &sv);
        if (!problem.empty()) return job.Error(v, vwhere, problem);
        auto first = seen.emplace(SanitizeJobName(sv.text), v);
        if (!first.second) {
          return job.Error(v, vwhere,
                           "'" + sv.text + "' gives the same job names as the value at " +
                               job.Loc(first.first->second).str() + "; expected distinct values");
        }
        if (numeric) {
          auto same = seen_number.emplace(sv.number, v);
          if (!same.second)
            return job.Error(v, vwhere,
                             "'" + sv.text + "' is the same value as '" + same.first->second.Scalar() + "' at " +
                                 job.Loc(same.first->second).str() + "; expected distinct values (each would "
                                 "train the same job twice)");
        }
        axis.values.push_back(v);
      }
      axes->push_back(std::move(axis));
    }
    return Status::Ok();
  }

  // "optimizer.lr" for "lr": users often write the short key they see in job names.
  static std::string GridKeySuggestion(const std::string& key,
                                       const std::vector<std::string>& keys) {
    std::string typo = DidYouMean(key, keys);
    if (!typo.empty()) return typo;
    for (const auto& k : keys) {
      if (k.size() > key.size() && k.compare(k.size() - key.size() - 1, std::string::npos,
                                             "." + key) == 0) {
        return " (did you mean '" + k + "'?)";
      }
    }
    return "";
  }

  // One concrete job: the entry as written, with `overrides` (one grid combination) applied.
  Status ReadJob(const YAML::Node& node, const std::string& where, const Overrides& overrides,
                 const ClusterSpec& cluster, JobSpec* job) {
    MapReader r(file_, &node, "jobs[]", where, node, &overrides);
    SATURN_RETURN_IF_ERROR(r.Open());
    job->loc = r.Loc(node);
    SATURN_RETURN_IF_ERROR(r.Get("name", &job->name));
    SATURN_RETURN_IF_ERROR(r.Get("model", &job->model));
    SATURN_RETURN_IF_ERROR(ReadTokenizer(r, &job->tokenizer));
    if (r.HasMap("data")) {
      MapReader data = r.Nested("data");
      SATURN_RETURN_IF_ERROR(data.Open());
      SATURN_RETURN_IF_ERROR(data.Get("train", &job->data_train));
      SATURN_RETURN_IF_ERROR(data.Get("valid", &job->data_valid));
      SATURN_RETURN_IF_ERROR(data.Get("valid_fraction", &job->valid_fraction));
    }
    SATURN_RETURN_IF_ERROR(r.Get("seq_len", &job->seq_len));
    SATURN_RETURN_IF_ERROR(r.Get("batch_size", &job->batch_size));
    SATURN_RETURN_IF_ERROR(r.Get("micro_batch_size", &job->micro_batch_size));
    SATURN_RETURN_IF_ERROR(r.Get("steps", &job->steps));
    SATURN_RETURN_IF_ERROR(r.Get("warmup_steps", &job->warmup_steps));
    SATURN_RETURN_IF_ERROR(r.Get("checkpoint_every", &job->checkpoint_every));
    SATURN_RETURN_IF_ERROR(r.Get("keep_checkpoints", &job->keep_checkpoints));
    SATURN_RETURN_IF_ERROR(r.Get("activation_checkpointing", &job->activation_checkpointing));
    SATURN_RETURN_IF_ERROR(r.Get("precision", &job->precision));
    SATURN_RETURN_IF_ERROR(r.Get("log_every", &job->log_every));
    SATURN_RETURN_IF_ERROR(r.Get("seed", &job->seed));
    SATURN_RETURN_IF_ERROR(r.Get("priority", &job->priority));
    SATURN_RETURN_IF_ERROR(r.Get("deadline_hours", &job->deadline_hours));
    if (r.HasMap("optimizer")) {
      MapReader opt = r.Nested("optimizer");
      OptimizerSpec& o = job->optimizer;
      SATURN_RETURN_IF_ERROR(opt.Open());
      SATURN_RETURN_IF_ERROR(opt.Get("name", &o.name));
      SATURN_RETURN_IF_ERROR(opt.Get("lr", &o.lr));
      SATURN_RETURN_IF_ERROR(opt.Get("weight_decay", &o.weight_decay));
      SATURN_RETURN_IF_ERROR(opt.Get("beta1", &o.beta1));
      SATURN_RETURN_IF_ERROR(opt.Get("beta2", &o.beta2));
      SATURN_RETURN_IF_ERROR(opt.Get("grad_clip", &o.grad_clip));
      SATURN_RETURN_IF_ERROR(opt.Get("final_lr_fraction", &o.final_lr_fraction));
    }
    SATURN_RETURN_IF_ERROR(ReadTechniques(r, &job->techniques));
    SATURN_RETURN_IF_ERROR(ReadDevices(r, cluster, &job->devices));

    if (job->micro_batch_size > 0 && job->batch_size % job->micro_batch_size != 0) {
      return ErrorAt(r.LocOf("micro_batch_size"), r.WhereOf("micro_batch_size"),
                     std::to_string(job->micro_batch_size) + " does not divide batch_size " +
                         std::to_string(job->batch_size) +
                         "; expected a divisor of batch_size, or 0");
    }
    if (job->warmup_steps > job->steps) {
      return ErrorAt(r.LocOf("warmup_steps"), r.WhereOf("warmup_steps"),
                     std::to_string(job->warmup_steps) + " is more than steps " +
                         std::to_string(job->steps) + "; expected at most steps");
    }
    return Status::Ok();
  }

  Status ReadTokenizer(const MapReader& job, std::string* out) {
    const YAML::Node* t = job.Value("tokenizer");
    if (!t) return Status::Ok();
    return ReadTokenizerAt(file_, *t, job.WhereOf("tokenizer"), out);
  }

  // Allowed techniques in the order written; all known ones when absent.
  Status ReadTechniques(const MapReader& job, std::vector<std::string>* out) {
    if (!job.Value("techniques")) {
      *out = TechniqueNames();
      return Status::Ok();
    }
    std::map<std::string, SourceLoc> seen;
    return job.ForEach("techniques", [&](const YAML::Node& elem, const std::string& where) {
      ScalarValue v;
      std::string problem = CheckScalar(job.Spec("techniques"), elem, &v);
      if (!problem.empty()) return job.Error(elem, where, problem);
      auto first = seen.emplace(v.text, job.Loc(elem));
      if (!first.second) {
        return job.Error(elem, where, "'" + v.text + "' repeats the one at " +
                                          first.first->second.str() + "; expected each once");
      }
      out->push_back(v.text);
      return Status::Ok();
    });
  }

  // Allowed device counts, sorted; powers of two up to the cluster's total when absent.
  Status ReadDevices(const MapReader& job, const ClusterSpec& cluster, std::vector<int>* out) {
    const int total = cluster.total_devices();
    if (!job.Value("devices")) {
      for (int d = 1; d <= total; d *= 2) out->push_back(d);
      return Status::Ok();
    }
    std::map<int, SourceLoc> seen;
    SATURN_RETURN_IF_ERROR(job.ForEach("devices", [&](const YAML::Node& elem,
                                                      const std::string& where) {
      ScalarValue v;
      std::string problem = CheckScalar(job.Spec("devices"), elem, &v);
      if (!problem.empty()) return job.Error(elem, where, problem);
      if (v.integer > total) {
        return job.Error(elem, where, v.text + " devices, but the cluster has " +
                                          std::to_string(total) + " in total; expected at most " +
                                          std::to_string(total));
      }
      auto first = seen.emplace(static_cast<int>(v.integer), job.Loc(elem));
      if (!first.second) {
        return job.Error(elem, where, v.text + " repeats the count at " +
                                          first.first->second.str() + "; expected each once");
      }
      out->push_back(static_cast<int>(v.integer));
      return Status::Ok();
    }));
    std::sort(out->begin(), out->end());
    return Status::Ok();
  }

  Status ReadEval(MapReader r, EvalSpec* eval) {
    SATURN_RETURN_IF_ERROR(r.Open());
    SATURN_RETURN_IF_ERROR(r.Get("every_steps", &eval->every_steps));
    return r.ForEach("tasks", [&](const YAML::Node& elem, const std::string& where) {
      return ReadTaskEntry(file_, elem, where, &eval->tasks);
    });
  }

  std::string file_;
};

}  // namespace

Status ReadTaskList(const YAML::Node& list, const std::string& file, const std::string& where,
                    std::vector<TaskSpec>* tasks) {
  const FieldSpec* spec = FindField("eval.tasks");
  if (!list.IsSequence()) {
    return ErrorAt(LocOf(file, list), where, DescribeValue(list) + "; expected " +
                                                 ExpectedText(*spec));
  }
  if (list.size() == 0) {
    return ErrorAt(LocOf(file, list), where, "empty list; expected at least one task");
  }
  size_t i = 0;
  for (const auto& elem : list) {
    SATURN_RETURN_IF_ERROR(ReadTaskEntry(file, elem, Index(where, i++), tasks));
  }
  return Status::Ok();
}

Status ReadTokenizerValue(const YAML::Node& value, const std::string& file,
                          const std::string& where, std::string* out) {
  return ReadTokenizerAt(file, value, where, out);
}

Result<Sweep> ParseSweep(const std::string& yaml_text, const std::string& path_for_errors) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    SourceLoc loc{path_for_errors, e.mark.line + 1, e.mark.column + 1};
    return ErrorAt(loc, "YAML syntax", e.msg + "; expected well-formed YAML");
  }
  try {
    return SweepParser(path_for_errors).Parse(root);
  } catch (const YAML::Exception& e) {
    // The parser checks each node's kind before reading it, so this is a bug, not a user error.
    return Status::Internal(path_for_errors + ": reading the sweep failed: " + e.what());
  }
}

Result<Sweep> LoadSweep(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseSweep(*text, path);
}

}  // namespace saturn
