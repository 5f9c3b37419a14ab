// `clustertwin worker`: one rank of a run. Control flow: accept the coordinator, take the
// assignment, open the data connections, report ready, then run the ops on two threads while this
// thread streams step records and heartbeats back.
#include "exec/worker.h"

#include <poll.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/acceptor.h"
#include "exec/assignment.h"
#include "exec/channel.h"
#include "exec/collective_runner.h"
#include "exec/compute.h"
#include "exec/data_plane.h"
#include "exec/errors.h"
#include "exec/handshake.h"
#include "exec/executor.h"
#include "exec/scheduler.h"

namespace clustertwin::exec {

namespace detail {
namespace {

constexpr double kFrameTimeout = 10;  // the rest of a frame whose first byte arrived

// True when the lifeline reports EOF (or an error): the session that started this worker ended.
// Data on it (there should be none after the token line) is read and ignored.
bool lifeline_cut(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

constexpr std::string_view kSessionEnded = "the session that started this worker ended (its stdin closed)";

// Serves every connection's handshake at once (acceptor.h) until one proves the token as the
// coordinator: strangers that connect and stay silent cannot delay it.
Channel accept_control(int listen_fd, const ServeOptions& o) {
  const auto deadline = deadline_after(o.accept_timeout_s);
  Acceptor acceptor(listen_fd, {"control", o.token, o.limits, "clustertwin-worker", {}, o.log});
  for (;;) {
    std::vector<pollfd> fds{{o.lifeline_fd, POLLIN, 0}};
    acceptor.add_polls(fds);
    int rc = ::poll(fds.data(), fds.size(), poll_timeout_ms(std::min(deadline, acceptor.next_deadline())));
    if (rc < 0 && errno != EINTR)
      throw RunError(fmt::format("exec: worker on port {}: poll failed: {}", local_port(listen_fd), std::strerror(errno)));
    if (rc > 0 && fds[0].revents && lifeline_cut(o.lifeline_fd))
      throw Cancelled(fmt::format("exec: worker on port {}: no coordinator connected before {}", local_port(listen_fd),
                                  kSessionEnded));
    if (rc < 0) continue;
    std::vector<Accepted> in = acceptor.serve(fds.data() + 1);
    if (!in.empty()) return Channel(std::move(in.front().fd), "the coordinator");
    if (Clock::now() >= deadline)
      throw Timeout(fmt::format("exec: worker on port {}: no coordinator connected within {:.1f} s", local_port(listen_fd),
                                o.accept_timeout_s));
  }
}

// The ranks this rank exchanges bytes with: its send/recv peers and its collectives' ring neighbours.
std::vector<int> peers_of(const Assignment& a) {
  std::set<int> peers;
  for (const auto& op : a.ops) {
    if (op.kind == core::OpKind::Send || op.kind == core::OpKind::Recv) peers.insert(op.peer);
    if (op.kind == core::OpKind::Collective)
      for (int p : work::peers_of(plan_for(op, a.groups.at(op.group), a.rank))) peers.insert(p);
  }
  peers.erase(a.rank);
  return {peers.begin(), peers.end()};
}

void send_error(Channel& control, const std::string& message, std::string_view kind) {
  try {
    control.send(wire::FrameType::Error, nlohmann::json{{"message", message}, {"kind", kind}}, deadline_after(kFrameTimeout));
  } catch (const RunError&) {
    // The coordinator is gone: the error still reaches the caller through the exception.
  }
}

// Four beats fit in the coordinator's patience (heartbeat_timeout_s) and in an op's (op_timeout_s).
double heartbeat_interval(const RunSettings& s) {
  const double patience = s.heartbeat_timeout_s > 0 ? std::min(s.op_timeout_s, s.heartbeat_timeout_s) : s.op_timeout_s;
  return std::clamp(patience / 4, 0.05, 1.0);
}

// One rank's run, from the assignment on.
class RankRun {
 public:
  RankRun(Assignment a, std::string token, Channel& control, int64_t clock_shift_ns, int lifeline_fd)
      : a_(std::move(a)), control_(control), token_(std::move(token)), shift_ns_(clock_shift_ns), lifeline_(lifeline_fd) {
    for (uint32_t i = 0; i < a_.ops.size(); ++i)
      if (a_.ops[i].kind == core::OpKind::Collective) collectives_.push_back(i);
  }

  void setup(int listen_fd) {
    DataPlaneConfig cfg{a_.rank, a_.addresses, token_, a_.settings};
    plane_ = std::make_unique<DataPlane>(cfg, peers_of(a_), listen_fd, &cancel_);
    try {
      coll_ = std::make_unique<CollectiveRunner>(*plane_, a_.rank, a_.groups, a_.ops, a_.corrupt());
      kernels_ = std::make_unique<ComputeKernels>(a_.settings.compute, a_.ops, a_.modelled_seconds);
    } catch (const std::bad_alloc&) {
      throw RunError(fmt::format("exec: rank {}: out of memory allocating the collective and compute buffers", a_.rank));
    }
    if (!collectives_.empty()) warm_up();
  }

  const Assignment& assignment() const { return a_; }

  // One untimed run of the first collective before `ready`, like nccl-tests' warm-up iterations:
  // fresh TCP connections start with small windows and cold socket buffers, which made the
  // first measured all-reduce ~1.6x slower than the others. Then the buffer is laid out afresh.
  void warm_up() {
    uint32_t first = collectives_.front();
    coll_->fill(a_.ops[first]);
    coll_->run(a_.ops[first], first);
    coll_->fill(a_.ops[first]);
  }

  void run(const StartInfo& start) {
    // Time zero on this machine's steady_clock: the coordinator's origin moved by this clock's offset.
    auto origin = Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(start.origin_ns + start.clock_offset_ns - shift_ns_)));
    // Every rank starts at time zero, not when its start frame happened to arrive (bounded, in
    // case a clock estimate is far off).
    double ahead = std::chrono::duration<double>(origin - Clock::now()).count();
    if (ahead > 0) cancel_.sleep_for(std::min(ahead, 1.0));
    Scheduler sched(a_.ops, origin, hooks(), cancel_);
    sched.start();
    stream_records(sched);
    sched.join();
    if (cancel_.cancelled()) {
      send_error(control_, cancel_.reason(), cancel_.kind());
      throw RunError(cancel_.reason());
    }
    control_.send(wire::FrameType::Done, nlohmann::json{{"ops", a_.ops.size()}}, deadline_after(kFrameTimeout));
  }

