// A subcommand: its name, one line of help, and a setup that adds its options to a CLI11
// subcommand and returns the action to run when the user picks it. main.cc keeps the table.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "util/status.h"

namespace saturn {

using Action = std::function<Status()>;

struct Command {
  const char* name;
  const char* help;
  Action (*setup)(CLI::App* sub);
};

Action SetupPlanCommand(CLI::App* sub);
Action SetupRunCommand(CLI::App* sub);
Action SetupStatusCommand(CLI::App* sub);
Action SetupEvalCommand(CLI::App* sub);
Action SetupTokenizeCommand(CLI::App* sub);
Action SetupProfileCommand(CLI::App* sub);
Action SetupProfileTrialCommand(CLI::App* sub);
Action SetupLinksTrialCommand(CLI::App* sub);

}  // namespace saturn
