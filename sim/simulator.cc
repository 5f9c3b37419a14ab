#include "sim/simulator.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>

#include <fmt/format.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include "core/diag.h"
#include "core/fd.h"
#include "sim/platform.h"
#include "topologies/placement.h"
#include "workloads/collectives.h"

namespace clustertwin::sim {

namespace sg4 = simgrid::s4u;

namespace {

// CM02 is the plain max-min flow model: bytes move at the max-min share of the route's bottleneck.
// Latency and bandwidth factors are 1 and the TCP-window bound and cross-traffic are off, so link
// figures mean what the presets say (LV08's WAN factors, 13.01x latency and 0.97x bandwidth, would
// silently distort Thunderbolt links). SimGrid links carry no latency: CM02 weighs a flow's share
// by its route latency (a 10 us flow would take 99 % of a link shared with a 1 ms one), so the
// route latency is charged as a delay before the bytes move, and flows share links equally. The
// CPU model is the full one: the lazy one completed a resumed execution (a receiver parked in
// Deliveries, a member at a Rendezvous) only at the next event.
constexpr const char* kModelConfig[] = {
    "network/model:CM02",      "network/latency-factor:1", "network/bandwidth-factor:1",
    "network/weight-S:0",      "network/TCP-gamma:0",      "network/crosstraffic:0",
    "cpu/optim:Full",          "network/optim:Lazy",
};

// Sends up to this many bytes are eager, as the executor's are: written into the transport's
// buffer (a TCP socket takes up to 4 MiB before write() blocks, Linux's tcp_wmem and macOS's
// autotuned send space alike), they leave without holding the sender, and move whether or not
// the receiver has posted its receive (it drains its sockets continuously). Larger ones hold the
// sender until their bytes have moved.
constexpr double kEagerBytes = 4 << 20;

// Consecutive steps of a collective plan that exchange with the same two peers, merged into one
// transfer: SimGrid moves their bytes as one communication, and the latencies and overheads of the
// merged steps are charged as one delay before it (a transfer of one step pays its own the same way). With the same flows active throughout, max-min
// sharing gives each step the same rate either way, so on uniform links the time equals the
// step-by-step expansion (2(n-1) SimGrid communications per rank for a ring) while costing one.
//
// Plans are lockstep (a chunk sent at step s is received at step s), so a transfer's messages are
// named by its first step. Merging is only sound where every member's plan changes peers at the
// same steps, so that a sender's merged run is exactly its receiver's: ring and hierarchical
// (rings inside and across blocks). Other algorithms (tree, halving-doubling, direct) keep one
// transfer per step; they have O(log n) or per-peer steps anyway. Idle steps are skipped.
//
// A plan of several lanes (bidirectional and striped rings) is merged lane by lane: each lane is its
// own sequence of transfers, and the lanes run at once.
struct Transfer {
  int32_t send_to = -1, recv_from = -1;
  double send_bytes = 0;
  double recv_bytes = 0;  // the sender's send_bytes of the same steps (plans are lockstep)
  int steps = 0;
  double reduce_elements = 0;  // received elements added into the buffer
  uint32_t first_step = 0;     // names the transfer's messages on both sides
  int channel = 0;             // which parallel connection carries it (platform.h)
  uint32_t last_step = 0;      // the plan index of its last step
};
using Lanes = std::vector<std::vector<Transfer>>;  // one sequence of transfers per lane

bool mergeable(core::Algorithm a) {
  return a == core::Algorithm::Ring || a == core::Algorithm::Hierarchical || a == core::Algorithm::BidirectionalRing;
}

Lanes merge_steps(const std::vector<work::P2PStep>& plan, int esize, bool merge) {
  int lanes = 1;
  for (const auto& s : plan) lanes = std::max(lanes, s.lane + 1);
  Lanes out(lanes);
  for (size_t i = 0; i < plan.size(); ++i) {
    const work::P2PStep& s = plan[i];
    if (s.send_to < 0 && s.recv_from < 0) continue;
    auto& seq = out[s.lane];
    bool extend = merge && !seq.empty() && seq.back().send_to == s.send_to && seq.back().recv_from == s.recv_from &&
                  seq.back().channel == s.channel && seq.back().last_step + lanes == i;
    if (!extend) seq.push_back({s.send_to, s.recv_from, 0, 0, 0, 0, static_cast<uint32_t>(i), s.channel, 0});
    Transfer& t = seq.back();
    t.send_bytes += static_cast<double>(s.send.count) * esize;
    t.recv_bytes += static_cast<double>(s.recv.count) * esize;
    t.steps += 1;
    t.last_step = static_cast<uint32_t>(i);
    if (s.reduce) t.reduce_elements += static_cast<double>(s.recv.count);
  }
  std::erase_if(out, [](const auto& seq) { return seq.empty(); });
  return out;
}

// Each rank's merged transfers per distinct collective shape: a DDP program repeats the same
// all-reduce every step, and the platform needs the peers before the interpreters run.
class TransferPlans {
 public:
  explicit TransferPlans(const core::Program& p) : p_(p) {}