  Cancel& cancel() { return cancel_; }

 private:
  Scheduler::Hooks hooks() {
    Scheduler::Hooks h;
    h.compute = [this](const core::Op& op, uint32_t i) { kernels_->run(op, i, cancel_); };
    h.comm = [this](const core::Op& op, uint32_t i) { comm(op, i); };
    h.after_comm = [this](const core::Op& op, uint32_t i) { after_comm(op, i); };
    h.step_done = [this](int32_t step) {
      {
        std::lock_guard lock(steps_mu_);
        finished_steps_.push_back(step);
      }
      steps_pipe_.notify();
    };
    return h;
  }

  void comm(const core::Op& op, uint32_t i) {
    std::string what = fmt::format("op {} '{}' (step {})", i, op.label, op.step);
    auto bytes = static_cast<uint64_t>(std::llround(op.bytes));
    switch (op.kind) {
      case core::OpKind::Send: plane_->send_message(op.peer, op.tag, bytes, what); break;
      case core::OpKind::Recv: plane_->recv_message(op.peer, op.tag, bytes, what); break;
      case core::OpKind::Collective: coll_->run(op, i); break;
      case core::OpKind::Compute: break;
    }
  }

  // Off the clock: check the result, then lay out the pattern for the next collective while
  // compute runs, so the next collective starts from a filled buffer.
  void after_comm(const core::Op& op, uint32_t i) {
    if (op.kind != core::OpKind::Collective) return;
    coll_->verify(op, i);
    auto next = std::upper_bound(collectives_.begin(), collectives_.end(), i);
    if (next != collectives_.end()) coll_->fill(a_.ops[*next]);
  }

  // Until every step is reported or the run is cancelled: step records and heartbeats to the
  // coordinator, and an abort or a closed connection from it cancels the run.
  void stream_records(const Scheduler& sched) {
    std::set<int32_t> pending;
    for (const auto& op : a_.ops) pending.insert(std::max(op.step, 0));
    const double beat = heartbeat_interval(a_.settings);
    auto next_beat = deadline_after(beat);
    while (!pending.empty() && !cancel_.cancelled()) {
      pollfd fds[4] = {{control_.fd(), POLLIN, 0}, {steps_pipe_.fd(), POLLIN, 0}, {cancel_.wake_fd(), POLLIN, 0},
                       {lifeline_, POLLIN, 0}};
      ::poll(fds, 4, poll_timeout_ms(next_beat));
      if (fds[3].revents && lifeline_cut(lifeline_)) {
        cancel_.cancel(fmt::format("exec: rank {}: {}", a_.rank, kSessionEnded), "cancelled");
        lifeline_ = -1;
      }
      try {
        if (fds[0].revents) on_control();
        steps_pipe_.drain();
        for (int32_t s : take_finished()) {
          send_step(sched, s);
          pending.erase(s);
        }
        if (Clock::now() >= next_beat) {
          control_.send(wire::FrameType::Heartbeat, std::string_view(), deadline_after(kFrameTimeout));
          next_beat = deadline_after(beat);
        }
      } catch (const RunError& e) {
        cancel_.cancel(fmt::format("exec: rank {}: lost the coordinator: {}", a_.rank, e.what()), "cancelled");
      }
    }
  }

