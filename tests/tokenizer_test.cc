// Byte-level BPE tokenizers (src/data): known encodings, round trips on arbitrary bytes, exact
// agreement with npm gpt-3-encoder (GPT-2) and with an independent JavaScript implementation of
// tokenizer.json (GPT-NeoX) on the shared corpora, NFC, and user errors.
#include "data/tokenizer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "data/byte_level.h"
#include "data/nfc.h"
#include "data/pretokenize.h"
#include "data/unicode.h"
#include "util/bzip2_file.h"
#include "util/files.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using saturn::Tokenizer;

namespace {

const std::string kSource = SATURN_SOURCE_DIR;
// The reference text ships in datasets/reference (bzip2); the GPT-2 files come from
// scripts/setup.sh (third_party/tokenizers/gpt2) or ../shared/data, as FindGpt2Dir looks.
const std::string kReference = kSource + "/datasets/reference";

// The decompressed copy of a file in datasets/reference, made once per test process.
std::string Reference(const std::string& name) {
  static TempDir* dir = new TempDir;  // NOLINT: lives as long as the process, like its files
  std::string out = *dir / name;
  if (!fs::exists(out)) {
    auto text = saturn::ReadMaybeBzip2(kReference + "/" + name + ".bz2");
    INFO(text.status().message());
    REQUIRE(text.ok());
    dir->write(name, *text);
  }
  return out;
}

std::string Gpt2Dir() {
  auto dir = saturn::FindGpt2Dir();
  if (!dir.ok()) FAIL(dir.status().message() << " (run scripts/setup.sh, which installs them)");
  return *dir;
}

std::string NeoxJson() { return Reference("neox/tokenizer.json"); }

std::string Utf8(char32_t cp) {
  char buf[4];
  int len;
  saturn::AppendUtf8(cp, buf, &len);
  return std::string(buf, len);
}


std::shared_ptr<const Tokenizer> Load(const std::string& spec) {
  auto t = Tokenizer::Load(spec);
  INFO(t.status().message());
  REQUIRE(t.ok());
  return *t;
}

std::shared_ptr<const Tokenizer> Gpt2() { return Load("gpt2:" + Gpt2Dir()); }
std::shared_ptr<const Tokenizer> Neox() { return Load("hf:" + NeoxJson()); }

// Runs a node tool and returns its stdout; FAILs (never skips) when node or the npm package is
// missing: the comparisons are the point of these tests.
std::string RunNode(const std::string& args) {
  static const bool have_node = std::system("node --version > /dev/null 2>&1") == 0;
  if (!have_node) FAIL("node is not installed: run scripts/setup.sh (tests compare against JavaScript references)");
  std::string cmd = "node " + kSource + "/tests/tools/" + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (code == 3) FAIL(out + "(npm gpt-3-encoder missing: run scripts/setup.sh)");
  INFO(cmd << "\n" << out.substr(0, 2000));
  REQUIRE(code == 0);
  return out;
}

std::vector<int32_t> ParseIds(const std::string& s) {
  std::vector<int32_t> ids;
  std::istringstream in(s);
  int32_t id;
  while (in >> id) ids.push_back(id);
  return ids;
}

// The first index where a and b differ, with context, for a readable failure.
std::string FirstDifference(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return "identical";
  std::ostringstream o;
  o << "sizes " << a.size() << " vs " << b.size() << "; first difference at " << i << ": saturn [";
  for (size_t k = i; k < std::min(a.size(), i + 8); ++k) o << a[k] << " ";
  o << "] reference [";
  for (size_t k = i; k < std::min(b.size(), i + 8); ++k) o << b[k] << " ";
  o << "]";
  return o.str();
}

// A deterministic sample of a text: up to `bytes` from the start and as much from the middle,
// each cut at a newline so the pieces are whole UTF-8 (datasets/reference holds each corpus cut
// this way at 96 KB).
std::string Sample(const std::string& text, size_t bytes) {
  if (text.size() <= 2 * bytes) return text;
  auto piece = [&](size_t from) {
    size_t b = from == 0 ? 0 : text.find('\n', from) + 1;
    size_t e = text.find('\n', b + bytes);
    return text.substr(b, e == std::string::npos ? std::string::npos : e - b);
  };
  return piece(0) + piece(text.size() / 2);
}

// The decompressed corpus samples of datasets/reference, in name order.
std::vector<std::string> Corpora() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kReference + "/corpus"))
    names.push_back("corpus/" + e.path().stem().string());  // without .bz2
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() == 5);
  std::vector<std::string> files;
  for (const std::string& n : names) files.push_back(Reference(n));
  return files;
}