  const Lanes& of(int rank, const core::Op& op) {
    auto count = static_cast<int64_t>(op.bytes / core::size_of(op.dtype));
    Key key{rank, op.group, static_cast<int>(op.collective), static_cast<int>(op.algorithm), count,
            core::size_of(op.dtype), op.root, op.local, op.stripes};
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    auto plan = work::plan_collective(op, p_.groups.at(op.group), rank, count);
    return cache_.emplace(key, merge_steps(plan, core::size_of(op.dtype), merged(op))).first->second;
  }

  // Whether op's steps are merged (see Transfer): a ring-like algorithm on a group whose every
  // pair of neighbours costs the same. On a ring of unequal links the steps stay one by one: each
  // waits for what the previous one received, so a step pays the links its data crosses, where a
  // merged ring would pay the slowest link at every step (on seed 001's hybrid, a 64-byte
  // all-reduce twice over).
  bool merged(const core::Op& op) const {
    if (!mergeable(op.algorithm)) return false;
    if (!costs_) return true;  // before the platform: only the peers are wanted, which merging keeps
    auto it = uniform_.find(op.group);
    if (it != uniform_.end()) return it->second;
    return uniform_[op.group] = uniform(p_.groups.at(op.group));
  }

  // From now on (the platform is built) merge only where the costs allow: the plans made for the
  // peers are dropped.
  void set_costs(const PairCosts& costs) {
    costs_ = &costs;
    cache_.clear();
  }

 private:
  bool uniform(const std::vector<int32_t>& group) const {
    std::optional<PairCost> first;
    auto same = [](double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(std::abs(a), std::abs(b)); };
    for (size_t k = 0; k < group.size(); ++k)
      for (int32_t peer : {group[(k + 1) % group.size()], group[(k + group.size() - 1) % group.size()]}) {
        if (peer == group[k]) continue;
        auto c = costs_->find({group[k], peer});
        if (c == costs_->end()) continue;
        if (!first) first = c->second;
        if (!same(first->overhead + first->latency, c->second.overhead + c->second.latency) ||
            !same(first->bandwidth, c->second.bandwidth))
          return false;
      }
    return true;
  }

  using Key = std::tuple<int, int, int, int, int64_t, int, int, int, int>;
  const core::Program& p_;
  std::map<Key, Lanes> cache_;
  const PairCosts* costs_ = nullptr;
  mutable std::map<int, bool> uniform_;  // by group
};

// Where the members of a merged collective meet. A merged transfer moves a member's bytes for
// several ring steps at once, which drops the causality of the steps: a member could finish
// before the last one has even arrived, or before the slowest link has carried the data it
// forwards. Real rings are causal (each step forwards what the previous one received), so a
// merged collective starts when its last member arrives and ends, for every member, when the
// last member's transfers end: the lockstep the merging assumes, exact on the equal rings that
// are merged (TransferPlans::merged).
//
// A member that is not last parks on a suspended timer delay (SimGrid 3.32 has no asynchronous
// barrier); the last arrival resumes every parked delay.
class Rendezvous {
 public:
  // (group, tag, occurrence of that (group, tag) on the rank, 0 = start / 1 = end)
  using Key = std::tuple<int, int, int, int>;

  explicit Rendezvous(sg4::Host* timer) : timer_(timer) {}

