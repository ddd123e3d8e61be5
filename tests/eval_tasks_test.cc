// The task side of `saturn eval`: every layout reads the real files in datasets/eval with the
// item counts and facts its README states, prompts are exactly as docs/eval.md specifies (zero-
// and few-shot), tokenization follows lm-evaluation-harness, metrics match hand computations, and
// malformed task files and TASKS.yaml mistakes are user errors naming the place and the field.
// No torch here: LibTorch's glog CHECK would shadow Catch's.
#include <unistd.h>

#include <bzlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/tasks_file.h"
#include "data/tokenizer.h"
#include "eval/metrics.h"
#include "eval/prompt.h"
#include "eval/requests.h"
#include "eval/task.h"
#include "util/bzip2_file.h"
#include "util/files.h"
#include "temp_dir.h"

using Catch::Matchers::Contains;
using namespace saturn;
namespace fs = std::filesystem;

namespace {

// The evaluation sets the project ships (datasets/eval/README.md), bzip2-compressed.
const std::string kEval = std::string(SATURN_SOURCE_DIR) + "/datasets/eval";


TaskSpec Spec(const std::string& name, const std::string& kind, const std::string& path,
              const std::string& format = "composer") {
  TaskSpec s;
  s.name = name;
  s.kind = kind;
  s.path = path;
  s.format = format;
  return s;
}

EvalTask Load(const TaskSpec& spec) {
  Result<EvalTask> t = LoadTask(spec);
  INFO((t.ok() ? std::string() : t.status().message()));
  REQUIRE(t.ok());
  return *t;
}

std::string LoadError(const TaskSpec& spec) {
  Result<EvalTask> t = LoadTask(spec);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().exit_code() == 2);
  return t.status().message();
}

std::shared_ptr<const Tokenizer> Gpt2() {
  Result<std::string> dir = FindGpt2Dir();
  INFO((dir.ok() ? std::string() : dir.status().message() + " (scripts/setup.sh fetches the GPT-2 files)"));
  REQUIRE(dir.ok());
  auto t = Tokenizer::Load("gpt2:" + *dir);
  INFO((t.ok() ? std::string() : t.status().message()));
  REQUIRE(t.ok());
  return *t;
}

std::vector<nlohmann::json> JsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  Result<std::string> text = ReadMaybeBzip2(path);
  REQUIRE(text.ok());
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The real files

TEST_CASE("lambada: 5153 items / context + ' ' + target is the OpenAI text", "[evaltasks]") {
  const std::string path = kEval + "/lambada_openai_test.jsonl.bz2";
  EvalTask t = Load(Spec("lambada", "lm", path, "lambada"));
  REQUIRE(t.items.size() == 5153);
  std::vector<nlohmann::json> raw = JsonLines(path);
  REQUIRE(raw.size() == 5153);
  for (size_t i = 0; i < raw.size(); ++i) {
    const EvalItem& it = t.items[i];
    REQUIRE(it.contexts.size() == 1);
    REQUIRE(it.continuations.size() == 1);
    CHECK(it.line == static_cast<int>(i) + 1);
    CHECK(it.continuations[0].find(' ') == std::string::npos);
    CHECK(it.contexts[0] + " " + it.continuations[0] == raw[i]["text"].get<std::string>());
  }
  CHECK(t.items[0].continuations[0] == "signs");
}

TEST_CASE("composer lambada_openai: context + ' ' + continuation == the OpenAI text, all lines",
          "[evaltasks]") {
  EvalTask c = Load(Spec("lambada_c", "lm", kEval + "/composer/lambada_openai.jsonl.bz2"));
  EvalTask l = Load(Spec("lambada", "lm", kEval + "/lambada_openai_test.jsonl.bz2", "lambada"));
  REQUIRE(c.items.size() == 5153);
  REQUIRE(l.items.size() == 5153);
  int differ = 0;
  for (size_t i = 0; i < c.items.size(); ++i) {
    differ += c.items[i].contexts[0] + " " + c.items[i].continuations[0] !=
              l.items[i].contexts[0] + " " + l.items[i].continuations[0];
  }
  CHECK(differ == 0);
}

