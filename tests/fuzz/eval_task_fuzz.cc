// Eval task files in every layout (src/eval/task.cc, util/bzip2_file.cc) and the prompts built from
// them (src/eval/prompt.cc). The first byte picks the layout and kind, the second the few-shot
// count; the rest is the file. PIQA's labels are what follows the first "\n@@\n".
#include "eval/prompt.h"
#include "eval/task.h"
#include "fuzz_util.h"

namespace {
struct Layout {
  const char* format;
  const char* kind;
  const char* suffix;
};
const Layout kLayouts[] = {{"composer", "lm", ".jsonl"},       {"composer", "mc", ".jsonl"},
                           {"composer", "schema", ".jsonl"},   {"lambada", "lm", ".jsonl"},
                           {"piqa", "mc", ".jsonl"},           {"hellaswag", "mc", ".jsonl"},
                           {"hellaswag-text", "mc", ".txt"},   {"composer", "mc", ".jsonl.bz2"}};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const Layout& l = kLayouts[data[0] % std::size(kLayouts)];
  std::string body(reinterpret_cast<const char*>(data + 2), size - 2), labels;
  if (std::string(l.format) == "piqa") {
    const size_t cut = body.find("\n@@\n");
    if (cut != std::string::npos) {
      labels = body.substr(cut + 4);
      body.resize(cut);
    }
  }
  saturn::TaskSpec spec;
  spec.name = "fuzz";
  spec.kind = l.kind;
  spec.format = l.format;
  spec.num_fewshot = data[1] % 8;
  spec.path = saturn::fuzz::WriteInput(reinterpret_cast<const uint8_t*>(body.data()), body.size(), l.suffix);
  if (std::string(l.format) == "piqa")  // beside it, where PiqaLabelsPath looks
    saturn::fuzz::WriteInput(reinterpret_cast<const uint8_t*>(labels.data()), labels.size(), "-labels.lst");
  saturn::Result<saturn::EvalTask> t = saturn::LoadTask(spec);
  saturn::fuzz::CheckUserError(t.status(), spec.path, saturn::PiqaLabelsPath(spec.path));
  if (!t.ok()) return 0;
  std::vector<saturn::Prompt> prompts = saturn::BuildPrompts(*t);
  size_t requests = 0;
  for (const saturn::EvalItem& it : t->items) requests += static_cast<size_t>(it.num_requests());
  if (prompts.size() != requests) saturn::fuzz::Fail("prompts do not match the items' requests");
  return 0;
}