  // Arrival of one of `members`: nullptr for the last one (every parked member is released),
  // otherwise the activity that completes when the last one arrives. Every s4u call yields to the
  // other actors, so the meeting's state is updated before any of them.
  sg4::ExecPtr arrive(const Key& key, size_t members) {
    auto& slot = meetings_[key];
    if (!slot) slot = std::make_shared<Meeting>();
    std::shared_ptr<Meeting> m = slot;
    if (++m->arrived == members) {
      meetings_.erase(key);
      m->released = true;
      for (auto& e : m->parked) e->resume();
      return nullptr;
    }
    sg4::ExecPtr e = sg4::this_actor::exec_init(1);  // one FLOP: a nanosecond on the timer
    e->set_host(timer_);
    e->start();
    e->suspend();
    if (m->released) e->resume();  // the last member came while this one was parking
    else m->parked.push_back(e);
    return e;
  }

 private:
  struct Meeting {
    size_t arrived = 0;
    bool released = false;
    std::vector<sg4::ExecPtr> parked;
  };
  sg4::Host* timer_;
  std::map<Key, std::shared_ptr<Meeting>> meetings_;
};

// Eager messages whose bytes have arrived, and receivers waiting for them, per message (kind,
// tag, index, src, dst; messages of one key are matched in order). The receiver is told without
// the network: a 0-byte SimGrid communication on a busy route completes only with the flows
// sharing it (seen: 1.7 ms behind a 1 MB chunk), which would add a transfer to every step. A
// waiting receiver parks on a suspended timer delay, as at a Rendezvous.
class Deliveries {
 public:
  using Key = std::tuple<char, int, uint32_t, int, int>;

  explicit Deliveries(sg4::Host* timer) : timer_(timer) {}

  void arrived(const Key& key) {
    Slot& s = slots_[key];
    if (s.parked.empty()) {
      ++s.ready;
      return;
    }
    sg4::ExecPtr e = s.parked.front();
    s.parked.pop_front();
    e->resume();
  }

  // nullptr when the message has arrived already (it is taken), else an activity that completes
  // when it does. s4u calls yield to other actors: an arrival while parking is checked after.
  sg4::ExecPtr wait(const Key& key) {
    Slot& s = slots_[key];
    if (s.ready > 0) {
      --s.ready;
      return nullptr;
    }
    sg4::ExecPtr e = sg4::this_actor::exec_init(1);  // one FLOP: a nanosecond on the timer
    e->set_host(timer_);
    e->start();
    e->suspend();
    if (s.ready > 0) {
      --s.ready;
      e->resume();
    } else {
      s.parked.push_back(e);
    }
    return e;
  }

 private:
  struct Slot {
    int ready = 0;
    std::deque<sg4::ExecPtr> parked;
  };
  sg4::Host* timer_;
  std::map<Key, Slot> slots_;
};

// State of one rank's interpreter: its ops, what each still waits for, what is in flight.
class RankInterpreter {
 public:
  RankInterpreter(const core::Program& p, int rank, const topo::Device& device, const Platform& platform,
                  TransferPlans& plans, Rendezvous& rendezvous, Deliveries& deliveries, std::vector<core::OpRecord>& out)
      : rank_(rank), program_(p), ops_(p.ranks[rank].ops), device_(device), costs_(platform.costs), platform_(platform),
        plans_(plans), rendezvous_(rendezvous), deliveries_(deliveries), timer_(platform.timer), out_(out), waiting_(ops_.size()),
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
      inflight_[k] = std::move(inflight_.back());
      inflight_.pop_back();
      owners_[k] = owners_.back();
      owners_.pop_back();
      on_complete(owner);
    }
  }

  size_t done() const { return done_; }

