#include "exec/probe.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "core/format.h"
#include "topologies/routing.h"

namespace clustertwin::exec {

Spread spread_of(std::vector<double> v) {
  Spread s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = static_cast<int>(v.size());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

LineFit fit_line(const std::vector<double>& x, const std::vector<double>& t) {
  if (x.size() != t.size() || x.size() < 2)
    throw std::invalid_argument(fmt::format("fit_line: needs 2 or more (bytes, seconds) points, has {} and {}", x.size(), t.size()));
  double s0 = 0, sx = 0, sxx = 0, st = 0, sxt = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(t[i] > 0)) throw std::invalid_argument(fmt::format("fit_line: time {} of point {} is not above 0", t[i], i));
    const double w = 1 / t[i];
    s0 += w;
    sx += w * x[i];
    sxx += w * x[i] * x[i];
    st += w * t[i];
    sxt += w * x[i] * t[i];
  }
  const double det = s0 * sxx - sx * sx;
  if (!(det > 0)) throw std::invalid_argument("fit_line: every point has the same size; a line needs two sizes");
  const double slope = (s0 * sxt - sx * st) / det;  // seconds per byte
  LineFit f;
  f.fixed_s = (st - slope * sx) / s0;
  f.bytes_per_s = slope > 0 ? 1 / slope : 0;
  f.points = static_cast<int>(x.size());
  double sq = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double rel = (f.fixed_s + slope * x[i] - t[i]) / t[i];
    sq += rel * rel;
    f.max_relative = std::max(f.max_relative, std::abs(rel));
  }
  f.rms_relative = std::sqrt(sq / static_cast<double>(x.size()));
  return f;
}

namespace {
std::vector<uint64_t> geometric(uint64_t from, uint64_t to, uint64_t factor) {
  std::vector<uint64_t> v;
  for (uint64_t s = from; s <= to; s *= factor) v.push_back(s);
  return v;
}
}  // namespace

ProbeOptions ProbeOptions::standard() {
  ProbeOptions o;
  o.sizes = geometric(8, 64ull << 20, 4);  // 8 B, 32 B, ... 32 MiB; plus 64 MiB below
  if (o.sizes.back() != 64ull << 20) o.sizes.push_back(64ull << 20);
  return o;
}

ProbeOptions ProbeOptions::quick() {
  ProbeOptions o;
  o.sizes = geometric(8, 4ull << 20, 8);  // 8 B, 64 B, ... 2 MiB; plus 4 MiB
  if (o.sizes.back() != 4ull << 20) o.sizes.push_back(4ull << 20);
  o.rounds = 3;
  o.stream_bytes = 32ull << 20;
  o.stream_messages = 4;
  o.stream_rounds = 2;
  o.gemm_n = 512;
  o.gemm_count = 4;
  o.memory_bytes = 256ull << 20;
  o.device_rounds = 2;
  o.budget_s = 120;
  o.max_message_s = 0.25;
  o.stream_s = 0.5;
  return o;
}

std::string_view name(PairKind k) {
  switch (k) {
    case PairKind::Direct: return "direct";
    case PairKind::Switched: return "via switch";
    case PairKind::Forwarded: return "forwarded";
  }
  return "?";
}

std::vector<ProbePair> probe_pairs(const topo::Topology& t) {
  const auto ranks = t.rank_nodes();
  std::map<int, int> first_rank;  // node -> its first rank
  for (int r = static_cast<int>(ranks.size()) - 1; r >= 0; --r) first_rank[ranks[r]] = r;
  topo::Routes routes(t);
  std::vector<ProbePair> direct, switched, forwarded;
  std::map<int, bool> forwarder_done;
  for (auto ia = first_rank.begin(); ia != first_rank.end(); ++ia)
    for (auto ib = std::next(ia); ib != first_rank.end(); ++ib) {
      const int a = ia->first, b = ib->first;
      if (!routes.reachable(a, b)) continue;
      const topo::Route& r = routes.between(a, b);
      ProbePair p{a, b, ia->second, ib->second, PairKind::Direct, r.nodes, -1};
      const auto soft = topo::transit_forwarders(t, r);
      if (r.hops.size() == 1) {
        direct.push_back(p);
      } else if (soft.empty()) {
        p.kind = PairKind::Switched;
        switched.push_back(p);
      } else if (soft.size() == 1 && !forwarder_done[soft.front()]) {
        p.kind = PairKind::Forwarded;
        p.forwarder = soft.front();
        forwarded.push_back(p);
        forwarder_done[soft.front()] = true;
      }
    }
  // A forwarded pair tells the forwarder's cost only against its hops' own figures: keep it when
  // every hop is also measured (as a direct or switched pair).
  auto measured_hop = [&](int x, int y) {
    for (const auto* list : {&direct, &switched})
      for (const auto& p : *list)
        if ((p.a == x && p.b == y) || (p.a == y && p.b == x)) return true;
    return false;
  };
  std::vector<ProbePair> out = direct;
  out.insert(out.end(), switched.begin(), switched.end());
  for (const auto& p : forwarded)
    if (measured_hop(p.route.front(), p.forwarder) && measured_hop(p.forwarder, p.route.back())) out.push_back(p);
  return out;
}

