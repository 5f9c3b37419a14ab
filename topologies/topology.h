// The cluster model: nodes (device, interfaces and static routes, forwarding), links (type preset
// plus overrides), networks, and the device/link presets they refer to. Both backends trust this
// description. The file format is documented in topologies/README.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/diag.h"
#include "core/program.h"
#include "topologies/address.h"
#include "topologies/goodput.h"

namespace clustertwin::topo {

// Ports a device has for cluster cables; a link uses one port of its type's kind at each end.
struct Ports {
  int thunderbolt = 0;  // Thunderbolt / USB4 ports
  int rdma = 0;         // of those, ports that can run RDMA over Thunderbolt
  int ethernet = 0;
  int wifi = 0;
  bool known = false;   // the preset (or the node) states its ports
};

struct Device {
  std::string preset;
  std::string description;
  double peak_fp32 = 0;          // FLOP/s
  double peak_fp16 = 0;          // FLOP/s
  double peak_bf16 = 0;          // FLOP/s; 0 = as fp16
  double peak_int8 = 0;          // op/s; 0 = as fp16
  double compute_efficiency = 1; // sustained fraction of peak
  double memory_bandwidth = 0;   // bytes/s
  double memory_efficiency = 1;  // sustained fraction
  double memory = 0;             // bytes
  double power = 0;              // watts at the wall under sustained load; 0 = unknown
  double price = 0;              // US dollars: list price of the configuration described; 0 = unknown
  int thunderbolt = 0;           // Thunderbolt generation of its ports (4, 5); 0 = none
  Ports ports;
  std::string source;
  // Where each figure comes from: figure key -> the note written beside it in presets.yaml.
  std::map<std::string, std::string> notes;

  double peak(core::DType t) const;
  double sustained_flops(core::DType t) const;
  double sustained_bandwidth() const { return memory_bandwidth * memory_efficiency; }
};

// Roofline time of a compute op on a device: max(flops / sustained FLOP/s, bytes / sustained B/s).
// Both backends use this one function (sim for its model, exec for --compute modelled).
double roofline_seconds(const Device& d, double flops, double bytes, core::DType t = core::DType::F32);

enum class Transport { Tcp, Rdma };
enum class PortKind { None, Thunderbolt, Ethernet, Wifi };
std::string_view name(Transport);
std::string_view name(PortKind);

struct LinkType {
  std::string preset;
  std::string description;
  // bytes/s of TCP goodput per direction (for a Link: a -> b): the payload one flow moves, what the
  // simulator prices messages at. The file's `goodput:` (or `bandwidth:`, the same figure), else
  // derived from `rate:` (topologies/goodput.h).
  double bandwidth = 0;
  double rate = 0;                    // bytes/s of wire rate (a Link: a -> b) as `framing` counts it; 0 = not stated
  Framing framing = Framing::Ethernet;  // what `rate` counts per frame besides the IP packet
  bool goodput_derived = false;       // bandwidth was derived from rate, mtu and framing (no goodput given)
  double latency = 0;    // seconds, one way (for a Link: a -> b)
  bool full_duplex = true;
  double overhead = 0;   // seconds of per-message software cost at each endpoint (TCP stack vs RDMA)
  // What a node costs when it forwards traffic that arrives over this link type (a Thunderbolt
  // Bridge hub, a Mac routing for a Pi): transit capacity shared by every route crossing it, and
  // the latency it adds.
  double forward_bandwidth = 0;  // bytes/s
  double forward_latency = 0;    // seconds
  Transport transport = Transport::Tcp;  // RDMA is never forwarded and carries no IP
  PortKind port = PortKind::None;        // the kind of port it takes at each end
  int thunderbolt = 0;                   // Thunderbolt generation both ends need (tb5-rdma: 5)
  int mtu = 0;                           // bytes of IP packet; 0 = not stated (1500 where a goodput is derived)
  double price = 0;                      // US dollars of one cable (list price, dated in its note); 0 = unknown
  std::string source;
  std::map<std::string, std::string> notes;  // figure key -> its source note
};

// A forwarding node's own resource: every route through the node shares its capacity.
struct Forwarding {
  double bandwidth = 0;  // bytes/s
  double latency = 0;    // seconds
};

// One address of a node, on one subnet ("bridge0 10.10.0.1/24").
struct Interface {
  std::string name;     // optional: bridge0, en0, eth0
  std::string address;  // as written, without the prefix
  uint32_t ip = 0;
  int prefix = -1;      // -1: the subnet is not stated (a bare address)
  bool ipv4 = false;    // false: a host name or IPv6, outside the subnet model
  std::vector<std::string> ports;  // physical ports it spans (a bridge); empty = just its name
  core::SourcePos pos;

  Subnet subnet() const { return subnet_of(ip, prefix); }
  bool has_subnet() const { return ipv4 && prefix >= 0; }
};

// A static route, as a Pi has: "10.10.0.0/24 via 192.168.50.1".
struct StaticRoute {
  Subnet to;
  uint32_t via = 0;
  core::SourcePos pos;
};

struct Node {
  std::string name;
  bool is_switch = false;        // a switch routes but runs no rank
  std::optional<Device> device;  // absent for switches
  std::string address;           // cluster (data) address: where its worker listens
  std::string ssh;               // ssh alias
  bool forwards = false;         // passes traffic between its links (bridge, IP forwarding, switch)
  // The file's forward_bandwidth / forward_latency; unset = derived from the link types it
  // forwards between (see Topology::forwarding_of). 0 is a valid latency, so unset is not 0.
  std::optional<double> forward_bandwidth, forward_latency;
  std::string role;              // worker (default) | coordinator | control (runs no rank)
  int ranks = 1;                 // ranks it runs (they share its device: one compute stream)
  std::vector<Interface> interfaces;
  std::vector<StaticRoute> routes;
  core::SourcePos pos;