 private:
  // EagerDelay -> EagerBytes: an eager message's arrival delay, then its bytes host to host (the
  // receiver is then told through Deliveries); neither holds the sender.
  enum class What { OpDone, SendDelay, Delay, Comm, Striped, Reduce, Called, Started, Ended, EagerDelay, EagerBytes };
  struct Owner {
    uint32_t op;
    What what;
    int lane = 0;  // collectives: the lane; eager messages: their index in eager_
  };
  // A message on its way without its sender: where its bytes go and whom to tell.
  struct Eager {
    sg4::Host *from = nullptr, *to = nullptr;
    uint64_t bytes = 0;
    Deliveries::Key told;
    uint32_t op = 0;
    uint64_t seq = 0;  // its place on the connection
  };
  struct Connection {
    bool busy = false;           // a message's bytes are moving
    uint64_t sent = 0, next = 0;  // messages sent on it; the sequence number to move next
    std::map<uint64_t, int> ready;  // eager_ index by sequence number, once its delay has passed
  };
  struct LaneState {
    size_t next = 0;  // transfer in progress
    int pending = 0;  // its activities still running
  };
  struct CollState {
    const Lanes* lanes = nullptr;
    std::vector<LaneState> lane;
    size_t running = 0;   // lanes not finished
    int occurrence = -1;  // merged collectives: which meeting of its (group, tag) on this rank
  };

  double seconds(double flops, double bytes, core::DType t) const {
    return topo::roofline_seconds(device_, flops, bytes, t);
  }
  // SimGrid executes FLOPs at the host's speed; express the roofline time in those FLOPs.
  sg4::ExecPtr exec_for(double secs) { return sg4::this_actor::exec_async(secs * sg4::this_actor::get_host()->get_speed()); }
  // A pure delay: an execution on the timer host, whose cores outnumber any concurrent delays.
  sg4::ExecPtr delay(double secs) {
    sg4::ExecPtr e = sg4::this_actor::exec_init(secs * kTimerSpeed);
    e->set_host(timer_);
    e->start();
    return e;
  }

  void track(sg4::ActivityPtr a, uint32_t op, What w, int lane = 0) {
    inflight_.push_back(std::move(a));
    owners_.push_back({op, w, lane});
  }

  static sg4::Mailbox* mailbox(char kind, int tag, uint32_t index, int src, int dst) {
    return sg4::Mailbox::by_name(fmt::format("{}{}.{}:{}>{}", kind, tag, index, src, dst));
  }

  const PairCost& cost(int dst, int channel = 0) const {
    if (channel == 0) return costs_.at({rank_, dst});
    return platform_.channel_costs.at({rank_, dst, channel});
  }

  void start(uint32_t i) {
    const core::Op& op = ops_[i];
    out_[i] = {rank_, i, sg4::Engine::get_clock(), 0};
    switch (op.kind) {
      case core::OpKind::Compute:
        track(exec_for(seconds(op.flops, op.bytes, op.dtype) + op.overhead), i, What::OpDone);
        break;
      case core::OpKind::Send: {
        const PairCost& pc = cost(op.peer);
        if (op.bytes <= kEagerBytes) {
          // Eager: the runtime's call holds the sender; the bytes then leave on their own.
          send_eager(i, op.overhead, pc.overhead + pc.latency, platform_.rank_hosts[rank_], platform_.rank_hosts[op.peer],
                     Deliveries::Key{'p', op.tag, 0, rank_, op.peer});
          track(delay(op.overhead), i, What::OpDone);
          break;
        }
        if (op.overhead + pc.overhead + pc.latency > 0) track(delay(op.overhead + pc.overhead + pc.latency), i, What::SendDelay);
        else put_message(i);
        break;
      }
      case core::OpKind::Recv:
        if (op.bytes <= kEagerBytes) {  // as its sender decided
          if (sg4::ExecPtr e = deliveries_.wait({'p', op.tag, 0, op.peer, rank_})) track(e, i, What::OpDone);
          else finish(i);
          break;
        }
        track(mailbox('p', op.tag, 0, op.peer, rank_)->get_async(&received_), i, What::OpDone);
        break;
      case core::OpKind::Collective: {
        const Lanes& lanes = plans_.of(rank_, op);
        coll_[i] = {&lanes, std::vector<LaneState>(lanes.size()), lanes.size(), -1};
        if (op.overhead > 0) return track(delay(op.overhead), i, What::Called);  // the runtime's call, then the plan
        begin_collective(i);
        break;
      }
    }
  }

  // A collective's plan: merged ones meet their group first (see Rendezvous).
  void begin_collective(uint32_t i) {
    const core::Op& op = ops_[i];
    if (!plans_.merged(op) || members(op) < 2) return start_lanes(i);
    coll_[i].occurrence = occurrences_[{op.group, op.tag}]++;
    meet(i, 0, What::Started);
  }