namespace {
// Builds a Program op by op: each op of a rank after `deps`, steps numbered as added.
struct Builder {
  core::Program p;
  int tag = 0;

  explicit Builder(int world, std::string name) {
    p.name = std::move(name);
    for (int r = 0; r < world; ++r) p.ranks.push_back(core::RankProgram{r, {}});
  }
  uint32_t add(int rank, core::Op op, std::vector<uint32_t> deps) {
    op.deps = std::move(deps);
    op.step = p.steps;
    auto& ops = p.ranks[rank].ops;
    ops.push_back(std::move(op));
    return static_cast<uint32_t>(ops.size() - 1);
  }
  // A message from -> to; returns {send index on from, recv index on to}.
  std::pair<uint32_t, uint32_t> message(int from, int to, uint64_t bytes, std::vector<uint32_t> send_deps,
                                        std::vector<uint32_t> recv_deps, const char* label) {
    const int t = tag++;
    uint32_t s = op(from, core::OpKind::Send, to, bytes, t, std::move(send_deps), label);
    uint32_t r = op(to, core::OpKind::Recv, from, bytes, t, std::move(recv_deps), label);
    return {s, r};
  }
  // One send or recv on `rank` with `peer`.
  uint32_t op(int rank, core::OpKind kind, int peer, uint64_t bytes, int op_tag, std::vector<uint32_t> deps,
              const char* label) {
    core::Op o;
    o.phase = core::Phase::Comm;
    o.kind = kind;
    o.peer = peer;
    o.bytes = static_cast<double>(bytes);
    o.tag = op_tag;
    o.label = fmt::format("probe.{}.{}", label, kind == core::OpKind::Send ? "send" : "recv");
    return add(rank, o, std::move(deps));
  }
  std::vector<uint32_t> last(int rank) const {
    const auto& ops = p.ranks[rank].ops;
    if (ops.empty()) return {};
    return {static_cast<uint32_t>(ops.size() - 1)};
  }
  void end_step() { ++p.steps; }
};

// Streams `n` messages from -> to, each after the previous.
struct Streamed {
  uint32_t first_send = 0, last_send = 0, last_recv = 0;
};
Streamed stream(Builder& b, int from, int to, uint64_t bytes, int n, std::vector<uint32_t> send_deps,
                std::vector<uint32_t> recv_deps, const char* label) {
  Streamed out;
  for (int i = 0; i < n; ++i) {
    auto [s, r] = b.message(from, to, bytes, send_deps, recv_deps, label);
    if (i == 0) out.first_send = s;
    out.last_send = s;
    out.last_recv = r;
    send_deps = {s};
    recv_deps = {r};
  }
  return out;
}

// What each step of a pair's Program measures, and the ops that time it (indices on rank a or b).
enum class Measure { PingPong, StreamAB, StreamBA, Both };
struct StepPlan {
  Measure what = Measure::PingPong;
  uint64_t bytes = 0;  // ping-pong: the size; streams: all the bytes of one direction
  bool timed = true;
  uint32_t a_first = 0, a_last = 0, b_first = 0, b_last = 0;
};

std::vector<StepPlan> build_pair(Builder& b, const ProbePair& pair, const ProbeOptions& o, bool streams = true) {
  const int A = pair.rank_a, B = pair.rank_b;
  std::vector<StepPlan> plan;
  auto ping_pong = [&](uint64_t size, bool timed) {
    StepPlan s{Measure::PingPong, size, timed};
    auto [ping_s, ping_r] = b.message(A, B, size, b.last(A), b.last(B), "ping");
    auto [pong_s, pong_r] = b.message(B, A, size, {ping_r}, b.last(A), "pong");
    (void)pong_s;
    s.a_first = ping_s;
    s.a_last = pong_r;
    plan.push_back(s);
    b.end_step();
  };
  // Untimed rounds of every size, then the timed ones round by round across the sizes, so a stall
  // of the machine (another process, a page-in) spoils one round of several sizes, not a size.
  auto rounds = [&](uint64_t size, bool timed) { return size <= kSmall ? 4 * (timed ? o.rounds : 1) : (timed ? o.rounds : 1); };
  for (uint64_t size : o.sizes)
    for (int r = 0; r < rounds(size, false); ++r) ping_pong(size, false);
  for (int r = 0; r < 4 * o.rounds; ++r)
    for (uint64_t size : o.sizes)
      if (r < rounds(size, true)) ping_pong(size, true);
  if (!streams) return plan;
  const uint64_t chunk = std::max<uint64_t>(1, o.stream_bytes / std::max(1, o.stream_messages));
  const int n = std::max(1, o.stream_messages);
  for (Measure m : {Measure::StreamAB, Measure::StreamBA, Measure::Both})
    for (int round = 0; round <= o.stream_rounds; ++round) {
      StepPlan s{m, chunk * n, round > 0};
      const auto la = b.last(A), lb = b.last(B);
      if (m == Measure::Both) {
        // Each end queues all its sends, then its receives: a send drains the incoming messages
        // meanwhile (exec/data_plane.h), so both directions move at once, as in bench sendrecv.
        std::vector<int> tags;
        uint32_t a_send = 0, b_send = 0, a_recv = 0, b_recv = 0;
        std::vector<uint32_t> da = la, db = lb;
        for (int i = 0; i < n; ++i) {
          tags.push_back(b.tag);
          b.tag += 2;
          a_send = b.op(A, core::OpKind::Send, B, chunk, tags.back(), da, "both");
          b_send = b.op(B, core::OpKind::Send, A, chunk, tags.back() + 1, db, "both");
          if (i == 0) {
            s.a_first = a_send;
            s.b_first = b_send;
          }
          da = {a_send};
          db = {b_send};
        }
        da = la;
        db = lb;
        for (int i = 0; i < n; ++i) {
          a_recv = b.op(A, core::OpKind::Recv, B, chunk, tags[i] + 1, da, "both");
          b_recv = b.op(B, core::OpKind::Recv, A, chunk, tags[i], db, "both");
          da = {a_recv};
          db = {b_recv};
        }
        s.a_last = a_recv;
        s.b_last = b_recv;
        // Both ends finish the step before the next starts: a small exchange after everything.
        auto [xs, xr] = b.message(A, B, 8, {a_send, a_recv}, {b_send, b_recv}, "sync");
        b.message(B, A, 8, {xr}, {xs}, "sync");
      } else {
        const int from = m == Measure::StreamAB ? A : B, to = m == Measure::StreamAB ? B : A;
        const Streamed st = stream(b, from, to, chunk, n, b.last(from), b.last(to), "stream");
        auto [ack_s, ack_r] = b.message(to, from, 8, {st.last_recv}, {st.last_send}, "ack");
        (void)ack_s;
        (m == Measure::StreamAB ? s.a_first : s.b_first) = st.first_send;
        (m == Measure::StreamAB ? s.a_last : s.b_last) = ack_r;
      }
      plan.push_back(s);
      b.end_step();
    }
  return plan;
}

// The node's first rank measures its device; the others stay idle meanwhile.
std::vector<std::pair<int, int>> device_ranks(const topo::Topology& t) {
  std::vector<std::pair<int, int>> out;  // (node, rank)
  const auto ranks = t.rank_nodes();
  std::map<int, bool> seen;
  for (int r = 0; r < static_cast<int>(ranks.size()); ++r)
    if (!seen[ranks[r]] && t.nodes[ranks[r]].device) {
      seen[ranks[r]] = true;
      out.emplace_back(ranks[r], r);
    }
  return out;
}

struct DeviceStep {
  int rank = 0;
  uint32_t gemm = 0, memory = 0;
  bool timed = true;
};

std::vector<DeviceStep> build_devices(Builder& b, const topo::Topology& t, const ProbeOptions& o) {
  std::vector<DeviceStep> plan;
  std::vector<uint32_t> token;  // the previous node's "done" arriving here
  int previous = -1;
  for (auto [node, rank] : device_ranks(t)) {
    std::vector<uint32_t> deps = b.last(rank);
    if (previous >= 0) {  // one node at a time: ranks on one machine must not share its cores while measured
      auto [s, r] = b.message(previous, rank, 8, b.last(previous), b.last(rank), "turn");
      (void)s;
      deps = {r};
    }
    for (int round = 0; round <= o.device_rounds; ++round) {
      core::Op g;
      g.kind = core::OpKind::Compute;
      g.phase = core::Phase::Other;
      g.label = "probe.sgemm";
      const auto n = static_cast<int64_t>(o.gemm_n);
      g.gemm = {n, n, n, o.gemm_count};
      g.flops = 2.0 * n * n * n * o.gemm_count;
      g.bytes = 3.0 * 4 * n * n * o.gemm_count;
      DeviceStep s{rank, b.add(rank, g, deps), 0, round > 0};
      core::Op m;
      m.kind = core::OpKind::Compute;
      m.phase = core::Phase::Other;
      m.label = "probe.memory";
      m.bytes = static_cast<double>(o.memory_bytes);
      s.memory = b.add(rank, m, {s.gemm});
      deps = {s.memory};
      plan.push_back(s);
      b.end_step();
    }
    previous = rank;
  }
  return plan;
}

using Times = std::map<std::pair<int, uint32_t>, core::OpRecord>;
Times by_op(const MeasuredRun& run) {
  Times t;
  for (const auto& r : run.records) t[{r.rank, r.op}] = r;
  return t;
}

double span(const Times& t, int rank, uint32_t first, uint32_t last) {
  return t.at({rank, last}).end - t.at({rank, first}).start;
}

PairResult analyse_pair(const ProbePair& pair, const std::vector<StepPlan>& plan, const MeasuredRun& run,
                        const ProbeOptions& o) {
  const Times t = by_op(run);
  PairResult res;
  res.pair = pair;
  std::map<uint64_t, std::vector<double>> one_way;
  std::vector<double> xs, ys;
  std::vector<double> ab, ba, both_ab, both_ba;
  for (const auto& s : plan)
    if (s.what == Measure::PingPong && s.timed) {
      double w = span(t, pair.rank_a, s.a_first, s.a_last) / 2;
      one_way[s.bytes].push_back(w);
      xs.push_back(static_cast<double>(s.bytes));
      ys.push_back(std::max(w, 1e-9));
    }
  for (uint64_t size : o.sizes) {
    res.sizes.push_back(size);
    res.one_way.push_back(spread_of(one_way[size]));
  }
  res.fit = fit_line(xs, ys);
  // A stream's time runs from its first send to the ack's arrival: the ack's own trip (the
  // smallest ping-pong's one-way time) is not the stream's.
  const double ack = res.one_way.empty() ? 0 : res.one_way.front().median;
  for (const auto& s : plan) {
    if (!s.timed || s.what == Measure::PingPong) continue;
    if (s.what == Measure::StreamAB) ab.push_back(s.bytes / std::max(1e-9, span(t, pair.rank_a, s.a_first, s.a_last) - ack));
    if (s.what == Measure::StreamBA) ba.push_back(s.bytes / std::max(1e-9, span(t, pair.rank_b, s.b_first, s.b_last) - ack));
    if (s.what == Measure::Both) {
      // Rank a's span ends with the last byte from b, rank b's with the last from a.
      both_ba.push_back(s.bytes / std::max(1e-9, span(t, pair.rank_a, s.a_first, s.a_last)));
      both_ab.push_back(s.bytes / std::max(1e-9, span(t, pair.rank_b, s.b_first, s.b_last)));
    }
  }
  res.stream_ab = spread_of(ab);
  res.stream_ba = spread_of(ba);
  if (!res.one_way.empty()) {
    // Every timed ping-pong up to kFixedBytes, less its bytes at the goodput: the median of them all.
    const double goodput = std::max(res.stream_ab.median, res.stream_ba.median);
    std::vector<double> fixed;
    for (const auto& [size, times] : one_way)
      if (size <= kFixedBytes || size == res.sizes.front())
        for (double w : times) fixed.push_back(w - (goodput > 0 ? static_cast<double>(size) / goodput : 0));
    res.fixed_s = std::max(0.0, spread_of(fixed).median);
  }
  res.both_ab = spread_of(both_ab);
  res.both_ba = spread_of(both_ba);
  return res;
}

std::string pair_name(const topo::Topology& t, const ProbePair& p) {
  return fmt::format("{} <-> {}", t.nodes[p.a].name, t.nodes[p.b].name);
}

std::string rate_spread(const Spread& s) {
  if (s.n == 0) return "-";
  return fmt::format("{} ({}..{})", core::format_rate(s.median), core::format_rate(s.min), core::format_rate(s.max));
}
}  // namespace

