// Task files, one reader per layout. Each reader checks every field it uses and reports the first
// problem as "FILE:LINE: FIELD: what; expected ..." so the line can be found and fixed.
#include "eval/task.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <functional>

#include "util/bzip2_file.h"
#include "util/json_error.h"

namespace saturn {
namespace {

using json = nlohmann::json;

const char kFixLine[] = "; fix or remove the line";

// One line of a file, with its 1-based number.
struct Line {
  int number = 0;
  std::string text;
};

// The file's lines, without their "\n" (and a "\r" before it). A final newline does not start an
// extra line.
std::vector<Line> SplitLines(const std::string& text) {
  std::vector<Line> lines;
  size_t start = 0;
  int number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t len = end - start;
    if (len > 0 && text[end - 1] == '\r') --len;
    lines.push_back({++number, text.substr(start, len)});
    start = end + 1;
  }
  return lines;
}

bool IsBlank(const std::string& s) {
  return s.find_first_not_of(" \t\r\f\v") == std::string::npos;
}

Status LineError(const std::string& file, int line, const std::string& field,
                 const std::string& what) {
  return Status::UserError(file + ":" + std::to_string(line) + ": " + field + ": " + what +
                           kFixLine);
}

std::string Describe(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "the number " + v.dump();
  if (v.is_array()) return "a list";
  return "an object";
}

// Field accessors: each returns a user error naming file:line and the field.
class Record {
 public:
  Record(const std::string& file, int line, const json& obj)
      : file_(file), line_(line), obj_(obj) {}

  Status String(const std::string& key, std::string* out) const {
    const json* v = Find(key);
    if (!v) return Missing(key, "a string");
    if (!v->is_string()) return Error(key, "got " + Describe(*v) + "; expected a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }
  Status NonEmptyString(const std::string& key, std::string* out) const {
    SATURN_RETURN_IF_ERROR(String(key, out));
    if (out->empty()) return Error(key, "empty string; expected text");
    return Status::Ok();
  }
  // A list of at least two strings.
  Status Strings(const std::string& key, std::vector<std::string>* out) const {
    const json* v = Find(key);
    if (!v) return Missing(key, "a list of at least two strings");
    if (!v->is_array() || v->size() < 2) {
      std::string got = v->is_array() ? "a list of " + std::to_string(v->size()) : Describe(*v);
      return Error(key, "got " + got + "; expected a list of at least two strings");
    }
    out->clear();
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_string()) {
        return Error(key + "[" + std::to_string(i) + "]",
                     "got " + Describe(e) + "; expected a string");
      }
      out->push_back(e.get<std::string>());
    }
    return Status::Ok();
  }
  // An index into a list of `n`: an integer, or (when `text_ok`) a string of digits.
  Status Index(const std::string& key, size_t n, bool text_ok, int* out) const {
    const json* v = Find(key);
    std::string expected = "an integer from 0 to " + std::to_string(n - 1);
    if (!v) return Missing(key, expected);
    long long value = -1;
    if (v->is_number_integer()) {
      value = v->get<long long>();
    } else if (text_ok && v->is_string()) {
      const std::string s = v->get<std::string>();
      if (!s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos) {
        value = std::stoll(s);
      }
    } else {
      return Error(key, "got " + Describe(*v) + "; expected " + expected);
    }
    if (value < 0 || value >= static_cast<long long>(n)) {
      return Error(key, "got " + v->dump() + "; expected " + expected);
    }
    *out = static_cast<int>(value);
    return Status::Ok();
  }
  Status Error(const std::string& field, const std::string& what) const {
    return LineError(file_, line_, field, what);
  }

