#include "reports/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/attribution.h"
#include "core/diag.h"
#include "core/format.h"
#include "core/intervals.h"
#include "reports/bottleneck.h"
#include "topologies/channels.h"
#include "topologies/routing.h"
#include "topologies/topology.h"
#include "workloads/collectives.h"

namespace clustertwin::reports {

const std::vector<std::string> kPhaseOrder = {"forward", "backward", "optimizer", "reduce", "prefill", "decode",
                                              "other", "exposed communication", "waiting for a peer", "pipeline bubble", "idle"};

namespace {
using core::Interval;
using core::clip;
using core::length;
using core::overlap;
using core::percentile;

bool is_comm(core::OpKind k) { return k == core::OpKind::Collective || k == core::OpKind::Send; }

double clipped(const OpEvent& e, double lo, double hi) { return std::max(0.0, std::min(e.end, hi) - std::max(e.start, lo)); }

// A step spans its first op start to its last op end, as core::summarize has it: a receive's start
// only marks when its rank began waiting (a pipeline stage posts the next step's receive early),
// so receives set the start only when the step has nothing else.
std::pair<double, double> step_window(const std::vector<std::vector<const OpEvent*>>& ranks) {
  double first = INFINITY, first_recv = INFINITY, last = -INFINITY;
  for (const auto& events : ranks)
    for (const OpEvent* e : events) {
      double& begin = e->kind == core::OpKind::Recv ? first_recv : first;
      begin = std::min(begin, e->start);
      last = std::max(last, e->end);
    }
  if (std::isinf(first)) first = first_recv;
  return {first, last};
}

const core::Op* program_op(const RunView& run, const OpEvent& e) {
  if (!run.program || e.rank >= run.program->world()) return nullptr;
  const auto& ops = run.program->ranks[e.rank].ops;
  return e.op < ops.size() ? &ops[e.op] : nullptr;
}

std::string group_key(const std::vector<int32_t>& g, int index) {
  if (g.empty()) return fmt::format("group {}", index);
  bool consecutive = true;
  for (size_t i = 1; i < g.size(); ++i) consecutive &= g[i] == g[i - 1] + 1;
  if (consecutive && g.size() > 2) return fmt::format("group {} (ranks {}-{})", index, g.front(), g.back());
  std::string members;
  for (size_t i = 0; i < g.size() && i < 8; ++i) members += fmt::format("{}{}", i ? "," : "", g[i]);
  if (g.size() > 8) members += ",...";
  return fmt::format("group {} (ranks {})", index, members);
}

// The run's events as the records core::waits reads (same order), when program.json says who
// waits for whom; empty otherwise (no program, or a run that stopped before its last op).
std::vector<core::OpRecord> records_of(const RunView& run) {
  std::vector<core::OpRecord> out;
  if (!run.program || run.program->world() != run.world) return out;
  out.reserve(run.events.size());
  for (const auto& e : run.events) out.push_back({e.rank, e.op, e.start, e.end});
  return out;
}

std::vector<core::Wait> waits_of(const RunView& run, const std::vector<core::OpRecord>& records) {
  if (records.empty()) return {};
  try {
    return core::waits(*run.program, records);
  } catch (const std::invalid_argument&) {
    return {};  // not one record per op: the run stopped early; no waits to tell apart
  }
}

// Per (step, rank): the phase breakdown. Adds the rank's seconds into `ranks` and `phases`.
void breakdown(const RunView& run, const std::vector<core::Wait>& waits, RunStats& s) {
  const int steps = std::max(run.steps, 1), world = std::max(run.world, 1);
  std::vector<std::vector<std::vector<const OpEvent*>>> by(steps, std::vector<std::vector<const OpEvent*>>(world));
  for (const auto& e : run.events) by[std::clamp(e.step, 0, steps - 1)][e.rank].push_back(&e);
  s.ranks.assign(world, {});
  s.step_seconds.assign(steps, 0);
  s.step_start.assign(steps, 0);
  std::vector<std::map<int, double>> waited(world);  // rank -> peer -> seconds
  for (int st = 0; st < steps; ++st) {
    auto [lo, hi] = step_window(by[st]);
    double step = hi > lo ? hi - lo : 0;
    s.step_seconds[st] = step;
    s.step_start[st] = lo;
    for (int r = 0; r < world; ++r) {
      std::vector<Interval> c, k, wc, rv;
      std::map<int, std::vector<Interval>> by_peer;
      RankStats& rs = s.ranks[r];
      for (const OpEvent* e : by[st][r]) {
        if (e->kind == core::OpKind::Compute) {
          c.push_back({e->start, e->end});
          const std::string& phase = run.phases[e->phase];
          rs.phases[phase == "comm" ? "other" : phase] += clipped(*e, lo, hi);
          continue;
        }
        if (waits.empty()) {
          (is_comm(e->kind) ? k : rv).push_back({e->start, e->end});
          continue;
        }
        const core::Wait& w = waits[e - run.events.data()];
        k.push_back({w.until, e->end});
        if (w.peer < 0) continue;
        (e->kind == core::OpKind::Recv ? rv : wc).push_back({e->start, w.until});
        by_peer[w.peer].push_back({e->start, w.until});
      }
      c = clip(core::merge(c), lo, hi), k = clip(core::merge(k), lo, hi);
      wc = clip(core::merge(wc), lo, hi), rv = clip(core::merge(rv), lo, hi);
      auto ck = core::unite(c, k), ckw = core::unite(ck, wc);
      rs.compute += length(c);
      rs.exposed += length(k) - overlap(k, c);
      rs.peer_wait += length(wc) - overlap(wc, ck);
      rs.bubble += length(rv) - overlap(rv, ckw);
      rs.idle += std::max(0.0, step - length(core::unite(ckw, rv)));
      for (auto& [peer, v] : by_peer) {
        auto w = clip(core::merge(v), lo, hi);
        waited[r][peer] += length(w) - overlap(w, ck);
      }
    }
  }
  for (int r = 0; r < world; ++r) {
    RankStats& rs = s.ranks[r];
    rs.compute /= steps, rs.exposed /= steps, rs.peer_wait /= steps, rs.bubble /= steps, rs.idle /= steps;
    for (const auto& [peer, secs] : waited[r])
      if (secs / steps > rs.waited) rs.waited_for = peer, rs.waited = secs / steps;
    for (auto& [ph, t] : rs.phases) t /= steps;
    rs.phases["exposed communication"] = rs.exposed;
    if (!waits.empty()) rs.phases["waiting for a peer"] = rs.peer_wait;
    rs.phases["pipeline bubble"] = rs.bubble;
    rs.phases["idle"] = rs.idle;
    for (const auto& [ph, t] : rs.phases) s.phases[ph] += t / world;
  }
}

void collectives(const RunView& run, RunStats& s) {
  struct Acc {
    double total = 0, bytes = 0;
    int count = 0;
    const core::Op* op = nullptr;
  };
  std::map<std::string, Acc> acc;
  for (const auto& e : run.events) {
    if (e.kind != core::OpKind::Collective) continue;
    Acc& a = acc[run.labels[e.label]];
    a.total += e.seconds();
    a.bytes = e.bytes;
    ++a.count;
    if (!a.op) a.op = program_op(run, e);
  }
  for (const auto& [label, a] : acc) {
    CollectiveStats c;
    c.label = label;
    c.bytes = a.bytes;
    c.mean_seconds = a.total / a.count;
    int members = run.world;
    if (a.op) {
      c.kind = core::name(a.op->collective);
      c.algorithm = core::name(a.op->algorithm);
      if (a.op->group >= 0 && a.op->group < static_cast<int>(run.program->groups.size()))
        members = static_cast<int>(run.program->groups[a.op->group].size());
      c.group_size = members;
      c.busbw_factor = busbw_factor(c.kind, members);
    }
    c.per_step = static_cast<double>(a.count) / (std::max(run.steps, 1) * std::max(members, 1));
    if (c.mean_seconds > 0) c.busbw = c.bytes / c.mean_seconds * c.busbw_factor;
    s.collectives.push_back(std::move(c));
  }
}

// Which route an event's time belongs to (-1: none), creating it on first use.
int route_of(const RunView& run, const OpEvent& e, RunStats& s, std::map<std::string, int>& index) {
  if (!is_comm(e.kind)) return -1;
  const core::Op* op = program_op(run, e);
  std::string key;
  std::vector<int> ranks;
  if (e.kind == core::OpKind::Collective) {
    if (op && op->group >= 0 && op->group < static_cast<int>(run.program->groups.size())) {
      const auto& g = run.program->groups[op->group];
      key = group_key(g, op->group);
      ranks.assign(g.begin(), g.end());
    } else {
      key = "collectives";
    }
  } else {
    if (!op) return -1;
    key = fmt::format("rank {} -> rank {}", e.rank, op->peer);
    ranks = {e.rank, op->peer};
  }
  auto [it, added] = index.try_emplace(key, static_cast<int>(s.routes.size()));
  if (added) s.routes.push_back({key, ranks, 0, 0, 0, {}});
  return it->second;
}

void routes(const RunView& run, const std::vector<core::Wait>& waits, RunStats& s) {
  std::map<std::string, int> index;
  const double steps = std::max(run.steps, 1);
  for (const auto& e : run.events) {
    int r = route_of(run, e, s, index);
    if (r < 0) continue;
    const double start = waits.empty() ? e.start : waits[&e - run.events.data()].until;
    s.routes[r].seconds += (e.end - start) / steps;
    s.routes[r].bytes += e.bytes / steps;
    s.routes[r].ops += 1 / steps;
  }
}

// A message of a collective's plan: to whom, how many bytes, on which channel (striping).
struct PlanSend {
  int to;
  double bytes;
  int channel;
};

// Every message `rank` sends in a collective, by the plan both backends run.
std::vector<PlanSend> sends_of(const core::Program& p, const core::Op& op, int rank) {
  std::vector<PlanSend> sends;
  const double bpe = core::bytes_per_element(op.dtype);
  try {
    const auto count = static_cast<int64_t>(op.bytes / bpe);
    for (const auto& step : work::plan_collective(op, p.groups.at(op.group), rank, count))
      if (step.send_to >= 0 && step.send.count > 0) sends.push_back({step.send_to, step.send.count * bpe, step.channel});
  } catch (const std::exception&) {
    // A collective the plan cannot lay out carries no link figures; the rest of the report stands.
  }
  return sends;
}

// Bytes every link carries per step, from the Program's sends and the collectives' plans routed
// over the topology. Needs program.json and topology.yaml.
void links(const RunView& run, RunStats& s) {
  if (!run.program || !run.topology || run.program->world() != run.world) return;
  const topo::Topology& t = *run.topology;
  auto nodes = t.rank_nodes();
  if (static_cast<int>(nodes.size()) != run.world) return;
  topo::Routes routes(t);
  for (size_t i = 0; i < t.links.size(); ++i) {
    const auto& l = t.links[i];
    s.links.push_back({fmt::format("{} - {} ({})", t.nodes[l.a].name, t.nodes[l.b].name, l.type.preset), l.a, l.b,
                       l.bandwidth(true), l.bandwidth(false), 0, 0, 0, 0});
  }
  std::vector<int> forwarder_of(t.nodes.size(), -1);  // node -> index in s.forwarders
  for (size_t n = 0; n < t.nodes.size(); ++n) {
    if (!topo::forwards_in_software(t, static_cast<int>(n))) continue;
    const topo::Forwarding f = t.forwarding_of(static_cast<int>(n));
    forwarder_of[n] = static_cast<int>(s.forwarders.size());
    s.forwarders.push_back({t.nodes[n].name, static_cast<int>(n), f.bandwidth, f.latency, 0, 0, 0});
  }
  std::map<std::string, int> route_index;
  for (size_t i = 0; i < s.routes.size(); ++i) route_index[s.routes[i].key] = static_cast<int>(i);
  std::vector<std::set<int>> route_links(s.routes.size()), route_forwarders(s.routes.size());
  const double steps = std::max(run.steps, 1);
  // Bytes per (source rank, destination rank, route entry, channel), summed over the run's events
  // first: an op repeats every step, and its plan's flows are routed once. A striped collective's
  // channel c crosses the c-th parallel cable of each hop (topologies/channels.h).
  std::map<std::tuple<int, int, int, int>, double> flows;
  auto carry = [&](int src, int dst, double bytes, int route, int channel) {
    if (src == dst || src < 0 || dst < 0 || src >= run.world || dst >= run.world) return;
    flows[{src, dst, route, channel}] += bytes;
  };
  std::map<std::pair<int, std::string>, std::vector<PlanSend>> plans;  // (rank, label) -> sends
  for (const auto& e : run.events) {
    const core::Op* op = program_op(run, e);
    if (!op || !is_comm(e.kind)) continue;
    int route = route_of(run, e, s, route_index);
    if (route >= static_cast<int>(route_links.size())) route_links.resize(route + 1), route_forwarders.resize(route + 1);
    if (e.kind == core::OpKind::Send) {
      carry(e.rank, op->peer, op->bytes, route, 0);
      continue;
    }
    auto key = std::make_pair(e.rank, run.labels[e.label]);
    auto it = plans.find(key);
    if (it == plans.end()) it = plans.emplace(key, sends_of(*run.program, *op, e.rank)).first;
    for (const PlanSend& ps : it->second) carry(e.rank, ps.to, ps.bytes, route, ps.channel);
  }
  for (const auto& [flow, bytes] : flows) {
    auto [src, dst, route, channel] = flow;
    if (!routes.reachable(nodes[src], nodes[dst])) continue;
    const topo::Route path = topo::on_channel(t, routes.between(nodes[src], nodes[dst]), channel);
    for (const auto& h : path.hops) {
      (h.up ? s.links[h.link].bytes_up : s.links[h.link].bytes_down) += bytes / steps;
      if (route >= 0) route_links[route].insert(h.link);
    }
    for (int n : topo::transit_forwarders(t, path)) {
      s.forwarders[forwarder_of[n]].bytes += bytes / steps;
      if (route >= 0) route_forwarders[route].insert(forwarder_of[n]);
    }
  }
  for (size_t r = 0; r < s.routes.size(); ++r) {
    s.routes[r].links.assign(route_links[r].begin(), route_links[r].end());
    for (int l : s.routes[r].links) s.links[l].comm_seconds += s.routes[r].seconds;
    for (int f : route_forwarders[r]) s.forwarders[f].comm_seconds += s.routes[r].seconds;
  }
  for (auto& f : s.forwarders)
    if (s.step_mean > 0 && f.bandwidth > 0) f.utilisation = f.bytes / f.bandwidth / s.step_mean;
  for (auto& l : s.links) {
    double up = l.bandwidth > 0 ? l.bytes_up / l.bandwidth : 0;
    double down = l.back_bandwidth > 0 ? l.bytes_down / l.back_bandwidth : 0;
    if (s.step_mean > 0) l.utilisation = std::max(up, down) / s.step_mean;
  }
}

// The step closest to the median, per rank as boxes of compute / communication / recv, adjacent
// boxes of one class closer than 1/1000 of the step merged so a 64-rank drawing stays small.
void timeline(const RunView& run, const std::vector<core::Wait>& waits, RunStats& s) {
  if (s.step_seconds.empty()) return;
  double median = percentile(s.step_seconds, 0.5);
  int best = 0;
  for (int i = 0; i < static_cast<int>(s.step_seconds.size()); ++i)
    if (std::abs(s.step_seconds[i] - median) < std::abs(s.step_seconds[best] - median)) best = i;
  s.timeline_step = best;
  s.timeline_span = s.step_seconds[best];
  const double t0 = s.step_start[best], t1 = t0 + s.timeline_span;
  std::vector<std::vector<std::vector<Interval>>> boxes(run.world, std::vector<std::vector<Interval>>(3));
  auto add = [&](int rank, BoxKind kind, double a, double b) {
    if (std::min(b, t1) > std::max(a, t0))
      boxes[rank][static_cast<size_t>(kind)].push_back({std::max(a, t0) - t0, std::min(b, t1) - t0});
  };
  for (const auto& e : run.events) {
    if (e.step != best || clipped(e, t0, t1) <= 0) continue;
    if (e.kind == core::OpKind::Compute) {
      add(e.rank, BoxKind::Compute, e.start, e.end);
    } else if (!waits.empty()) {  // waiting for a peer, then the transfer
      const double until = waits[&e - run.events.data()].until;
      add(e.rank, BoxKind::Waiting, e.start, until);
      add(e.rank, BoxKind::Communication, until, e.end);
    } else {
      add(e.rank, is_comm(e.kind) ? BoxKind::Communication : BoxKind::Waiting, e.start, e.end);
    }
  }
  const double tolerance = s.timeline_span / 1000;
  s.timeline.assign(run.world, {});
  for (int r = 0; r < run.world; ++r) {
    for (BoxKind kind : {BoxKind::Compute, BoxKind::Communication, BoxKind::Waiting}) {
      auto& v = boxes[r][static_cast<size_t>(kind)];
      std::sort(v.begin(), v.end());
      for (const auto& [a, b] : v) {
        auto& out = s.timeline[r];
        if (!out.empty() && out.back().kind == kind && a <= out.back().end + tolerance)
          out.back().end = std::max(out.back().end, b);
        else
          out.push_back({a, b, kind});
      }
    }
  }
}
}  // namespace

double RunStats::phase(const std::string& name) const {
  auto it = phases.find(name);
  return it == phases.end() ? 0 : it->second;
}

const CollectiveStats* RunStats::collective(const std::string& label) const {
  auto it = std::find_if(collectives.begin(), collectives.end(),
                         [&](const CollectiveStats& c) { return c.label == label; });
  return it == collectives.end() ? nullptr : &*it;
}

const RouteStats* RunStats::route(const std::string& key) const {
  auto it = std::find_if(routes.begin(), routes.end(), [&](const RouteStats& r) { return r.key == key; });
  return it == routes.end() ? nullptr : &*it;
}

std::vector<std::string> phase_order(const std::vector<RunStats>& runs) {
  std::vector<std::string> order = kPhaseOrder;
  order.insert(order.begin(), "compute");
  for (const auto& r : runs)
    for (const auto& [k, v] : r.phases)
      if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);
  return order;
}