TEST_CASE("piqa: 1838 items with labels / composer piqa agrees in labels and choices",
          "[evaltasks]") {
  EvalTask p = Load(Spec("piqa", "mc", kEval + "/piqa/valid.jsonl.bz2", "piqa"));
  EvalTask c = Load(Spec("piqa_c", "mc", kEval + "/composer/piqa.jsonl.bz2"));
  REQUIRE(p.items.size() == 1838);
  REQUIRE(c.items.size() == 1838);
  CHECK(p.items[0].contexts[0] ==
        "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
  CHECK(p.items[1].continuations[0] == "replace drawer with bobby pin ");  // as written
  // The README says 118 choices were trimmed; in fact 118 items have choices that differ, all by
  // white space trimmed (230 choices: 228 at the end only, 2 at both ends).
  int labels_differ = 0, items_trimmed = 0, other = 0;
  for (size_t i = 0; i < p.items.size(); ++i) {
    labels_differ += p.items[i].gold != c.items[i].gold;
    REQUIRE(p.items[i].continuations.size() == 2);
    REQUIRE(c.items[i].continuations.size() == 2);
    bool trimmed = false;
    for (int k = 0; k < 2; ++k) {
      const std::string& a = p.items[i].continuations[k];
      const std::string& b = c.items[i].continuations[k];
      if (a == b) continue;
      if (Trim(a) == b) trimmed = true; else ++other;
    }
    items_trimmed += trimmed;
  }
  CHECK(labels_differ == 0);
  CHECK(items_trimmed == 118);
  CHECK(other == 0);
}

TEST_CASE("hellaswag-text: the .bz2 decompresses to 10042 items of 6 lines", "[evaltasks]") {
  EvalTask t = Load(Spec("hellaswag", "mc", kEval + "/hellaswag_val.txt.bz2", "hellaswag-text"));
  REQUIRE(t.items.size() == 10042);
  for (const EvalItem& it : t.items) {
    REQUIRE(it.continuations.size() == 4);
    REQUIRE(it.gold >= 0);
    REQUIRE(it.gold <= 3);
  }
  const EvalItem& first = t.items[0];
  CHECK(first.line == 1);
  CHECK(first.contexts[0] == "Roof shingle removal: A man is sitting on a roof. he");
  CHECK(first.gold == 3);
  CHECK(first.continuations[0] == "is using wrap to wrap a pair of skis.");
  CHECK(first.continuations[3] == "starts pulling up roofing on a roof.");
  CHECK(t.items[1].line == 7);
  CHECK(t.items.back().line == 60247);
}

TEST_CASE("every composer task parses with its item count and kind", "[evaltasks]") {
  struct Case {
    const char* file;
    const char* kind;
    size_t items;
    size_t choices;  // per item: choices (mc) or context options (schema); 1 for lm
  };
  const Case cases[] = {
      {"lambada_openai", "lm", 5153, 1},  {"piqa", "mc", 1838, 2},
      {"arc_easy", "mc", 2376, 4},        {"arc_challenge", "mc", 1172, 4},
      {"boolq", "mc", 3270, 2},           {"copa", "mc", 100, 2},
      {"openbook_qa", "mc", 500, 4},      {"siqa", "mc", 1954, 2},
      {"commonsense_qa", "mc", 1221, 4},  {"winogrande", "schema", 1267, 2},
      {"winograd_wsc", "schema", 273, 2},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    EvalTask t = Load(Spec(c.file, c.kind, kEval + "/composer/" + c.file + ".jsonl.bz2"));
    CHECK(t.items.size() == c.items);
    for (const EvalItem& it : t.items) {
      REQUIRE(static_cast<size_t>(it.num_requests()) == c.choices);
      REQUIRE(it.gold >= 0);
      REQUIRE(it.gold < it.num_requests());
    }
  }
  EvalTask w = Load(Spec("winogrande", "schema", kEval + "/composer/winogrande.jsonl.bz2"));
  CHECK(w.items[0].contexts[1] == "Sarah was a much better surgeon than Maria so Maria");
  CHECK(w.items[0].continuations[0] == "always got the easier cases.");
  CHECK(w.items[0].gold == 1);
}

TEST_CASE("a composer file read with the wrong kind names the missing field", "[evaltasks]") {
  std::string msg = LoadError(Spec("arc", "schema", kEval + "/composer/arc_easy.jsonl.bz2"));
  CHECK_THAT(msg, Contains("arc_easy.jsonl.bz2:1: context_options: missing"));
}

TEST_CASE("BuildRequests on the real hellaswag: 4 requests an item, none empty", "[evaltasks]") {
  auto tok = Gpt2();
  EvalTask t = Load(Spec("hellaswag", "mc", kEval + "/hellaswag_val.txt.bz2", "hellaswag-text"));
  TaskRequests r = BuildRequests(t, *tok);
  REQUIRE(r.requests.size() == 4 * t.items.size());
  REQUIRE(r.answer_chars.size() == r.requests.size());
  for (size_t i = 0; i < r.requests.size(); ++i) {
    REQUIRE(r.requests[i].item == static_cast<int>(i / 4));
    REQUIRE(r.requests[i].choice == static_cast<int>(i % 4));
    REQUIRE_FALSE(r.requests[i].context.empty());
    REQUIRE_FALSE(r.requests[i].continuation.empty());
  }
  // The first item's gold request, by hand: context as written, continuation " " + ending.
  const Request& gold = r.requests[3];
  CHECK(gold.context == tok->Encode("Roof shingle removal: A man is sitting on a roof. he"));
  CHECK(gold.continuation == tok->Encode(" starts pulling up roofing on a roof."));
  CHECK(r.answer_chars[3] == 36);  // "starts pulling up roofing on a roof.", without the space
}

// ---------------------------------------------------------------------------------------------
// Layouts on hand-made files

TEST_CASE("hellaswag jsonl: the harness's preprocessing", "[evaltasks]") {
  CHECK(HellaswagPreprocess("  [header] How to x [title] Do y.  ") == " How to x. Do y.");
  CHECK(HellaswagPreprocess("a [step] b [substeps] c") == "a b c");
  CHECK(HellaswagPreprocess("a   b    c") == "a  b  c");  // one pass of "  " -> " "
  CHECK(HellaswagPreprocess("keep [this\n] and [that") == "keep [this\n] and [that");
  CHECK(HellaswagPreprocess("x [a] [b] y") == "x  y");  // "x   y", then one pass

  TempDir d;
  std::string path = d.write(
      "hs.jsonl",
      R"({"activity_label": "Removing ice from car", "ctx_a": "Then, the man writes over the snow covering the window of a car, and a woman wearing winter clothes smiles.", "ctx_b": "then", "endings": [", the man adds wax to the windshield and cuts it.", ", a person board a ski lift, while two men supporting the head of the person wearing winter clothes snow as the we girls sled.", ", the man puts on a christmas coat, knitted with netting.", ", the man continues removing the snow on his car."], "label": 3})"
      "\n"
      R"({"activity_label": "Fix", "ctx_a": "[header] A", "ctx_b": "tHE MAN [title] Goes.", "endings": ["[step] one", "two  [x]"], "label": "0"})"
      "\n");
  EvalTask t = Load(Spec("hs", "mc", path, "hellaswag"));
  REQUIRE(t.items.size() == 2);
  CHECK(t.items[0].contexts[0] ==
        "Removing ice from car: Then, the man writes over the snow covering the window of a car, "
        "and a woman wearing winter clothes smiles. Then");
  CHECK(t.items[0].continuations[3] == ", the man continues removing the snow on his car.");
  CHECK(t.items[0].gold == 3);
  // ctx_b.capitalize() lower-cases the rest; " [title]" -> ". "; tags dropped; "  " -> " ".
  CHECK(t.items[1].contexts[0] == "Fix: A The man. goes.");
  CHECK(t.items[1].continuations[0] == " one");
  CHECK(t.items[1].continuations[1] == "two ");
  CHECK(t.items[1].gold == 0);
}

TEST_CASE("composer, lambada and piqa layouts on hand-made files", "[evaltasks]") {
  TempDir d;
  std::string lm = d.write("lm.jsonl", "{\"context\": \"The cat\", \"continuation\": \"sat\"}\n\n"
                                       "{\"context\": \"\", \"continuation\": \"Hi\"}\n");
  EvalTask t = Load(Spec("lm", "lm", lm));
  REQUIRE(t.items.size() == 2);  // the blank line is skipped
  CHECK(t.items[1].line == 3);
  CHECK(t.items[1].contexts[0].empty());

  std::string lam = d.write("lam.jsonl", "{\"text\": \"one two  three\"}\n{\"text\": \"single\"}");
  t = Load(Spec("lam", "lm", lam, "lambada"));
  REQUIRE(t.items.size() == 2);
  CHECK(t.items[0].contexts[0] == "one two ");  // up to the last space
  CHECK(t.items[0].continuations[0] == "three");
  CHECK(t.items[1].contexts[0].empty());
  CHECK(t.items[1].continuations[0] == "single");

  d.write("p-labels.lst", "1\n0\n");
  std::string piqa = d.write("p.jsonl", "{\"goal\": \"g1\", \"sol1\": \"a\", \"sol2\": \"b\"}\n"
                                        "{\"goal\": \"g2\", \"sol1\": \"c\", \"sol2\": \"d\"}\n");
  t = Load(Spec("p", "mc", piqa, "piqa"));
  REQUIRE(t.items.size() == 2);
  CHECK(t.items[0].contexts[0] == "Question: g1\nAnswer:");
  CHECK(t.items[0].gold == 1);
  CHECK(t.items[1].gold == 0);
  CHECK(PiqaLabelsPath("x/valid.jsonl") == "x/valid-labels.lst");
  CHECK(PiqaLabelsPath("x/valid.json").empty());
  CHECK(PiqaLabelsPath("x/valid.jsonl.bz2") == "x/valid-labels.lst");
  CHECK(PiqaLabelsPath("x/valid.bz2").empty());
}

TEST_CASE("Bunzip2 reads concatenated streams and rejects damaged data", "[evaltasks]") {
  TempDir d;
  // Two bzip2 streams back to back, as pbzip2 writes them (compressed with libbz2 itself).
  std::string both;
  for (std::string part : {"first\n", "second\n"}) {
    std::string out(1024, '\0');
    unsigned int n = static_cast<unsigned int>(out.size());
    REQUIRE(BZ2_bzBuffToBuffCompress(out.data(), &n, part.data(), static_cast<unsigned int>(part.size()), 9, 0, 0) == BZ_OK);
    both += out.substr(0, n);
  }
  d.write("ab.bz2", both);
  Result<std::string> text = ReadMaybeBzip2((d.path / "ab.bz2").string());
  REQUIRE(text.ok());
  CHECK(*text == "first\nsecond\n");
  Result<std::string> raw = ReadFile((d.path / "ab.bz2").string());
  REQUIRE(raw.ok());
  Result<std::string> cut = Bunzip2(raw->substr(0, raw->size() / 2), "cut.bz2");
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.status().exit_code() == 2);
  CHECK_THAT(cut.status().message(), Contains("cut.bz2: cannot decompress"));
  Result<std::string> plain = Bunzip2("not bzip2", "p.bz2");
  REQUIRE_FALSE(plain.ok());
  CHECK_THAT(plain.status().message(), Contains("not bzip2 data"));
}