 private:
  const json* Find(const std::string& key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  Status Missing(const std::string& key, const std::string& expected) const {
    return Error(key, "missing; expected " + expected);
  }
  const std::string& file_;
  int line_;
  const json& obj_;
};

// Calls `fn` with each non-blank line parsed as a JSON object.
Status ForEachJsonLine(const std::string& file, const std::string& text,
                       const std::function<Status(const Record&, int line)>& fn) {
  for (const Line& l : SplitLines(text)) {
    if (IsBlank(l.text)) continue;
    json obj;
    try {
      obj = json::parse(l.text);
    } catch (const json::exception& e) {
      return LineError(file, l.number, "(line)",
                       "not valid JSON (" + JsonReason(e, l.text) + "); expected one JSON object a line");
    }
    if (!obj.is_object()) {
      return LineError(file, l.number, "(line)",
                       "got " + Describe(obj) + "; expected one JSON object a line");
    }
    SATURN_RETURN_IF_ERROR(fn(Record(file, l.number, obj), l.number));
  }
  return Status::Ok();
}

Status ReadComposer(const TaskSpec& spec, const std::string& text, std::vector<EvalItem>* items) {
  return ForEachJsonLine(spec.path, text, [&](const Record& r, int line) {
    EvalItem item;
    item.line = line;
    std::string a, b;
    if (spec.kind == "lm") {
      SATURN_RETURN_IF_ERROR(r.String("context", &a));
      SATURN_RETURN_IF_ERROR(r.NonEmptyString("continuation", &b));
      item.contexts = {a};
      item.continuations = {b};
    } else if (spec.kind == "mc") {
      SATURN_RETURN_IF_ERROR(r.String("query", &a));
      SATURN_RETURN_IF_ERROR(r.Strings("choices", &item.continuations));
      SATURN_RETURN_IF_ERROR(r.Index("gold", item.continuations.size(), false, &item.gold));
      item.contexts = {a};
    } else {  // schema
      SATURN_RETURN_IF_ERROR(r.Strings("context_options", &item.contexts));
      SATURN_RETURN_IF_ERROR(r.NonEmptyString("continuation", &b));
      SATURN_RETURN_IF_ERROR(r.Index("gold", item.contexts.size(), false, &item.gold));
      item.continuations = {b};
    }
    items->push_back(std::move(item));
    return Status::Ok();
  });
}

// The target is the last space-separated word; the context is everything before that space.
Status ReadLambada(const TaskSpec& spec, const std::string& text, std::vector<EvalItem>* items) {
  return ForEachJsonLine(spec.path, text, [&](const Record& r, int line) {
    std::string t;
    SATURN_RETURN_IF_ERROR(r.NonEmptyString("text", &t));
    size_t space = t.rfind(' ');
    if (space == t.size() - 1) {
      return r.Error("text", "ends with a space, so it has no last word; expected text that "
                             "ends with its target word");
    }
    EvalItem item;
    item.line = line;
    item.contexts = {space == std::string::npos ? "" : t.substr(0, space)};
    item.continuations = {space == std::string::npos ? t : t.substr(space + 1)};
    items->push_back(std::move(item));
    return Status::Ok();
  });
}

Status ReadPiqa(const TaskSpec& spec, const std::string& text, std::vector<EvalItem>* items) {
  const std::string labels_path = PiqaLabelsPath(spec.path);
  if (labels_path.empty()) {
    return Status::UserError(spec.path + ": format piqa needs a file named like valid.jsonl, with "
                                         "its labels in valid-labels.lst beside it");
  }
  Result<std::string> labels_text = ReadMaybeBzip2(labels_path);
  if (!labels_text.ok()) {
    return Status::UserError(labels_text.status().message() +
                             " (format piqa reads the gold labels there, one 0 or 1 a line)");
  }
  std::vector<Line> labels;
  for (Line& l : SplitLines(*labels_text)) {
    if (!IsBlank(l.text)) labels.push_back(std::move(l));
  }
  size_t next = 0;
  SATURN_RETURN_IF_ERROR(ForEachJsonLine(spec.path, text, [&](const Record& r, int line) {
    EvalItem item;
    item.line = line;
    std::string goal, sol1, sol2;
    SATURN_RETURN_IF_ERROR(r.String("goal", &goal));
    SATURN_RETURN_IF_ERROR(r.String("sol1", &sol1));
    SATURN_RETURN_IF_ERROR(r.String("sol2", &sol2));
    if (next >= labels.size()) {
      return r.Error("(labels)", labels_path + " has only " + std::to_string(labels.size()) +
                                     " labels; expected one for each record");
    }
    const Line& label = labels[next++];
    if (label.text != "0" && label.text != "1") {
      return LineError(labels_path, label.number, "label",
                       "got '" + label.text + "'; expected 0 or 1");
    }
    item.contexts = {"Question: " + goal + "\nAnswer:"};
    item.continuations = {sol1, sol2};
    item.gold = label.text == "1" ? 1 : 0;
    items->push_back(std::move(item));
    return Status::Ok();
  }));
  if (next < labels.size()) {
    return LineError(labels_path, labels[next].number, "label",
                     "more labels than records in " + spec.path + " (" +
                         std::to_string(items->size()) + "); expected one label a record");
  }
  return Status::Ok();
}

// Python's str.capitalize() on ASCII: the first character upper case, the rest lower case.
std::string Capitalize(const std::string& s) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    if (c >= 0x80) continue;
    out[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

// The original HellaSwag jsonl, with lm-evaluation-harness's _process_doc.
Status ReadHellaswagJsonl(const TaskSpec& spec, const std::string& text,
                          std::vector<EvalItem>* items) {
  return ForEachJsonLine(spec.path, text, [&](const Record& r, int line) {
    std::string ctx_a, ctx_b, activity;
    std::vector<std::string> endings;
    EvalItem item;
    item.line = line;
    SATURN_RETURN_IF_ERROR(r.String("activity_label", &activity));
    SATURN_RETURN_IF_ERROR(r.String("ctx_a", &ctx_a));
    SATURN_RETURN_IF_ERROR(r.String("ctx_b", &ctx_b));
    SATURN_RETURN_IF_ERROR(r.Strings("endings", &endings));
    SATURN_RETURN_IF_ERROR(r.Index("label", endings.size(), /*text_ok=*/true, &item.gold));
    const std::string ctx = ctx_a + " " + Capitalize(ctx_b);
    item.contexts = {HellaswagPreprocess(activity + ": " + ctx)};
    for (const auto& e : endings) item.continuations.push_back(HellaswagPreprocess(e));
    items->push_back(std::move(item));
    return Status::Ok();
  });
}

// Six lines an item: the context, the gold index (0-3), the four endings.
Status ReadHellaswagText(const TaskSpec& spec, const std::string& text,
                         std::vector<EvalItem>* items) {
  const std::vector<Line> lines = SplitLines(text);
  for (size_t i = 0; i < lines.size(); i += 6) {
    if (i + 6 > lines.size()) {
      return LineError(spec.path, lines[i].number, "(item)",
                       "the last item has " + std::to_string(lines.size() - i) +
                           " lines; expected 6 (context, gold index 0-3, four endings)");
    }
    const Line& gold = lines[i + 1];
    if (gold.text.size() != 1 || gold.text[0] < '0' || gold.text[0] > '3') {
      return LineError(spec.path, gold.number, "gold",
                       "got '" + gold.text + "'; expected the gold index, 0 to 3, on the line "
                                             "after the context (6 lines an item)");
    }
    EvalItem item;
    item.line = lines[i].number;
    item.contexts = {lines[i].text};
    for (size_t e = 2; e < 6; ++e) item.continuations.push_back(lines[i + e].text);
    item.gold = gold.text[0] - '0';
    items->push_back(std::move(item));
  }
  return Status::Ok();
}

std::string KindOfFormat(const std::string& format) {
  if (format == "lambada") return "lm";
  if (format == "composer") return "";
  return "mc";
}

}  // namespace

std::string HellaswagPreprocess(const std::string& text) {
  // strip(): ASCII white space, as Python's str.strip() does for it.
  const char* ws = " \t\n\r\f\v\x1c\x1d\x1e\x1f";
  size_t b = text.find_first_not_of(ws);
  std::string s = b == std::string::npos ? "" : text.substr(b, text.find_last_not_of(ws) - b + 1);
  // .replace(" [title]", ". ")
  std::string t;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 8, " [title]") == 0) {
      t += ". ";
      i += 8;
    } else {
      t += s[i++];
    }
  }
  // re.sub("\\[.*?\\]", "", ...): from each '[', the nearest ']' on the same line.
  std::string u;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '[') {
      size_t close = t.find_first_of("]\n", i + 1);
      if (close != std::string::npos && t[close] == ']') {
        i = close + 1;
        continue;
      }
    }
    u += t[i++];
  }
  // .replace("  ", " "): non-overlapping, left to right, once.
  std::string v;
  for (size_t i = 0; i < u.size();) {
    if (u.compare(i, 2, "  ") == 0) {
      v += ' ';
      i += 2;
    } else {
      v += u[i++];
    }
  }
  return v;
}