// Text that exercises every branch of the pre-tokenizer: scripts, marks, emoji, digits of other
// scripts, contractions, all kinds of white space (JavaScript and Unicode White_Space differ on
// U+0085 and U+FEFF).
const char* kTricky =
    "Hello world! I'm here, you're there; we've, they'll, she'd, it's 'tis 'S 'LL.\n"
    "  Leading spaces\tand\ttabs   \n\n\nthree newlines\r\n\r\nCRLF   trailing   \n"
    "Numbers: 123 4567 3.14159 1,000,000 ²³ ½ Ⅻ ١٢٣ ४२ 二十\n"
    "Mixed: Привет мир, Γειά σου, שלום, مرحبا, 你好世界, こんにちは, 안녕하세요, नमस्ते, ภาษาไทย\n"
    "Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✨\u200d\n"
    "Spaces: a\u00a0b\u3000c\u2003d\u2028e\u2029f\u0085g\ufeffh\u200bi\u180ej \u00a0 \u3000x\n"
    "Marks: e\u0301 n\u0303 a\u030a\u0301 \u212b \u1100\u1161\u11a8 \u0915\u093c \u0061\u0328\u0301\n"
    "Code: for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; } // comment\n"
    "URL https://example.com/a?b=c&d=e#f <|endoftext|> <tag attr=\"v\">text</tag>\n"
    "     \n        indented\n\t\t\ttabs\n \n  \n"
    // Words past the quadratic algorithm's limit take the heap (src/data/bpe.cc).
    "Pneumonoultramicroscopicsilicovolcanoconiosis"
    "PneumonoultramicroscopicsilicovolcanoconiosisPneumonoultramicroscopicsilicovolcanoconiosis "
    "==================================================================================== "
    "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679 "
    "aGVsbG8gd29ybGQgdGhpcyBpcyBhIGxvbmcgYmFzZTY0IHN0cmluZyB0aGF0IGdvZXMgb24gYW5kIG9uIGFuZCBvbg "
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!?????????????????????????????.\n";

}  // namespace

TEST_CASE("pre-tokenizer splits as GPT-2's regex", "[tokenizer]") {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
      size_t n = saturn::PretokenLength(p, end, saturn::SpaceFlavor::kJavaScript);
      out.emplace_back(reinterpret_cast<const char*>(p), n);
      p += n;
    }
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(split("Hello   world") == V{"Hello", "  ", " world"});
  CHECK(split("a\n\nb") == V{"a", "\n", "\n", "b"});
  CHECK(split("a\n\n") == V{"a", "\n\n"});
  CHECK(split("I'm don't 'sup") == V{"I", "'m", " don", "'t", " '", "sup"});
  CHECK(split(" 123abc!!? x") == V{" 123", "abc", "!!?", " x"});
  CHECK(split("\xff\xfe ab\xc3") == V{"\xff\xfe", " ab", "\xc3"});
}

TEST_CASE("GPT-2 known encodings", "[tokenizer]") {
  auto t = Gpt2();
  CHECK(t->vocab_size() == 50257);
  CHECK(t->eot_id() == 50256);
  CHECK(t->Encode("Hello world") == std::vector<int32_t>{15496, 995});
  CHECK(t->Encode("hello world") == std::vector<int32_t>{31373, 995});
  CHECK(t->Encode("Hello, world!") == std::vector<int32_t>{15496, 11, 995, 0});
  CHECK(t->Encode("") == std::vector<int32_t>{});
  CHECK(t->Decode({50256}) == "<|endoftext|>");
  // Text never turns into the special token.
  std::vector<int32_t> eot = t->Encode("<|endoftext|>");
  CHECK(eot.size() > 1);
  CHECK(std::find(eot.begin(), eot.end(), 50256) == eot.end());
}

TEST_CASE("Load(\"gpt2\") finds the files and names itself gpt2", "[tokenizer]") {
  Gpt2Dir();  // FAILs saying how to install them when they are missing
  auto t = Load("gpt2");
  CHECK(t->name() == "gpt2");
  CHECK(t->Encode("Hello world") == std::vector<int32_t>{15496, 995});
}