// ---------------------------------------------------------------------------------------------
// Malformed task files: exit 2, FILE:LINE and the field

TEST_CASE("malformed lines are user errors naming file:line and the field", "[evaltasks]") {
  TempDir d;
  const std::string good = "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n";
  struct Case {
    std::string line;
    std::string expect;
  };
  const Case cases[] = {
      {"{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}", ":2: gold: got 2; expected an integer from 0 to 1"},
      {"{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": \"1\"}", ":2: gold: got a string"},
      {"{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}", ":2: choices: got a list of 1"},
      {"{\"query\": \"q\", \"choices\": [\"a\", 3], \"gold\": 0}", ":2: choices[1]: got the number 3"},
      {"{\"choices\": [\"a\", \"b\"], \"gold\": 0}", ":2: query: missing; expected a string"},
      {"{\"query\": 1, \"choices\": [\"a\", \"b\"], \"gold\": 0}", ":2: query: got the number 1"},
      {"{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 0", ":2: (line): not valid JSON"},
      {"[1, 2]", ":2: (line): got a list; expected one JSON object a line"},
  };
  for (const Case& c : cases) {
    std::string path = d.write("mc.jsonl", good + c.line + "\n" + good);
    std::string msg = LoadError(Spec("mc", "mc", path));
    INFO(msg);
    CHECK_THAT(msg, Contains(path + c.expect));
    CHECK_THAT(msg, Contains("fix or remove the line"));
  }

  std::string lm = d.write("lm.jsonl", "{\"context\": \"a\", \"continuation\": \"\"}\n");
  CHECK_THAT(LoadError(Spec("lm", "lm", lm)), Contains(lm + ":1: continuation: empty string"));
  std::string sc = d.write("s.jsonl", "{\"context_options\": [\"a\", \"b\"], \"continuation\": "
                                      "\"c\", \"gold\": -1}\n");
  CHECK_THAT(LoadError(Spec("s", "schema", sc)), Contains(sc + ":1: gold: got -1"));
  std::string lam = d.write("lam.jsonl", "{\"text\": \"a b\"}\n{\"text\": \"ends \"}\n");
  CHECK_THAT(LoadError(Spec("l", "lm", lam, "lambada")), Contains(lam + ":2: text: ends with a space"));
  std::string hs = d.write("h.jsonl", "{\"activity_label\": \"a\", \"ctx_a\": \"b\", \"ctx_b\": "
                                      "\"c\", \"endings\": [\"x\", \"y\"], \"label\": \"z\"}\n");
  CHECK_THAT(LoadError(Spec("h", "mc", hs, "hellaswag")), Contains(hs + ":1: label: got \"z\""));

  std::string ht = d.write("h.txt", "ctx\n3\na\nb\nc\nd\nctx2\n4\na\nb\nc\nd\n");
  CHECK_THAT(LoadError(Spec("h", "mc", ht, "hellaswag-text")), Contains(ht + ":8: gold: got '4'"));
  ht = d.write("h.txt", "ctx\n3\na\nb\nc\nd\nctx2\n1\na\n");
  CHECK_THAT(LoadError(Spec("h", "mc", ht, "hellaswag-text")),
             Contains(ht + ":7: (item): the last item has 3 lines; expected 6"));

  d.write("pq-labels.lst", "0\n2\n");
  std::string pq = d.write("pq.jsonl", "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n"
                                       "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");
  CHECK_THAT(LoadError(Spec("p", "mc", pq, "piqa")),
             Contains((d.path / "pq-labels.lst").string() + ":2: label: got '2'; expected 0 or 1"));
  d.write("pq-labels.lst", "0\n");
  CHECK_THAT(LoadError(Spec("p", "mc", pq, "piqa")), Contains(pq + ":2: (labels): "));
  d.write("pq-labels.lst", "0\n1\n1\n");
  CHECK_THAT(LoadError(Spec("p", "mc", pq, "piqa")), Contains("pq-labels.lst:3: label: more labels"));
  fs::remove(d.path / "pq-labels.lst");
  CHECK_THAT(LoadError(Spec("p", "mc", pq, "piqa")), Contains("pq-labels.lst: cannot open"));

  CHECK_THAT(LoadError(Spec("x", "mc", (d.path / "nope.jsonl").string())), Contains("cannot open"));
  std::string empty = d.write("e.jsonl", "\n\n");
  CHECK_THAT(LoadError(Spec("e", "mc", empty)), Contains("no items"));
  TaskSpec wrong = Spec("w", "mc", lam, "lambada");
  wrong.loc = SourceLoc{"TASKS.yaml", 3, 5};
  CHECK_THAT(LoadError(wrong), Contains("TASKS.yaml:3:5: task 'w': format lambada holds lm items, "
                                        "but kind is mc; expected kind: lm"));
}