ProbeOptions sized_for(const ProbeOptions& o, double goodput, std::vector<uint64_t>* dropped) {
  ProbeOptions s = o;
  if (!(goodput > 0)) return s;
  s.sizes.clear();
  for (uint64_t size : o.sizes) {
    if (size <= o.scout_bytes || static_cast<double>(size) / goodput <= o.max_message_s) s.sizes.push_back(size);
    else if (dropped) dropped->push_back(size);
  }
  const auto n = static_cast<uint64_t>(std::max(1, o.stream_messages));
  const double wanted = std::clamp(goodput * o.stream_s, std::min<double>(o.stream_bytes, 1 << 20), static_cast<double>(o.stream_bytes));
  s.stream_bytes = std::max<uint64_t>(n, static_cast<uint64_t>(wanted) / n * n);
  return s;
}

core::Program pair_program(int world, const ProbePair& pair, const ProbeOptions& o) {
  Builder b(world, "probe-pair");
  build_pair(b, pair, o);
  return b.p;
}

core::Program device_program(const topo::Topology& t, const ProbeOptions& o) {
  Builder b(static_cast<int>(t.rank_nodes().size()), "probe-devices");
  build_devices(b, t, o);
  return b.p;
}

ProbeRunner probe_runner(const Launch& how, const RunSettings& s, const topo::Topology& topology) {
  return [how, s, topology](const core::Program& p, ComputeMode mode) {
    RunSettings with = s;
    with.compute = mode;
    return run(p, topology, how, with);
  };
}

