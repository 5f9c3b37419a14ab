#include "exec/coordinator.h"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/assignment.h"
#include "exec/channel.h"
#include "exec/collective_runner.h"
#include "core/file.h"
#include "core/format.h"
#include "exec/errors.h"
#include "exec/handshake.h"

namespace clustertwin::exec::detail {

void check_runnable(const core::Program& p) {
  try {
    core::validate(p);
  } catch (const std::invalid_argument& e) {
    throw RunError(fmt::format("exec: cannot run an invalid program: {}", e.what()));
  }
  for (const auto& rp : p.ranks)
    for (size_t i = 0; i < rp.ops.size(); ++i) {
      const core::Op& op = rp.ops[i];
      if (op.kind != core::OpKind::Collective) continue;
      try {
        plan_for(op, p.groups.at(op.group), rp.rank);
      } catch (const RunError& e) {
        throw RunError(fmt::format("{} (rank {} op {})", e.what(), rp.rank, i));
      }
    }
}

std::vector<std::vector<double>> modelled_seconds(const core::Program& p, const topo::Topology& t) {
  const auto nodes = t.compute_nodes();
  std::vector<std::vector<double>> out;
  for (const auto& rp : p.ranks) {
    const topo::Node& node = t.nodes.at(nodes.at(rp.rank));
    if (!node.device)
      throw RunError(fmt::format("exec: node '{}' (rank {}) has no device in topology '{}'", node.name, rp.rank, t.name));
    std::vector<double> s(rp.ops.size(), 0.0);
    for (size_t i = 0; i < rp.ops.size(); ++i)
      if (rp.ops[i].kind == core::OpKind::Compute)
        s[i] = topo::roofline_seconds(*node.device, rp.ops[i].flops, rp.ops[i].bytes, rp.ops[i].dtype);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::vector<double>> prepare(const core::Program& p, const topo::Topology& t, const RunSettings& s) {
  const auto nodes = t.compute_nodes();
  for (int n : nodes)
    if (t.nodes[n].ranks > 1)
      throw RunError(fmt::format("exec: node '{}' of topology '{}' runs {} ranks ('ranks: {}'), and the executor runs one "
                                 "rank per node — remove 'ranks' to run on it ('predict' models several ranks per node)",
                                 t.nodes[n].name, t.name, t.nodes[n].ranks, t.nodes[n].ranks));
  if (p.world() != static_cast<int>(nodes.size()))
    throw RunError(fmt::format("exec: the program has {} ranks but topology '{}' has {} compute nodes — compile the "
                               "workload for this topology",
                               p.world(), t.name, nodes.size()));
  if (s.corrupt_rank >= p.world())
    throw RunError(fmt::format("exec: corrupt_rank {} is not a rank (the program has {})", s.corrupt_rank, p.world()));
  check_runnable(p);
  return modelled_seconds(p, t);
}

namespace {

constexpr double kFrameTimeout = 10;  // the rest of a frame whose first byte arrived
constexpr double kGraceSeconds = 1;   // after a failure, time for other ranks to report their own
constexpr double kAbortSeconds = 3;   // after the abort, time for ranks to close

enum class State { Setup, Ready, Running, Done, Failed, Closed };

struct Worker {
  int rank = 0;
  Channel ch;
  State state = State::Setup;
  Clock::time_point last_heard;
  std::string rank_hash;   // of the rank's part of the program, as the coordinator sent it
  std::vector<char> seen;  // op recorded
  size_t recorded = 0;
  bool active() const { return state != State::Done && state != State::Failed && state != State::Closed; }
};

struct Failure {
  int rank;
  std::string kind, message;
};

// Root causes first: a wrong result or a worker's own error explains the peers that lost it.
int priority(const std::string& kind) {
  if (kind == "wrong-result") return 0;
  if (kind == "error" || kind == "refused") return 1;
  if (kind == "timeout") return 2;
  if (kind == "peer-lost") return 3;
  return 4;  // cancelled: a consequence by construction
}

class Coordinator {
 public:
  Coordinator(const core::Program& p, const std::vector<Endpoint>& addrs, const std::vector<std::vector<double>>& seconds,
              const CoordinateOptions& o)
      : p_(p), addrs_(addrs), seconds_(seconds), o_(o) {}

  MeasuredRun run() {
    open_steps_file();
    connect_all();
    for (auto& w : workers_) send_assignment(w);
    loop(false);
    for (auto& w : workers_) align_clock(w);
    write_clocks();
    // Time zero a little ahead, so every rank has its start frame before its first op.
    const int64_t origin = now_ns() + 5'000'000;
    for (auto& w : workers_) {
      if (!failures_.empty()) break;  // a failed alignment: loop() aborts the others instead
      int64_t offset = o_.same_clock ? 0 : clocks_[w.rank].offset_ns;
      send_or_fail(w, wire::FrameType::Start, to_json_text(StartInfo{origin, offset}));
    }
    for (auto& w : workers_)
      if (w.state == State::Ready) {
        w.state = State::Running;
        w.last_heard = Clock::now();
      }
    loop(true);
    return {records(), clock_estimates()};
  }

 private:
  std::string who(int r) const {
    if (r < static_cast<int>(o_.node_names.size()) && !o_.node_names[r].empty() && o_.node_names[r] != addrs_[r].host)
      return fmt::format("rank {} ({}, {})", r, o_.node_names[r], addrs_[r].str());
    return fmt::format("rank {} ({})", r, addrs_[r].str());
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  }

  struct ClockSample {
    int64_t offset_ns = 0, rtt_ns = -1;
  };

  // Ping-pong rounds with one worker (all are ready and idle): the worker stamps each ping with its
  // steady_clock on arrival; offset = stamp - midpoint of the round trip, from the fastest round.
  void align_clock(Worker& w) {
    if (!w.active()) return;
    ClockSample best;
    try {
      for (int seq = 0; seq < std::max(1, o_.clock_rounds); ++seq) {
        const int64_t t0 = now_ns();
        w.ch.send(wire::FrameType::Ping, nlohmann::json{{"seq", seq}}, deadline_after(kFrameTimeout));
        Frame f = w.ch.recv(deadline_after(kFrameTimeout));
        const int64_t t1 = now_ns();
        if (f.type == wire::FrameType::Error) return on_frame(w, f, false);
        w.ch.expect(f, wire::FrameType::Pong);
        auto j = f.json();
        if (j.at("seq").get<int>() != seq) throw RunError(fmt::format("exec: {}: pong out of order", who(w.rank)));
        const int64_t stamp = j.at("t_ns").get<int64_t>();
        if (best.rtt_ns < 0 || t1 - t0 < best.rtt_ns) best = {stamp - t0 - (t1 - t0) / 2, t1 - t0};
      }
    } catch (const nlohmann::json::exception& e) {
      return fail(w, "error", fmt::format("exec: {}: malformed pong: {}", who(w.rank), e.what()), State::Closed);
    } catch (const RunError& e) {
      return fail(w, "error", fmt::format("{} (while aligning clocks)", e.what()), State::Closed);
    }
    clocks_[w.rank] = best;
  }

  // DIR/clocks.json: the estimate behind every rank's times, so a reader knows their precision.
  void write_clocks() const {
    if (o_.settings.out_dir.empty()) return;
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& c : clock_estimates())
      j.push_back({{"rank", c.rank}, {"offset_s", c.offset_s}, {"error_s", c.error_s}, {"rtt_s", c.rtt_s}, {"applied", c.applied}});
    core::write_file(std::filesystem::path(o_.settings.out_dir) / "clocks.json", j.dump(1) + '\n');
  }

  std::vector<ClockEstimate> clock_estimates() const {
    std::vector<ClockEstimate> out;
    for (const auto& [rank, c] : clocks_)
      out.push_back({rank, c.offset_ns * 1e-9, c.rtt_ns * 0.5e-9, c.rtt_ns * 1e-9, !o_.same_clock});
    return out;
  }

  void open_steps_file() {
    if (o_.settings.out_dir.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(o_.settings.out_dir, ec);
    steps_path_ = (std::filesystem::path(o_.settings.out_dir) / "steps.jsonl").string();
    steps_.open(steps_path_, std::ios::trunc);
    if (!steps_)
      throw RunError(fmt::format("exec: cannot write '{}': {}", steps_path_, ec ? ec.message() : std::strerror(errno)));
  }

  void connect_all() {
    const auto deadline = deadline_after(o_.settings.connect_timeout_s);
    for (int r = 0; r < p_.world(); ++r) {
      Worker w;
      w.rank = r;
      w.ch = Channel(o_.connect ? o_.connect(r, addrs_[r], deadline, who(r)) : connect_until(addrs_[r], deadline, who(r)), who(r));
      say_hello(w.ch, {"control", o_.token, -1}, deadline);
      w.seen.assign(p_.ranks[r].ops.size(), 0);
      w.last_heard = Clock::now();
      workers_.push_back(std::move(w));
    }
  }

  void send_assignment(Worker& w) {
    Assignment a;
    a.rank = w.rank;
    a.world = p_.world();
    a.addresses = addrs_;
    a.settings = o_.settings;
    a.program_name = p_.name;
    a.program_hash = core::program_hash(p_);
    a.steps = p_.steps;
    a.groups = p_.groups;
    a.ops = p_.ranks[w.rank].ops;
    a.modelled_seconds = seconds_.at(w.rank);
    w.rank_hash = rank_program_hash(a);
    send_or_fail(w, wire::FrameType::Assign, to_json_text(a));
  }

  void send_or_fail(Worker& w, wire::FrameType type, const std::string& payload) {
    if (!w.active()) return;
    try {
      w.ch.send(type, std::string_view(payload), deadline_after(kFrameTimeout));
    } catch (const RunError& e) {
      fail(w, "error", e.what(), State::Closed);
    }
  }

  void fail(Worker& w, std::string kind, std::string message, State state) {
    failures_.push_back({w.rank, std::move(kind), std::move(message)});
    w.state = state;
    w.ch.close();
    if (first_failure_ == Clock::time_point{}) first_failure_ = Clock::now();
  }

  // Serves frames until every worker reached the phase's goal (Ready, or Done when `running`).
  // After a failure: a grace period for the other ranks' own reports, then an abort, then a throw.
  void loop(bool running) {
    const auto setup_deadline = deadline_after(2 * o_.settings.connect_timeout_s + 60);
    const State goal = running ? State::Done : State::Ready;
    bool aborted = false;
    Clock::time_point give_up = kNoDeadline;
    for (;;) {
      bool any_active = false, all_goal = true;
      for (const auto& w : workers_) {
        any_active = any_active || (w.active() && w.state != State::Ready);
        all_goal = all_goal && w.state == goal;
      }
      if (failures_.empty() && all_goal) return;
      if (!failures_.empty()) {
        if (!any_active || Clock::now() >= give_up) break;
        if (!aborted && Clock::now() >= first_failure_ + std::chrono::duration<double>(kGraceSeconds)) {
          for (auto& w : workers_) send_or_fail(w, wire::FrameType::Abort, "");
          aborted = true;
          give_up = deadline_after(kAbortSeconds);
        }
      }
      poll_once(running);
      check_deadlines(running, setup_deadline);
    }
    throw RunError(compose());
  }

  void poll_once(bool running) {
    std::vector<pollfd> fds;
    std::vector<Worker*> who;
    for (auto& w : workers_)
      if (w.active()) {
        fds.push_back({w.ch.fd(), POLLIN, 0});
        who.push_back(&w);
      }
    if (fds.empty()) return;
    ::poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) on_readable(*who[i], running);
  }

  void check_deadlines(bool running, Clock::time_point setup_deadline) {
    // Heartbeats come from the worker's own thread, whatever its ops do: a long transfer or
    // compute keeps them coming, a stopped process or a dead link does not.
    const double silence =
        o_.settings.heartbeat_timeout_s > 0 ? o_.settings.heartbeat_timeout_s : o_.settings.op_timeout_s + 10;
    for (auto& w : workers_) {
      if (!w.active()) continue;
      if (!running && w.state == State::Setup && Clock::now() >= setup_deadline)
        fail(w, "timeout", fmt::format("exec: {}: did not report ready in time — stuck opening its data connections or "
                                       "allocating buffers", who(w.rank)), State::Closed);
      double quiet = std::chrono::duration<double>(Clock::now() - w.last_heard).count();
      // "error", not "timeout": a hung worker is the cause its peers' own timeouts point at.
      if (running && quiet > silence)
        fail(w, "error", fmt::format("exec: {}: no heartbeat from the worker for {:.1f} s — it hung (stopped, swapping "
                                     "or overloaded), or the network to it is down (--heartbeat-timeout)",
                                     who(w.rank), quiet), State::Closed);
    }
  }

  void on_readable(Worker& w, bool running) {
    Frame f;
    try {
      f = w.ch.recv(deadline_after(kFrameTimeout));
    } catch (const PeerLost&) {
      return fail(w, "error", fmt::format("exec: {}: the worker closed its control connection without reporting — it "
                                          "crashed, ran out of memory or was killed", who(w.rank)), State::Closed);
    } catch (const RunError& e) {
      return fail(w, "error", e.what(), State::Closed);
    }
    w.last_heard = Clock::now();
    try {
      on_frame(w, f, running);
    } catch (const RunError& e) {
      fail(w, "error", e.what(), State::Closed);
    }
  }

  void on_frame(Worker& w, const Frame& f, bool running) {
    using wire::FrameType;
    switch (f.type) {
      case FrameType::Heartbeat: return;
      case FrameType::Error: {
        auto j = f.json();
        return fail(w, j.value("kind", std::string("error")), j.value("message", std::string("(no message)")), State::Failed);
      }
      case FrameType::Ready:
        if (!running && w.state == State::Setup) {
          check_ready(w, f.json());
          w.state = State::Ready;
          return;
        }
        break;
      case FrameType::Step:
        if (running) return on_step(w, f.json());
        break;
      case FrameType::Done:
        if (running) return on_done(w);
        break;
      default: break;
    }
    throw RunError(fmt::format("exec: {}: sent an unexpected '{}' frame — protocol out of step", who(w.rank), wire::name(f.type)));
  }

  // The worker's version and its hash of the program it parsed, before anything starts.
  void check_ready(const Worker& w, const nlohmann::json& j) const {
    std::string version = j.value("version", std::string("?")), hash = j.value("rank_hash", std::string("?"));
    if (version != software_version())
      throw RunError(fmt::format("exec: {}: runs clustertwin {}, this coordinator runs {} — install the same build on "
                                 "every node",
                                 who(w.rank), version, software_version()));
    if (hash != w.rank_hash)
      throw RunError(fmt::format("exec: {}: its copy of the program has hash {}, the coordinator sent {} — the worker "
                                 "parses programs differently (another clustertwin build); install the same build on "
                                 "every node",
                                 who(w.rank), hash, w.rank_hash));
  }

  void on_step(Worker& w, const nlohmann::json& j) {
    try {
      int32_t step = j.at("step").get<int32_t>(), rank = j.at("rank").get<int32_t>();
      if (rank != w.rank) throw std::invalid_argument(fmt::format("a record for rank {}", rank));
      nlohmann::ordered_json line;
      line["step"] = step;
      line["rank"] = rank;
      line["ops"] = nlohmann::ordered_json::array();
      for (const auto& o : j.at("ops")) {
        auto op = o.at(0).get<uint32_t>();
        double start = o.at(1).get<double>(), end = o.at(2).get<double>();
        if (op >= w.seen.size() || w.seen[op] || !std::isfinite(start) || !std::isfinite(end))
          throw std::invalid_argument(fmt::format("a bad or repeated record for op {}", op));
        w.seen[op] = 1;
        ++w.recorded;
        records_.push_back({rank, op, start, end});
        line["ops"].push_back({op, start, end});
      }
      if (steps_.is_open()) steps_ << line.dump() << '\n' << std::flush;  // a crash keeps every finished step
    } catch (const nlohmann::json::exception& e) {
      throw RunError(fmt::format("exec: {}: malformed step record: {}", who(w.rank), e.what()));
    } catch (const std::invalid_argument& e) {
      throw RunError(fmt::format("exec: {}: step record refused: {}", who(w.rank), e.what()));
    }
  }

  void on_done(Worker& w) {
    if (w.recorded != w.seen.size())
      throw RunError(fmt::format("exec: {}: reported done with {} of its {} ops recorded", who(w.rank), w.recorded,
                                 w.seen.size()));
    w.state = State::Done;
    w.ch.close();
  }

  std::string compose() const {
    std::vector<Failure> f = failures_;
    std::stable_sort(f.begin(), f.end(), [](const Failure& a, const Failure& b) { return priority(a.kind) < priority(b.kind); });
    // Ranks the coordinator aborted only say so: drop them when anything else is known.
    if (priority(f.front().kind) < 4)
      f.erase(std::remove_if(f.begin(), f.end(), [](const Failure& x) { return priority(x.kind) == 4; }), f.end());
    std::string msg = f.front().message;
    for (size_t i = 1; i < f.size(); ++i) {
      std::string m = f[i].message;
      msg += "\n  also: " + (m.rfind("exec: ", 0) == 0 ? m.substr(6) : m);
    }
    if (o_.settings.corrupt_rank >= 0)
      msg += fmt::format("\n  note: rank {} was asked to corrupt its collective contributions (corrupt_rank, a testing aid)",
                         o_.settings.corrupt_rank);
    if (!steps_path_.empty()) msg += fmt::format("\n  the steps that finished are in {}", steps_path_);
    return msg;
  }

  std::vector<core::OpRecord> records() const {
    auto out = records_;
    std::sort(out.begin(), out.end(), [](const core::OpRecord& a, const core::OpRecord& b) {
      return a.rank != b.rank ? a.rank < b.rank : a.op < b.op;
    });
    return out;
  }

  const core::Program& p_;
  const std::vector<Endpoint>& addrs_;
  const std::vector<std::vector<double>>& seconds_;
  const CoordinateOptions& o_;
  std::vector<Worker> workers_;
  std::vector<Failure> failures_;
  Clock::time_point first_failure_{};
  std::vector<core::OpRecord> records_;
  std::map<int, ClockSample> clocks_;
  std::string steps_path_;
  std::ofstream steps_;
};

}  // namespace

MeasuredRun coordinate(const core::Program& p, const std::vector<Endpoint>& workers,
                       const std::vector<std::vector<double>>& seconds, const CoordinateOptions& o) {
  ignore_sigpipe();
  if (static_cast<int>(workers.size()) != p.world())
    throw RunError(fmt::format("exec: {} worker addresses for a program of {} ranks", workers.size(), p.world()));
  return Coordinator(p, workers, seconds, o).run();
}

}  // namespace clustertwin::exec::detail

namespace clustertwin::exec {

double MeasuredRun::clock_error_s() const {
  double e = 0;
  for (const auto& c : clocks)
    if (c.applied) e = std::max(e, c.error_s);
  return e;
}

std::string MeasuredRun::clock_text() const {
  double measured = 0;
  bool applied = false;
  for (const auto& c : clocks) {
    measured = std::max(measured, c.error_s);
    applied = applied || c.applied;
  }
  if (!applied) return fmt::format("one clock (workers on this machine; ping-pong agrees to ±{})", core::format_seconds(measured));
  return fmt::format("clocks aligned by ping-pong to ±{}", core::format_seconds(measured));
}

}  // namespace clustertwin::exec