std::string PiqaLabelsPath(const std::string& jsonl_path) {
  auto strip = [](std::string& s, const std::string& ext) {
    if (s.size() < ext.size() || s.compare(s.size() - ext.size(), ext.size(), ext) != 0) return false;
    s.resize(s.size() - ext.size());
    return true;
  };
  std::string base = jsonl_path;
  strip(base, ".bz2");
  if (!strip(base, ".jsonl")) return "";
  return base + "-labels.lst";
}

Result<EvalTask> LoadTask(const TaskSpec& spec) {
  const std::string where = (spec.loc.file.empty() ? "" : spec.loc.str() + ": ") + "task '" +
                            spec.name + "'";
  const std::string kind = KindOfFormat(spec.format);
  if (!kind.empty() && kind != spec.kind) {
    return Status::UserError(where + ": format " + spec.format + " holds " + kind +
                             " items, but kind is " + spec.kind + "; expected kind: " + kind +
                             " (or format: composer)");
  }
  if (spec.kind != "lm" && spec.kind != "mc" && spec.kind != "schema") {
    return Status::UserError(where + ": kind '" + spec.kind + "'; expected lm, mc or schema");
  }
  Result<std::string> text = ReadMaybeBzip2(spec.path);
  if (!text.ok()) return Status::UserError(where + ": " + text.status().message());
  EvalTask task;
  task.spec = spec;
  Status st = Status::Ok();
  if (spec.format == "composer") {
    st = ReadComposer(spec, *text, &task.items);
  } else if (spec.format == "lambada") {
    st = ReadLambada(spec, *text, &task.items);
  } else if (spec.format == "piqa") {
    st = ReadPiqa(spec, *text, &task.items);
  } else if (spec.format == "hellaswag") {
    st = ReadHellaswagJsonl(spec, *text, &task.items);
  } else if (spec.format == "hellaswag-text") {
    st = ReadHellaswagText(spec, *text, &task.items);
  } else {
    return Status::UserError(where + ": format '" + spec.format +
                             "'; expected composer, lambada, piqa, hellaswag or hellaswag-text");
  }
  if (!st.ok()) return st;
  if (task.items.empty()) {
    return Status::UserError(spec.path + ": no items; expected at least one (task '" + spec.name +
                             "', format " + spec.format + ")");
  }
  return task;
}

}  // namespace saturn