namespace {
using Say = std::function<void(const std::string&)>;

// A few ping-pongs of scout_bytes: the pair's goodput, roughly (fixed cost included), in bytes/s.
double scout(const ProbePair& pair, int world, const ProbeOptions& o, const ProbeRunner& runner) {
  ProbeOptions s = o;
  s.sizes = {o.scout_bytes};
  s.rounds = 2;
  Builder b(world, "probe-scout");
  const auto plan = build_pair(b, pair, s, false);
  const Times t = by_op(runner(b.p, ComputeMode::Modelled));
  std::vector<double> one_way;
  for (const auto& step : plan)
    if (step.timed) one_way.push_back(span(t, pair.rank_a, step.a_first, step.a_last) / 2);
  return static_cast<double>(o.scout_bytes) / std::max(1e-9, spread_of(one_way).median);
}

// The scout, then the pair's Program sized for its speed. Throws RunError.
PairResult measure_pair(const topo::Topology& t, const ProbePair& pair, const std::string& counter, const ProbeOptions& o,
                        const ProbeRunner& runner, std::vector<std::string>& notes, const Say& say) {
  const int world = static_cast<int>(t.rank_nodes().size());
  const double scouted = scout(pair, world, o, runner);
  std::vector<uint64_t> dropped;
  const ProbeOptions po = sized_for(o, scouted, &dropped);
  if (!dropped.empty())
    notes.push_back(fmt::format("{}: sizes from {} up not measured: at the scouted {} one message would take over {}",
                                pair_name(t, pair), core::format_bytes(static_cast<double>(dropped.front())),
                                core::format_rate(scouted), core::format_seconds(o.max_message_s)));
  say(fmt::format("pair {} {} ({}): scouted {}; ping-pong {} sizes to {}, streams of {}", counter, pair_name(t, pair),
                  name(pair.kind), core::format_rate(scouted), po.sizes.size(),
                  core::format_bytes(static_cast<double>(po.sizes.back())), core::format_bytes(po.stream_bytes)));
  Builder b(world, "probe-pair");
  const auto plan = build_pair(b, pair, po);
  PairResult r = analyse_pair(pair, plan, runner(b.p, ComputeMode::Modelled), po);
  say(fmt::format("pair {} {}: fixed {}, one flow {} / {} (fit {} + bytes / {}, rms residual {:.1f} %)", counter,
                  pair_name(t, pair), core::format_seconds(r.fixed_s), core::format_rate(r.stream_ab.median),
                  core::format_rate(r.stream_ba.median), core::format_seconds(r.fit.fixed_s),
                  core::format_rate(r.fit.bytes_per_s), r.fit.rms_relative * 100));
  return r;
}

// Every device, one node after the other. Throws RunError.
std::vector<DeviceResult> measure_devices(const topo::Topology& t, const ProbeOptions& o, const ProbeRunner& runner,
                                          const Say& say) {
  const auto devices = device_ranks(t);
  say(fmt::format("devices: {} node{}, one at a time: {} sgemm {}x{} and a {} memory pass, {} rounds each", devices.size(),
                  devices.size() == 1 ? "" : "s", o.gemm_count, o.gemm_n, o.gemm_n, core::format_bytes(o.memory_bytes),
                  o.device_rounds));
  Builder b(static_cast<int>(t.rank_nodes().size()), "probe-devices");
  const auto plan = build_devices(b, t, o);
  const Times times = by_op(runner(b.p, ComputeMode::Real));
  std::vector<DeviceResult> out;
  for (auto [node, rank] : devices) {
    std::vector<double> f, m;
    for (const auto& s : plan)
      if (s.rank == rank && s.timed) {
        const auto& g = times.at({rank, s.gemm});
        const auto& mem = times.at({rank, s.memory});
        f.push_back(b.p.ranks[rank].ops[s.gemm].flops / std::max(1e-9, g.end - g.start));
        m.push_back(static_cast<double>(o.memory_bytes) / std::max(1e-9, mem.end - mem.start));
      }
    out.push_back({node, rank, spread_of(f), spread_of(m)});
    say(fmt::format("device {}: sgemm {:.1f} GFLOP/s, memory {}", t.nodes[node].name, out.back().flops.median / 1e9,
                    core::format_rate(out.back().memory_bandwidth.median)));
  }
  return out;
}
}  // namespace

