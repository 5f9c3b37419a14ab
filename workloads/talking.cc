#include "workloads/talking.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "workloads/collectives.h"

namespace clustertwin::work {

topo::CheckOptions talking_pairs(const core::Program& p) {
  std::set<std::pair<int, int>> talking, collective;
  for (const auto& rp : p.ranks) {
    for (const auto& op : rp.ops) {
      if (op.kind == core::OpKind::Send) talking.insert({rp.rank, op.peer});
      if (op.kind != core::OpKind::Collective) continue;
      const auto& group = p.groups.at(op.group);
      int64_t count = std::max<int64_t>(static_cast<int64_t>(group.size()), static_cast<int64_t>(op.bytes / 4));
      try {
        for (const auto& s : plan_collective(op.collective, op.algorithm, group, rp.rank, count))
          if (s.send_to >= 0) collective.insert({rp.rank, s.send_to});
      } catch (const std::invalid_argument&) {
        for (int32_t peer : group)  // a plan this overload cannot make: assume every member pair
          if (peer != rp.rank) collective.insert({rp.rank, peer});
      }
    }
  }
  talking.insert(collective.begin(), collective.end());
  topo::CheckOptions o;
  o.talking.emplace(talking.begin(), talking.end());
  o.collective.emplace(collective.begin(), collective.end());
  return o;
}

}  // namespace clustertwin::work
