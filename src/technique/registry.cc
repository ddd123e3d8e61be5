// To add a technique: write its file (a Technique and its TrainStep; docs/techniques.md), then
// add its accessor here and its name to technique/names.h.
#include "technique/registry.h"

#include "technique/ddp.h"
#include "technique/fsdp.h"
#include "technique/offload.h"
#include "technique/pipeline.h"
#include "util/suggest.h"

namespace saturn {

const std::vector<const Technique*>& Techniques() {
  static const std::vector<const Technique*> all = {&DdpTechnique(), &FsdpTechnique(), &PipelineTechnique(),
                                                    &OffloadTechnique()};
  return all;
}

Result<const Technique*> FindTechnique(const std::string& name) {
  std::vector<std::string> names;
  for (const Technique* t : Techniques()) {
    if (t->name() == name) return t;
    names.push_back(t->name());
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return Status::UserError("unknown technique '" + name + "'" + DidYouMean(name, names) + "; known: " + list);
}

}  // namespace saturn
