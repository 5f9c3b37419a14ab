#include "topologies/topology.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/yaml_doc.h"

namespace clustertwin::topo {

double Device::sustained_flops(core::DType t) const {
  double peak = t == core::DType::F32 ? peak_fp32 : peak_fp16;
  return peak * compute_efficiency;
}

double roofline_seconds(const Device& d, double flops, double bytes, core::DType t) {
  double f = d.sustained_flops(t), b = d.sustained_bandwidth();
  return std::max(f > 0 ? flops / f : 0.0, b > 0 ? bytes / b : 0.0);
}

std::vector<int> Topology::compute_nodes() const {
  std::vector<int> out;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].is_switch) out.push_back(static_cast<int>(i));
  return out;
}

Forwarding Topology::forwarding_of(int node) const {
  Forwarding f = nodes.at(node).forwarding;
  double bw = 0, lat = 0;
  for (const auto& l : links) {
    if (l.a != node && l.b != node) continue;
    bw = bw == 0 ? l.type.forward_bandwidth : std::min(bw, l.type.forward_bandwidth);
    lat = std::max(lat, l.type.forward_latency);
  }
  if (f.bandwidth == 0) f.bandwidth = bw;
  if (f.latency == 0) f.latency = lat;
  return f;
}

int Topology::find(const std::string& node_name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node_name) return static_cast<int>(i);
  return -1;
}

