// saturn: plan, profile, run and evaluate many training jobs at once. main only dispatches.
#include <cstdio>
#include <map>

#include "cli/command.h"

namespace {

const saturn::Command kCommands[] = {
    {"plan", "choose each job's technique, devices and start time to finish the sweep soonest", saturn::SetupPlanCommand},
    {"run", "train the sweep's jobs, one after another on one device", saturn::SetupRunCommand},
    {"eval", "score a model on in-context-learning tasks (LAMBADA, PIQA, HellaSwag, any JSONL task)", saturn::SetupEvalCommand},
    {"tokenize", "tokenize text files into a token file", saturn::SetupTokenizeCommand},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"saturn: train many large models at once"};
  app.set_version_flag("--version", std::string("saturn ") + SATURN_VERSION);
  app.require_subcommand(1);
  std::map<CLI::App*, saturn::Action> actions;
  for (const auto& c : kCommands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    actions[sub] = c.setup(sub);
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
      std::fprintf(stderr, "saturn %s: error: %s\n", sub->get_name().c_str(), st.message().c_str());
      return st.exit_code();
    }
  }
  return 0;
}
