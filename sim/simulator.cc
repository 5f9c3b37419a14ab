#include "sim/simulator.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include "sim/platform.h"
#include "workloads/collectives.h"

namespace clustertwin::sim {

namespace sg4 = simgrid::s4u;

namespace {

// CM02 is the plain max-min flow model: a message of S bytes over a route takes
// sum(latency) + S / (max-min share of the bottleneck). Latency and bandwidth factors are 1 and the
// TCP-window bound and cross-traffic are off, so link figures mean what the presets say (LV08's
// WAN factors, 13.01x latency and 0.97x bandwidth, would silently distort Thunderbolt links).
constexpr const char* kModelConfig[] = {
    "network/model:CM02",      "network/latency-factor:1", "network/bandwidth-factor:1",
    "network/weight-S:0",      "network/TCP-gamma:0",      "network/crosstraffic:0",
    "cpu/optim:Lazy",          "network/optim:Lazy",
};

// State of one rank's interpreter: its ops, what each still waits for, what is in flight.
class RankInterpreter {
 public:
  RankInterpreter(const core::Program& p, int rank, const topo::Device& device, std::vector<core::OpRecord>& out)
      : p_(p), rank_(rank), ops_(p.ranks[rank].ops), device_(device), out_(out), waiting_(ops_.size()),
        successors_(ops_.size()), coll_(ops_.size()) {}

  void operator()() {
    for (size_t i = 0; i < ops_.size(); ++i) {
      waiting_[i] = ops_[i].deps.size();
      for (uint32_t d : ops_[i].deps) successors_[d].push_back(static_cast<uint32_t>(i));
    }
    for (size_t i = 0; i < ops_.size(); ++i)
      if (waiting_[i] == 0) start(static_cast<uint32_t>(i));
    while (!inflight_.empty()) {
      ssize_t k = sg4::Activity::wait_any(inflight_);
      Owner owner = owners_[k];
      inflight_.erase(inflight_.begin() + k);
      owners_.erase(owners_.begin() + k);
      on_complete(owner);
    }
  }

 private:
  enum class What { OpDone, StepComm, StepReduce };
  struct Owner {
    uint32_t op;
    What what;
  };
  struct CollState {
    std::vector<work::P2PStep> plan;
    size_t step = 0;
    int comms_left = 0;
  };

  double seconds(double flops, double bytes, core::DType t) const {
    return topo::roofline_seconds(device_, flops, bytes, t);
  }
  // SimGrid executes FLOPs at the host's speed; express the roofline time in those FLOPs.
  sg4::ExecPtr exec_for(double secs) { return sg4::this_actor::exec_async(secs * sg4::this_actor::get_host()->get_speed()); }

  void track(sg4::ActivityPtr a, uint32_t op, What w) {
    inflight_.push_back(std::move(a));
    owners_.push_back({op, w});
  }

  static sg4::Mailbox* mailbox(char kind, int tag, size_t step, int src, int dst) {
    return sg4::Mailbox::by_name(fmt::format("{}{}.{}:{}>{}", kind, tag, step, src, dst));
  }

  void start(uint32_t i) {
    const core::Op& op = ops_[i];
    out_[i] = {rank_, i, sg4::Engine::get_clock(), 0};
    switch (op.kind) {
      case core::OpKind::Compute: track(exec_for(seconds(op.flops, op.bytes, op.dtype)), i, What::OpDone); break;
      case core::OpKind::Send:
        track(mailbox('p', op.tag, 0, rank_, op.peer)->put_async(&payload_, static_cast<uint64_t>(op.bytes)), i, What::OpDone);
        break;
      case core::OpKind::Recv:
        track(mailbox('p', op.tag, 0, op.peer, rank_)->get_async(&received_), i, What::OpDone);
        break;
      case core::OpKind::Collective: {
        auto count = static_cast<int64_t>(op.bytes / core::size_of(op.dtype));
        coll_[i].plan = work::plan_collective(op.collective, op.algorithm, p_.groups[op.group], rank_, count);
        coll_[i].step = 0;
        start_step(i);
        break;
      }
    }
  }

  void start_step(uint32_t i) {
    CollState& c = coll_[i];
    if (c.step == c.plan.size()) return finish(i);
    const core::Op& op = ops_[i];
    const work::P2PStep& s = c.plan[c.step];
    const int esize = core::size_of(op.dtype);
    track(mailbox('c', op.tag, c.step, rank_, s.send_to)->put_async(&payload_, static_cast<uint64_t>(s.send.count * esize)), i, What::StepComm);
    track(mailbox('c', op.tag, c.step, s.recv_from, rank_)->get_async(&received_), i, What::StepComm);
    c.comms_left = 2;
  }

  void on_complete(Owner o) {
    if (o.what == What::OpDone) return finish(o.op);
    CollState& c = coll_[o.op];
    if (o.what == What::StepComm && --c.comms_left > 0) return;
    const work::P2PStep& s = c.plan[c.step];
    if (o.what == What::StepComm && s.reduce && s.recv.count > 0) {
      // Adding the received chunk into the buffer: one FLOP per element, read two, write one.
      const double bytes = static_cast<double>(s.recv.count) * core::size_of(ops_[o.op].dtype);
      track(exec_for(seconds(static_cast<double>(s.recv.count), 3 * bytes, ops_[o.op].dtype)), o.op, What::StepReduce);
      return;
    }
    ++c.step;
    start_step(o.op);
  }

  void finish(uint32_t i) {
    out_[i].end = sg4::Engine::get_clock();
    ++done_;
    for (uint32_t s : successors_[i])
      if (--waiting_[s] == 0) start(s);
  }