TEST_CASE("Decode(Encode(x)) == x for arbitrary bytes", "[tokenizer]") {
  auto gpt2 = Gpt2();
  auto neox = Neox();
  auto check = [&](const std::string& x) {
    INFO("input bytes: " << x.size());
    CHECK(gpt2->Decode(gpt2->Encode(x)) == x);
    // NeoX: NFC, and bytes that never occur in UTF-8 (no token for them) become U+FFFD.
    std::string replaced, nfc;
    for (unsigned char c : x) replaced += (c == 0xC0 || c == 0xC1 || c >= 0xF5) ? "\xEF\xBF\xBD" : std::string(1, c);
    bool same = saturn::ToNfc(replaced, &nfc);
    CHECK(neox->Decode(neox->Encode(x)) == (same ? replaced : nfc));
    for (int32_t id : gpt2->Encode(x)) REQUIRE((id >= 0 && id < 50256));
  };
  check(kTricky);
  check(std::string(100000, ' ') + "x" + std::string(70000, 'a') + std::string(5000, '\n'));
  std::mt19937 rng(20261126);
  const char* pieces[] = {
      "a",    "Z",    " ",        "  ",           "\n",   "\t",           "'s",       "'",
      "7",    "é",    "\xcc\x81", "中",           "😀",    "\xe2\x80\x8d", "\u3000",   "\u00a0",
      "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\x80", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
      "-",    ".",    "\r\n",     "ab",           "the",  " of",          "12345"};
  for (int trial = 0; trial < 300; ++trial) {
    std::string x;
    int len = std::uniform_int_distribution<int>(0, 200)(rng);
    if (trial % 3 == 0) {
      for (int i = 0; i < len; ++i) x += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    } else {
      for (int i = 0; i < len; ++i) x += pieces[std::uniform_int_distribution<size_t>(0, std::size(pieces) - 1)(rng)];
    }
    check(x);
  }
}

TEST_CASE("GPT-2 equals npm gpt-3-encoder on tricky text and on the corpora", "[tokenizer][reference]") {
  auto t = Gpt2();
  TempDir tmp;
  std::vector<std::pair<std::string, std::string>> inputs = {{"tricky", kTricky}};
  for (const std::string& f : Corpora())
    inputs.emplace_back(fs::path(f).filename(), *saturn::ReadFile(f));
  // LAMBADA's texts, one document after another.
  auto lambada_file = saturn::ReadMaybeBzip2(kSource + "/datasets/eval/lambada_openai_test.jsonl.bz2");
  REQUIRE(lambada_file.ok());
  std::istringstream lambada(*lambada_file);
  std::string line, texts;
  for (int i = 0; i < 400 && std::getline(lambada, line); ++i)
    texts += nlohmann::json::parse(line)["text"].get<std::string>() + "\n\n";
  inputs.emplace_back("lambada", texts);
  for (const auto& [name, text] : inputs) {
    std::string path = tmp.write(name, text);
    std::vector<int32_t> ref = ParseIds(RunNode("gpt2_encode.js " + path));
    std::vector<int32_t> ours = t->Encode(text);
    INFO(name << " (" << text.size() << " bytes): " << FirstDifference(ours, ref));
    CHECK(ours == ref);
  }
}

TEST_CASE("GPT-NeoX tokenizer.json equals an independent JavaScript implementation", "[tokenizer][reference]") {
  auto t = Neox();
  CHECK(t->vocab_size() == 50277);
  CHECK(t->eot_id() == 0);
  CHECK(t->Decode({0}) == "<|endoftext|>");
  // Runs of spaces are added tokens, split out before the regex.
  CHECK(t->Encode("a  b") == std::vector<int32_t>{t->Encode("a")[0], 50276, t->Encode("b")[0]});
  TempDir tmp;
  std::vector<std::pair<std::string, std::string>> inputs = {{"tricky", kTricky}};
  for (const std::string& f : Corpora())
    inputs.emplace_back(fs::path(f).filename(), Sample(*saturn::ReadFile(f), 48 * 1024));
  for (const auto& [name, text] : inputs) {
    std::string path = tmp.write(name, text);
    std::vector<int32_t> ref = ParseIds(RunNode("hf_bpe_reference.js " + NeoxJson() + " " + path));
    std::vector<int32_t> ours = t->Encode(text);
    INFO(name << " (" << text.size() << " bytes): " << FirstDifference(ours, ref));
    CHECK(ours == ref);
  }
}

