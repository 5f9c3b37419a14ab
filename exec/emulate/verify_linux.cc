// `emulate up --verify`: the one-way delay each way of every link between two addressed nodes,
// measured with UDP ping-pongs. Both namespaces share this machine's CLOCK_MONOTONIC, so each
// direction is timed on its own (sent stamp to received), not as half a round trip.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "core/fd.h"
#include "exec/emulate/emulation.h"
#include "exec/emulate/frames.h"
#include "exec/executor.h"

namespace clustertwin::exec::emulate {

namespace {
constexpr int kWarmup = 5;      // first probes resolve neighbours (ARP) and wake the delay process
constexpr int kReachTries = 50;  // 5 s for a fresh path to pass its first probe

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// While alive, the calling thread runs SCHED_FIFO when allowed: the probes then time the links
// (and the delay processes, which run so too), not the compilers sharing the cores.
class RealTime {
 public:
  RealTime() {
    ::pthread_getschedparam(::pthread_self(), &policy_, &param_);
    sched_param rt{};
    rt.sched_priority = 10;
    ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &rt);
  }
  ~RealTime() { ::pthread_setschedparam(::pthread_self(), policy_, &param_); }
  RealTime(const RealTime&) = delete;
  RealTime& operator=(const RealTime&) = delete;

 private:
  int policy_ = SCHED_OTHER;
  sched_param param_{};
};

struct Probe {
  int64_t seq, sent_a, sent_b;
};
static_assert(sizeof(Probe) + 8 + 20 + kEthernetHeaderBytes == kDelayProbeFrameBytes, "the plan prices this frame");

// A UDP socket bound to addr:0 inside namespace `ns`.
core::Fd udp_in(const std::string& ns, const std::string& addr) {
  InNamespace in(ns);
  core::Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (!fd.valid() || ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1 ||
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    throw RunError(fmt::format("exec: emulate: --verify: cannot bind a UDP socket to {} in '{}': {}", addr, ns,
                               std::strerror(errno)));
  return fd;
}

sockaddr_in name_of(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return sa;
}

bool recv_probe(int fd, Probe& p, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
  return ::recv(fd, &p, sizeof p, 0) == static_cast<ssize_t>(sizeof p);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

DelayMeasurement measure(const DelayPath& path, int probes) {
  core::Fd a = udp_in(path.ns_a, path.addr_a), b = udp_in(path.ns_b, path.addr_b);
  sockaddr_in to_b = name_of(b.get()), to_a = name_of(a.get());
  ::connect(a.get(), reinterpret_cast<sockaddr*>(&to_b), sizeof to_b);
  ::connect(b.get(), reinterpret_cast<sockaddr*>(&to_a), sizeof to_a);
  std::vector<double> ab, ba, rtt;
  std::atomic<bool> done{false};
  // The echo serves until the sender is done: a path that starts passing late (neighbours still
  // resolving, a fresh bridge) loses its first probes, not the whole measurement.
  std::thread echo([&] {
    RealTime rt;
    Probe p{};
    while (!done.load()) {
      if (!recv_probe(b.get(), p, 50)) continue;
      int64_t got = now_ns();
      if (p.seq >= kWarmup) ab.push_back((got - p.sent_a) * 1e-9);
      p.sent_b = now_ns();
      ::send(b.get(), &p, sizeof p, 0);
    }
  });
  int lost = 0;
  {
    RealTime rt;
    // Until the first echo (at most kReachTries x 100 ms), probes only open the path.
    Probe r{};
    for (int i = 0; i < kReachTries; ++i) {
      Probe p{-1, now_ns(), 0};
      ::send(a.get(), &p, sizeof p, 0);
      if (recv_probe(a.get(), r, 100)) break;
    }
    for (int64_t i = 0; i < probes + kWarmup; ++i) {
      Probe p{i, now_ns(), 0};
      ::send(a.get(), &p, sizeof p, 0);
      bool got = false;
      while (recv_probe(a.get(), r, 500))
        if (r.seq == i) {
          got = true;
          break;
        }
      int64_t back = now_ns();
      if (!got) {
        ++lost;
        continue;
      }
      if (i >= kWarmup) {
        ba.push_back((back - r.sent_b) * 1e-9);
        rtt.push_back((back - r.sent_a) * 1e-9);
      }
    }
  }
  done = true;
  echo.join();
  if (rtt.size() < static_cast<size_t>(probes) / 2)
    throw RunError(fmt::format("exec: emulate: --verify: {} of {} probes between '{}' ({}) and '{}' ({}) were lost — "
                               "is the delay process running (ip netns pids {})?",
                               lost, probes + kWarmup, path.node_a, path.addr_a, path.node_b, path.addr_b, path.ns_a));
  return {path, median(ab), median(ba), median(rtt)};
}
}  // namespace

std::vector<DelayMeasurement> measure_delays(const EmulationPlan& plan, int probes) {
  std::vector<DelayMeasurement> out;
  for (const auto& p : plan.delay_paths) out.push_back(measure(p, probes));
  return out;
}

}  // namespace clustertwin::exec::emulate