  const core::Program& p_;
  int rank_;
  const std::vector<core::Op>& ops_;
  const topo::Device& device_;
  std::vector<core::OpRecord>& out_;
  std::vector<size_t> waiting_;
  std::vector<std::vector<uint32_t>> successors_;
  std::vector<CollState> coll_;
  std::vector<sg4::ActivityPtr> inflight_;
  std::vector<Owner> owners_;
  size_t done_ = 0;
  int payload_ = 0;  // SimGrid moves a pointer; only the declared size costs time
  int* received_ = nullptr;

 public:
  size_t done() const { return done_; }
};

// The ordered rank pairs that exchange messages in the Program: only they need a route.
std::vector<std::pair<int, int>> talking_pairs(const core::Program& p) {
  std::set<std::pair<int, int>> pairs;
  for (const auto& rp : p.ranks) {
    for (const auto& op : rp.ops) {
      if (op.kind == core::OpKind::Send) pairs.insert({rp.rank, op.peer});
      if (op.kind != core::OpKind::Collective) continue;
      auto count = static_cast<int64_t>(op.bytes / core::size_of(op.dtype));
      for (const auto& s : work::plan_collective(op.collective, op.algorithm, p.groups.at(op.group), rp.rank, count))
        pairs.insert({rp.rank, s.send_to});
    }
  }
  return {pairs.begin(), pairs.end()};
}

std::vector<core::OpRecord> simulate_here(const core::Program& p, const topo::Topology& t) {
  int argc = 1;
  char arg0[] = "clustertwin";
  char* argv[] = {arg0, nullptr};
  xbt_log_control_set("root.thresh:critical");
  sg4::Engine engine(&argc, argv);
  for (const char* c : kModelConfig) sg4::Engine::set_config(c);

  if (static_cast<int>(t.compute_nodes().size()) != p.world())
    throw SimError(fmt::format("sim: the program has {} ranks but topology '{}' has {} nodes that run ranks",
                               p.world(), t.name, t.compute_nodes().size()));
  auto hosts = build_platform(t, talking_pairs(p));
  auto compute = t.compute_nodes();
  std::vector<std::vector<core::OpRecord>> per_rank(p.world());
  std::vector<std::unique_ptr<RankInterpreter>> ranks;
  for (int r = 0; r < p.world(); ++r) {
    per_rank[r].resize(p.ranks[r].ops.size());
    ranks.push_back(std::make_unique<RankInterpreter>(p, r, *t.nodes[compute[r]].device, per_rank[r]));
    RankInterpreter* ri = ranks.back().get();
    sg4::Actor::create(fmt::format("rank{}", r), hosts[r], [ri] { (*ri)(); });
  }
  engine.run();

  std::vector<core::OpRecord> out;
  for (int r = 0; r < p.world(); ++r) {
    if (ranks[r]->done() != p.ranks[r].ops.size()) {
      size_t stuck = ranks[r]->done();
      throw SimError(fmt::format("sim: the program deadlocks: rank {} finished {} of {} ops (a send without a "
                                 "matching recv, or a cycle between ranks)",
                                 r, stuck, p.ranks[r].ops.size()));
    }
    out.insert(out.end(), per_rank[r].begin(), per_rank[r].end());
  }
  return out;
}

// SimGrid keeps global state per process and cannot start a second engine: every simulation runs
// in a child forked from a process that never ran one, and sends its records back over a pipe.
std::vector<core::OpRecord> simulate_in_child(const core::Program& p, const topo::Topology& t) {
  int fds[2];
  if (pipe(fds) != 0) throw SimError(fmt::format("sim: pipe: {}", std::strerror(errno)));
  // The child would otherwise inherit, and SimGrid flush, a copy of our unwritten stdout.
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw SimError(fmt::format("sim: fork: {}", std::strerror(errno)));
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    std::vector<core::OpRecord> recs;
    try {
      recs = simulate_here(p, t);
    } catch (const std::exception& e) {
      msg = e.what();
    }
    uint64_t header[2] = {recs.size(), msg.size()};
    auto put = [&](const void* d, size_t n) {
      const char* c = static_cast<const char*>(d);
      while (n > 0) {
        ssize_t w = write(fds[1], c, n);
        if (w <= 0) _exit(3);
        c += w, n -= static_cast<size_t>(w);
      }
    };
    put(header, sizeof header);
    put(msg.data(), msg.size());
    put(recs.data(), recs.size() * sizeof(core::OpRecord));
    _exit(0);
  }
  close(fds[1]);
  auto get = [&](void* d, size_t n) {
    char* c = static_cast<char*>(d);
    while (n > 0) {
      ssize_t r = read(fds[0], c, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      c += r, n -= static_cast<size_t>(r);
    }
    return true;
  };
  uint64_t header[2] = {0, 0};
  std::vector<core::OpRecord> recs;
  std::string msg;
  bool ok = get(header, sizeof header);
  if (ok) {
    msg.resize(header[1]);
    recs.resize(header[0]);
    ok = get(msg.data(), msg.size()) && get(recs.data(), recs.size() * sizeof(core::OpRecord));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok) throw SimError("sim: the simulation process died before reporting (see its messages above)");
  if (!msg.empty()) throw SimError(msg);
  return recs;
}
}  // namespace

bool available() { return true; }

std::vector<core::OpRecord> simulate(const core::Program& program, const topo::Topology& topology) {
  return simulate_in_child(program, topology);
}

std::string model_description() {
  return "SimGrid 3.32 CM02 max-min flows, latency and bandwidth factors 1, no TCP window bound, no cross-traffic";
}

}  // namespace clustertwin::sim