  size_t members(const core::Op& op) const { return program_.groups.at(op.group).size(); }

  // Arrives at the start (0) or end (1) meeting of merged collective op i; goes on at once when
  // last, else when the last member arrives.
  void meet(uint32_t i, int when, What then) {
    const core::Op& op = ops_[i];
    sg4::ExecPtr parked = rendezvous_.arrive({op.group, op.tag, coll_[i].occurrence, when}, members(op));
    if (parked) return track(parked, i, then);
    on_complete({i, then});
  }

  void put_message(uint32_t i) {
    const core::Op& op = ops_[i];
    track(mailbox('p', op.tag, 0, rank_, op.peer)->put_async(&payload_, static_cast<uint64_t>(op.bytes)), i, What::OpDone);
  }

  void start_lanes(uint32_t i) {
    if (coll_[i].lane.empty()) return end_collective(i);
    for (size_t l = 0; l < coll_[i].lane.size(); ++l) start_transfer(i, static_cast<int>(l));
  }

  void end_collective(uint32_t i) {
    if (coll_[i].occurrence >= 0) return meet(i, 1, What::Ended);
    finish(i);
  }

  // A transfer of one lane: [delay for the merged steps' latencies and overheads] -> send and
  // receive at once -> [the reduction of what arrived]. The collective ends with its last lane.
  void start_transfer(uint32_t i, int lane) {
    CollState& c = coll_[i];
    const auto& seq = (*c.lanes)[lane];
    if (c.lane[lane].next == seq.size()) {
      if (--c.running == 0) end_collective(i);
      return;
    }
    const Transfer& t = seq[c.lane[lane].next];
    const PairCost pc = t.send_to >= 0 ? cost(t.send_to, t.channel) : PairCost{};
    double extra = t.steps * (pc.overhead + pc.latency);
    if (t.send_to >= 0 && t.send_bytes <= kEagerBytes) {
      // The send is eager: it arrives after the delay without holding this lane, which waits
      // only for what it receives.
      const bool striped = t.channel != 0;
      send_eager(i, 0, extra, striped ? platform_.channel_hosts.at({rank_, t.channel}) : platform_.rank_hosts[rank_],
                 striped ? platform_.channel_hosts.at({t.send_to, t.channel}) : platform_.rank_hosts[t.send_to],
                 Deliveries::Key{'c', ops_[i].tag, t.first_step, rank_, t.send_to}, static_cast<int64_t>(t.send_bytes));
      return start_comm(i, lane, false);
    }
    if (extra > 0) track(delay(extra), i, What::Delay, lane);
    else start_comm(i, lane);
  }

  // Starts an eager message: after `hold` (the sender's own call, already charged to it by the
  // caller) and `arrival` more, its bytes move host to host, then the receiver is told (Deliveries,
  // `told`). `bytes` < 0: the op's own.
  void send_eager(uint32_t i, double hold, double arrival, sg4::Host* from, sg4::Host* to, const Deliveries::Key& told,
                  int64_t bytes = -1) {
    eager_.push_back({from, to, static_cast<uint64_t>(bytes < 0 ? ops_[i].bytes : static_cast<double>(bytes)), told});
    const int k = static_cast<int>(eager_.size() - 1);
    eager_[k].seq = connections_[{from, to}].sent++;
    if (hold + arrival > 0) return track(delay(hold + arrival), i, What::EagerDelay, k);
    move_eager(i, k);
  }

  // Messages between two hosts move one after the other in the order they were sent, as on one
  // TCP connection: a message whose delay has passed waits for the bytes before it (max-min
  // sharing would let it slow them, and delays that end at once complete in any order).
  void move_eager(uint32_t i, int k) {
    Eager& e = eager_[k];
    e.op = i;
    Connection& c = connections_[{e.from, e.to}];
    c.ready[e.seq] = k;
    start_next(c);
  }

