#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace saturn {
namespace {

// (request index, loglikelihood, greedy) records, as bytes for the all-gather.
std::string Pack(const std::vector<int>& idx, const std::vector<Score>& scores) {
  std::string out;
  for (int i : idx) {
    const Score& s = scores[size_t(i)];
    char buf[sizeof(int) + sizeof(double) + 1];
    std::memcpy(buf, &i, sizeof(int));
    std::memcpy(buf + sizeof(int), &s.loglikelihood, sizeof(double));
    buf[sizeof buf - 1] = s.greedy ? 1 : 0;
    out.append(buf, sizeof buf);
  }
  return out;
}

Status Unpack(const std::string& bytes, std::vector<Score>* scores, std::vector<int>* seen) {
  const size_t rec = sizeof(int) + sizeof(double) + 1;
  if (bytes.size() % rec) return Status::Internal("eval: a rank sent a malformed score record");
  for (size_t o = 0; o < bytes.size(); o += rec) {
    int i;
    std::memcpy(&i, bytes.data() + o, sizeof(int));
    if (i < 0 || size_t(i) >= scores->size()) return Status::Internal("eval: a rank sent a request index out of range");
    std::memcpy(&(*scores)[size_t(i)].loglikelihood, bytes.data() + o + sizeof(int), sizeof(double));
    (*scores)[size_t(i)].greedy = bytes[o + rec - 1] != 0;
    ++(*seen)[size_t(i)];
  }
  return Status::Ok();
}

// Rank 0's part: the gathered scores, checked, and the metrics.
Status Collect(const EvalTask& task, const std::vector<std::string>& parts, TaskOutcome* out) {
  out->scores.assign(out->requests.requests.size(), Score{});
  std::vector<int> seen(out->requests.requests.size(), 0);
  for (const std::string& part : parts) SATURN_RETURN_IF_ERROR(Unpack(part, &out->scores, &seen));
  for (size_t i = 0; i < seen.size(); ++i)
    if (seen[i] != 1)
      return Status::Internal("eval: request " + std::to_string(i) + " of " + task.spec.name + " was scored " +
                              std::to_string(seen[i]) + " times across the ranks");
  Result<TaskMetrics> m = ComputeMetrics(task, out->requests, out->scores);
  if (!m.ok()) return m.status();
  out->metrics = std::move(*m);
  return Status::Ok();
}

}  // namespace

Result<std::vector<TaskOutcome>> EvaluateTasks(CausalLM& model, const Tokenizer& tok, const std::vector<EvalTask>& tasks,
                                               const ScoreOptions& opt, Communicator& comm) {
  std::vector<TaskOutcome> out;
  for (const EvalTask& task : tasks) {
    const auto t0 = std::chrono::steady_clock::now();
    TaskOutcome o;
    o.requests = BuildRequests(task, tok);
    std::vector<int> mine;
    std::vector<Score> scores = ScoreShard(model, o.requests.requests, opt, comm.rank(), comm.size(), &mine);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    Result<std::vector<std::string>> all = comm.AllGather(Pack(mine, scores));
    if (!all.ok()) return all.status();
    const Status collected = comm.rank() == 0 ? Collect(task, *all, &o) : Status::Ok();
    SATURN_RETURN_IF_ERROR(AgreeOnStatus(comm, collected));
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace saturn
