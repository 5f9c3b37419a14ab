// run_cluster(): workers on the nodes of a real cluster, attached (started by hand) or started
// here over ssh with the topology's aliases, driven by the same coordinator as run_local.
#include <fmt/format.h>

#include <sys/wait.h>

#include <algorithm>
#include <sstream>

#include "exec/auth.h"
#include "exec/coordinator.h"
#include "exec/emulate/emulation.h"
#include "exec/executor.h"
#include "exec/spawn.h"

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

WorkerLaunch ssh_launch(const Target& t, const ClusterRunOptions& o, const std::string& token) {
  const std::string& alias = t.node->ssh;
  WorkerLaunch l;
  l.argv = split_words(o.ssh_command);
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
                   const ClusterRunOptions& o) {
  if (static_cast<int>(o.attach.size()) != p.world())
    throw RunError(fmt::format("exec: --attach lists {} workers, the program has {} ranks — give one HOST:PORT per rank, "
                               "in the order of the topology's compute nodes",
                               o.attach.size(), p.world()));
  if (o.token.empty())
    throw RunError("exec: attaching needs the run token the workers were started with (CLUSTERTWIN_TOKEN)");
  std::vector<Endpoint> addrs;
  for (const auto& a : o.attach) addrs.push_back(parse_endpoint(a, "--attach"));
  detail::CoordinateOptions co = detail::coordinate_options(o, o.token);
  for (const auto& t : ts) co.node_names.push_back(t.node->name);
  return detail::coordinate(p, addrs, seconds, co);
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
    workers.finish(2);
    throw RunError(std::string(e.what()) + workers.abnormal_exits());
  }
}

MeasuredRun emulated(const core::Program& p, const std::vector<Target>& ts, const std::vector<std::vector<double>>& seconds,
                     const ClusterRunOptions& o) {
  std::string why;
  if (!emulate::supported(&why)) throw RunError("exec: --emulated: " + why);
  auto existing = emulate::list(o.emulated_prefix);
  std::vector<std::string> ns;
  std::string missing;
  for (const auto& t : ts) {
    ns.push_back(emulate::namespace_name(o.emulated_prefix, t.node->name));
    if (std::find(existing.begin(), existing.end(), ns.back()) == existing.end())
      missing += (missing.empty() ? "" : ", ") + ns.back();
  }
  if (!missing.empty())
    throw RunError(fmt::format("exec: --emulated: no namespace {} — run `clustertwin emulate up` on the topology first", missing));
  const std::string token = auth::random_hex(16);
  std::vector<WorkerLaunch> launches;
  for (size_t r = 0; r < ts.size(); ++r) {
    WorkerLaunch l;
    l.argv = {"ip", "netns", "exec", ns[r], o.self_exe, "worker", "--listen", Endpoint{ts[r].host, 0}.str()};
    l.what = fmt::format("the worker of node '{}' in namespace '{}'", ts[r].node->name, ns[r]);
    launches.push_back(std::move(l));
  }
  WorkerProcesses workers(std::move(launches), local_worker_env(token));
  const std::vector<Endpoint> addrs = worker_endpoints(workers, ts, o.launch_timeout_s);
  detail::CoordinateOptions co = detail::coordinate_options(o, token);
  for (const auto& t : ts) co.node_names.push_back(t.node->name);
  co.same_clock = true;  // one machine, one steady_clock
  co.connect = [ns](int rank, const Endpoint& ep, Clock::time_point deadline, const std::string& who) {
    emulate::InNamespace in(ns.at(rank));  // the socket belongs to the rank's namespace from here on
    return connect_until(ep, deadline, who);
  };
  return coordinate_workers(workers, p, addrs, seconds, co);
}

MeasuredRun over_ssh(const core::Program& p, const std::vector<Target>& ts, const std::vector<std::vector<double>>& seconds,
                     const ClusterRunOptions& o) {
  const std::string token = o.token.empty() ? auth::random_hex(16) : o.token;
  std::vector<WorkerLaunch> launches;
  for (const auto& t : ts) launches.push_back(ssh_launch(t, o, token));
  WorkerProcesses workers(std::move(launches), {});
  const std::vector<Endpoint> addrs = worker_endpoints(workers, ts, o.launch_timeout_s);
  detail::CoordinateOptions co = detail::coordinate_options(o, token);
  for (const auto& t : ts) co.node_names.push_back(t.node->name);
  return coordinate_workers(workers, p, addrs, seconds, co);
}
}  // namespace

MeasuredRun run_cluster(const core::Program& program, const topo::Topology& topology, const ClusterRunOptions& options) {
  ignore_sigpipe();
  const auto seconds = detail::prepare(program, topology, options);
  auto ts = targets(topology);
  if (!options.attach.empty()) return attach(program, ts, seconds, options);
  if (!options.emulated_prefix.empty()) {
    check_nodes(ts, topology, false);
    return emulated(program, ts, seconds, options);
  }
  check_nodes(ts, topology, true);
  return over_ssh(program, ts, seconds, options);
}

}  // namespace clustertwin::exec