// ---------------------------------------------------------------------------------------------
// Prompts

TEST_CASE("zero-shot prompts per layout, as specified", "[evaltasks]") {
  EvalTask mc;
  mc.spec = Spec("mc", "mc", "-");
  mc.items.push_back({1, {"Q: 2+2?"}, {"3", "4"}, 1});
  std::vector<Prompt> p = BuildPrompts(mc);
  REQUIRE(p.size() == 2);
  CHECK(p[0].context == "Q: 2+2? ");
  CHECK(p[0].continuation == "3");
  CHECK(p[1].item == 0);
  CHECK(p[1].choice == 1);
  CHECK(p[1].continuation == "4");

  EvalTask schema;
  schema.spec = Spec("s", "schema", "-");
  schema.items.push_back({1, {"Sarah so Sarah", "Sarah so Maria"}, {"won."}, 1});
  p = BuildPrompts(schema);
  REQUIRE(p.size() == 2);
  CHECK(p[0].context == "Sarah so Sarah ");
  CHECK(p[1].context == "Sarah so Maria ");
  CHECK(p[1].continuation == "won.");

  TempDir d;
  EvalTask lam = Load(Spec("l", "lm", d.write("l.jsonl", "{\"text\": \"a b c\"}\n"), "lambada"));
  p = BuildPrompts(lam);
  REQUIRE(p.size() == 1);
  CHECK(p[0].context == "a b ");
  CHECK(p[0].continuation == "c");

  d.write("p-labels.lst", "0\n");
  EvalTask piqa = Load(Spec("p", "mc", d.write("p.jsonl", "{\"goal\": \"Open a jar\", \"sol1\": "
                                                          "\"Twist.\", \"sol2\": \"Bite.\"}\n"),
                            "piqa"));
  p = BuildPrompts(piqa);
  REQUIRE(p.size() == 2);
  CHECK(p[0].context == "Question: Open a jar\nAnswer: ");
  CHECK(p[1].continuation == "Bite.");

  // Delimiters apply to every layout; prompt_string alone comes first zero-shot.
  mc.spec.continuation_delimiter = "\nA:";
  mc.spec.prompt_string = "Arithmetic.\n";
  p = BuildPrompts(mc);
  CHECK(p[0].context == "Arithmetic.\nQ: 2+2?\nA:");
}