ProbeResult run_probe(const topo::Topology& t, const ProbeOptions& o, const ProbeRunner& runner, const Say& progress) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
  const Say say = [&](const std::string& line) {
    if (progress) progress(fmt::format("probe: [{:6.1f} s] {}", elapsed(), line));
  };
  ProbeResult res;
  const auto pairs = probe_pairs(t);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& pair = pairs[i];
    if (elapsed() > o.budget_s) {
      res.notes.push_back(fmt::format("{} ({}) not measured: the probe's time budget of {:.0f} s was spent",
                                      pair_name(t, pair), name(pair.kind), o.budget_s));
      say(res.notes.back());
      continue;
    }
    try {
      res.pairs.push_back(measure_pair(t, pair, fmt::format("{}/{}", i + 1, pairs.size()), o, runner, res.notes, say));
    } catch (const RunError& e) {
      PairResult r;
      r.pair = pair;
      r.error = e.what();
      say(fmt::format("pair {} failed: {}", pair_name(t, pair), r.error));
      res.pairs.push_back(std::move(r));
    }
  }
  if (!device_ranks(t).empty()) {
    try {
      res.devices = measure_devices(t, o, runner, say);
    } catch (const RunError& e) {
      res.device_error = e.what();
      say(fmt::format("devices failed: {}", res.device_error));
    }
  }
  res.seconds = elapsed();
  say(fmt::format("done in {:.1f} s", res.seconds));
  return res;
}