  void start_next(Connection& c) {
    while (!c.busy) {
      auto it = c.ready.find(c.next);
      if (it == c.ready.end()) return;
      const int k = it->second;
      c.ready.erase(it);
      ++c.next;
      const Eager& e = eager_[k];
      // An empty message (a ring step of a buffer smaller than the ring) has nothing to move, and
      // a 0-byte SimGrid communication may never complete on an idle route.
      if (e.bytes == 0) {
        deliveries_.arrived(e.told);
        continue;
      }
      c.busy = true;
      track(sg4::Comm::sendto_async(e.from, e.to, e.bytes), e.op, What::EagerBytes, k);
    }
  }

  void moved_eager(int k) {
    const Eager& e = eager_[k];
    deliveries_.arrived(e.told);
    Connection& c = connections_[{e.from, e.to}];
    c.busy = false;
    start_next(c);
  }

  const Transfer& current(uint32_t i, int lane) const {
    const CollState& c = coll_[i];
    return (*c.lanes)[lane][c.lane[lane].next];
  }

  // A step may be one-sided (a tree's leaf only sends, its root only receives): -1 = no peer.
  // Channel 0 moves its bytes through the mailbox; a higher channel moves them between its own
  // hosts (its own route, platform.h) and then tells the receiver through the mailbox.
  void start_comm(uint32_t i, int lane, bool send = true) {
    CollState& c = coll_[i];
    const Transfer& t = current(i, lane);
    const core::Op& op = ops_[i];
    LaneState& ls = c.lane[lane];
    ls.pending = 0;
    if (send && t.send_to >= 0) {
      const auto bytes = static_cast<uint64_t>(t.send_bytes);
      if (t.channel == 0) {
        track(mailbox('c', op.tag, t.first_step, rank_, t.send_to)->put_async(&payload_, bytes), i, What::Comm, lane);
      } else {
        sg4::Host* from = platform_.channel_hosts.at({rank_, t.channel});
        sg4::Host* to = platform_.channel_hosts.at({t.send_to, t.channel});
        track(sg4::Comm::sendto_async(from, to, bytes), i, What::Striped, lane);
      }
      ++ls.pending;
    }
    if (t.recv_from >= 0 && t.recv_bytes <= kEagerBytes) {  // eager, as its sender decided
      if (sg4::ExecPtr e = deliveries_.wait({'c', op.tag, t.first_step, t.recv_from, rank_})) {
        track(e, i, What::Comm, lane);
        ++ls.pending;
      }
    } else if (t.recv_from >= 0) {
      track(mailbox('c', op.tag, t.first_step, t.recv_from, rank_)->get_async(&received_), i, What::Comm, lane);
      ++ls.pending;
    }
    if (ls.pending == 0) after_comm(i, lane);
  }

  void on_complete(Owner o) {
    switch (o.what) {
      case What::OpDone: return finish(o.op);
      case What::SendDelay: return put_message(o.op);
      case What::Delay: return start_comm(o.op, o.lane);
      case What::Striped: {  // the bytes have arrived: tell the receiver (no bytes, no time)
        const Transfer& t = current(o.op, o.lane);
        return track(mailbox('c', ops_[o.op].tag, t.first_step, rank_, t.send_to)->put_async(&payload_, 0), o.op,
                     What::Comm, o.lane);
      }
      case What::Comm:
        if (--coll_[o.op].lane[o.lane].pending > 0) return;
        return after_comm(o.op, o.lane);
      case What::Reduce:
        ++coll_[o.op].lane[o.lane].next;
        return start_transfer(o.op, o.lane);
      case What::Called: return begin_collective(o.op);
      case What::Started: return start_lanes(o.op);
      case What::Ended: return finish(o.op);
      case What::EagerDelay: return move_eager(o.op, o.lane);
      case What::EagerBytes: return moved_eager(o.lane);
    }
  }

  void after_comm(uint32_t i, int lane) {
    const Transfer& t = current(i, lane);
    if (t.reduce_elements > 0) {
      // Adding received chunks into the buffer: one FLOP per element, read two, write one.
      const core::DType dt = ops_[i].dtype;
      const double bytes = t.reduce_elements * core::size_of(dt);
      return track(exec_for(seconds(t.reduce_elements, 3 * bytes, dt)), i, What::Reduce, lane);
    }
    ++coll_[i].lane[lane].next;
    start_transfer(i, lane);
  }

