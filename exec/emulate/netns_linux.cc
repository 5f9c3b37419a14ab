// Bringing an emulation plan up and down with iproute2, and entering a namespace from a thread.
// Linux only: built instead of netns_other.cc where network namespaces exist.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/process.h"
#include "exec/emulate/delay.h"
#include "exec/emulate/emulation.h"
#include "exec/executor.h"

namespace clustertwin::exec::emulate {

namespace {
using core::joined;
using Output = core::Captured;

// Runs argv (PATH searched) and collects its output; bounded so a hung `ip` cannot hang us.
Output run(const std::vector<std::string>& argv, double timeout_s = 20) {
  try {
    return core::run_captured(argv, timeout_s);
  } catch (const core::SpawnError& e) {
    throw RunError(fmt::format("exec: emulate: cannot run '{}': {} — install iproute2 (ip, tc)", argv.at(0),
                               std::strerror(e.code().value())));
  } catch (const std::system_error& e) {
    throw RunError(fmt::format("exec: emulate: {}", e.what()));
  }
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string comm_of(int pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(in, name);
  return name;
}

// Gone, or a zombie left for whoever reaps orphans.
bool exited(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return true;
  auto close = stat.rfind(')');
  return close == std::string::npos || stat.compare(close + 1, 3, " Z ") == 0;
}

std::vector<int> delay_pids_in(const std::string& ns) {
  std::vector<int> out;
  Output o = run({"ip", "netns", "pids", ns});
  std::istringstream in(o.out);
  for (int pid; in >> pid;)
    if (comm_of(pid) == kDelayProcessName) out.push_back(pid);
  return out;
}

// SIGTERM, then SIGKILL after a second: held packets are dropped with the queue.
void stop_delay_processes(const std::string& ns) {
  auto pids = delay_pids_in(ns);
  for (int pid : pids) ::kill(pid, SIGTERM);
  for (int pid : pids) {
    for (int i = 0; i < 100 && !exited(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (exited(pid)) continue;
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && !exited(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string hint_for(const std::string& err) {
  if (err.find("Specified qdisc kind is unknown") != std::string::npos)
    return " — this kernel lacks that qdisc (netem for --delay: clustertwin delays in user space without it)";
  if (err.find("iptables") != std::string::npos && err.find("No such file") != std::string::npos)
    return " — --delay without netem needs iptables: install the Debian package iptables (scripts/setup.sh does)";
  if (err.find("No chain/target/match by that name") != std::string::npos)
    return " — the kernel lacks the NFQUEUE target (CONFIG_NETFILTER_XT_TARGET_NFQUEUE)";
  if (err.find("Operation not permitted") != std::string::npos) return " — needs root";
  return "";
}

// Every queue's delay less `overhead` (not below 0).
void start_delay_processes(const std::vector<NamespaceDelays>& all, double overhead) {
  for (NamespaceDelays d : all) {
    for (auto& q : d.queues) q.delay_s = std::max(0.0, q.delay_s - overhead);
    start_delay_process(d);
  }
}

void remove_quietly(const std::string& prefix) {
  try {
    down(prefix);
  } catch (const RunError&) {
    // The original failure is what the user needs; the sweep is retried by `emulate down`.
  }
}
}  // namespace

bool netem_available() {
  std::string ns = fmt::format("ct-netem-probe-{}", ::getpid());
  if (!run({"ip", "netns", "add", ns}).ok()) return false;
  bool ok = run({"tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"}).ok();
  run({"ip", "netns", "del", ns});
  return ok;
}

std::vector<int> delay_processes(const std::string& prefix) {
  std::vector<int> out;
  for (const auto& ns : list(prefix))
    for (int pid : delay_pids_in(ns)) out.push_back(pid);
  return out;
}

bool supported(std::string* why) {
  if (::geteuid() != 0) {
    if (why) *why = "emulation creates network namespaces and needs root (run as root or with sudo)";
    return false;
  }
  return true;
}

std::vector<std::string> list(const std::string& prefix) {
  Output o = run({"ip", "netns", "list"});
  if (!o.ok()) throw RunError(fmt::format("exec: emulate: `ip netns list` failed: {}", trimmed(o.err)));
  std::vector<std::string> out;
  std::istringstream in(o.out);
  for (std::string line; std::getline(in, line);) {
    std::string name = line.substr(0, line.find(' '));  // "name (id: 3)"
    if (!name.empty() && name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

std::vector<std::string> down(const std::string& prefix) {
  if (prefix.empty()) throw RunError("exec: emulate: refusing to remove namespaces with an empty prefix");
  auto names = list(prefix);
  std::string errors;
  for (const auto& n : names) {
    stop_delay_processes(n);
    Output o = run({"ip", "netns", "del", n});
    if (!o.ok()) errors += fmt::format("\n  ip netns del {}: {}", n, trimmed(o.err));
  }
  if (!errors.empty()) throw RunError("exec: emulate: could not remove every namespace:" + errors);
  return names;
}

double up(const EmulationPlan& plan) {
  std::string why;
  if (!supported(&why)) throw RunError("exec: emulate: " + why);
  auto existing = list(plan.prefix);
  if (!existing.empty())
    throw RunError(fmt::format("exec: emulate: namespaces of '{}' exist already ({}, …) — run `clustertwin emulate down` "
                               "first, or pick another --prefix",
                               plan.topology, existing.front()));
  if (!plan.delay_processes.empty() && !user_space_delay_available())
    start_delay_process(plan.delay_processes.front());  // throws: names the package to install
  for (const auto& argv : plan.commands) {
    Output o = run(argv);
    if (o.ok()) continue;
    std::string err = trimmed(o.err);
    remove_quietly(plan.prefix);
    throw RunError(fmt::format("exec: emulate: `{}` failed: {}{} (everything made so far was removed)", joined(argv),
                               err.empty() ? "exit status " + std::to_string(WEXITSTATUS(o.status)) : err,
                               hint_for(err)));
  }
  if (plan.delay_processes.empty()) return 0;
  try {
    start_delay_processes(plan.delay_processes, 0);
    // The stack and the trip through user space add a share to every held packet: measured on
    // one path, it is taken off every delay, so the end-to-end one-way delay is the link's. Twice:
    // the share depends a little on how long the process sleeps, so the second pass measures what
    // is left once the first is taken off.
    if (plan.delay_paths.empty()) return 0;
    EmulationPlan one = plan;
    one.delay_paths.resize(1);
    double overhead = 0;
    for (int pass = 0; pass < 2; ++pass) {
      DelayMeasurement m;
      try {
        m = measure_delays(one, 60).front();
      } catch (const RunError&) {
        break;  // the delays stand as they are (--verify reports the failure)
      }
      // Per user-space trip: a path across a switch passes two queues each way.
      const double excess = ((m.a_to_b - m.path.a_to_b) / std::max(1, m.path.queues_a_to_b) +
                             (m.b_to_a - m.path.b_to_a) / std::max(1, m.path.queues_b_to_a)) /
                            2;
      const double next = std::max(0.0, overhead + excess);
      if (next == overhead) break;
      overhead = next;
      for (const auto& d : plan.delay_processes) stop_delay_processes(d.ns);
      start_delay_processes(plan.delay_processes, overhead);
    }
    return overhead;
  } catch (const RunError& e) {
    remove_quietly(plan.prefix);
    throw RunError(std::string(e.what()) + " (everything made so far was removed)");
  }
}

Emulation::Emulation(EmulationPlan plan) : plan_(std::move(plan)) { up(plan_); }

Emulation::~Emulation() {
  try {
    down(plan_.prefix);
  } catch (const RunError&) {
    // A destructor cannot throw; `clustertwin emulate down` sweeps whatever is left.
  }
}

InNamespace::InNamespace(const std::string& ns) {
  saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_ < 0) throw RunError(fmt::format("exec: emulate: cannot open this thread's namespace: {}", std::strerror(errno)));
  std::string path = "/run/netns/" + ns;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ::close(saved_);
    throw RunError(fmt::format("exec: emulate: no namespace '{}' ({}): {}", ns, path, std::strerror(errno)));
  }
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    ::close(saved_);
    throw RunError(fmt::format("exec: emulate: cannot enter namespace '{}': {}", ns, std::strerror(err)));
  }
}

InNamespace::~InNamespace() {
  if (saved_ < 0) return;
  [[maybe_unused]] int rc = ::setns(saved_, CLONE_NEWNET);
  ::close(saved_);
}

}  // namespace clustertwin::exec::emulate