TEST_CASE("few-shot prompts: prompt_string, delimiters, gold answers, never the item",
          "[evaltasks]") {
  EvalTask t;
  t.spec = Spec("mc", "mc", "-");
  t.spec.num_fewshot = 1;
  t.spec.prompt_string = "P:";
  t.spec.example_delimiter = "||";
  t.spec.continuation_delimiter = " => ";
  t.items.push_back({1, {"q0"}, {"a0", "b0"}, 0});
  t.items.push_back({2, {"q1"}, {"a1", "b1"}, 1});
  // With two items each one's only possible example is the other.
  std::vector<Prompt> p = BuildPrompts(t);
  REQUIRE(p.size() == 4);
  CHECK(p[0].context == "P:q1 => b1||q0 => ");
  CHECK(p[0].continuation == "a0");
  CHECK(p[1].context == "P:q1 => b1||q0 => ");
  CHECK(p[1].continuation == "b0");
  CHECK(p[2].context == "P:q0 => a0||q1 => ");

  // Asking for more examples than there are other items gives all of them, once each.
  t.items.push_back({3, {"q2"}, {"a2", "b2"}, 0});
  t.spec.num_fewshot = 5;
  std::string pre = FewshotPreamble(t, 1);
  CHECK((pre == "P:q0 => a0||q2 => a2||" || pre == "P:q2 => a2||q0 => a0||"));

  // Schema: the gold context option, the delimiter, the continuation.
  EvalTask s;
  s.spec = Spec("s", "schema", "-");
  s.spec.num_fewshot = 1;
  s.items.push_back({1, {"A so A", "A so B"}, {"won."}, 1});
  s.items.push_back({2, {"C so C", "C so D"}, {"lost."}, 0});
  p = BuildPrompts(s);
  REQUIRE(p.size() == 4);
  CHECK(p[0].context == "C so C lost.\nA so A ");
  CHECK(p[1].context == "C so C lost.\nA so B ");
  CHECK(p[1].continuation == "won.");
  CHECK(p[2].context == "A so B won.\nC so C ");

  // LM: context, delimiter, continuation.
  EvalTask lm;
  lm.spec = Spec("lm", "lm", "-");
  lm.spec.num_fewshot = 1;
  lm.items.push_back({1, {"x y"}, {"z"}, 0});
  lm.items.push_back({2, {"u v"}, {"w"}, 0});
  p = BuildPrompts(lm);
  CHECK(p[0].context == "u v w\nx y ");
  CHECK(p[0].continuation == "z");
}

TEST_CASE("few-shot sampling: splitmix64, distinct, never the item, fixed by the seed",
          "[evaltasks]") {
  // The reference splitmix64's first output from state 0, so the sampling is portable.
  SplitMix64 g(0);
  CHECK(g.Next() == 0xE220A8397B1DCDAFull);
  for (int n : {2, 3, 10, 1000}) {
    for (int item : {0, n / 2, n - 1}) {
      for (int k : {0, 1, 5, 25}) {
        std::vector<int> idx = FewshotIndices(item, n, k, 1234);
        CHECK(idx.size() == static_cast<size_t>(std::min(k, n - 1)));
        std::set<int> distinct(idx.begin(), idx.end());
        CHECK(distinct.size() == idx.size());
        CHECK(distinct.count(item) == 0);
        for (int i : idx) CHECK((i >= 0 && i < n));
        CHECK(idx == FewshotIndices(item, n, k, 1234));
      }
    }
  }
  CHECK(FewshotIndices(0, 1, 5, 1).empty());
  // Another seed, or another item, gives other examples.
  CHECK(FewshotIndices(7, 1000, 5, 1234) != FewshotIndices(7, 1000, 5, 1235));
  CHECK(FewshotIndices(7, 1000, 5, 1234) != FewshotIndices(8, 1000, 5, 1234));
  // Pinned, so an accidental change to the documented procedure shows.
  const std::vector<int> pinned = FewshotIndices(7, 1000, 5, 1234);
  SplitMix64 seeder(1234);
  SplitMix64 rng(seeder.Next() ^ 7u);
  std::vector<int> by_hand;
  while (by_hand.size() < 5) {
    int d = static_cast<int>(rng.Below(999));
    if (d >= 7) ++d;
    if (std::find(by_hand.begin(), by_hand.end(), d) == by_hand.end()) by_hand.push_back(d);
  }
  CHECK(pinned == by_hand);
}

TEST_CASE("few-shot on a real task: the item's own text is never an example", "[evaltasks]") {
  TaskSpec spec = Spec("arc", "mc", kEval + "/composer/arc_easy.jsonl.bz2");
  spec.num_fewshot = 5;
  EvalTask t = Load(spec);
  std::vector<Prompt> a = BuildPrompts(t);
  std::vector<Prompt> b = BuildPrompts(t);
  REQUIRE(a.size() == 4 * t.items.size());
  for (size_t i = 0; i < a.size(); i += 97) {
    CHECK(a[i].context == b[i].context);  // deterministic
    const EvalItem& it = t.items[a[i].item];
    const std::string& ctx = a[i].context;
    // The item's query appears once, at the end; 5 examples before it, each ending in "\n".
    CHECK(ctx.size() > it.contexts[0].size() + 1);
    CHECK(ctx.compare(ctx.size() - it.contexts[0].size() - 1, std::string::npos,
                      it.contexts[0] + " ") == 0);
    CHECK(ctx.find(it.contexts[0] + " ") == ctx.size() - it.contexts[0].size() - 1);
  }
  t.spec.fewshot_seed = 99;
  std::vector<Prompt> c = BuildPrompts(t);
  int same = 0;
  for (size_t i = 0; i < a.size(); i += 4) same += a[i].context == c[i].context;
  CHECK(same < 10);
}

