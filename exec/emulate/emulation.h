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
  bool delay = false;  // add each link's latency, one way, per direction
  // How: netem under tbf where the kernel has it (netem_available()), else NFQUEUE rules and a
  // delay process per namespace (exec/emulate/delay.h; needs libnetfilter-queue).
  bool netem = true;
};

// One NFQUEUE of a delay process: one direction of a link. Packets of `dev` on `hook`
// (POSTROUTING: leaving, with -o; PREROUTING: entering, with -i) pass a FIFO server at `rate`
// (each takes its frames' bytes / rate, after the packets before it, as on a wire) and are then
// held `delay_s` seconds: netem's `rate` and `delay`, so a message of one packet pays its
// serialisation as on a real link (tbf would let a bucketful through at once).
struct QueuedDelay {
  std::string hook, dev;
  int queue = 0;
  double delay_s = 0;
  double rate = 0;  // bytes/s of frames (payload + headers + 14 B of Ethernet header each); 0: unlimited
};
// Every queue of one namespace: one delay process serves them.
struct NamespaceDelays {
  std::string ns;
  std::vector<QueuedDelay> queues;
};
// A link between two nodes with addresses, and its configured one-way delay each way: what
// `emulate up --verify` measures.
struct DelayPath {
  std::string node_a, node_b, ns_a, ns_b, addr_a, addr_b;
  // Seconds one --verify probe should take each way: the hops' latencies, and its frame's time at
  // the rate of every hop paced in user space.
  double a_to_b = 0, b_to_a = 0;
  int queues_a_to_b = 0, queues_b_to_a = 0;  // user-space queues passed each way
};

struct EmulationPlan {
  std::string topology, prefix;
  double scale = 1;
  std::vector<std::string> namespaces;         // every namespace the plan creates
  std::vector<std::string> node_namespace;     // per topology node ("" when it gets none)
  std::vector<std::string> node_address;       // per node: where its worker listens ("" none)
  std::vector<std::vector<std::string>> commands;  // argv of each `ip` / `tc` / `sysctl` step, in order
  std::vector<std::string> notes;              // what the emulation leaves out ("link latency not emulated")
  std::vector<NamespaceDelays> delay_processes;  // user-space delay: started after the commands
  std::vector<DelayPath> delay_paths;          // links whose delay --verify can measure
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
// True when this kernel has the netem qdisc (tried on a throwaway namespace's loopback).
bool netem_available();
// Runs the plan, then starts its delay processes; on a failure removes what it made and throws
// RunError naming the failed command and its error output. Returns the path overhead (seconds:
// the stack and the trip through user space, measured on the first delay path) taken off every
// user-space delay, or 0.
double up(const EmulationPlan& plan);
// Stops the delay processes in, then deletes, every namespace whose name starts with `prefix`
// (`ip netns list` sweep: the namespaces are the emulation's record, and their iptables rules and
// qdiscs go with them); returns them.
std::vector<std::string> down(const std::string& prefix);
// Pids of the delay processes running in the namespaces with that prefix.
std::vector<int> delay_processes(const std::string& prefix);

// What --verify measured on one path: one-way delay each way (one clock: both namespaces are on
// this machine) and the round trip, medians of `probes` UDP ping-pongs.
struct DelayMeasurement {
  DelayPath path;
  double a_to_b = 0, b_to_a = 0, round_trip = 0;  // seconds
};
std::vector<DelayMeasurement> measure_delays(const EmulationPlan& plan, int probes = 200);
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
