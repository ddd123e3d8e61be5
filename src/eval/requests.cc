#include "eval/requests.h"

#include "eval/prompt.h"

namespace saturn {
namespace {

bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

}  // namespace

void EncodePair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                std::vector<int32_t>* context_ids, std::vector<int32_t>* continuation_ids) {
  size_t keep = context.size();
  while (keep > 0 && IsAsciiSpace(static_cast<unsigned char>(context[keep - 1]))) --keep;
  const std::string ctx = context.substr(0, keep);
  const std::string cont = context.substr(keep) + continuation;
  if (ctx.empty()) {
    *context_ids = {tok.eot_id()};
    *continuation_ids = tok.Encode(cont);
    return;
  }
  std::vector<int32_t> whole = tok.Encode(ctx + cont);
  *context_ids = tok.Encode(ctx);
  if (whole.size() > context_ids->size()) {
    continuation_ids->assign(whole.begin() + context_ids->size(), whole.end());
  } else {
    *continuation_ids = tok.Encode(cont);
  }
}

int CountChars(const std::string& utf8) {
  int n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

TaskRequests BuildRequests(const EvalTask& task, const Tokenizer& tok) {
  TaskRequests out;
  const bool mc = task.spec.kind == "mc";
  for (const Prompt& p : BuildPrompts(task)) {
    Request r;
    r.item = p.item;
    r.choice = p.choice;
    EncodePair(tok, p.context, p.continuation, &r.context, &r.continuation);
    const EvalItem& it = task.items[p.item];
    out.answer_chars.push_back(CountChars(it.continuations[mc ? p.choice : 0]));
    out.requests.push_back(std::move(r));
  }
  return out;
}

}  // namespace saturn