// ---------------------------------------------------------------------------------------------
// Harness tokenization

TEST_CASE("EncodePair: trailing space moves, joint encoding split, empty context is eot",
          "[evaltasks]") {
  auto tok = Gpt2();
  std::vector<int32_t> ctx, cont;
  EncodePair(*tok, "a b ", "c", &ctx, &cont);
  CHECK(ctx == tok->Encode("a b"));
  CHECK(cont == tok->Encode(" c"));

  // Trailing white space of any ASCII kind moves, all of it.
  EncodePair(*tok, "Question: x\nAnswer: \n", "yes", &ctx, &cont);
  CHECK(ctx == tok->Encode("Question: x\nAnswer:"));
  std::vector<int32_t> whole = tok->Encode("Question: x\nAnswer: \nyes");
  CHECK(cont == std::vector<int32_t>(whole.begin() + ctx.size(), whole.end()));

  // Empty (or all-space) context: [eot] and the continuation alone.
  EncodePair(*tok, "", "Hello world", &ctx, &cont);
  CHECK(ctx == std::vector<int32_t>{tok->eot_id()});
  CHECK(ctx == std::vector<int32_t>{50256});
  CHECK(cont == tok->Encode("Hello world"));
  EncodePair(*tok, "  ", "Hello", &ctx, &cont);
  CHECK(ctx == std::vector<int32_t>{50256});
  CHECK(cont == tok->Encode("  Hello"));

  // The split is of the joint encoding, even where it differs from encoding the parts apart:
  // "Hel" + "lo world" encodes as "Hello" " world", and the context's one token covers "Hel".
  EncodePair(*tok, "Hel", "lo world", &ctx, &cont);
  whole = tok->Encode("Hello world");
  REQUIRE(ctx == tok->Encode("Hel"));
  CHECK(cont == std::vector<int32_t>(whole.begin() + ctx.size(), whole.end()));
  CHECK(cont != tok->Encode("lo world"));

  // The one departure: nothing left for the continuation -> it is encoded alone.
  REQUIRE(tok->Encode("ab").size() == 1);
  EncodePair(*tok, "a", "b", &ctx, &cont);
  CHECK(ctx == tok->Encode("a"));
  CHECK(cont == tok->Encode("b"));
}

TEST_CASE("BuildRequests: requests by item and choice, answer lengths in characters",
          "[evaltasks]") {
  auto tok = Gpt2();
  EvalTask t;
  t.spec = Spec("mc", "mc", "-");
  t.items.push_back({1, {"Is it café?"}, {"oui, café", "no"}, 0});
  t.items.push_back({2, {""}, {"x", "yy"}, 1});
  TaskRequests r = BuildRequests(t, *tok);
  REQUIRE(r.requests.size() == 4);
  CHECK(r.answer_chars == std::vector<int>{9, 2, 1, 2});  // code points, without the space
  CHECK(r.requests[0].context == tok->Encode("Is it café?"));
  CHECK(r.requests[0].continuation == tok->Encode(" oui, café"));
  CHECK(r.requests[2].item == 1);
  CHECK(r.requests[2].context == std::vector<int32_t>{50256});  // "" + " " -> empty -> eot
  CHECK(r.requests[3].continuation == tok->Encode(" yy"));
  CHECK(CountChars("\xE2\x82\xAC" "a") == 2);
}

// ---------------------------------------------------------------------------------------------
// Metrics

TEST_CASE("metrics: lm acc and perplexity", "[evaltasks]") {
  EvalTask t;
  t.spec = Spec("lm", "lm", "-");
  for (int i = 0; i < 3; ++i) t.items.push_back({i + 1, {"c"}, {"x"}, 0});
  std::vector<Request> req(3);
  for (int i = 0; i < 3; ++i) req[i].item = i, req[i].continuation = {1, 2};
  std::vector<Score> sc = {{-1.0, true}, {-2.0, false}, {-6.0, true}};
  Result<TaskMetrics> m = ComputeMetrics(t, req, sc, {1, 1, 1});
  REQUIRE(m.ok());
  CHECK(m->n == 3);
  CHECK(m->values.at("acc") == Approx(2.0 / 3));
  CHECK(m->values.at("perplexity") == Approx(std::exp(3.0)));  // exp(-(-9/3))
  CHECK(m->values.size() == 2);
}

