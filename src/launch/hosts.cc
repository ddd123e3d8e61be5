#include "launch/hosts.h"

#include <algorithm>
#include <cctype>

namespace saturn {
namespace {

constexpr size_t kMaxNames = 1000000;

Status Malformed(const std::string& list, const std::string& why) {
  return Status::UserError("host list '" + list + "': " + why +
                           "; expected Slurm's syntax, e.g. node[01-04,7],login (scontrol show hostnames expands it)");
}

// "01-03,7" -> 01 02 03 7, padded to the width of each range's first number.
Result<std::vector<std::string>> ExpandRanges(const std::string& list, const std::string& inside) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= inside.size()) {
    const size_t comma = std::min(inside.find(',', at), inside.size());
    const std::string part = inside.substr(at, comma - at);
    const size_t dash = part.find('-');
    const std::string lo = part.substr(0, dash), hi = dash == std::string::npos ? lo : part.substr(dash + 1);
    const auto digits = [](const std::string& s) {
      return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
    };
    if (!digits(lo) || !digits(hi)) return Malformed(list, "'[" + inside + "]' holds '" + part + "', not a number or range");
    const long a = std::stol(lo), b = std::stol(hi);
    if (b < a) return Malformed(list, "range " + part + " runs backwards");
    if (size_t(b - a) >= kMaxNames) return Malformed(list, "range " + part + " names more than a million hosts");
    for (long v = a; v <= b; ++v) {
      std::string s = std::to_string(v);
      if (s.size() < lo.size()) s.insert(0, lo.size() - s.size(), '0');
      out.push_back(s);
    }
    at = comma + 1;
  }
  return out;
}

// One comma-free entry: text and bracket groups, every combination in order.
Status ExpandEntry(const std::string& list, const std::string& entry, std::vector<std::string>* out) {
  std::vector<std::string> names = {""};
  size_t at = 0;
  while (at < entry.size()) {
    const size_t open = entry.find('[', at);
    const std::string text = entry.substr(at, open == std::string::npos ? std::string::npos : open - at);
    if (text.find(']') != std::string::npos) return Malformed(list, "a ']' without its '['");
    for (auto& n : names) n += text;
    if (open == std::string::npos) break;
    const size_t close = entry.find(']', open);
    if (close == std::string::npos) return Malformed(list, "a '[' without its ']'");
    Result<std::vector<std::string>> values = ExpandRanges(list, entry.substr(open + 1, close - open - 1));
    if (!values.ok()) return values.status();
    if (names.size() * values->size() > kMaxNames) return Malformed(list, "it names more than a million hosts");
    std::vector<std::string> next;
    for (const auto& n : names)
      for (const auto& v : *values) next.push_back(n + v);
    names.swap(next);
    at = close + 1;
  }
  if (entry.empty() || names.front().empty()) return Malformed(list, "an empty name");
  if (out->size() + names.size() > kMaxNames) return Malformed(list, "it names more than a million hosts");
  out->insert(out->end(), names.begin(), names.end());
  return Status::Ok();
}

std::string Joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

}  // namespace

Result<std::vector<std::string>> ExpandHostList(const std::string& list) {
  std::vector<std::string> out;
  size_t at = 0, depth = 0;
  // Entries split at commas outside brackets.
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size() && list[i] == '[') ++depth;
    if (i < list.size() && list[i] == ']' && depth > 0) --depth;
    if (i == list.size() || (list[i] == ',' && depth == 0)) {
      SATURN_RETURN_IF_ERROR(ExpandEntry(list, list.substr(at, i - at), &out));
      at = i + 1;
    }
  }
  return out;
}

Result<NodeMap> MapNodes(const std::vector<NodeAddress>& nodes, LaunchKind kind, const SlurmAllocation& slurm) {
  NodeMap m;
  m.nodes.resize(nodes.size());
  const auto host_of = [](const NodeAddress& n) { return n.host.empty() ? n.name : n.host; };
  if (nodes.empty()) return m;
  // srun outside an allocation is refused before anything launches (Launcher::CheckUsable); a
  // --dry-run shows its commands by the nodes' hosts.
  if (kind == LaunchKind::kMpirun || !slurm.inside()) {
    const bool here = nodes.size() == 1 && nodes[0].host.empty();
    for (size_t i = 0; i < nodes.size(); ++i) m.nodes[i] = {true, here ? "" : host_of(nodes[i])};
    m.how = here ? "this machine" : "hosts by the sweep's node names (or their host:)";
    return m;
  }
  if (slurm.node_list.empty()) {
    // No node list (an salloc shell on a login node): only a one-node cluster, where Slurm picks.
    m.nodes[0] = {true, ""};
    m.how = "the allocation's node";
    return m;
  }
  Result<std::vector<std::string>> alloc = ExpandHostList(slurm.node_list);
  if (!alloc.ok())
    return Status::UserError("SLURM_JOB_NODELIST of Slurm job " + slurm.job_id + ": " + alloc.status().message());
  const bool by_name = std::all_of(nodes.begin(), nodes.end(), [&](const NodeAddress& n) {
    return std::find(alloc->begin(), alloc->end(), host_of(n)) != alloc->end();
  });
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (by_name) m.nodes[i] = {true, host_of(nodes[i])};
    else if (i < alloc->size()) m.nodes[i] = {true, (*alloc)[i]};
  }
  // One node, inside the allocation's node this process runs on: as before, pinned there.
  if (!by_name && nodes.size() == 1 && !slurm.node.empty()) m.nodes[0].host = slurm.node;
  m.how = "Slurm job " + slurm.job_id + "'s nodes " + Joined(*alloc) + (by_name ? ", by name" : ", in order");
  return m;
}

}  // namespace saturn