std::vector<size_t> ranks_to_show(const RunStats& s, size_t limit) {
  std::vector<size_t> out(s.ranks.size());
  std::iota(out.begin(), out.end(), 0);
  if (out.size() <= limit) return out;
  std::stable_sort(out.begin(), out.end(), [&](size_t a, size_t b) { return s.ranks[a].compute > s.ranks[b].compute; });
  out.resize(limit);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<double> compute_over_median(const RunStats& s, size_t rank) {
  if (rank >= s.ranks.size()) return std::nullopt;
  std::vector<double> sorted;
  for (const auto& rs : s.ranks) sorted.push_back(rs.compute);
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2], mine = s.ranks[rank].compute;
  if (median <= 0 || mine <= 1.1 * median) return std::nullopt;
  return (mine / median - 1) * 100;
}

double busbw_factor(const std::string& kind, int n) {
  if (n <= 0) return 1;
  if (kind == "allreduce") return 2.0 * (n - 1) / n;
  if (kind == "allgather" || kind == "reducescatter" || kind == "alltoall") return static_cast<double>(n - 1) / n;
  return 1;
}

RunStats analyse(const RunView& run, const std::string& name) {
  RunStats s;
  s.name = name;
  s.run = &run;
  const auto records = records_of(run);
  const auto waits = waits_of(run, records);
  if (run.has_trace()) {
    breakdown(run, waits, s);
    collectives(run, s);
    routes(run, waits, s);
  } else {
    // summary.json alone: its breakdown and collectives.
    s.step_seconds = run.summary.step_seconds;
    if (!run.step_level())  // an imported run has no breakdown: no phases rather than zeros
      s.phases = {{"compute", run.summary.compute},
                  {"exposed communication", run.summary.exposed_communication},
                  {"pipeline bubble", run.summary_bubble},
                  {"idle", run.summary.idle}};
    for (const auto& c : run.summary.collectives) s.collectives.push_back({c.label, "", "", 0, c.bytes, 0, c.mean_seconds, 0, 1});
  }
  s.step_mean = 0;
  for (double t : s.step_seconds) s.step_mean += t;
  if (!s.step_seconds.empty()) s.step_mean /= s.step_seconds.size();
  s.step_p50 = percentile(s.step_seconds, 0.5);
  s.step_p95 = percentile(s.step_seconds, 0.95);
  if (s.step_seconds.empty()) {  // no per-step series (an imported run): the summary's own figures
    s.step_mean = run.summary.step_mean;
    s.step_p50 = run.summary.step_p50;
    s.step_p95 = run.summary.step_p95;
  }
  if (run.has_trace()) {
    links(run, s);
    timeline(run, waits, s);
  }
  if (!waits.empty()) {
    std::vector<double> last(s.step_start.size());
    for (size_t i = 0; i < last.size(); ++i) last[i] = s.step_start[i] + s.step_seconds[i];
    s.critical_path = core::critical_path(*run.program, records, waits, s.step_start, last);
    std::vector<RankLoad> loads;
    for (const auto& r : s.ranks) loads.push_back({r.compute, r.waited_for, r.waited});
    s.bound = what_bounds(s.critical_path, loads, s.step_mean, run.topology.get());
  }
  return s;
}