TEST_CASE("NFC", "[tokenizer]") {
  std::string out;
  CHECK(saturn::ToNfc("plain ascii", &out));
  CHECK(saturn::ToNfc("d\u00e9j\u00e0 vu \u4e2d", &out));
  auto nfc = [](const std::string& s) {
    std::string o;
    return saturn::ToNfc(s, &o) ? s : o;
  };
  CHECK(nfc("e\u0301") == "\u00e9");
  CHECK(nfc("\u212b") == "\u00c5");
  CHECK(nfc("\u1100\u1161\u11a8") == "\uac01");
  CHECK(nfc("a\u0328\u0301") == "\u0105\u0301");  // ogonek (class 202) sorts before acute (230)
  CHECK(nfc("a\u0301\u0328") == "\u0105\u0301");
  CHECK(nfc("\xff\u0301") == "\xff\u0301");  // an invalid byte composes with nothing

  // Random strings over characters that compose, decompose and reorder, against JavaScript.
  const char32_t pool[] = {'a',    'e',    'o',    'A',    'u',     ' ',     0xe9,    0xc5,    0x212b, 0x1e9b,
                           0x300,  0x301,  0x302,  0x303,  0x308,   0x323,   0x327,   0x328,   0x345,  0x344,
                           0x340,  0x5b4,  0x5c1,  0x5e9,  0x93c,   0x915,   0x929,   0xf73,   0x1100, 0x1112,
                           0x1161, 0x1175, 0x11a8, 0x11c2, 0xac00,  0xac01,  0xd7a3,  0x3099,  0x304b, 0x1f00,
                           0x3b1,  0x399,  0x2126, 0xfb1d, 0x1d15e, 0x110ab, 0x11099, 0x110ba, 0x4e2d};
  std::mt19937 rng(7);
  std::string text;
  for (int line = 0; line < 2000; ++line) {
    int len = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int i = 0; i < len; ++i)
      text += Utf8(pool[std::uniform_int_distribution<size_t>(0, std::size(pool) - 1)(rng)]);
    text += "\n";
  }
  TempDir tmp;
  CHECK(nfc(text) == RunNode("nfc.js " + tmp.write("nfc.txt", text)));
}

namespace {

// A small tokenizer.json: the 256 byte tokens (id = byte) and a few merges, "o Ġ" first.
nlohmann::json TinyHf() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[Utf8(saturn::ByteToChar(static_cast<unsigned char>(b)))] = b;
  const std::string G = Utf8(saturn::ByteToChar(' '));
  vocab["o" + G] = 256;
  vocab["he"] = 257;
  vocab["ll"] = 258;
  vocab["hell"] = 259;
  vocab["hello"] = 260;
  vocab[G + "w"] = 261;
  nlohmann::json merges = nlohmann::json::array(
      {nlohmann::json::array({"o", G}), "h e", "l l", nlohmann::json::array({"he", "ll"}), "hell o", G + " w"});
  return {
      {"version", "1.0"},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"}, {"pretokenizers", {{{"type", "ByteLevel"}, {"add_prefix_space", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens",
       {{{"id", 262}, {"content", "[SEP]"}, {"special", false}, {"normalized", false}},
        {{"id", 263}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
}

}  // namespace

TEST_CASE("tokenizer.json options: merges as pairs, added tokens, prefix space, no regex", "[tokenizer]") {
  TempDir tmp;
  nlohmann::json j = TinyHf();
  auto t = Load("hf:" + tmp.write("tokenizer.json", j.dump()));
  using V = std::vector<int32_t>;
  CHECK(t->vocab_size() == 264);
  CHECK(t->eot_id() == 263);
  CHECK(t->Encode("hello hello") == V{260, ' ', 260});
  CHECK(t->Encode("hello[SEP] world<|endoftext|>") ==
        V{260, 262, 261, 'o', 'r', 'l', 'd', '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>'});
  CHECK(t->Decode({260, 262, 263}) == "hello[SEP]<|endoftext|>");

  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}};
  t = Load("hf:" + tmp.write("prefix.json", j.dump()));
  CHECK(t->Encode("hello[SEP]world") == V{' ', 260, 262, 261, 'o', 'r', 'l', 'd'});

  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  t = Load("hf:" + tmp.write("noregex.json", j.dump()));
  CHECK(t->Encode("hello hello") == V{259, 256, 260});  // "o Ġ" merges across the regex's split
}