TEST_CASE("metrics: mc acc, acc_norm, acc_mean_token / ties to the lowest index",
          "[evaltasks]") {
  EvalTask t;
  t.spec = Spec("mc", "mc", "-");
  t.items.push_back({1, {"q"}, {"a", "bbbbbbbbbb"}, 1});
  t.items.push_back({2, {"q"}, {"a", "b", "c"}, 0});
  t.items.push_back({3, {"q"}, {"a", "b"}, 1});
  std::vector<Request> req;
  auto add = [&](int item, int choice, int tokens) {
    Request r;
    r.item = item;
    r.choice = choice;
    r.continuation.assign(tokens, 7);
    req.push_back(r);
  };
  // Item 0: raw ll picks 0 (-2 > -5); per char -2/1 < -5/10 picks 1 (gold); per token:
  // -2/1 vs -5/4 picks 1.
  add(0, 0, 1);
  add(0, 1, 4);
  // Item 1: all equal: every argmax is 0 (gold).
  add(1, 0, 2);
  add(1, 1, 2);
  add(1, 2, 2);
  // Item 2: raw -4 vs -3 picks 1 (gold); per char -4/8 vs -3/1 picks 0; per token -4/1 vs
  // -3/3 picks 1.
  add(2, 0, 1);
  add(2, 1, 3);
  std::vector<Score> sc = {{-2, false}, {-5, false}, {-1, false}, {-1, false},
                           {-1, false}, {-4, false}, {-3, false}};
  std::vector<int> chars = {1, 10, 1, 1, 1, 8, 1};
  Result<TaskMetrics> m = ComputeMetrics(t, req, sc, chars);
  REQUIRE(m.ok());
  CHECK(m->n == 3);
  CHECK(m->values.at("acc") == Approx(2.0 / 3));         // items 1, 2
  CHECK(m->values.at("acc_norm") == Approx(2.0 / 3));    // items 0, 1
  CHECK(m->values.at("acc_mean_token") == Approx(1.0));  // all three

  // Requests in another order give the same metrics; a subset of items is scored alone.
  std::vector<Request> rev(req.rbegin(), req.rend());
  std::vector<Score> rsc(sc.rbegin(), sc.rend());
  std::vector<int> rch(chars.rbegin(), chars.rend());
  Result<TaskMetrics> m2 = ComputeMetrics(t, rev, rsc, rch);
  REQUIRE(m2.ok());
  CHECK(m2->values == m->values);
  Result<TaskMetrics> first = ComputeMetrics(t, std::vector<Request>(req.begin(), req.begin() + 2),
                                             {sc[0], sc[1]}, {1, 10});
  REQUIRE(first.ok());
  CHECK(first->n == 1);
  CHECK(first->values.at("acc") == 0.0);
  CHECK(first->values.at("acc_norm") == 1.0);

  // Broken contracts are internal errors, not crashes.
  CHECK(ComputeMetrics(t, req, std::vector<Score>(sc.begin(), sc.end() - 1), chars)
            .status().exit_code() == 1);
  std::vector<Request> missing(req.begin(), req.end() - 1);
  CHECK_FALSE(ComputeMetrics(t, missing, std::vector<Score>(sc.begin(), sc.end() - 1),
                             std::vector<int>(chars.begin(), chars.end() - 1)).ok());
  std::vector<Request> dup = req;
  dup[1].choice = 0;
  CHECK_FALSE(ComputeMetrics(t, dup, sc, chars).ok());
  dup = req;
  dup[0].item = 9;
  CHECK_FALSE(ComputeMetrics(t, dup, sc, chars).ok());
}

TEST_CASE("metrics: schema acc over the context options", "[evaltasks]") {
  EvalTask t;
  t.spec = Spec("s", "schema", "-");
  t.items.push_back({1, {"A", "B"}, {"c"}, 1});
  t.items.push_back({2, {"A", "B"}, {"c"}, 1});
  std::vector<Request> req(4);
  for (int i = 0; i < 4; ++i) req[i].item = i / 2, req[i].choice = i % 2, req[i].continuation = {1};
  std::vector<Score> sc = {{-3, false}, {-1, false}, {-1, false}, {-1, false}};
  Result<TaskMetrics> m = ComputeMetrics(t, req, sc, {1, 1, 1, 1});
  REQUIRE(m.ok());
  CHECK(m->values.at("acc") == Approx(0.5));  // item 1 ties -> option 0, not gold
  CHECK(m->values.size() == 1);
}

// ---------------------------------------------------------------------------------------------
// TASKS.yaml

TEST_CASE("TASKS.yaml: the issue's example parses / paths resolve against its directory",
          "[evaltasks]") {
  TempDir d;
  fs::create_directories(d.path / "cfg");
  std::string path = d.write("cfg/TASKS.yaml",
      "tokenizer: {kind: gpt2, path: ../shared/data/tokenizers/gpt2}\n"
      "tasks:\n"
      "  - {name: lambada, kind: lm, path: ../shared/data/eval/lambada_openai_test.jsonl, format: lambada}\n"
      "  - {name: piqa, kind: mc, path: ../shared/data/eval/piqa/valid.jsonl, format: piqa}\n"
      "  - {name: hellaswag, kind: mc, path: ../shared/data/eval/hellaswag_val.txt.bz2, format: hellaswag-text}\n"
      "  - {name: arc_easy, kind: mc, path: ../shared/data/eval/composer/arc_easy.jsonl, num_fewshot: 5}\n"
      "  - {name: winogrande, kind: schema, path: /abs/winogrande.jsonl}\n"
      "  - name: custom\n"
      "    kind: mc\n"
      "    path: mine.jsonl\n"
      "    prompt_string: \"Answer.\\n\"\n"
      "    example_delimiter: \"\\n\\n\"\n"
      "    continuation_delimiter: \"\\nA:\"\n"
      "    fewshot_seed: 7\n");
  Result<TasksFile> f = LoadTasksFile(path);
  INFO((f.ok() ? std::string() : f.status().message()));
  REQUIRE(f.ok());
  const std::string dir = (d.path / "cfg").string();
  CHECK(f->tokenizer == "gpt2:" + (d.path / "shared/data/tokenizers/gpt2").string());
  REQUIRE(f->tasks.size() == 6);
  CHECK(f->tasks[0].path == (d.path / "shared/data/eval/lambada_openai_test.jsonl").string());
  CHECK(f->tasks[0].format == "lambada");
  CHECK(f->tasks[2].format == "hellaswag-text");
  CHECK(f->tasks[3].num_fewshot == 5);
  CHECK(f->tasks[3].format == "composer");
  CHECK(f->tasks[3].continuation_delimiter == " ");
  CHECK(f->tasks[3].example_delimiter == "\n");
  CHECK(f->tasks[3].fewshot_seed == 1234);
  CHECK(f->tasks[4].path == "/abs/winogrande.jsonl");
  CHECK(f->tasks[4].kind == "schema");
  CHECK(f->tasks[5].path == dir + "/mine.jsonl");
  CHECK(f->tasks[5].prompt_string == "Answer.\n");
  CHECK(f->tasks[5].example_delimiter == "\n\n");
  CHECK(f->tasks[5].continuation_delimiter == "\nA:");
  CHECK(f->tasks[5].fewshot_seed == 7);
  CHECK(f->tasks[5].loc.str() == path + ":8:5");

  Result<TasksFile> g = ParseTasksFile("tokenizer: gpt2\ntasks: [{name: a, kind: lm, path: x}]\n",
                                       "T.yaml");
  REQUIRE(g.ok());
  CHECK(g->tokenizer == "gpt2");
  CHECK(g->tasks[0].path == "x");  // no directory to resolve against
  g = ParseTasksFile("tasks: [{name: a, kind: lm, path: x}]\n", "d/T.yaml");
  REQUIRE(g.ok());
  CHECK(g->tokenizer.empty());
  CHECK(g->tasks[0].path == "d/x");
}

