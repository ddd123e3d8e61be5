// saturn: plan, profile, run and evaluate many training jobs at once. main only dispatches.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <torch/version.h>

#include "cli/command.h"
#include "comm/registry.h"
#include "util/suggest.h"

namespace {

const saturn::Command kCommands[] = {
    {"profile", "measure every job's step time and memory under each technique and device count, on real ranks", saturn::SetupProfileCommand},
    {"plan", "choose each job's technique, devices and start time to finish the sweep soonest", saturn::SetupPlanCommand},
    {"run", "train the sweep's jobs, each on every launched rank with a parallelism technique", saturn::SetupRunCommand},
    {"status", "show where an executed plan stands: every job's state, progress and times (exit 0: all finished)", saturn::SetupStatusCommand},
    {"eval", "score a model on in-context-learning tasks (LAMBADA, PIQA, HellaSwag, any JSONL task)", saturn::SetupEvalCommand},
    {"tokenize", "tokenize text files into a token file", saturn::SetupTokenizeCommand},
    {"profile-trial", "", saturn::SetupProfileTrialCommand},  // one trial of `saturn profile`; hidden
    {"links-trial", "", saturn::SetupLinksTrialCommand},      // its link measurements; hidden
};

std::string Version() {
  std::string backends;
  for (const auto& b : saturn::CompiledBackends()) backends += (backends.empty() ? "" : ", ") + b;
  return std::string("saturn ") + SATURN_VERSION + " (LibTorch " + TORCH_VERSION + "; backends: " +
         (backends.empty() ? "none" : backends) + ")";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"saturn: train many large models at once"};
  app.set_version_flag("--version", Version());
  app.require_subcommand(1);
  std::map<CLI::App*, saturn::Action> actions;
  for (const auto& c : kCommands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    actions[sub] = c.setup(sub);
  }
  // A word where the subcommand goes that is none of them: say which it was nearest.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto& c : kCommands) names.push_back(c.name);
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::fprintf(stderr, "saturn: unknown subcommand '%s'%s; one of: profile, plan, run, status, eval, tokenize (saturn --help)\n",
                   argv[1], saturn::DidYouMean(argv[1], names).c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // a bad command line is a user error
  }
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    saturn::Status st = action();
    if (!st.ok()) {
      if (!st.message().empty())
        std::fprintf(stderr, "saturn %s: error: %s\n", sub->get_name().c_str(), st.message().c_str());
      std::fflush(stderr);
      saturn::AbortWorld(st.exit_code());  // the other ranks may wait for this one forever
      return st.exit_code();
    }
  }
  return 0;
}
