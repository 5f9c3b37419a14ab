// The user-space delay process: one per namespace, one NFQUEUE per queued link direction in it.
// Each packet passes a FIFO server at the link's rate (it leaves the wire when the packets before
// it have and its own frames' bytes / rate later) and is held the link's delay more, then
// accepted; both are monotone, so arrival order is release order and a FIFO per queue suffices.
// The server runs in virtual time (a late wake-up delays packets, it does not slow the rate). It
// sleeps in ppoll() until the next release or packet (timer slack 1 ns: the release is a
// deadline, not a hint), never spins.
#include <arpa/inet.h>
#include <fcntl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>

#include <fmt/format.h>

#include "exec/emulate/delay.h"
#include "exec/emulate/frames.h"
#include "exec/emulate/emulation.h"
#include "exec/executor.h"

namespace clustertwin::exec::emulate {

namespace {
constexpr size_t kMaxHeld = 16384;  // packets per queue; more are dropped (a full link queue)
constexpr int kCopyBytes = 64;      // of each packet: its IP and TCP headers, for its length on the wire

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

struct Held {
  uint32_t id;
  int64_t release;
};

struct Queue {
  nfq_q_handle* handle = nullptr;
  int64_t delay = 0;          // ns
  double ns_per_byte = 0;     // 1e9 / rate; 0: no rate
  double wire_free = 0;       // ns: when the wire has sent every packet so far
  std::deque<Held> held;
};

int on_packet(nfq_q_handle* qh, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* q = static_cast<Queue*>(data);
  const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (q->held.size() >= kMaxHeld) return nfq_set_verdict(qh, id, NF_DROP, 0, nullptr);
  const auto now = static_cast<double>(now_ns());
  double sent = now;
  if (q->ns_per_byte > 0) {
    unsigned char* data = nullptr;
    int n = nfq_get_payload(nfa, &data);
    sent = std::max(now, q->wire_free) + q->ns_per_byte * static_cast<double>(wire_bytes(data, n > 0 ? n : 0));
    q->wire_free = sent;
  }
  q->held.push_back({id, static_cast<int64_t>(sent) + q->delay});
  return 0;
}

// The namespace this process serves is still `ns` (not deleted, nor replaced by one of that name).
bool namespace_alive(const std::string& ns, const struct stat& mine) {
  struct stat st {};
  if (::stat(("/run/netns/" + ns).c_str(), &st) != 0) return false;
  return st.st_dev == mine.st_dev && st.st_ino == mine.st_ino;
}

[[noreturn]] void fail(int report, const std::string& msg) {
  [[maybe_unused]] auto n = ::write(report, msg.data(), msg.size());
  ::_exit(1);
}

// The delay process itself (a detached grandchild): binds the queues, reports "ok" on `report`,
// then serves until SIGTERM or until its namespace is gone.
[[noreturn]] void serve(const NamespaceDelays& d, int report) {
  ::prctl(PR_SET_NAME, kDelayProcessName);
  ::prctl(PR_SET_TIMERSLACK, 1UL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGTERM, SIG_DFL);
  int devnull = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(devnull, fd);
  if (report < 3 || devnull < 3) fail(report, "exec: emulate: delay process: unexpected descriptors");
  ::close_range(3, report - 1, 0);
  ::close_range(report + 1, ~0U, 0);
  // A real-time priority keeps releases on time while workers load both cores; optional.
  sched_param sp{};
  sp.sched_priority = 10;
  ::sched_setscheduler(0, SCHED_FIFO, &sp);

  std::string path = "/run/netns/" + d.ns;
  int nsfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0)
    fail(report, fmt::format("exec: emulate: delay process: cannot enter namespace '{}': {}", d.ns, std::strerror(errno)));
  ::close(nsfd);
  struct stat mine {};
  ::stat("/proc/self/ns/net", &mine);

