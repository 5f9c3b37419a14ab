#include "workloads/collectives.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace clustertwin::work {

namespace {
// Chunk c of n near-equal chunks of `count` elements (the first count % n chunks are one larger
// in effect, through integer division of the boundaries).
Chunk chunk(int64_t count, int n, int c) {
  int64_t lo = count * c / n, hi = count * (c + 1) / n;
  return {lo, hi - lo};
}

int mod(int a, int n) { return ((a % n) + n) % n; }

// Ring reduce-scatter: after n-1 steps position i holds the full reduction of chunk (i+1) mod n.
void ring_reduce_scatter(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, int64_t count) {
  int n = static_cast<int>(g.size());
  for (int s = 0; s < n - 1; ++s)
    out.push_back({g[mod(i + 1, n)], chunk(count, n, mod(i - s, n)), g[mod(i - 1, n)], chunk(count, n, mod(i - s - 1, n)), true});
}

// Ring all-gather where position i starts owning chunk (i + first) mod n.
void ring_all_gather(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, int64_t count, int first) {
  int n = static_cast<int>(g.size());
  for (int s = 0; s < n - 1; ++s)
    out.push_back({g[mod(i + 1, n)], chunk(count, n, mod(i + first - s, n)), g[mod(i - 1, n)],
                   chunk(count, n, mod(i + first - s - 1, n)), false});
}
}  // namespace

std::vector<P2PStep> plan_collective(core::CollectiveKind kind, core::Algorithm algorithm,
                                     const std::vector<int32_t>& group, int32_t rank, int64_t count) {
  auto it = std::find(group.begin(), group.end(), rank);
  if (it == group.end()) throw std::invalid_argument(fmt::format("collective: rank {} is not in the group", rank));
  int i = static_cast<int>(it - group.begin());
  std::vector<P2PStep> out;
  if (group.size() < 2) return out;
  if (algorithm != core::Algorithm::Ring)
    throw std::invalid_argument(fmt::format("collective: algorithm '{}' is not implemented yet (only 'ring')", core::name(algorithm)));
  switch (kind) {
    case core::CollectiveKind::AllReduce:
      ring_reduce_scatter(out, group, i, count);
      ring_all_gather(out, group, i, count, 1);
      break;
    case core::CollectiveKind::ReduceScatter: ring_reduce_scatter(out, group, i, count); break;
    case core::CollectiveKind::AllGather: ring_all_gather(out, group, i, count, 0); break;
    default:
      throw std::invalid_argument(fmt::format("collective: '{}' is not implemented yet", core::name(kind)));
  }
  return out;
}

std::vector<int32_t> peers_of(const std::vector<P2PStep>& plan) {
  std::vector<int32_t> peers;
  for (const auto& s : plan) {
    peers.push_back(s.send_to);
    peers.push_back(s.recv_from);
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  return peers;
}

}  // namespace clustertwin::work
