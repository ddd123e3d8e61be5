#include "comm/communicator.h"

#include <atomic>
#include <cstdlib>

namespace saturn {
namespace {

std::atomic<bool> agreed_failure{false};

class SingleProcess : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single process"; }
  Result<std::vector<std::string>> AllGather(const std::string& bytes) override {
    return std::vector<std::string>{bytes};
  }
  Status Barrier() override { return Status::Ok(); }
};

}  // namespace

std::unique_ptr<Communicator> MakeSingleProcessCommunicator() { return std::make_unique<SingleProcess>(); }

bool AgreedFailure() { return agreed_failure; }

Result<std::string> Broadcast(Communicator& c, const std::string& bytes, int root) {
  Result<std::vector<std::string>> all = c.AllGather(c.rank() == root ? bytes : std::string());
  if (!all.ok()) return all.status();
  return (*all)[size_t(root)];
}

Status AgreeOnStatus(Communicator& c, const Status& mine) {
  // "code:message"; an ok status sends nothing.
  Result<std::vector<std::string>> all =
      c.AllGather(mine.ok() ? std::string() : std::to_string(mine.exit_code()) + ":" + mine.message());
  if (!all.ok()) return all.status();
  for (int r = 0; r < c.size(); ++r) {
    const std::string& s = (*all)[size_t(r)];
    if (s.empty()) continue;
    const size_t colon = s.find(':');
    const int code = std::atoi(s.substr(0, colon).c_str());
    std::string msg = s.substr(colon + 1);
    if (c.size() > 1) {
      agreed_failure = true;
      msg = c.rank() != 0 ? std::string() : r != 0 ? "rank " + std::to_string(r) + ": " + msg : msg;
    }
    return Status::FromCode(code, msg);
  }
  return Status::Ok();
}

}  // namespace saturn