namespace {
using core::Quantity;
using core::YamlDoc;

// A node may override any figure of its device preset (calibration, a bigger memory option).
void apply_device_overrides(const YamlDoc& doc, const YAML::Node& n, Device& d) {
  if (n["peak_fp32"]) d.peak_fp32 = doc.quantity(n["peak_fp32"], Quantity::FlopRate, "peak_fp32");
  if (n["peak_fp16"]) d.peak_fp16 = doc.quantity(n["peak_fp16"], Quantity::FlopRate, "peak_fp16");
  if (n["compute_efficiency"]) d.compute_efficiency = doc.number(n["compute_efficiency"], "compute_efficiency");
  if (n["memory_bandwidth"]) d.memory_bandwidth = doc.quantity(n["memory_bandwidth"], Quantity::Bandwidth, "memory_bandwidth");
  if (n["memory_efficiency"]) d.memory_efficiency = doc.number(n["memory_efficiency"], "memory_efficiency");
  if (n["memory"]) d.memory = doc.quantity(n["memory"], Quantity::Bytes, "memory");
}

Node parse_node(const YamlDoc& doc, const YAML::Node& n) {
  doc.check_keys(n, {"name", "device", "kind", "address", "ssh", "forwards", "role", "peak_fp32", "peak_fp16",
                     "compute_efficiency", "memory_bandwidth", "memory_efficiency", "memory", "forward_bandwidth",
                     "forward_latency"},
                 "a node");
  Node node;
  node.pos = doc.pos(n);
  node.name = doc.string(doc.required(n, "name", "a node"), "node name");
  std::string kind = n["kind"] ? doc.choice(n["kind"], {"host", "switch"}, "node kind") : "host";
  node.is_switch = kind == "switch";
  node.forwards = node.is_switch;
  if (n["forwards"]) node.forwards = doc.boolean(n["forwards"], "forwards");
  if (node.is_switch && n["device"]) {
    doc.fail(n["device"], fmt::format("switch '{}' cannot have a device", node.name),
             "a switch forwards traffic but runs no rank; remove 'device' or use kind: host");
  }
  if (!node.is_switch) {
    const YAML::Node& dn = doc.required(n, "device", fmt::format("node '{}'", node.name));
    const Device* d = find_device(doc.choice(dn, device_names(), "device preset"));
    node.device = *d;
    apply_device_overrides(doc, n, *node.device);
  } else {
    for (const char* key : {"peak_fp32", "peak_fp16", "compute_efficiency", "memory_bandwidth", "memory_efficiency", "memory"})
      if (n[key]) doc.fail(n[key], fmt::format("switch '{}' has no device to set '{}' on", node.name, key));
  }
  if (n["forward_bandwidth"])
    node.forwarding.bandwidth = doc.quantity(n["forward_bandwidth"], Quantity::Bandwidth, "forward_bandwidth");
  if (n["forward_latency"]) node.forwarding.latency = doc.quantity(n["forward_latency"], Quantity::Time, "forward_latency");
  if (n["address"]) node.address = doc.string(n["address"], "address");
  if (n["ssh"]) node.ssh = doc.string(n["ssh"], "ssh alias");
  if (n["role"]) doc.choice(n["role"], {"worker", "coordinator", "control"}, "role");
  return node;
}

Link parse_link(const YamlDoc& doc, const YAML::Node& n, const Topology& t) {
  doc.check_keys(n, {"between", "type", "bandwidth", "latency", "duplex", "overhead"}, "a link");
  Link link;
  link.pos = doc.pos(n);
  const YAML::Node& ends = doc.required(n, "between", "a link");
  if (!ends.IsSequence() || ends.size() != 2)
    doc.fail(ends, "expected 'between' to list the two nodes the link joins", "write between: [mini1, mini2]");
  std::vector<std::string> names;
  for (const auto& node : t.nodes) names.push_back(node.name);
  int idx[2];
  for (int i = 0; i < 2; ++i) {
    std::string name = doc.string(ends[i], "link end");
    idx[i] = t.find(name);
    if (idx[i] < 0) doc.fail(ends[i], fmt::format("link end '{}' is not a node of this topology", name), core::suggest(name, names));
  }
  if (idx[0] == idx[1]) doc.fail(ends, fmt::format("link joins node '{}' to itself", t.nodes[idx[0]].name));
  link.a = idx[0];
  link.b = idx[1];
  link.type = *find_link_type(doc.choice(doc.required(n, "type", "a link"), link_type_names(), "link type"));
  if (n["bandwidth"]) link.type.bandwidth = doc.quantity(n["bandwidth"], Quantity::Bandwidth, "bandwidth");
  if (n["latency"]) link.type.latency = doc.quantity(n["latency"], Quantity::Time, "latency");
  if (n["duplex"]) link.type.full_duplex = doc.choice(n["duplex"], {"full", "half"}, "duplex") == "full";
  if (n["overhead"]) link.type.overhead = doc.quantity(n["overhead"], Quantity::Time, "overhead");
  if (link.type.bandwidth <= 0) doc.fail(n["bandwidth"] ? n["bandwidth"] : n, "link bandwidth must be positive");
  return link;
}

Topology build(const YamlDoc& doc) {
  const YAML::Node& root = doc.root();
  doc.check_keys(root, {"name", "description", "nodes", "links", "control"}, "a topology");
  Topology t;
  t.file = doc.name();
  t.name = doc.string(doc.required(root, "name", "the topology"), "name");
  const YAML::Node& nodes = doc.required(root, "nodes", "the topology");
  doc.require_seq(nodes, "'nodes'");
  std::set<std::string> seen;
  for (const auto& n : nodes) {
    Node node = parse_node(doc, n);
    if (!seen.insert(node.name).second) doc.fail(n["name"], fmt::format("node '{}' is defined twice", node.name));
    t.nodes.push_back(std::move(node));
  }
  if (t.compute_nodes().empty()) doc.fail(nodes, "the topology has no node that can run a rank", "add a node with a 'device'");
  if (root["links"]) {
    doc.require_seq(root["links"], "'links'");
    for (const auto& l : root["links"]) t.links.push_back(parse_link(doc, l, t));
  }
  if (const auto& c = root["control"]) {
    doc.check_keys(c, {"type", "note"}, "'control'");
    t.control_network = doc.choice(doc.required(c, "type", "'control'"), link_type_names(), "link type");
  }
  return t;
}
}  // namespace

Topology load_topology(const std::string& path, const std::string& origin) {
  return build(YamlDoc::load(path, origin));
}

Topology parse_topology(const std::string& yaml_text, const std::string& file_name) {
  return build(YamlDoc::parse(yaml_text, file_name));
}

}  // namespace clustertwin::topo
