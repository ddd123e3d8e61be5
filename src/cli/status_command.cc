// `saturn status SWEEP.yaml | RUN_DIR`: where a plan's execution stands (run/status.h). Exit code
// 0 when every job finished, 1 when a job failed (and nothing runs any more), 3 otherwise.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "run/status.h"

namespace saturn {

Action SetupStatusCommand(CLI::App* sub) {
  auto target = std::make_shared<std::string>();
  sub->add_option("target", *target, "the sweep (YAML), or its output directory")->required();
  return [target]() -> Status {
    Result<SweepStatus> s = GetSweepStatus(*target);
    if (!s.ok()) return s.status();
    std::fputs(s->text.c_str(), stdout);
    std::fflush(stdout);
    return Status::FromCode(s->exit_code, "");
  };
}

}  // namespace saturn