namespace {
// Per direction (from node, to node), the estimates of every pair that crossed it.
struct DirectionEstimates {
  std::vector<double> goodput, latency, overhead;
  std::vector<std::string> spreads;  // per pair: what its figures came from, min..max
};

// "one flow 11.7 MB/s..12.0 MB/s (2 runs), 8 B one-way 14.3 us..169.8 us (12)": a calibration entry's spread.
std::string spread_text(const Spread& flow, const PairResult& p) {
  std::string s = fmt::format("one flow {}..{} ({} runs)", core::format_rate(flow.min), core::format_rate(flow.max), flow.n);
  if (!p.one_way.empty())
    s += fmt::format(", {} one-way {}..{} ({})", core::format_bytes(static_cast<double>(p.sizes.front())),
                     core::format_seconds(p.one_way.front().min), core::format_seconds(p.one_way.front().max),
                     p.one_way.front().n);
  return s;
}

// The overhead a fixed cost implies on a link: the topology's, but never more than half the fixed
// cost (a message pays it at both ends), the rest being latency.
std::pair<double, double> split_fixed(double fixed, double preset_overhead, int hops) {
  fixed = std::max(0.0, fixed);
  const double overhead = std::min(preset_overhead, fixed / 2);
  return {overhead, (fixed - 2 * overhead) / hops};
}

const topo::Link* link_between(const topo::Topology& t, int x, int y) {
  for (const auto& l : t.links)
    if ((l.a == x && l.b == y) || (l.a == y && l.b == x)) return &l;
  return nullptr;
}
}  // namespace

