#include "comm/process_group.h"

namespace saturn {
namespace {

class Done : public Work {
 public:
  explicit Done(Status s) : s_(std::move(s)) {}
  Status Wait() override { return s_; }

 private:
  Status s_;
};

}  // namespace

WorkPtr DoneWork(Status status) { return std::make_shared<Done>(std::move(status)); }

Status WaitAll(const std::vector<WorkPtr>& works) {
  Status first = Status::Ok();
  for (const WorkPtr& w : works) {
    Status st = w->Wait();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

}  // namespace saturn
