// The cluster model: nodes (device, address, forwarding), links (type preset plus overrides), and
// the device/link presets they refer to. Both backends trust this description.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/diag.h"
#include "core/program.h"

namespace clustertwin::topo {

struct Device {
  std::string preset;
  std::string description;
  double peak_fp32 = 0;          // FLOP/s
  double peak_fp16 = 0;          // FLOP/s (bf16 and fp16)
  double compute_efficiency = 1; // sustained fraction of peak
  double memory_bandwidth = 0;   // bytes/s
  double memory_efficiency = 1;  // sustained fraction
  double memory = 0;             // bytes
  std::string source;

  double sustained_flops(core::DType t) const;
  double sustained_bandwidth() const { return memory_bandwidth * memory_efficiency; }
};

// Roofline time of a compute op on a device: max(flops / sustained FLOP/s, bytes / sustained B/s).
// Both backends use this one function (sim for its model, exec for --compute modelled).
double roofline_seconds(const Device& d, double flops, double bytes, core::DType t = core::DType::F32);

struct LinkType {
  std::string preset;
  std::string description;
  double bandwidth = 0;  // bytes/s per direction
  double latency = 0;    // seconds, one way
  bool full_duplex = true;
  double overhead = 0;   // seconds of per-message software cost at each endpoint (TCP stack vs RDMA)
  // What a node costs when it forwards traffic that arrives over this link type (a Thunderbolt
  // Bridge hub, a Mac routing for a Pi): transit capacity shared by every route crossing it, and
  // the latency it adds.
  double forward_bandwidth = 0;  // bytes/s
  double forward_latency = 0;    // seconds
  std::string source;
};

// A forwarding node's own resource: every route through the node shares its capacity.
struct Forwarding {
  double bandwidth = 0;  // bytes/s
  double latency = 0;    // seconds
};

struct Node {
  std::string name;
  bool is_switch = false;        // a switch routes but runs no rank
  std::optional<Device> device;  // absent for switches
  std::string address;           // cluster (data) address
  std::string ssh;               // ssh alias
  bool forwards = false;         // passes traffic between its links (bridge, IP forwarding, switch)
  Forwarding forwarding;         // overrides; 0 = derived from the link types it forwards between
  core::SourcePos pos;
};

struct Link {
  int a = -1, b = -1;  // node indices; direction "up" is a -> b
  LinkType type;       // preset with the file's overrides applied
  core::SourcePos pos;
};

struct Topology {
  std::string name;
  std::string file;
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::string control_network;  // link type of the control network, kept out of the data path

  // Nodes that run ranks (not switches), in file order: rank i runs on compute_nodes()[i].
  std::vector<int> compute_nodes() const;
  int find(const std::string& node_name) const;  // -1 when absent
  // The forwarding resource of a node that forwards: the node's overrides, else the slowest
  // forward_bandwidth and largest forward_latency among the link types attached to it.
  Forwarding forwarding_of(int node) const;
};

// Loads and validates a topology file. Throws core::InputError naming file:line:col.
Topology load_topology(const std::string& path, const std::string& origin = "-t/--topology");
Topology parse_topology(const std::string& yaml_text, const std::string& file_name);

// Built-in presets (embedded YAML).
const Device* find_device(const std::string& name);
const LinkType* find_link_type(const std::string& name);
std::vector<std::string> device_names();
std::vector<std::string> link_type_names();

}  // namespace clustertwin::topo