std::optional<BusiestResource> busiest_resource(const RunStats& s) {
  std::optional<BusiestResource> best;
  auto consider = [&](std::string what, double utilisation, double bytes, double bandwidth) {
    if (utilisation > 0 && (!best || utilisation > best->utilisation))
      best = {std::move(what), utilisation, bytes, bandwidth};
  };
  for (const auto& l : s.links) {
    const double up_time = l.bandwidth > 0 ? l.bytes_up / l.bandwidth : 0;
    const bool up = up_time >= (l.back_bandwidth > 0 ? l.bytes_down / l.back_bandwidth : 0);
    consider("link " + l.name, l.utilisation, up ? l.bytes_up : l.bytes_down, up ? l.bandwidth : l.back_bandwidth);
  }
  for (const auto& f : s.forwarders)
    consider(fmt::format("forwarding node '{}'", f.name), f.utilisation, f.bytes, f.bandwidth);
  return best;
}

std::string describe(const BusiestResource& b) {
  return fmt::format("{}: {} busy ({} per step through {})", b.what, core::format_percent(b.utilisation * 100),
                     core::format_bytes(b.bytes), core::format_bit_rate(b.bandwidth));
}

std::map<uint64_t, double> op_seconds(const RunView& run) {
  std::map<uint64_t, double> out;
  for (const auto& e : run.events) out[(static_cast<uint64_t>(e.rank) << 32) | e.op] += e.seconds();
  return out;
}

}  // namespace clustertwin::reports