  void finish(uint32_t i) {
    out_[i].end = sg4::Engine::get_clock();
    ++done_;
    coll_[i] = {};
    for (uint32_t s : successors_[i])
      if (--waiting_[s] == 0) start(s);
  }

  int rank_;
  const core::Program& program_;
  const std::vector<core::Op>& ops_;
  const topo::Device& device_;
  const PairCosts& costs_;
  const Platform& platform_;
  TransferPlans& plans_;
  Rendezvous& rendezvous_;
  Deliveries& deliveries_;
  sg4::Host* timer_;
  std::vector<core::OpRecord>& out_;
  std::vector<size_t> waiting_;
  std::vector<std::vector<uint32_t>> successors_;
  std::vector<CollState> coll_;
  std::map<std::pair<int, int>, int> occurrences_;  // merged collectives met so far, per (group, tag)
  std::vector<sg4::ActivityPtr> inflight_;
  std::vector<Owner> owners_;
  std::vector<Eager> eager_;  // every eager message started (indices stay valid)
  std::map<std::pair<sg4::Host*, sg4::Host*>, Connection> connections_;
  size_t done_ = 0;
  int payload_ = 0;  // SimGrid moves a pointer; only the declared size costs time
  int* received_ = nullptr;
};

// The ordered rank pairs that exchange messages in the Program: only they need a route. Channel 0
// (and every send) in `pairs`, higher channels of striped collectives in `channels`.
struct Talks {
  std::vector<std::pair<int, int>> pairs;
  std::vector<ChannelPair> channels;
};

Talks talking_pairs(const core::Program& p, TransferPlans& plans) {
  std::set<std::pair<int, int>> pairs;
  std::set<ChannelPair> channels;
  for (const auto& rp : p.ranks) {
    for (const auto& op : rp.ops) {
      if (op.kind == core::OpKind::Send) pairs.insert({rp.rank, op.peer});
      if (op.kind != core::OpKind::Collective) continue;
      for (const auto& lane : plans.of(rp.rank, op))
        for (const auto& t : lane) {
          if (t.send_to < 0) continue;
          pairs.insert({rp.rank, t.send_to});  // a higher channel's notice travels here too
          if (t.channel != 0) channels.insert({rp.rank, t.send_to, t.channel});
        }
    }
  }
  return {{pairs.begin(), pairs.end()}, {channels.begin(), channels.end()}};
}

// `on_deadlock` (may be empty) gets the deadlock's message when SimGrid finds one, and must not return.
std::vector<core::OpRecord> simulate_here(const core::Program& p, const topo::Topology& t,
                                          const std::function<void(const std::string&)>& on_deadlock = {}) {
  int argc = 1;
  char arg0[] = "clustertwin";
  char* argv[] = {arg0, nullptr};
  xbt_log_control_set("root.thresh:critical");
  sg4::Engine engine(&argc, argv);
  for (const char* c : kModelConfig) sg4::Engine::set_config(c);

  const auto rank_node = t.rank_nodes();
  if (static_cast<int>(rank_node.size()) != p.world())
    throw SimError(fmt::format("sim: the program has {} ranks but topology '{}' runs {}", p.world(), t.name,
                               rank_node.size()));
  TransferPlans plans(p);
  const Talks talks = talking_pairs(p, plans);
  Platform platform = build_platform(t, talks.pairs, talks.channels);
  plans.set_costs(platform.costs);
  Rendezvous rendezvous(platform.timer);
  Deliveries deliveries(platform.timer);
  std::vector<std::vector<core::OpRecord>> per_rank(p.world());
  std::vector<std::unique_ptr<RankInterpreter>> ranks;
  for (int r = 0; r < p.world(); ++r) {
    per_rank[r].resize(p.ranks[r].ops.size());
    ranks.push_back(std::make_unique<RankInterpreter>(p, r, *t.nodes[rank_node[r]].device, platform, plans, rendezvous, deliveries,
                                                      per_rank[r]));
    RankInterpreter* ri = ranks.back().get();
    sg4::Actor::create(fmt::format("rank{}", r), platform.rank_hosts[r], [ri] { (*ri)(); });
  }
  auto deadlock = [&]() -> std::string {
    for (int r = 0; r < p.world(); ++r)
      if (ranks[r]->done() != p.ranks[r].ops.size())
        return fmt::format("sim: the program deadlocks: rank {} finished {} of {} ops (a send without a matching recv, "
                           "or a cycle between ranks)",
                           r, ranks[r]->done(), p.ranks[r].ops.size());
    return "";
  };
  // SimGrid 3.32 aborts while it kills actors parked on suspended activities (Deliveries,
  // Rendezvous) after a deadlock: report it from the callback, before the killing.
  if (on_deadlock) sg4::Engine::on_deadlock_cb([&] { on_deadlock(deadlock()); });
  engine.run();

  if (std::string stuck = deadlock(); !stuck.empty()) throw SimError(stuck);
  std::vector<core::OpRecord> out;
  for (int r = 0; r < p.world(); ++r) out.insert(out.end(), per_rank[r].begin(), per_rank[r].end());
  return out;
}

