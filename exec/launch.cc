// exec::run(): how the workers start — on this machine, over ssh with the topology's aliases,
// attached (started by hand), or in an emulated cluster — and one coordinator driving them all.
#include <fmt/format.h>

#include <sys/wait.h>

#include <algorithm>
#include <sstream>

#include "core/diag.h"
#include "exec/auth.h"
#include "exec/coordinator.h"
#include "exec/emulate/emulation.h"
#include "exec/executor.h"
#include "exec/spawn.h"
#include "topologies/placement.h"

namespace clustertwin::exec {

namespace {
constexpr double kExitTimeout = 5;  // after the last done frame, for the workers (and ssh) to leave

// One word for the node's shell: as is when it holds only characters no shell treats specially.
std::string shell_word(const std::string& s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_-.:/@%+=,").find(c) != std::string_view::npos;
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

struct Target {
  const topo::Node* node;
  std::string host;
};

std::vector<Target> targets(const topo::Topology& t) {
  std::vector<Target> out;
  for (int i : t.compute_nodes()) out.push_back({&t.nodes[i], t.nodes[i].address});
  return out;
}

detail::CoordinateOptions coordinate_options(const RunSettings& s, std::string token, const std::vector<Target>& ts) {
  detail::CoordinateOptions co{s, std::move(token)};
  for (const auto& t : ts) co.node_names.push_back(t.node->name);
  return co;
}

WorkerLaunch ssh_launch(const Target& t, const launch::Ssh& o, const std::string& token) {
  const std::string& alias = t.node->ssh;
  WorkerLaunch l;
  l.argv = split_words(o.command);
  for (std::string w : {"-o", "BatchMode=yes"}) l.argv.push_back(w);
  l.argv.push_back(alias);
  // ssh joins the rest into one line for the node's shell: the binary path stays unquoted, so a
  // '~/bin/clustertwin' expands there.
  l.argv.push_back(fmt::format("{} worker --listen {} --token-stdin", o.remote_binary,
                               shell_word(Endpoint{t.host, o.worker_port}.str())));
  l.what = fmt::format("the worker on node '{}' (ssh alias '{}')", t.node->name, alias);
  l.stdin_text = token + "\n";
  const std::string binary = o.remote_binary;
  l.explain_exit = [alias, binary](int status) -> std::string {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 255)
      return fmt::format(" — ssh could not reach or log in to '{}' (see ssh's message above); check that `ssh -o "
                         "BatchMode=yes {} true` works without a password prompt (keys, Host {} in ~/.ssh/config)",
                         alias, alias, alias);
    if (code == 127)
      return fmt::format(" — the node's shell found no '{}': install clustertwin there or pass --remote-binary PATH", binary);
    return " — see its error output above";
  };
  return l;
}

// Every node needs an address to listen on and, for ssh, an alias; all problems at once.
void check_nodes(const std::vector<Target>& ts, const topo::Topology& t, bool ssh) {
  std::string problems;
  for (size_t r = 0; r < ts.size(); ++r) {
    const auto& n = *ts[r].node;
    if (ts[r].host.empty())
      problems += fmt::format("\n  rank {}: node '{}' has no address: its worker would not know where to listen", r, n.name);
    if (ssh && n.ssh.empty())
      problems += fmt::format("\n  rank {}: node '{}' has no ssh alias: add `ssh: ALIAS`, or start its worker by hand and "
                              "use --attach",
                              r, n.name);
  }
  if (!problems.empty())
    throw RunError(fmt::format("exec: cannot start the workers of topology '{}' ({}):{}", t.name, t.file, problems));
}

MeasuredRun attach(const core::Program& p, const std::vector<Target>& ts, const std::vector<std::vector<double>>& seconds,
                   const launch::Attach& how, const RunSettings& s) {
  std::vector<Endpoint> addrs;
  for (const auto& a : how.workers) addrs.push_back(parse_endpoint(a, "--attach"));
  return detail::coordinate(p, addrs, seconds, coordinate_options(s, how.token, ts));
}

// Where each started worker listens (its node's host, the port it printed); stops them all when one
// does not say in time.
std::vector<Endpoint> worker_endpoints(WorkerProcesses& workers, const std::vector<Target>& ts, double timeout_s) {
  std::vector<Endpoint> addrs;
  try {
    auto ports = workers.read_ports(timeout_s);
    for (size_t r = 0; r < ts.size(); ++r) addrs.push_back({ts[r].host, ports[r]});
  } catch (const RunError&) {
    workers.finish(0);
    throw;
  }
  return addrs;
}

// Runs the Program on started workers, then stops them; a failure carries the workers' own exits.
MeasuredRun coordinate_workers(WorkerProcesses& workers, const core::Program& p, const std::vector<Endpoint>& addrs,
                               const std::vector<std::vector<double>>& seconds, const detail::CoordinateOptions& co) {
  try {
    auto run = detail::coordinate(p, addrs, seconds, co);
    workers.finish(kExitTimeout);
    return run;
  } catch (const RunError& e) {
    // The coordinator has already waited for every rank's own report (or aborted it): what is still
    // running is exiting now, or hung (a stopped worker is reported as soon as it is found).
    workers.finish(0.5);
    throw RunError(std::string(e.what()) + workers.abnormal_exits());
  }
}

MeasuredRun emulated(const core::Program& p, const std::vector<Target>& ts, const std::vector<std::vector<double>>& seconds,
                     const launch::Emulated& how, const RunSettings& s) {
  std::string why;
  if (!emulate::supported(&why)) throw RunError("exec: --emulated: " + why);
  auto existing = emulate::list(how.prefix);
  std::vector<std::string> ns;
  std::string missing;
  for (const auto& t : ts) {
    ns.push_back(emulate::namespace_name(how.prefix, t.node->name));
    if (std::find(existing.begin(), existing.end(), ns.back()) == existing.end())
      missing += (missing.empty() ? "" : ", ") + ns.back();
  }
  if (!missing.empty())
    throw RunError(fmt::format("exec: --emulated: no namespace {} — run `clustertwin emulate up` on the topology first", missing));
  const std::string token = auth::random_hex(16);
  std::vector<WorkerLaunch> launches;
  for (size_t r = 0; r < ts.size(); ++r) {
    WorkerLaunch l;
    l.argv = {"ip", "netns", "exec", ns[r], how.self_exe, "worker", "--listen", Endpoint{ts[r].host, 0}.str()};
    l.what = fmt::format("the worker of node '{}' in namespace '{}'", ts[r].node->name, ns[r]);
    launches.push_back(std::move(l));
  }
  WorkerProcesses workers(std::move(launches), local_worker_env(token));
  const std::vector<Endpoint> addrs = worker_endpoints(workers, ts, s.launch_timeout_s);
  detail::CoordinateOptions co = coordinate_options(s, token, ts);
  co.same_clock = true;  // one machine, one steady_clock
  co.connect = [ns](int rank, const Endpoint& ep, Clock::time_point deadline, const std::string& who) {
    emulate::InNamespace in(ns.at(rank));  // the socket belongs to the rank's namespace from here on
    return connect_until(ep, deadline, who);
  };
  return coordinate_workers(workers, p, addrs, seconds, co);
}

MeasuredRun over_ssh(const core::Program& p, const std::vector<Target>& ts, const std::vector<std::vector<double>>& seconds,
                     const launch::Ssh& how, const RunSettings& s) {
  const std::string token = how.token.empty() ? auth::random_hex(16) : how.token;
  std::vector<WorkerLaunch> launches;
  for (const auto& t : ts) launches.push_back(ssh_launch(t, how, token));
  WorkerProcesses workers(std::move(launches), {});
  const std::vector<Endpoint> addrs = worker_endpoints(workers, ts, s.launch_timeout_s);
  return coordinate_workers(workers, p, addrs, seconds, coordinate_options(s, token, ts));
}

MeasuredRun local(const core::Program& p, const std::vector<std::vector<double>>& seconds, const launch::Local& how,
                  const RunSettings& s) {
  const std::string token = auth::random_hex(16);
  WorkerProcesses workers(std::vector<WorkerLaunch>(p.world(), local_worker_launch(how.self_exe)), local_worker_env(token));
  const std::vector<Target> ts(p.world(), Target{nullptr, "127.0.0.1"});
  const std::vector<Endpoint> addrs = worker_endpoints(workers, ts, s.launch_timeout_s);
  detail::CoordinateOptions co{s, token};
  co.same_clock = true;
  return coordinate_workers(workers, p, addrs, seconds, co);
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

std::string input_error(const std::string& flag, const std::string& message, const std::string& hint) {
  return fmt::format("{}: error: {}\nhint: {}", flag, message, hint);
}
}  // namespace

void check_launch(const Launch& how, const core::Program& p, const topo::Topology& t) {
  const int world = p.world();
  if (const auto* l = std::get_if<launch::Local>(&how); l && l->ranks > 0 && l->ranks != world)
    throw core::InputError(input_error(
        "--local", fmt::format("{} local workers requested, but topology '{}' has {} nodes that run ranks", l->ranks, t.name, world),
        fmt::format("use --local {} (one worker process per node of the topology)", world)));
  if (const auto* a = std::get_if<launch::Attach>(&how)) {
    if (static_cast<int>(a->workers.size()) != world)
      throw core::InputError(input_error(
          "--attach", fmt::format("{} workers given, but topology '{}' has {} nodes that run ranks", a->workers.size(), t.name, world),
          "list one HOST:PORT per node, in rank order (the workload's placement, else the topology's order of nodes)"));
    if (a->token.empty())
      throw core::InputError(input_error("--attach", "attaching needs the run token the workers were started with",
                                         "export CLUSTERTWIN_TOKEN=... (the same value the workers got)"));
  }
}

std::string launch_text(const Launch& how, int world) {
  return std::visit(
      Overloaded{
          [&](const launch::Local&) { return fmt::format("{} local worker processes over loopback TCP", world); },
          [&](const launch::Attach& a) { return fmt::format("{} attached workers over TCP", a.workers.size()); },
          [&](const launch::Emulated&) { return fmt::format("{} workers in an emulated cluster (network namespaces)", world); },
          [&](const launch::Ssh&) { return fmt::format("{} workers started over ssh, TCP", world); }},
      how);
}

MeasuredRun run(const core::Program& program, const topo::Topology& given, const Launch& how, const RunSettings& s) {
  // Rank i runs on the Program's placement[i] (file order when it has none), as in the simulator.
  const topo::Topology topology = topo::with_placement(given, program.placement);
  check_launch(how, program, topology);
  ignore_sigpipe();
  const auto seconds = detail::prepare(program, topology, s);
  const auto ts = targets(topology);
  return std::visit(Overloaded{[&](const launch::Local& l) { return local(program, seconds, l, s); },
                               [&](const launch::Attach& a) { return attach(program, ts, seconds, a, s); },
                               [&](const launch::Emulated& e) {
                                 check_nodes(ts, topology, false);
                                 return emulated(program, ts, seconds, e, s);
                               },
                               [&](const launch::Ssh& h) {
                                 check_nodes(ts, topology, true);
                                 return over_ssh(program, ts, seconds, h, s);
                               }},
                    how);
}

}  // namespace clustertwin::exec
