#include "core/attribution.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

namespace clustertwin::core {

namespace {

// records[at[rank][op]] is the record of that op.
std::vector<std::vector<size_t>> index_records(const Program& p, const std::vector<OpRecord>& records) {
  std::vector<std::vector<size_t>> at(p.ranks.size());
  for (size_t r = 0; r < p.ranks.size(); ++r) at[r].assign(p.ranks[r].ops.size(), SIZE_MAX);
  for (size_t i = 0; i < records.size(); ++i) {
    const OpRecord& rec = records[i];
    if (rec.rank < 0 || rec.rank >= p.world() || rec.op >= at[rec.rank].size())
      throw std::invalid_argument(fmt::format("run: record for unknown rank {} op {}", rec.rank, rec.op));
    at[rec.rank][rec.op] = i;
  }
  for (size_t r = 0; r < at.size(); ++r)
    for (size_t o = 0; o < at[r].size(); ++o)
      if (at[r][o] == SIZE_MAX) throw std::invalid_argument(fmt::format("run: no record for rank {} op {}", r, o));
  return at;
}

}  // namespace

std::vector<Wait> waits(const Program& p, const std::vector<OpRecord>& records) {
  const auto at = index_records(p, records);
  std::vector<Wait> out(records.size());
  for (size_t i = 0; i < records.size(); ++i) out[i].until = records[i].start;

  // Ops in program order per matching key: (src, dst, tag) for messages, (group, tag, rank) for
  // collectives.
  std::map<std::tuple<int, int, int>, std::vector<uint32_t>> sends, recvs, colls;
  for (const auto& rp : p.ranks)
    for (uint32_t o = 0; o < rp.ops.size(); ++o) {
      const Op& op = rp.ops[o];
      if (op.kind == OpKind::Send) sends[{rp.rank, op.peer, op.tag}].push_back(o);
      if (op.kind == OpKind::Recv) recvs[{op.peer, rp.rank, op.tag}].push_back(o);
      if (op.kind == OpKind::Collective) colls[{op.group, op.tag, rp.rank}].push_back(o);
    }

  for (const auto& [key, ops] : recvs) {
    const auto [src, dst, tag] = key;
    auto it = sends.find(key);
    if (it == sends.end()) continue;
    for (size_t k = 0; k < ops.size() && k < it->second.size(); ++k) {
      const OpRecord& send = records[at[src][it->second[k]]];
      Wait& w = out[at[dst][ops[k]]];
      const OpRecord& recv = records[at[dst][ops[k]]];
      if (send.start > recv.start) w = {std::min(send.start, recv.end), src, it->second[k]};
      out[at[src][it->second[k]]].delivered = recv.end;
    }
  }

  for (const auto& [key, ops] : colls) {
    const auto [group, tag, rank] = key;
    if (group < 0 || group >= static_cast<int>(p.groups.size())) continue;
    const auto& members = p.groups[group];
    if (members.empty() || rank != members.front()) continue;  // each instance once, from its first member
    for (size_t k = 0; k < ops.size(); ++k) {
      // The member that started instance k last, and when.
      int32_t late = -1;
      uint32_t late_op = 0;
      double arrival = -1e300;
      bool complete = true;
      for (int32_t m : members) {
        auto mine = colls.find({group, tag, m});
        if (mine == colls.end() || mine->second.size() <= k) {
          complete = false;
          break;
        }
        const OpRecord& rec = records[at[m][mine->second[k]]];
        if (rec.start > arrival) arrival = rec.start, late = m, late_op = mine->second[k];
      }
      if (!complete) continue;
      for (int32_t m : members) {
        const size_t i = at[m][colls.at({group, tag, m})[k]];
        if (m != late && arrival > records[i].start) out[i] = {std::min(arrival, records[i].end), late, late_op};
      }
    }
  }
  return out;
}

std::vector<PathPart> critical_path(const Program& p, const std::vector<OpRecord>& records, const std::vector<Wait>& w,
                                    const std::vector<double>& first, const std::vector<double>& last) {
  const auto at = index_records(p, records);
  const int steps = static_cast<int>(first.size());
  std::vector<PathPart> parts(p.ranks.size());
  for (size_t r = 0; r < parts.size(); ++r) parts[r].rank = static_cast<int32_t>(r);
  if (steps == 0) return {};

  // The op that ends each step.
  std::vector<size_t> end_of(steps, SIZE_MAX);
  for (size_t i = 0; i < records.size(); ++i) {
    const int s = std::clamp(p.ranks[records[i].rank].ops[records[i].op].step, 0, steps - 1);
    if (end_of[s] == SIZE_MAX || records[i].end > records[end_of[s]].end) end_of[s] = i;
  }

  // The dep of an op that ended last: what it started after.
  auto pred = [&](int32_t rank, uint32_t op) -> size_t {
    size_t best = SIZE_MAX;
    for (uint32_t d : p.ranks[rank].ops[op].deps) {
      const size_t i = at[rank][d];
      if (best == SIZE_MAX || records[i].end > records[best].end) best = i;
    }
    return best;
  };

  for (int s = 0; s < steps; ++s) {
    if (end_of[s] == SIZE_MAX || !(last[s] > first[s])) continue;
    const double lo = first[s];
    double t = last[s];  // the path is explained from t to the step's end
    size_t cur = end_of[s];
    for (size_t guard = 0; guard <= records.size() && cur != SIZE_MAX && t > lo; ++guard) {
      const OpRecord& rec = records[cur];
      PathPart& part = parts[rec.rank];
      if (rec.end < t) {  // nothing on the path between this op's end and its successor's start
        part.idle += t - std::max(rec.end, lo);
        t = rec.end;
        if (t <= lo) break;
      }
      const Op& op = p.ranks[rec.rank].ops[rec.op];
      int32_t rank = rec.rank;
      uint32_t from = rec.op;  // the op whose deps come next on the path
      if (op.kind == OpKind::Compute) {
        part.compute += t - std::max(rec.start, lo);
        t = rec.start;
      } else if (w[cur].peer >= 0) {  // it waited: the path runs through that peer's copy of the op
        parts[w[cur].peer].communication += t - std::max(w[cur].until, lo);
        t = w[cur].until;
        rank = w[cur].peer;
        from = w[cur].peer_op;
      } else {
        part.communication += t - std::max(rec.start, lo);
        t = rec.start;
      }
      if (t <= lo) break;
      cur = pred(rank, from);
      if (cur == SIZE_MAX) parts[rank].idle += t - lo;  // the rank began late: nothing before it
    }
  }

  std::vector<PathPart> out;
  for (auto& part : parts) {
    part.compute /= steps, part.communication /= steps, part.idle /= steps;
    if (part.total() > 0) out.push_back(part);
  }
  std::stable_sort(out.begin(), out.end(), [](const PathPart& a, const PathPart& b) { return a.total() > b.total(); });
  return out;
}

}  // namespace clustertwin::core
