// `clustertwin worker`: serve one run for a coordinator.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "cli/app.h"
#include "core/diag.h"
#include "exec/executor.h"
#include "exec/socket.h"
#include "exec/spawn.h"
#include "topologies/topology.h"

namespace clustertwin::cli {

namespace {
struct WorkerArgs {
  exec::WorkerOptions options;
  std::string listen, topology, node;
  int port = 0;
  bool token_stdin = false;
};

// True when this machine has `address` (binding it succeeds; another host's address gives
// EADDRNOTAVAIL). Portable: no interface listing.
bool is_local_address(const std::string& address) {
  try {
    exec::listen_on({address, 0});
    return true;
  } catch (const exec::RunError&) {
    return false;
  }
}

// -t without --node: the one rank node whose address this machine has.
int this_machines_node(const topo::Topology& t) {
  std::vector<int> mine;
  std::string all, names;
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const topo::Node& n = t.nodes[i];
    if (!n.runs_rank() || n.address.empty()) continue;
    all += fmt::format("{}{} {}", all.empty() ? "" : ", ", n.name, n.address);
    if (is_local_address(n.address)) {
      mine.push_back(static_cast<int>(i));
      names += (names.empty() ? "" : ", ") + n.name;
    }
  }
  if (mine.size() == 1) return mine.front();
  if (mine.empty())
    throw core::InputError(fmt::format("--node: error: no node of topology '{}' has an address on this machine ({})\n"
                                       "hint: pass --node NAME, or bring up the cluster interface (ip addr / ifconfig)",
                                       t.name, all.empty() ? "no node has an address" : all));
  throw core::InputError(fmt::format("--node: error: several nodes of topology '{}' have an address on this machine "
                                     "({})\nhint: pass --node NAME to say which one this worker is",
                                     t.name, names));
}

// The address the worker binds: --listen as given, else the node's cluster address from the
// topology (--node, or the node whose address this machine has). Never 0.0.0.0 unless --listen
// says so: a worker listens on the cluster network only.
std::string listen_address(const WorkerArgs& a) {
  if (!a.listen.empty()) return a.listen;
  if (a.topology.empty())
    throw core::InputError("--listen: error: the worker needs an address to listen on\n"
                           "hint: pass --listen ADDR:PORT, or -t TOPOLOGY [--node NAME] to use the node's address");
  topo::Topology t = topo::load_topology(a.topology);
  if (a.node.empty()) {
    const topo::Node& n = t.nodes[this_machines_node(t)];
    fmt::print(stderr, "clustertwin-worker: this machine is node '{}' of topology '{}' (it has {})\n", n.name, t.name,
               n.address);
    return exec::Endpoint{n.address, static_cast<uint16_t>(a.port)}.str();
  }
  int i = t.find(a.node);
  if (i < 0) {
    std::string names;
    for (const auto& n : t.nodes)
      if (n.runs_rank()) names += (names.empty() ? "" : ", ") + n.name;
    throw core::InputError(fmt::format("--node: error: topology '{}' has no node '{}'\nhint: its nodes that run ranks: {}",
                                       t.name, a.node, names));
  }
  const topo::Node& n = t.nodes[i];
  if (!n.runs_rank())
    throw core::InputError(fmt::format("--node: error: node '{}' of topology '{}' runs no rank (it is a {})", n.name, t.name,
                                       n.is_switch ? "switch" : "control machine"));
  if (n.address.empty())
    throw core::InputError(fmt::format("--node: error: node '{}' has no address in {}\nhint: give it `address:` (or "
                                       "interfaces), or pass --listen ADDR:PORT",
                                       n.name, t.file));
  return exec::Endpoint{n.address, static_cast<uint16_t>(a.port)}.str();
}
}  // namespace

void add_worker_command(CLI::App& app) {
  auto wa = std::make_shared<WorkerArgs>();
  auto* cmd = app.add_subcommand("worker", "Serve one run for a coordinator");
  auto* listen = cmd->add_option("--listen", wa->listen, "ADDR:PORT to listen on (port 0 picks a free one)");
  cmd->add_option("-t,--topology", wa->topology, "Topology YAML: listen on --node's cluster address")->excludes(listen);
  cmd->add_option("--node", wa->node, "This machine's node in the topology (default: the node whose address it has)")
      ->excludes(listen);
  cmd->add_option("--port", wa->port, "Port with -t/--node (0 picks a free one)")->check(CLI::Range(0, 65535))->excludes(listen);
  auto* token = cmd->add_option("--token", wa->options.token, "Run token (default: $CLUSTERTWIN_TOKEN)");
  cmd->add_flag("--token-stdin", wa->token_stdin,
                "Read the token from the first line of stdin, and stop when stdin closes (how `run` starts workers "
                "over ssh)")
      ->excludes(token);
  cmd->callback([wa] {
    exec::WorkerOptions o = wa->options;
    o.listen = listen_address(*wa);
    if (wa->token_stdin) {
      o.token = exec::read_token_line(STDIN_FILENO, 30);
      o.lifeline_fd = STDIN_FILENO;
    }
    if (o.token.empty())
      if (const char* t = std::getenv("CLUSTERTWIN_TOKEN")) o.token = t;
    if (o.token.empty())
      throw core::InputError("--token: error: a worker needs the run token\nhint: pass --token or set CLUSTERTWIN_TOKEN");
    exec::run_worker(o);
  });
}

}  // namespace clustertwin::cli
