// The field table: every key a sweep file may contain, with its type, default, allowed values and
// meaning. The parser (config/sweep.cc) validates against it and docs/sweep.md is rendered from
// it, so the two cannot disagree. A test keeps the committed docs equal to SweepSchemaMarkdown().
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace YAML {
class Node;
}  // namespace YAML

namespace saturn {

enum class FieldType {
  kString,     // any scalar, taken as text
  kInt,        // decimal integer, unquoted
  kNumber,     // decimal or scientific number, unquoted
  kBool,       // true | false, unquoted
  kEnum,       // a string from `allowed`
  kMap,        // nested fields
  kMapList,    // list of maps; their fields are under "<path>[]"
  kIntList,    // list of kInt, each within the range
  kEnumList,   // list of strings from `allowed`
  kTokenizer,  // a string, or a map with the fields under "<path>"
  kGrid,       // map: job field path -> non-empty list of values
};

struct FieldSpec {
  // Dotted path; "[]" marks the elements of a list: "cluster.nodes[].devices".
  std::string path;
  FieldType type;
  bool required = false;
  std::string default_text;  // Markdown, for the docs only; the parser applies defaults itself
  // Numeric range (kInt, kNumber, kIntList elements); open ends exclude the bound.
  std::optional<double> min, max;
  bool min_open = false, max_open = false;
  std::vector<std::string> allowed;  // kEnum, kEnumList
  bool safe_name = false;            // kString: must match [A-Za-z0-9._+-]+
  bool may_be_empty = false;         // kString may be "", lists may be []
  bool griddable = false;            // job fields a grid may vary: scalars only
  std::string meaning;
};

// In document order. Built once; paths are unique.
const std::vector<FieldSpec>& SweepFields();
// The entry for a path such as "jobs[].optimizer.lr", or nullptr.
const FieldSpec* FindField(const std::string& path);
// Keys of the fields directly under `parent` ("" for the top level, "jobs[]" for a job), in
// table order: the candidates for a typo suggestion.
std::vector<std::string> ChildKeys(const std::string& parent);
// Grid keys: paths of griddable fields relative to a job ("seq_len", "optimizer.lr").
std::vector<std::string> GridKeys();

// "an integer >= 1", "one of: cuda, cpu", ...: what a value of `f` must look like.
std::string ExpectedText(const FieldSpec& f);

// "no value", "got a list", "got a map" or "got 'TEXT'": the start of a type error.
std::string DescribeValue(const YAML::Node& node);

// A scalar that passed CheckScalar: `text` as written (without quotes), and its value.
struct ScalarValue {
  std::string text;
  long long integer = 0;  // kInt
  double number = 0;      // kInt and kNumber
  bool boolean = false;   // kBool
};
// Checks one value of a scalar field (kString, kInt, kNumber, kEnum, or an element of kIntList /
// kEnumList) against its type, range, allowed values and name rule. Returns "" and fills `out`
// when fine; otherwise "what was wrong; expected ...", without place or field, which the caller
// adds. Types are checked on the text, since yaml-cpp's as<int>() accepts "8" and truncates.
std::string CheckScalar(const FieldSpec& f, const YAML::Node& node, ScalarValue* out);

// Job names, grid names and sweep names keep to these characters so they can name directories.
bool IsSafeName(const std::string& s);
// Replaces every character outside [A-Za-z0-9._=+-] with '_': how grid job names are made safe.
std::string SanitizeJobName(const std::string& s);

// The example sweep shown in the docs; configs/example-sweep.yaml holds the same text.
const std::string& ExampleSweepYaml();
// The full text of docs/sweep.md.
std::string SweepSchemaMarkdown();

}  // namespace saturn
