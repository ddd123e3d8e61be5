// nccl-tests' bus bandwidth factor: how much of a collective's buffer each link carries on n
// ranks (all-reduce 2(n-1)/n, all-gather and reduce-scatter (n-1)/n, send/recv 1), so that
// busbw = algbw x factor compares with a link's peak whatever the rank count. The link
// measurement (comm/link_bench) and the analytic model (profile/estimate) must agree on it.
#pragma once

#include <string>

namespace saturn {

inline double BusFactor(const std::string& collective, int ranks) {
  if (collective == "all_reduce") return 2.0 * (ranks - 1) / ranks;
  if (collective == "send_recv") return 1.0;
  return double(ranks - 1) / ranks;
}

}  // namespace saturn
