#include "comm/thread_group.h"

#include <ATen/ATen.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <tuple>

namespace saturn {
namespace {

// What the ranks of one group share. A collective is a numbered meeting: each rank's k-th
// collective joins meeting k; the last to arrive computes it for everyone.
struct Hub {
  struct Meeting {
    std::string kind;
    int root = 0;
    ReduceOp op = ReduceOp::kSum;
    std::vector<at::Tensor> a, b;  // per rank: the tensor (AllReduce, Broadcast) or out, in
    std::vector<int> colors;
    std::vector<std::shared_ptr<ProcessGroup>> made;  // Split's result per rank
    int arrived = 0, left = 0;
    bool done = false;
    Status status = Status::Ok();
  };

  Hub(int n, double timeout) : n(n), timeout(timeout), next(size_t(n), 0) {}
  const int n;
  const double timeout;
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, Meeting> meetings;
  std::vector<uint64_t> next;                                    // per rank: its next meeting
  std::map<std::tuple<int, int, int>, std::deque<at::Tensor>> mail;  // (src, dst, tag)
};

std::vector<std::shared_ptr<ProcessGroup>> GroupsOn(const std::shared_ptr<Hub>& hub);

// Runs a complete meeting; called with the hub locked by the last rank to arrive.
void Compute(Hub& hub, Hub::Meeting& m) {
  const int n = hub.n;
  if (m.kind == "AllReduce") {
    at::Tensor acc = m.a[0].clone();
    for (int r = 1; r < n; ++r) acc = m.op == ReduceOp::kSum ? acc.add_(m.a[size_t(r)]) : at::maximum(acc, m.a[size_t(r)]);
    for (int r = 0; r < n; ++r) m.a[size_t(r)].copy_(acc);
  } else if (m.kind == "ReduceScatter") {
    at::Tensor acc = m.b[0].reshape({-1}).clone();
    for (int r = 1; r < n; ++r) acc.add_(m.b[size_t(r)].reshape({-1}));
    auto chunks = acc.chunk(n);
    for (int r = 0; r < n; ++r) m.a[size_t(r)].view({-1}).copy_(chunks[size_t(r)]);
  } else if (m.kind == "AllGather") {
    std::vector<at::Tensor> parts;
    for (int r = 0; r < n; ++r) parts.push_back(m.b[size_t(r)].reshape({-1}));
    at::Tensor all = at::cat(parts);
    for (int r = 0; r < n; ++r) m.a[size_t(r)].view({-1}).copy_(all);
  } else if (m.kind == "Broadcast") {
    for (int r = 0; r < n; ++r)
      if (r != m.root) m.a[size_t(r)].copy_(m.a[size_t(m.root)]);
  } else if (m.kind == "Split") {
    std::map<int, std::vector<int>> members;
    for (int r = 0; r < n; ++r)
      if (m.colors[size_t(r)] >= 0) members[m.colors[size_t(r)]].push_back(r);
    m.made.assign(size_t(n), nullptr);
    for (const auto& [color, ranks] : members) {
      auto groups = GroupsOn(std::make_shared<Hub>(int(ranks.size()), hub.timeout));
      for (size_t i = 0; i < ranks.size(); ++i) m.made[size_t(ranks[i])] = groups[i];
    }
  }
}

class RecvWork : public Work {
 public:
  RecvWork(std::shared_ptr<Hub> hub, std::tuple<int, int, int> key, at::Tensor t)
      : hub_(std::move(hub)), key_(key), t_(std::move(t)) {}
  Status Wait() override {
    if (done_) return Status::Ok();
    std::unique_lock<std::mutex> l(hub_->mu);
    auto& box = hub_->mail[key_];
    if (!hub_->cv.wait_for(l, std::chrono::duration<double>(hub_->timeout), [&] { return !box.empty(); }))
      return Status::Internal("thread group: rank " + std::to_string(std::get<1>(key_)) + " waited " +
                              std::to_string(int(hub_->timeout)) + " s for a message from rank " +
                              std::to_string(std::get<0>(key_)) + " (tag " + std::to_string(std::get<2>(key_)) + ")");
    at::Tensor msg = std::move(box.front());
    box.pop_front();
    l.unlock();
    if (msg.numel() != t_.numel())
      return Status::Internal("thread group: Recv of " + std::to_string(t_.numel()) + " elements got " +
                              std::to_string(msg.numel()));
    t_.view({-1}).copy_(msg.view({-1}));
    done_ = true;
    return Status::Ok();
  }

 private:
  std::shared_ptr<Hub> hub_;
  std::tuple<int, int, int> key_;
  at::Tensor t_;
  bool done_ = false;
};

class ThreadGroup : public ProcessGroup {
 public:
  ThreadGroup(std::shared_ptr<Hub> hub, int rank) : hub_(std::move(hub)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_->n; }
  std::string backend() const override { return "threads"; }

