#include "reports/bottleneck.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/format.h"
#include "topologies/topology.h"

namespace clustertwin::reports {

namespace {
using core::format_seconds;

std::string share(double part, double step) {
  return step > 0 ? fmt::format(" ({:.0f} %)", 100 * part / step) : "";
}

// "ranks 0, 1, 2 and 4"
std::string rank_list(const std::vector<int>& ranks) {
  std::string out = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (i > 0) out += i + 1 == ranks.size() ? " and " : ", ";
    if (i == 6 && ranks.size() > 8) return out + fmt::format("{} others", ranks.size() - 6);
    out += std::to_string(ranks[i]);
  }
  return out;
}
}  // namespace

std::string rank_name(const topo::Topology* t, int rank) {
  if (!t) return fmt::format("rank {}", rank);
  auto nodes = t->rank_nodes();
  if (rank < 0 || rank >= static_cast<int>(nodes.size())) return fmt::format("rank {}", rank);
  const auto& n = t->nodes[nodes[rank]];
  return fmt::format("rank {} (node {}, {})", rank, n.name, n.device ? n.device->preset : "no device");
}

std::string what_bounds(const std::vector<core::PathPart>& path, const std::vector<RankLoad>& ranks, double step,
                        const topo::Topology* t) {
  if (path.empty() || !(step > 0)) return {};
  double compute = 0, comm = 0;
  for (const auto& p : path) compute += p.compute, comm += p.communication;
  const core::PathPart& lead = *std::max_element(
      path.begin(), path.end(), [](const core::PathPart& a, const core::PathPart& b) { return a.compute < b.compute; });

  std::vector<int> waiting;  // the ranks that wait for the leading rank, and their longest wait
  double longest = 0;
  for (size_t r = 0; r < ranks.size(); ++r)
    if (ranks[r].waited_for == lead.rank && ranks[r].waited > 0) {
      waiting.push_back(static_cast<int>(r));
      longest = std::max(longest, ranks[r].waited);
    }
  std::vector<double> computes;
  for (const auto& r : ranks) computes.push_back(r.compute);
  std::sort(computes.begin(), computes.end());
  const double median = computes.empty() ? 0 : computes[computes.size() / 2];
  const bool straggler = compute >= comm && lead.rank < static_cast<int>(ranks.size()) && !waiting.empty() &&
                         ranks[lead.rank].compute > 1.1 * median;

  if (straggler)
    return fmt::format("bound by {}: its compute is {}{} of the {} step; {} wait for it, up to {} per step",
                       rank_name(t, lead.rank), format_seconds(lead.compute), share(lead.compute, step),
                       format_seconds(step), rank_list(waiting), format_seconds(longest));
  if (compute >= comm) {
    std::vector<int> on_path;  // the ranks whose compute makes the path
    for (const auto& p : path)
      if (p.compute > 0.05 * compute) on_path.push_back(p.rank);
    std::sort(on_path.begin(), on_path.end());
    return fmt::format("bound by compute: {}{} of the {} step on the critical path ({}{}), {} communication",
                       format_seconds(compute), share(compute, step), format_seconds(step),
                       on_path.size() == 1 ? rank_name(t, on_path[0]) : rank_list(on_path),
                       on_path.size() == 1 ? ", no slower than the others" : " in turn", format_seconds(comm));
  }
  // Communication leads: name the rank whose transfers lead the path.
  const core::PathPart& talker = *std::max_element(
      path.begin(), path.end(),
      [](const core::PathPart& a, const core::PathPart& b) { return a.communication < b.communication; });
  return fmt::format("bound by communication: {}{} of the {} step on the critical path is transfer (most of it "
                     "on {}), {} compute",
                     format_seconds(comm), share(comm, step), format_seconds(step), rank_name(t, talker.rank),
                     format_seconds(compute));
}

std::string what_bounds(const core::Summary& s, const topo::Topology* t) {
  std::vector<RankLoad> ranks;
  for (const auto& r : s.ranks) ranks.push_back({r.compute, r.waited_for, r.waited});
  return what_bounds(s.critical_path, ranks, s.step_mean, t);
}

}  // namespace clustertwin::reports