  nfq_handle* h = nfq_open();
  if (!h) fail(report, fmt::format("exec: emulate: delay process in '{}': nfq_open: {}", d.ns, std::strerror(errno)));
  std::deque<Queue> queues;  // stable addresses for the callbacks
  for (const auto& qd : d.queues) {
    Queue& q = queues.emplace_back();
    q.delay = static_cast<int64_t>(qd.delay_s * 1e9);
    q.ns_per_byte = qd.rate > 0 ? 1e9 / qd.rate : 0;
    q.handle = nfq_create_queue(h, static_cast<uint16_t>(qd.queue), &on_packet, &q);
    if (!q.handle)
      fail(report, fmt::format("exec: emulate: delay process in '{}': cannot bind NFQUEUE {} ({} {}): {} — the kernel "
                               "needs CONFIG_NETFILTER_NETLINK_QUEUE",
                               d.ns, qd.queue, qd.hook, qd.dev, std::strerror(errno)));
    if (nfq_set_mode(q.handle, NFQNL_COPY_PACKET, kCopyBytes) < 0)
      fail(report, fmt::format("exec: emulate: delay process in '{}': nfq_set_mode: {}", d.ns, std::strerror(errno)));
    nfq_set_queue_maxlen(q.handle, kMaxHeld);
    // No NFQA_CFG_F_GSO: the kernel hands over GSO packets as MTU-sized segments, which the FIFO
    // then interleaves as a wire does. Whole 64 KiB GSO packets held an ACK of another flow for
    // 13 ms on a 40 Mbit/s link (a ring through fid-star3's hub: DDP 1.37 s, 1.19-1.22 s now).
  }
  int fd = nfq_fd(h);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
  int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  {
    std::string ok = fmt::format("ok {}\n", ::getpid());
    [[maybe_unused]] auto n = ::write(report, ok.data(), ok.size());
    ::close(report);
  }

  alignas(8) static char buf[1 << 17];
  int64_t next_check = now_ns() + 1'000'000'000LL;
  for (;;) {
    int64_t now = now_ns();
    int64_t wake = next_check;
    for (auto& q : queues) {
      while (!q.held.empty() && q.held.front().release <= now) {
        nfq_set_verdict(q.handle, q.held.front().id, NF_ACCEPT, 0, nullptr);
        q.held.pop_front();
      }
      if (!q.held.empty()) wake = std::min(wake, q.held.front().release);
    }
    if (now >= next_check) {
      if (!namespace_alive(d.ns, mine)) ::_exit(0);
      next_check = now + 1'000'000'000LL;
      continue;
    }
    int64_t wait = std::max<int64_t>(0, wake - now);
    timespec ts{static_cast<time_t>(wait / 1'000'000'000LL), static_cast<long>(wait % 1'000'000'000LL)};
    pollfd pfd{fd, POLLIN, 0};
    if (::ppoll(&pfd, 1, &ts, nullptr) <= 0) continue;
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0) break;  // EAGAIN: drained (ENOBUFS is off)
      nfq_handle_packet(h, buf, static_cast<int>(n));
    }
  }
}
}  // namespace

bool user_space_delay_available() { return true; }

int start_delay_process(const NamespaceDelays& d) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw RunError(fmt::format("exec: emulate: pipe: {}", std::strerror(errno)));
  pid_t child = ::fork();
  if (child < 0) {
    ::close(p[0]), ::close(p[1]);
    throw RunError(fmt::format("exec: emulate: cannot start the delay process of '{}': fork: {}", d.ns, std::strerror(errno)));
  }
  if (child == 0) {
    ::close(p[0]);
    ::setsid();
    pid_t g = ::fork();
    if (g != 0) ::_exit(g < 0 ? 1 : 0);
    serve(d, p[1]);
  }
  ::close(p[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::string got;
  char chunk[512];
  for (int waited = 0; waited < 100;) {  // 5 s at most
    pollfd pfd{p[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, 50);
    if (r == 0) {
      ++waited;
      continue;
    }
    ssize_t n = ::read(p[0], chunk, sizeof chunk);
    if (n <= 0) break;
    got.append(chunk, static_cast<size_t>(n));
  }
  ::close(p[0]);
  if (got.rfind("ok ", 0) == 0) return std::stoi(got.substr(3));
  throw RunError(got.empty() ? fmt::format("exec: emulate: the delay process of '{}' did not start within 5 s", d.ns) : got);
}

}  // namespace clustertwin::exec::emulate