// SimGrid keeps global state per process and cannot start a second engine: every simulation runs
// in a child forked from a process that never ran one, and sends its records back over a pipe.
std::vector<core::OpRecord> simulate_in_child(const core::Program& p, const topo::Topology& t, SimStats* stats) {
  auto started = std::chrono::steady_clock::now();
  core::Fd from_child, to_parent;
  try {
    core::make_pipe(from_child, to_parent);
  } catch (const std::system_error& e) {
    throw SimError(fmt::format("sim: {}", e.what()));
  }
  // The child would otherwise inherit, and SimGrid flush, a copy of our unwritten stdout.
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw SimError(fmt::format("sim: fork: {}", std::strerror(errno)));
  if (pid == 0) {
    from_child.reset();
    std::string msg;
    std::vector<core::OpRecord> recs;
    uint64_t input_error = 0;  // the parent rethrows the user's mistakes as input errors
    const int report_fd = to_parent.get();
    auto report_deadlock = [report_fd](const std::string& stuck) {
      uint64_t header[3] = {0, stuck.size(), 0};
      bool sent = core::write_full(report_fd, header, sizeof header) && core::write_full(report_fd, stuck.data(), stuck.size());
      _exit(sent ? 0 : 3);
    };
    try {
      recs = simulate_here(p, t, report_deadlock);
    } catch (const core::InputError& e) {
      msg = e.what();
      input_error = 1;
    } catch (const std::exception& e) {
      msg = e.what();
    }
    uint64_t header[3] = {recs.size(), msg.size(), input_error};
    const int fd = to_parent.get();
    bool sent = core::write_full(fd, header, sizeof header) && core::write_full(fd, msg.data(), msg.size()) &&
                core::write_full(fd, recs.data(), recs.size() * sizeof(core::OpRecord));
    _exit(sent ? 0 : 3);
  }
  to_parent.reset();
  auto get = [fd = from_child.get()](void* d, size_t n) { return core::read_full(fd, d, n) == n; };
  uint64_t header[3] = {0, 0, 0};
  std::vector<core::OpRecord> recs;
  std::string msg;
  bool ok = get(header, sizeof header);
  if (ok) {
    msg.resize(header[1]);
    recs.resize(header[0]);
    ok = get(msg.data(), msg.size()) && get(recs.data(), recs.size() * sizeof(core::OpRecord));
  }
  from_child.reset();
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  if (stats) {
    stats->wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    stats->max_rss_kb = usage.ru_maxrss;
  }
  if (!ok) throw SimError("sim: the simulation process died before reporting (see its messages above)");
  if (!msg.empty() && header[2]) throw core::InputError(msg);
  if (!msg.empty()) throw SimError(msg);
  return recs;
}
}  // namespace

bool available() { return true; }

std::vector<core::OpRecord> simulate(const core::Program& program, const topo::Topology& topology, SimStats* stats) {
  // The Program says which node runs each rank (its placement); the topology alone says file order.
  return simulate_in_child(program, topo::with_placement(topology, program.placement), stats);
}

std::string model_description() {
  return "SimGrid 3.32 CM02 max-min flows, latency and bandwidth factors 1, no TCP window bound, no cross-traffic";
}

}  // namespace clustertwin::sim