TEST_CASE("tokenizer user errors name the file and say what to do", "[tokenizer]") {
  TempDir tmp;
  auto error = [](const std::string& spec) {
    auto t = Tokenizer::Load(spec);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().exit_code() == 2);
    return t.status().message();
  };
  for (const char* spec : {"sentencepiece:x", "foo", "hf:", "gpt2:", ""}) {
    std::string m = error(spec);
    CHECK_THAT(m, Catch::Contains("gpt2:DIR") && Catch::Contains("hf:PATH"));
  }
  CHECK_THAT(error("gpt2:/nonexistent/dir"), Catch::Contains("/nonexistent/dir") && Catch::Contains("encoder.json"));
  CHECK_THAT(error("hf:/nonexistent/tok.json"), Catch::Contains("/nonexistent/tok.json"));

  fs::create_directories(tmp.path / "bad-json");
  std::string enc = tmp.write("bad-json/encoder.json", "{\"a\": 1,");
  tmp.write("bad-json/vocab.bpe", "#version: 0.2\n");
  CHECK_THAT(error("gpt2:" + (tmp.path / "bad-json").string()),
             Catch::Contains(enc) && Catch::Contains("not valid JSON"));

  {
    fs::create_directories(tmp.path / "bad-merges");
    fs::copy_file(Gpt2Dir() + "/encoder.json", tmp.path / "bad-merges/encoder.json");
    std::string bpe = tmp.write("bad-merges/vocab.bpe", "#version: 0.2\nĠ t\nthree tokens here\n");
    CHECK_THAT(error("gpt2:" + (tmp.path / "bad-merges").string()), Catch::Contains(bpe + ":3"));
    tmp.write("bad-merges/vocab.bpe", "#version: 0.2\nĠ t\nnotatoken x\n");
    CHECK_THAT(error("gpt2:" + (tmp.path / "bad-merges").string()),
               Catch::Contains(bpe + ":3") && Catch::Contains("notatoken"));
  }

  std::string bad = tmp.write("corrupt.json", "{\"model\": ");
  CHECK_THAT(error("hf:" + bad), Catch::Contains(bad) && Catch::Contains("not valid JSON"));
  nlohmann::json j = TinyHf();
  j["normalizer"] = {{"type", "Lowercase"}};
  std::string lower = tmp.write("lower.json", j.dump());
  CHECK_THAT(error("hf:" + lower), Catch::Contains(lower) && Catch::Contains("Lowercase"));
  j = TinyHf();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  CHECK_THAT(error("hf:" + tmp.write("ws.json", j.dump())), Catch::Contains("Whitespace"));
  j = TinyHf();
  j["model"]["type"] = "WordPiece";
  CHECK_THAT(error("hf:" + tmp.write("wp.json", j.dump())), Catch::Contains("not BPE"));
  j = TinyHf();
  j["model"]["vocab"].erase("a");
  CHECK_THAT(error("hf:" + tmp.write("nobyte.json", j.dump())), Catch::Contains("byte 97"));
  // A directory: its tokenizer.json.
  fs::create_directories(tmp.path / "dir");
  tmp.write("dir/tokenizer.json", TinyHf().dump());
  CHECK(Tokenizer::Load("hf:" + (tmp.path / "dir").string()).ok());
}

TEST_CASE("FindGpt2Dir honours SATURN_GPT2_DIR", "[tokenizer]") {
  TempDir tmp;
  const char* old = std::getenv("SATURN_GPT2_DIR");
  std::string saved = old ? old : "";
  setenv("SATURN_GPT2_DIR", tmp.path.c_str(), 1);
  auto dir = saturn::FindGpt2Dir();
  REQUIRE_FALSE(dir.ok());
  CHECK_THAT(dir.status().message(), Catch::Contains("SATURN_GPT2_DIR") && Catch::Contains(tmp.path.string()));
  CHECK_FALSE(Tokenizer::Load("gpt2").ok());
  tmp.write("encoder.json", "{}");
  tmp.write("vocab.bpe", "");
  dir = saturn::FindGpt2Dir();
  REQUIRE(dir.ok());
  CHECK(*dir == tmp.path.string());
  if (old)
    setenv("SATURN_GPT2_DIR", saved.c_str(), 1);
  else
    unsetenv("SATURN_GPT2_DIR");
}

TEST_CASE("Encode is safe on several threads at once", "[tokenizer]") {
  auto gpt2 = Gpt2();
  auto neox = Neox();
  std::string text = Sample(*saturn::ReadFile(Corpora()[0]), 32 * 1024);
  const std::vector<int32_t> want_gpt2 = gpt2->Encode(text), want_neox = neox->Encode(text);
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool good = true;
      for (int r = 0; r < 3; ++r) good = good && gpt2->Encode(text) == want_gpt2 && neox->Encode(text) == want_neox;
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == std::vector<int>(4, 1));
}