topo::Calibration to_calibration(const topo::Topology& t, const ProbeResult& r, const topo::Provenance& when,
                                 std::vector<std::string>* notes) {
  topo::Calibration c;
  c.topology = t.name;
  c.when = when;
  std::map<std::pair<int, int>, DirectionEstimates> dirs;
  std::vector<std::pair<int, int>> order;
  auto estimate = [&](int x, int y, double goodput, double latency, double overhead, std::string spread) {
    auto [it, fresh] = dirs.try_emplace({x, y});
    if (fresh) order.emplace_back(x, y);
    it->second.spreads.push_back(std::move(spread));
    if (goodput > 0) it->second.goodput.push_back(goodput);
    it->second.latency.push_back(latency);
    it->second.overhead.push_back(overhead);
  };
  for (const auto& p : r.pairs) {
    if (!p.error.empty() || p.pair.kind == PairKind::Forwarded) continue;
    const auto& route = p.pair.route;
    const int hops = static_cast<int>(route.size()) - 1;
    const topo::Link* first = link_between(t, route[0], route[1]);
    const auto [overhead, latency] = split_fixed(p.fixed_s, first ? first->type.overhead : 0, hops);
    for (int h = 0; h < hops; ++h) {
      estimate(route[h], route[h + 1], p.stream_ab.median, latency, overhead, spread_text(p.stream_ab, p));
      estimate(route[h + 1], route[h], p.stream_ba.median, latency, overhead, spread_text(p.stream_ba, p));
    }
  }
  const std::string how = fmt::format("{}; goodput: one flow, median of the streams; latency + overhead: "
                                      "the median one-way time of the ping-pongs up to 1 KiB less their bytes at the goodput",
                                      when.how);
  for (auto [x, y] : order) {
    const auto& e = dirs.at({x, y});
    if (e.goodput.empty()) continue;
    topo::LinkCalibration l;
    l.from = t.nodes[x].name;
    l.to = t.nodes[y].name;
    l.goodput = spread_of(e.goodput).median;
    l.latency = spread_of(e.latency).median;
    l.overhead = spread_of(e.overhead).median;
    l.when = {when.measured, how};
    for (const auto& s : e.spreads) l.spread += (l.spread.empty() ? "" : "; ") + s;
    c.links.push_back(l);
  }
  // A forwarded pair's fixed cost beyond its hops' latencies and its ends' overheads is the
  // forwarder's latency; its goodput below the slower hop's is the forwarder's transit limit.
  auto calibrated_hop = [&](int x, int y) -> const topo::LinkCalibration* {
    for (const auto& l : c.links)
      if (l.from == t.nodes[x].name && l.to == t.nodes[y].name) return &l;
    return nullptr;
  };
  for (const auto& p : r.pairs) {
    if (!p.error.empty() || p.pair.kind != PairKind::Forwarded) continue;
    const auto& route = p.pair.route;
    // Per direction: the sum of the hops' latencies and the slowest hop's goodput.
    auto hops_of = [&](bool forward, double& latency, double& slowest) {
      latency = 0;
      slowest = 1e300;
      for (size_t h = 0; h + 1 < route.size(); ++h) {
        const int x = forward ? route[h] : route[route.size() - 1 - h];
        const int y = forward ? route[h + 1] : route[route.size() - 2 - h];
        const auto* l = calibrated_hop(x, y);
        if (!l) return false;
        if (!l->latency) return false;
        latency += *l->latency;
        slowest = std::min(slowest, l->goodput);
      }
      return true;
    };
    double lat_ab = 0, slow_ab = 0, lat_ba = 0, slow_ba = 0;
    const auto* first = calibrated_hop(route[0], route[1]);
    if (!first || !hops_of(true, lat_ab, slow_ab) || !hops_of(false, lat_ba, slow_ba)) continue;
    topo::ForwarderCalibration f;
    f.node = t.nodes[p.pair.forwarder].name;
    f.spread = fmt::format("{} -> {}: {}; back: {}", t.nodes[p.pair.a].name, t.nodes[p.pair.b].name,
                           spread_text(p.stream_ab, p), spread_text(p.stream_ba, p));
    f.latency = std::max(0.0, p.fixed_s - (lat_ab + lat_ba) / 2 - 2 * first->overhead.value_or(0));
    // A direction moving well below its slowest hop was held back by the forwarder.
    std::optional<double> limit;
    if (p.stream_ab.median > 0 && p.stream_ab.median < 0.97 * slow_ab) limit = p.stream_ab.median;
    if (p.stream_ba.median > 0 && p.stream_ba.median < 0.97 * slow_ba) limit = std::min(limit.value_or(1e300), p.stream_ba.median);
    if (limit) {
      f.bandwidth = limit;
    } else if (notes) {
      notes->push_back(fmt::format("{} forwards {} -> {} at {} and back at {}, as fast as its hops allow: not a limit, "
                                   "its forward_bandwidth is left as the topology says",
                                   f.node, t.nodes[p.pair.a].name, t.nodes[p.pair.b].name,
                                   core::format_rate(p.stream_ab.median), core::format_rate(p.stream_ba.median)));
    }
    f.when = {when.measured, fmt::format("{}; route {} -> {} against the sum of its hops", when.how,
                                         t.nodes[p.pair.a].name, t.nodes[p.pair.b].name)};
    c.forwarders.push_back(f);
  }
  for (const auto& d : r.devices) {
    topo::DeviceCalibration dc;
    dc.node = t.nodes[d.node].name;
    if (d.flops.n > 0) dc.flops = d.flops.median;
    if (d.memory_bandwidth.n > 0) dc.memory_bandwidth = d.memory_bandwidth.median;
    dc.spread = fmt::format("sgemm {:.2f}..{:.2f} GFLOP/s, memory {}..{} ({} runs)", d.flops.min / 1e9, d.flops.max / 1e9,
                            core::format_rate(d.memory_bandwidth.min), core::format_rate(d.memory_bandwidth.max), d.flops.n);
    dc.when = {when.measured, fmt::format("{}; sgemm fp32 through CBLAS (one BLAS thread, as the executor runs it) "
                                          "and a streaming read+write pass, medians",
                                          when.how)};
    if (dc.flops || dc.memory_bandwidth) c.devices.push_back(dc);
  }
  return c;
}