  WorkPtr AllReduce(const at::Tensor& t, ReduceOp op) override {
    return DoneWork(Meet("AllReduce", t, {}, 0, op, 0, nullptr));
  }
  WorkPtr ReduceScatter(const at::Tensor& out, const at::Tensor& in) override {
    if (in.numel() != out.numel() * size()) return DoneWork(Status::Internal("thread group: ReduceScatter sizes"));
    return DoneWork(Meet("ReduceScatter", out, in, 0, ReduceOp::kSum, 0, nullptr));
  }
  WorkPtr AllGather(const at::Tensor& out, const at::Tensor& in) override {
    if (out.numel() != in.numel() * size()) return DoneWork(Status::Internal("thread group: AllGather sizes"));
    return DoneWork(Meet("AllGather", out, in, 0, ReduceOp::kSum, 0, nullptr));
  }
  WorkPtr Broadcast(const at::Tensor& t, int root) override {
    return DoneWork(Meet("Broadcast", t, {}, root, ReduceOp::kSum, 0, nullptr));
  }
  WorkPtr Send(const at::Tensor& t, int dst, int tag) override {
    if (dst < 0 || dst >= size() || dst == rank_) return DoneWork(Status::Internal("thread group: Send to a bad rank"));
    {
      std::lock_guard<std::mutex> l(hub_->mu);
      hub_->mail[{rank_, dst, tag}].push_back(t.detach().clone());
    }
    hub_->cv.notify_all();
    return DoneWork();
  }
  WorkPtr Recv(const at::Tensor& t, int src, int tag) override {
    if (src < 0 || src >= size() || src == rank_) return DoneWork(Status::Internal("thread group: Recv from a bad rank"));
    return std::make_shared<RecvWork>(hub_, std::make_tuple(src, rank_, tag), t);
  }
  Result<std::shared_ptr<ProcessGroup>> Split(int color) override {
    std::shared_ptr<ProcessGroup> made;
    Status st = Meet("Split", {}, {}, 0, ReduceOp::kSum, color, &made);
    if (!st.ok()) return st;
    return made;
  }

 private:
  Status Meet(const std::string& kind, const at::Tensor& a, const at::Tensor& b, int root, ReduceOp op, int color,
              std::shared_ptr<ProcessGroup>* made) {
    Hub& h = *hub_;
    std::unique_lock<std::mutex> l(h.mu);
    const uint64_t id = h.next[size_t(rank_)]++;
    Hub::Meeting& m = h.meetings[id];
    if (m.arrived == 0) {
      m.kind = kind;
      m.root = root;
      m.op = op;
      m.a.resize(size_t(h.n));
      m.b.resize(size_t(h.n));
      m.colors.assign(size_t(h.n), -1);
    } else if (m.kind != kind) {
      m.status = Status::Internal("thread group: collective #" + std::to_string(id) + " is " + m.kind +
                                  " on one rank and " + kind + " on rank " + std::to_string(rank_));
    }
    m.a[size_t(rank_)] = a;
    m.b[size_t(rank_)] = b;
    m.colors[size_t(rank_)] = color;
    if (++m.arrived == h.n) {
      try {
        if (m.status.ok()) Compute(h, m);
      } catch (const std::exception& e) {  // a shape the operation cannot take: every rank hears it
        m.status = Status::Internal("thread group: " + kind + " #" + std::to_string(id) + ": " + e.what());
      }
      m.done = true;
      h.cv.notify_all();
    } else if (!h.cv.wait_for(l, std::chrono::duration<double>(h.timeout), [&] { return m.done; })) {
      return Status::Internal("thread group: rank " + std::to_string(rank_) + " waited " +
                              std::to_string(int(h.timeout)) + " s in " + kind + " #" + std::to_string(id) +
                              " for the other ranks");
    }
    Status st = m.status;
    if (made && st.ok()) *made = m.made[size_t(rank_)];
    m.a[size_t(rank_)] = at::Tensor();
    m.b[size_t(rank_)] = at::Tensor();
    if (++m.left == h.n) h.meetings.erase(id);
    return st;
  }

  std::shared_ptr<Hub> hub_;
  int rank_;
};

std::vector<std::shared_ptr<ProcessGroup>> GroupsOn(const std::shared_ptr<Hub>& hub) {
  std::vector<std::shared_ptr<ProcessGroup>> out;
  for (int r = 0; r < hub->n; ++r) out.push_back(std::make_shared<ThreadGroup>(hub, r));
  return out;
}

}  // namespace

std::vector<std::shared_ptr<ProcessGroup>> MakeThreadGroups(int n, double timeout_seconds) {
  return GroupsOn(std::make_shared<Hub>(n, timeout_seconds));
}

}  // namespace saturn
