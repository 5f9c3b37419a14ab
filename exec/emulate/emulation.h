// Emulated clusters: the topology built as Linux network namespaces on this machine, one per node,
// a veth pair per link shaped with `tbf` per direction (and `netem` delay where the kernel has it),
// the topology's addresses, routes and forwarding. Planning is plain data (portable, testable
// without root); bringing a plan up needs Linux and root, and whatever `up` made, `down` removes —
// also after a failure halfway, and by a sweep of the plan's unique name prefix.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "topologies/topology.h"

namespace clustertwin::exec::emulate {

struct EmulateOptions {
  double scale = 1;    // every link (and forwarding) bandwidth multiplied by this
  std::string prefix;  // namespace names start with it; empty: "ct-<topology name>-"
  bool delay = false;  // add each link's latency with netem (fails where the kernel has no netem)
};

struct EmulationPlan {
  std::string topology, prefix;
  double scale = 1;
  std::vector<std::string> namespaces;         // every namespace the plan creates
  std::vector<std::string> node_namespace;     // per topology node ("" when it gets none)
  std::vector<std::string> node_address;       // per node: where its worker listens ("" none)
  std::vector<std::vector<std::string>> commands;  // argv of each `ip` / `tc` / `sysctl` step, in order
  std::vector<std::string> notes;              // what the emulation leaves out ("link latency not emulated")
  std::string text() const;                    // the commands as shell lines
};

// "ct-<name>-", the name reduced to [A-Za-z0-9_.-].
std::string default_prefix(const topo::Topology& t);
// The namespace of a node: prefix + its name reduced the same way.
std::string namespace_name(const std::string& prefix, const std::string& node_name);
// Throws core::InputError naming the node or link the emulation cannot build (two nodes with one
// address, a loopback address, a link to a node it cannot place).
EmulationPlan plan_emulation(const topo::Topology& t, const EmulateOptions& o);

// The topology with every bandwidth (links both ways, forwarding) multiplied by `scale`: what an
// emulation at that scale is, so its prediction is made on the same figures.
topo::Topology scaled_topology(topo::Topology t, double scale);

// True on Linux when this process may create namespaces (root).
bool supported(std::string* why = nullptr);
// Runs the plan; on a failure removes what it made and throws RunError naming the failed command
// and its error output.
void up(const EmulationPlan& plan);
// Deletes every namespace whose name starts with `prefix` (`ip netns list` sweep); returns them.
std::vector<std::string> down(const std::string& prefix);
// Namespaces that exist now with that prefix.
std::vector<std::string> list(const std::string& prefix);

// Up in the constructor, down in the destructor: an emulation that never outlives its scope.
class Emulation {
 public:
  explicit Emulation(EmulationPlan plan);
  ~Emulation();
  Emulation(const Emulation&) = delete;
  Emulation& operator=(const Emulation&) = delete;
  const EmulationPlan& plan() const { return plan_; }

 private:
  EmulationPlan plan_;
};

// While alive, the calling thread's network namespace is `ns` (sockets it creates stay there).
// Linux only; throws RunError when the namespace cannot be entered.
class InNamespace {
 public:
  explicit InNamespace(const std::string& ns);
  ~InNamespace();
  InNamespace(const InNamespace&) = delete;
  InNamespace& operator=(const InNamespace&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace clustertwin::exec::emulate