  void on_control() {
    Frame f = control_.recv(deadline_after(kFrameTimeout));
    if (f.type == wire::FrameType::Abort)
      cancel_.cancel(fmt::format("exec: rank {}: aborted by the coordinator (another rank failed)", a_.rank), "cancelled");
    else
      throw RunError(fmt::format("unexpected '{}' frame during the run", wire::name(f.type)));
  }

  std::vector<int32_t> take_finished() {
    std::lock_guard lock(steps_mu_);
    std::vector<int32_t> out(finished_steps_.begin(), finished_steps_.end());
    finished_steps_.clear();
    return out;
  }

  void send_step(const Scheduler& sched, int32_t step) {
    nlohmann::json ops = nlohmann::json::array();
    for (uint32_t i : sched.ops_of_step(step)) ops.push_back({i, sched.times()[i].start, sched.times()[i].end});
    nlohmann::ordered_json j;
    j["step"] = step;
    j["rank"] = a_.rank;
    j["ops"] = ops;
    control_.send(wire::FrameType::Step, std::string_view(j.dump()), deadline_after(kFrameTimeout));
  }

  Assignment a_;
  Channel& control_;
  std::string token_;
  int64_t shift_ns_;
  int lifeline_;
  std::vector<uint32_t> collectives_;  // indices of collective ops, in program order
  Cancel cancel_;                      // before the plane: the plane wakes on it
  std::unique_ptr<DataPlane> plane_;
  std::unique_ptr<CollectiveRunner> coll_;
  std::unique_ptr<ComputeKernels> kernels_;
  std::mutex steps_mu_;
  std::deque<int32_t> finished_steps_;
  WakePipe steps_pipe_;
};

// Answers the coordinator's clock pings until the start frame comes.
StartInfo wait_for_start(Channel& control, const Assignment& a, int64_t clock_shift_ns) {
  for (;;) {
    Frame f = control.recv(deadline_after(2 * a.settings.connect_timeout_s + 60));
    // Stamped first: the stamp must fall between the ping leaving and the pong arriving.
    const int64_t stamp =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count() + clock_shift_ns;
    if (f.type == wire::FrameType::Abort)
      throw Cancelled(fmt::format("exec: rank {}: aborted by the coordinator before the start (another rank failed)", a.rank));
    if (f.type == wire::FrameType::Ping) {
      int seq = 0;
      try {
        seq = f.json().at("seq").get<int>();
      } catch (const nlohmann::json::exception& e) {
        throw RunError(fmt::format("exec: rank {}: malformed ping from the coordinator: {}", a.rank, e.what()));
      }
      control.send(wire::FrameType::Pong, nlohmann::json{{"seq", seq}, {"t_ns", stamp}}, deadline_after(kFrameTimeout));
      continue;
    }
    control.expect(f, wire::FrameType::Start);
    return start_from_json(f.payload);
  }
}

}  // namespace

void serve_one_run(Fd listener, const ServeOptions& options) {
  Channel control = accept_control(listener.get(), options);
  std::unique_ptr<RankRun> run;
  try {
    try {
      Frame f = control.recv(deadline_after(60));
      control.expect(f, wire::FrameType::Assign);
      run = std::make_unique<RankRun>(assignment_from_json(f.payload), options.token, control, options.clock_shift_ns,
                                       options.lifeline_fd);
      run->setup(listener.get());
      listener.reset();  // every data connection is open: refuse anything else from now on
      const Assignment& a = run->assignment();
      control.send(wire::FrameType::Ready,
                   nlohmann::json{{"version", software_version()}, {"rank_hash", rank_program_hash(a)}},
                   deadline_after(kFrameTimeout));
      run->run(wait_for_start(control, run->assignment(), options.clock_shift_ns));
    } catch (const std::bad_alloc&) {
      throw RunError("exec: the worker ran out of memory");
    } catch (const RunError&) {
      throw;
    } catch (const std::exception& e) {
      throw RunError(fmt::format("exec: worker failed: {}", e.what()));
    }
  } catch (const RunError& e) {
    // run() reports its own failure before throwing; everything else is reported here.
    if (!run || !run->cancel().cancelled()) send_error(control, e.what(), error_kind(e));
    throw;
  }
}

}  // namespace detail

void run_worker(const WorkerOptions& options) {
  ignore_sigpipe();
  if (options.token.empty())
    throw RunError("exec: the worker needs the run token (--token, or CLUSTERTWIN_TOKEN in its environment)");
  Endpoint ep = parse_endpoint(options.listen, "--listen");
  Fd listener = listen_on(ep);
  if (options.announce_port) {
    std::printf("clustertwin-worker listening on %u\n", static_cast<unsigned>(local_port(listener.get())));
    std::fflush(stdout);
  }
  detail::ServeOptions so;
  so.token = options.token;
  so.lifeline_fd = options.lifeline_fd;
  detail::serve_one_run(std::move(listener), so);
}

}  // namespace clustertwin::exec