TEST_CASE("TASKS.yaml mistakes: file:line:col, the field, a suggestion", "[evaltasks]") {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  const std::string task = "  - {name: a, kind: mc, path: x}\n";
  const Case cases[] = {
      {"tasks:\n  - {name: a, kind: mc, path: x, num_fewshots: 5}\n",
       "T.yaml:2:34: tasks[0].num_fewshots: unknown field; expected one of: name, kind, path, "
       "format, num_fewshot, prompt_string, example_delimiter, continuation_delimiter, "
       "fewshot_seed (did you mean 'num_fewshot'?)"},
      {"tasks:\n  - {name: a, kind: multiple, path: x}\n",
       "T.yaml:2:21: tasks[0].kind: unknown value 'multiple'; expected one of: lm, mc, schema"},
      {"task:\n" + task, "T.yaml:1:1: task: unknown field; expected one of: tokenizer, tasks "
                         "(did you mean 'tasks'?)"},
      {"tokenizer: gpt2\n", "T.yaml:1:1: tasks: missing required field"},
      {"tasks: []\n", "T.yaml:1:8: tasks: empty list; expected at least one task"},
      {"tasks: {name: a}\n", "T.yaml:1:8: tasks: got a map"},
      {"tasks:\n  - {kind: mc, path: x}\n", "T.yaml:2:5: tasks[0].name: missing required field"},
      {"tasks:\n" + task + task, "T.yaml:3:12: tasks[1].name: duplicate task name 'a' (first at "
                                 "T.yaml:2:5)"},
      {"tasks:\n  - {name: a, kind: mc, path: x, format: csv}\n",
       "T.yaml:2:42: tasks[0].format: unknown value 'csv'; expected one of: composer, lambada, piqa, hellaswag, "
       "hellaswag-text"},
      {"tasks:\n  - {name: a, kind: mc, path: x, num_fewshot: -1}\n", "tasks[0].num_fewshot: "},
      {"tokenizer: {kind: hf}\ntasks:\n" + task, "T.yaml:1:12: tokenizer.path: missing for kind hf"},
      {"tokenizer: {knd: gpt2}\ntasks:\n" + task,
       "T.yaml:1:13: tokenizer.knd: unknown field; expected one of: kind, path (did you mean "
       "'kind'?)"},
      {"tokenizer: [gpt2]\ntasks:\n" + task, "T.yaml:1:12: tokenizer: got a list"},
      {"tasks:\n" + task + "tasks:\n" + task, "T.yaml:3:1: tasks: repeated field"},
      {"tasks: [\n", "T.yaml:2:1: YAML syntax"},
      {"", "T.yaml:1:1: (top level): the file is empty"},
      {"- a\n", "T.yaml:1:1: (top level): got a list"},
  };
  for (const Case& c : cases) {
    Result<TasksFile> r = ParseTasksFile(c.yaml, "T.yaml");
    INFO(c.yaml);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().exit_code() == 2);
    CHECK_THAT(r.status().message(), Contains(c.expect));
  }
  Result<TasksFile> r = LoadTasksFile("/nonexistent/TASKS.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Contains("/nonexistent/TASKS.yaml: cannot open"));
}

TEST_CASE("TASKS.yaml with the real data: every task loads and builds requests", "[evaltasks]") {
  auto tok = Gpt2();
  // The file sits in the project root, so datasets/eval holds the tasks.
  const std::string root = SATURN_SOURCE_DIR;
  Result<TasksFile> f = ParseTasksFile(
      "tasks:\n"
      "  - {name: piqa, kind: mc, path: datasets/eval/piqa/valid.jsonl.bz2, format: piqa}\n"
      "  - {name: arc_easy, kind: mc, path: datasets/eval/composer/arc_easy.jsonl.bz2, "
      "num_fewshot: 5}\n"
      "  - {name: winogrande, kind: schema, path: datasets/eval/composer/winogrande.jsonl.bz2}\n"
      "  - {name: lambada, kind: lm, path: datasets/eval/composer/lambada_openai.jsonl.bz2}\n",
      root + "/TASKS.yaml");
  REQUIRE(f.ok());
  const size_t expect[] = {2 * 1838, 4 * 2376, 2 * 1267, 5153};
  for (size_t i = 0; i < f->tasks.size(); ++i) {
    EvalTask t = Load(f->tasks[i]);
    TaskRequests r = BuildRequests(t, *tok);
    CHECK(r.requests.size() == expect[i]);
    for (const Request& q : r.requests) REQUIRE_FALSE(q.continuation.empty());
  }
}
