// `saturn tokenize --tokenizer SPEC -o OUT.tokens TEXT...`: one token file from text files.
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "data/token_file.h"
#include "data/tokenizer.h"
#include "util/files.h"

namespace saturn {
namespace {

struct TokenizeArgs {
  std::string tokenizer = "gpt2", output;
  std::vector<std::string> inputs;
  bool quiet = false;
};

Status Tokenize(const TokenizeArgs& a) {
  if (a.inputs.empty()) return Status::UserError("give one or more text files: saturn tokenize -o OUT.tokens TEXT...");
  if (a.output.empty()) return Status::UserError("-o OUT.tokens is required");
  for (const std::string& in : a.inputs)
    if (SameFile(in, a.output))
      return Status::UserError("-o " + a.output + " is also an input; writing it would destroy the text. Give "
                               "another output file");
  SATURN_RETURN_IF_ERROR(CheckWritable(a.output, "-o"));
  Result<std::shared_ptr<const Tokenizer>> tok = Tokenizer::Load(a.tokenizer);
  if (!tok.ok()) return tok.status();
  auto t0 = std::chrono::steady_clock::now();
  Result<uint64_t> n = TokenizeFiles(**tok, a.inputs, a.output);
  if (!n.ok()) return n.status();
  if (!a.quiet)
    std::printf("%s: %llu tokens (%s, vocabulary %d) in %.1f s\n", a.output.c_str(), (unsigned long long)*n,
                (*tok)->name().c_str(), (*tok)->vocab_size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return Status::Ok();
}

}  // namespace

Action SetupTokenizeCommand(CLI::App* sub) {
  auto a = std::make_shared<TokenizeArgs>();
  sub->add_option("inputs", a->inputs, "text files; each is followed by an end-of-text token");
  sub->add_option("-o,--output", a->output, "the token file to write (format: docs/data.md)");
  sub->add_option("--tokenizer", a->tokenizer, "gpt2, gpt2:DIR or hf:PATH (default gpt2)");
  sub->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  return [a] { return Tokenize(*a); };
}

}  // namespace saturn
