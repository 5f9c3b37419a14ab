#include "workloads/timing.h"

#include <map>
#include <queue>
#include <tuple>

#include <fmt/format.h>

namespace clustertwin::work {

Timing time_program(const core::Program& p, const std::function<double(int32_t rank, const core::Op&)>& duration) {
  // node per op; the members of one collective instance share a node
  std::vector<std::vector<int>> node(p.world());
  std::map<std::pair<int, int>, int> coll;  // (group, tag) -> node
  int nodes = 0;
  for (const auto& rp : p.ranks) {
    for (const auto& op : rp.ops) {
      if (op.kind == core::OpKind::Collective) {
        auto [it, fresh] = coll.try_emplace({op.group, op.tag}, nodes);
        if (fresh) ++nodes;
        node[rp.rank].push_back(it->second);
      } else {
        node[rp.rank].push_back(nodes++);
      }
    }
  }
  std::vector<std::vector<int>> succ(nodes);
  std::vector<int> indeg(nodes, 0);
  std::vector<double> cost(nodes, 0);
  std::vector<int> owner(nodes, -1), rank_of(nodes, -1);
  auto edge = [&](int a, int b) {
    succ[a].push_back(b);
    ++indeg[b];
  };
  std::map<std::tuple<int, int, int>, std::queue<int>> sends;
  for (const auto& rp : p.ranks)
    for (size_t i = 0; i < rp.ops.size(); ++i) {
      const auto& op = rp.ops[i];
      int n = node[rp.rank][i];
      if (op.kind != core::OpKind::Collective) rank_of[n] = rp.rank;
      cost[n] = std::max(cost[n], duration(rp.rank, op));
      if (op.kind == core::OpKind::Compute) owner[n] = rp.rank;
      else owner[n] = -1;
      for (uint32_t d : op.deps) edge(node[rp.rank][d], n);
      if (op.kind == core::OpKind::Send) sends[{rp.rank, op.peer, op.tag}].push(n);
    }
  for (const auto& rp : p.ranks)
    for (size_t i = 0; i < rp.ops.size(); ++i) {
      const auto& op = rp.ops[i];
      if (op.kind != core::OpKind::Recv) continue;
      auto& q = sends[{op.peer, rp.rank, op.tag}];
      if (!q.empty()) {
        edge(q.front(), node[rp.rank][i]);
        q.pop();
      }
    }
  Timing t;
  t.busy.assign(p.world(), 0);
  t.finish.assign(p.world(), 0);
  std::vector<double> start(nodes, 0);
  std::queue<int> ready;
  for (int n = 0; n < nodes; ++n)
    if (indeg[n] == 0) ready.push(n);
  int done = 0;
  while (!ready.empty()) {
    int n = ready.front();
    ready.pop();
    ++done;
    double end = start[n] + cost[n];
    t.makespan = std::max(t.makespan, end);
    if (owner[n] >= 0) t.busy[owner[n]] += cost[n];
    if (rank_of[n] >= 0) t.finish[rank_of[n]] = std::max(t.finish[rank_of[n]], end);
    for (int s : succ[n]) {
      start[s] = std::max(start[s], end);
      if (--indeg[s] == 0) ready.push(s);
    }
  }
  if (done != nodes) {
    for (const auto& rp : p.ranks)
      for (size_t i = 0; i < rp.ops.size(); ++i)
        if (indeg[node[rp.rank][i]] > 0) {
          t.stuck = fmt::format("{} of {} ops never run; first: rank {} op {} '{}'", nodes - done, nodes, rp.rank, i, rp.ops[i].label);
          return t;
        }
  }
  return t;
}

Timing time_program(const core::Program& p, const std::function<double(const core::Op&)>& duration) {
  return time_program(p, [&](int32_t, const core::Op& op) { return duration(op); });
}

}  // namespace clustertwin::work