std::string probe_report(const topo::Topology& t, const ProbeResult& r) {
  std::string out;
  for (const auto& p : r.pairs) {
    out += fmt::format("# {} ({}{})\n", pair_name(t, p.pair), name(p.pair.kind),
                       p.pair.forwarder >= 0 ? ", through " + t.nodes[p.pair.forwarder].name : "");
    if (!p.error.empty()) {
      out += fmt::format("#   failed: {}\n", p.error);
      continue;
    }
    out += fmt::format("#   {:>12} {:>12} {:>12} {:>12} {:>12}\n", "size", "one-way min", "median", "max", "fit");
    for (size_t i = 0; i < p.sizes.size(); ++i) {
      const auto& s = p.one_way[i];
      const double fit = p.fit.fixed_s + (p.fit.bytes_per_s > 0 ? p.sizes[i] / p.fit.bytes_per_s : 0);
      out += fmt::format("    {:>12} {:>12} {:>12} {:>12} {:>12}\n", core::format_bytes(static_cast<double>(p.sizes[i])),
                         core::format_seconds(s.min), core::format_seconds(s.median), core::format_seconds(s.max),
                         core::format_seconds(fit));
    }
    out += fmt::format("    fixed cost {} (the ping-pongs up to 1 KiB: median one-way time less the bytes at the one-flow goodput)\n",
                       core::format_seconds(p.fixed_s));
    out += fmt::format("    fit: {} + bytes / {} (rms residual {:.1f} %, max {:.1f} %, {} points)\n",
                       core::format_seconds(p.fit.fixed_s), core::format_rate(p.fit.bytes_per_s), p.fit.rms_relative * 100,
                       p.fit.max_relative * 100, p.fit.points);
    out += fmt::format("    one flow   {} -> {}: {}; {} -> {}: {}   (median (min..max))\n", t.nodes[p.pair.a].name,
                       t.nodes[p.pair.b].name, rate_spread(p.stream_ab), t.nodes[p.pair.b].name, t.nodes[p.pair.a].name,
                       rate_spread(p.stream_ba));
    out += fmt::format("    both ways  {} -> {}: {}; {} -> {}: {}   (the faster direction reads no faster than the slower)\n", t.nodes[p.pair.a].name, t.nodes[p.pair.b].name,
                       rate_spread(p.both_ab), t.nodes[p.pair.b].name, t.nodes[p.pair.a].name, rate_spread(p.both_ba));
  }
  for (const auto& d : r.devices)
    out += fmt::format("# device {}: sgemm {:.2f} GFLOP/s ({:.2f}..{:.2f}), memory {} ({}..{})\n", t.nodes[d.node].name,
                       d.flops.median / 1e9, d.flops.min / 1e9, d.flops.max / 1e9, core::format_rate(d.memory_bandwidth.median),
                       core::format_rate(d.memory_bandwidth.min), core::format_rate(d.memory_bandwidth.max));
  if (!r.device_error.empty()) out += fmt::format("# devices failed: {}\n", r.device_error);
  for (const auto& n : r.notes) out += fmt::format("# note: {}\n", n);
  return out;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace clustertwin::exec