  bool runs_rank() const { return !is_switch && role != "control"; }
  int interface_of(uint32_t ip) const;  // index of the interface holding ip, -1 when none
};

struct Topology;

struct Link {
  int a = -1, b = -1;  // node indices; direction "up" is a -> b
  LinkType type;       // preset with the file's overrides applied; bandwidth and latency are a -> b
  double back_bandwidth = 0;  // b -> a: goodput, as type.bandwidth
  double back_rate = 0;       // b -> a: wire rate, as type.rate
  double back_latency = 0;    // b -> a
  std::string port_a, port_b;  // physical port (or interface) names at each end, when written
  int iface_a = -1, iface_b = -1;  // the interface of each end that carries the link (-1: none)
  // A Thunderbolt link runs at the generation both ends have: a tb5 cable between Thunderbolt 4
  // ports carries tb4's figures (the file's own overrides still win). 0: the type's generation.
  int slowed_to_thunderbolt = 0;
  core::SourcePos pos;

  double bandwidth(bool up) const { return up ? type.bandwidth : back_bandwidth; }
  double rate(bool up) const { return up ? type.rate : back_rate; }
  double latency(bool up) const { return up ? type.latency : back_latency; }
  int other(int node) const { return node == a ? b : a; }
  // The subnet the link carries, when both ends sit in one (a switch end takes the other end's).
  std::optional<Subnet> subnet(const Topology& t) const;
  // Both ends have interfaces with subnets, and they differ: no IP packet crosses the link.
  bool subnet_mismatch(const Topology& t) const;
};

// A named subnet: documentation, and the control network when marked so.
struct Network {
  std::string name;
  Subnet subnet;
  bool control = false;
  std::string note;
  core::SourcePos pos;
};

// The calibration overlay applied to a topology (topologies/calibration.h), for reports to state.
struct Calibrated {
  std::string file;      // the overlay's path as given
  std::string measured;  // UTC timestamp of the probe
  std::string how;
};

// What a topology may hold: the scale clustertwin is built for (the Program stays small at 1024 ranks;
// the simulator runs an actor, with its stack, per rank). A file beyond it is refused at load.
inline constexpr size_t kMaxNodes = 1024;
inline constexpr int kMaxRanks = 1024;
inline constexpr size_t kMaxLinks = 16384;

struct Topology {
  std::string name;
  std::string file;
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::vector<Network> networks;
  std::string control_network;          // link type of the control network, kept out of the data path
  std::optional<Subnet> control_subnet; // its subnet, when stated
  core::SourcePos control_pos;
  // Addresses state their subnets (or nodes have static routes): routing follows IP semantics.
  // Otherwise routes are shortest paths through forwarding nodes.
  bool ip_mode = false;
  std::vector<std::string> source_lines;  // the file's text, for findings that quote a line
  // The node of each rank when a workload's `placement:` chose the order (set only by topo::place,
  // topologies/placement.h, from the Program); empty = file order. Not part of the file.
  std::vector<int> placement;
  // The file's `calibration:` key: an overlay's path, relative to the topology file (empty: none).
  std::string calibration;
  core::SourcePos calibration_pos;
  std::optional<Calibrated> calibrated;  // set by topo::apply_calibration

  // Nodes that run ranks (not switches, not control machines), once each, in rank order: the
  // placement's order when one is set, else file order.
  std::vector<int> compute_nodes() const;
  // The node of every rank (rank i runs on rank_nodes()[i]): the placement when one is set, else
  // each compute node in file order repeated for its `ranks`. The same as compute_nodes() when
  // every node runs one rank. Every consumer (both backends, check, reports) reads this one mapping.
  std::vector<int> rank_nodes() const;
  int find(const std::string& node_name) const;  // -1 when absent
  // The forwarding resource of a node that forwards: the node's overrides, else the slowest
  // forward_bandwidth and largest forward_latency among the link types attached to it (RDMA
  // links excluded: they are never forwarded). A switch forwards in hardware: line rate, no delay.
  Forwarding forwarding_of(int node) const;
  // The node and interface that hold ip (first match), {-1, -1} when none.
  std::pair<int, int> owner_of(uint32_t ip) const;
  std::string source_line(int line) const;  // "" when out of range
};

// Loads and validates a topology file, and applies a calibration overlay: `calibration_file` when
// given (predict --calibration), else the file's `calibration:` key (relative to the topology
// file); with `calibrate` false, neither (the preset figures). Throws core::InputError naming
// file:line:col.
Topology load_topology(const std::string& path, const std::string& origin = "-t/--topology",
                       const std::string& calibration_file = "", bool calibrate = true);
Topology parse_topology(const std::string& yaml_text, const std::string& file_name);

// Built-in presets (embedded YAML).
const Device* find_device(const std::string& name);
const LinkType* find_link_type(const std::string& name);
std::vector<std::string> device_names();
std::vector<std::string> link_type_names();

}  // namespace clustertwin::topo
