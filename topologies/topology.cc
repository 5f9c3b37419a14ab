#include "topologies/topology.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/yaml_doc.h"
#include "topologies/calibration.h"
#include "topologies/figures.h"

namespace clustertwin::topo {

double Device::peak(core::DType t) const {
  switch (t) {
    case core::DType::F32: return peak_fp32;
    case core::DType::BF16: return peak_bf16 > 0 ? peak_bf16 : peak_fp16;
    case core::DType::I8: return peak_int8 > 0 ? peak_int8 : peak_fp16;
    case core::DType::F16: return peak_fp16;
    case core::DType::I4: return peak_fp16;  // 4-bit weights are expanded to fp16 for the arithmetic
  }
  return peak_fp16;
}

double Device::sustained_flops(core::DType t) const { return peak(t) * compute_efficiency; }

double roofline_seconds(const Device& d, double flops, double bytes, core::DType t) {
  double f = d.sustained_flops(t), b = d.sustained_bandwidth();
  return std::max(f > 0 ? flops / f : 0.0, b > 0 ? bytes / b : 0.0);
}

std::string_view name(Transport t) { return t == Transport::Rdma ? "rdma" : "tcp"; }

std::string_view name(PortKind k) {
  switch (k) {
    case PortKind::Thunderbolt: return "thunderbolt";
    case PortKind::Ethernet: return "ethernet";
    case PortKind::Wifi: return "wifi";
    case PortKind::None: break;
  }
  return "none";
}

int Node::interface_of(uint32_t ip) const {
  for (size_t i = 0; i < interfaces.size(); ++i)
    if (interfaces[i].ipv4 && interfaces[i].ip == ip) return static_cast<int>(i);
  return -1;
}

std::optional<Subnet> Link::subnet(const Topology& t) const {
  if (type.transport == Transport::Rdma) return std::nullopt;
  const Interface* ia = iface_a >= 0 ? &t.nodes[a].interfaces[iface_a] : nullptr;
  const Interface* ib = iface_b >= 0 ? &t.nodes[b].interfaces[iface_b] : nullptr;
  if (ia && !ia->has_subnet()) ia = nullptr;
  if (ib && !ib->has_subnet()) ib = nullptr;
  if (ia && ib) return ia->subnet() == ib->subnet() ? std::optional(ia->subnet()) : std::nullopt;
  if (ia && t.nodes[b].is_switch) return ia->subnet();
  if (ib && t.nodes[a].is_switch) return ib->subnet();
  return std::nullopt;
}

bool Link::subnet_mismatch(const Topology& t) const {
  if (type.transport == Transport::Rdma || iface_a < 0 || iface_b < 0) return false;
  const Interface& ia = t.nodes[a].interfaces[iface_a];
  const Interface& ib = t.nodes[b].interfaces[iface_b];
  return ia.has_subnet() && ib.has_subnet() && !(ia.subnet() == ib.subnet());
}

std::vector<int> Topology::compute_nodes() const {
  std::vector<int> out;
  if (!placement.empty()) {
    for (int n : placement)
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    return out;
  }
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].runs_rank()) out.push_back(static_cast<int>(i));
  return out;
}

std::vector<int> Topology::rank_nodes() const {
  if (!placement.empty()) return placement;
  std::vector<int> out;
  for (int n : compute_nodes()) out.insert(out.end(), nodes[n].ranks, n);
  return out;
}

Forwarding Topology::forwarding_of(int node) const {
  double bw = 0, lat = 0, line_rate = 0;
  for (const auto& l : links) {
    if ((l.a != node && l.b != node) || l.type.transport == Transport::Rdma) continue;
    bw = bw == 0 ? l.type.forward_bandwidth : std::min(bw, l.type.forward_bandwidth);
    lat = std::max(lat, l.type.forward_latency);
    line_rate = std::max({line_rate, l.type.bandwidth, l.back_bandwidth});
  }
  if (nodes.at(node).is_switch) {
    bw = line_rate;
    lat = 0;
  }
  const Node& n = nodes.at(node);
  return {n.forward_bandwidth.value_or(bw), n.forward_latency.value_or(lat)};
}

int Topology::find(const std::string& node_name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node_name) return static_cast<int>(i);
  return -1;
}

std::pair<int, int> Topology::owner_of(uint32_t ip) const {
  for (size_t n = 0; n < nodes.size(); ++n) {
    int i = nodes[n].interface_of(ip);
    if (i >= 0) return {static_cast<int>(n), i};
  }
  return {-1, -1};
}

std::string Topology::source_line(int line) const {
  return line >= 1 && size_t(line) <= source_lines.size() ? source_lines[line - 1] : "";
}

namespace {
using core::Quantity;
using core::YamlDoc;

const Network* find_network(const Topology& t, const std::string& name) {
  for (const auto& n : t.networks)
    if (n.name == name) return &n;
  return nullptr;
}

std::vector<std::string> network_names(const Topology& t) {
  std::vector<std::string> out;
  for (const auto& n : t.networks) out.push_back(n.name);
  return out;
}

Subnet parse_subnet(const YamlDoc& doc, const YAML::Node& n, std::string_view what) {
  std::string s = doc.string(n, what);
  if (s == "default") return {0, 0};
  auto a = parse_address(s);
  if (!a || !a->prefix)
    doc.fail(n, fmt::format("expected {} to be a subnet like 10.10.0.0/24, got '{}'", what, s),
             "write the network address and its prefix length");
  Subnet sub = subnet_of(a->ip, *a->prefix);
  if (sub.net != a->ip)
    doc.fail(n, fmt::format("subnet '{}' has host bits set", s), fmt::format("did you mean '{}'?", subnet_str(sub)));
  return sub;
}

// An interface from an address text ("10.10.0.1" or "10.10.0.1/24"), taking its prefix from the
// named network, or from a declared network that holds it.
Interface make_interface(const YamlDoc& doc, const YAML::Node& addr, const Topology& t, const YAML::Node* network) {
  Interface i;
  i.pos = doc.pos(addr);
  std::string text = doc.string(addr, "address");
  if (text.empty()) doc.fail(addr, "address is empty", "write the node's address, like 10.10.0.1/24");
  i.address = text.substr(0, text.find('/'));
  auto parsed = parse_address(text);
  if (!parsed && text.find('/') != std::string::npos)
    doc.fail(addr, fmt::format("expected an IPv4 address with its prefix, like 10.10.0.1/24, got '{}'", text),
             "four numbers from 0 to 255 and a prefix length from 0 to 32");
  if (parsed) {
    i.ipv4 = true;
    i.ip = parsed->ip;
    if (parsed->prefix) i.prefix = *parsed->prefix;
  }
  if (network) {
    std::string name = doc.string(*network, "network");
    const Network* net = find_network(t, name);
    if (!net) doc.fail(*network, fmt::format("unknown network '{}'", name), core::suggest(name, network_names(t)));
    if (!i.ipv4 || !net->subnet.contains(i.ip))
      doc.fail(addr, fmt::format("address '{}' is not in network '{}' ({})", i.address, name, subnet_str(net->subnet)),
               "give an address inside the network, or name the network it is in");
    if (i.prefix >= 0 && i.prefix != net->subnet.prefix)
      doc.fail(addr, fmt::format("address '{}' has prefix /{} but network '{}' is {}", text, i.prefix, name,
                                 subnet_str(net->subnet)),
               "leave the prefix out: the network gives it");
    i.prefix = net->subnet.prefix;
  } else if (i.ipv4 && i.prefix < 0) {
    for (const auto& net : t.networks)
      if (net.subnet.contains(i.ip)) i.prefix = net.subnet.prefix;
  }
  return i;
}

void parse_interfaces(const YamlDoc& doc, const YAML::Node& n, const Topology& t, Node& node) {
  if (const auto& list = n["interfaces"]) {
    doc.require_seq(list, "'interfaces'");
    for (const auto& in : list) {
      doc.check_keys(in, {"name", "address", "network", "ports"}, "an interface");
      const YAML::Node net = in["network"];
      Interface i = make_interface(doc, doc.required(in, "address", "an interface"), t, net ? &net : nullptr);
      i.pos = doc.pos(in);
      if (in["name"]) i.name = doc.string(in["name"], "interface name");
      if (const auto& ports = in["ports"]) {
        doc.require_seq(ports, "'ports'");
        for (const auto& p : ports) i.ports.push_back(doc.string(p, "port name"));
      }
      node.interfaces.push_back(std::move(i));
    }
    if (node.interfaces.empty())
      doc.fail(list, fmt::format("node '{}' lists no interfaces", node.name),
               "list them as {name: en0, address: 10.10.0.1/24}, or remove 'interfaces'");
  }
  if (const auto& addr = n["address"]) {
    if (node.interfaces.empty()) {
      node.interfaces.push_back(make_interface(doc, addr, t, nullptr));
    } else {
      // With interfaces, `address` picks the one the worker listens on.
      std::string text = doc.string(addr, "address");
      std::string bare = text.substr(0, text.find('/'));
      std::vector<std::string> mine;
      bool found = false;
      for (const auto& i : node.interfaces) {
        mine.push_back(i.address);
        found = found || i.address == bare;
      }
      if (!found)
        doc.fail(addr, fmt::format("address '{}' of node '{}' is not one of its interfaces", bare, node.name),
                 core::suggest(bare, mine));
      node.address = bare;
      return;
    }
  }
  if (!node.interfaces.empty()) node.address = node.interfaces.front().address;
}

void parse_routes(const YamlDoc& doc, const YAML::Node& list, Node& node) {
  doc.require_seq(list, "'routes'");
  for (const auto& r : list) {
    doc.check_keys(r, {"to", "via", "note"}, "a route");
    StaticRoute route;
    route.pos = doc.pos(r);
    route.to = parse_subnet(doc, doc.required(r, "to", "a route"), "'to'");
    const YAML::Node& via = doc.required(r, "via", "a route");
    auto ip = parse_ipv4(doc.string(via, "'via'"));
    if (!ip) doc.fail(via, fmt::format("expected 'via' to be the gateway's IPv4 address, got '{}'", via.Scalar()),
                      "write the address of the node that forwards, like 192.168.50.1");
    route.via = *ip;
    node.routes.push_back(route);
  }
}

Node parse_node(const YamlDoc& doc, const YAML::Node& n, const Topology& t) {
  doc.check_keys(n, {"name", "device", "kind", "address", "interfaces", "routes", "ssh", "forwards", "role",
                     "peak_fp32", "peak_fp16", "peak_bf16", "peak_int8", "compute_efficiency", "memory_bandwidth",
                     "memory_efficiency", "memory", "power", "price", "thunderbolt", "ports", "forward_bandwidth",
                     "forward_latency", "ranks", "note"},
                 "a node");
  Node node;
  node.pos = doc.pos(n);
  node.name = doc.string(doc.required(n, "name", "a node"), "node name");
  std::string kind = n["kind"] ? doc.choice(n["kind"], {"host", "switch"}, "node kind") : "host";
  node.is_switch = kind == "switch";
  node.forwards = node.is_switch;
  if (n["forwards"]) node.forwards = doc.boolean(n["forwards"], "forwards");
  if (n["role"]) node.role = doc.choice(n["role"], {"worker", "coordinator", "control"}, "role");
  if (node.is_switch && n["device"]) {
    doc.fail(n["device"], fmt::format("switch '{}' cannot have a device", node.name),
             "a switch forwards traffic but runs no rank; remove 'device' or use kind: host");
  }
  if (node.is_switch && n["role"]) doc.fail(n["role"], fmt::format("switch '{}' runs no rank and has no role", node.name));
  if (!node.is_switch && (n["device"] || node.role != "control")) {
    const YAML::Node& dn = doc.required(n, "device", fmt::format("node '{}'", node.name));
    node.device = *find_device(doc.choice(dn, device_names(), "device preset"));
    detail::apply_device_figures(doc, n, *node.device);
  } else {
    for (const auto& key : detail::kDeviceFigures)
      if (n[key])
        doc.fail(n[key], fmt::format("{} '{}' has no device to set '{}' on", kind, node.name, key),
                 "give the node a 'device' preset, or remove the figure");
  }
  if (n["ranks"]) {
    if (!node.runs_rank())
      doc.fail(n["ranks"], fmt::format("'{}' runs no rank ({})", node.name, node.is_switch ? "a switch" : "role: control"),
               "remove 'ranks', or make it a worker with a device");
    node.ranks = static_cast<int>(doc.integer(n["ranks"], "ranks", 1, 256));
  }
  if (n["forward_bandwidth"])
    node.forward_bandwidth = detail::figure(doc, n["forward_bandwidth"], Quantity::Bandwidth, "forward_bandwidth");
  if (n["forward_latency"]) node.forward_latency = detail::figure(doc, n["forward_latency"], Quantity::Time, "forward_latency");
  parse_interfaces(doc, n, t, node);
  if (n["routes"]) parse_routes(doc, n["routes"], node);
  if (n["ssh"]) node.ssh = doc.string(n["ssh"], "ssh alias");
  return node;
}

// A figure given once for both directions, or as [a -> b, b -> a].
std::pair<double, double> per_direction(const YamlDoc& doc, const YAML::Node& n, Quantity q, std::string_view what) {
  if (n.IsSequence()) {
    if (n.size() != 2)
      doc.fail(n, fmt::format("expected {} to be one value or two, [a -> b, b -> a] in 'between' order", what),
               "write one figure for both directions, or two in a list");
    return {detail::figure(doc, n[0], q, what), detail::figure(doc, n[1], q, what)};
  }
  double v = detail::figure(doc, n, q, what);
  return {v, v};
}

// A TCP Thunderbolt link runs at the oldest generation of its ends' ports (T012 says so): it takes
// the figures of that generation's preset before the file's overrides apply. RDMA on older ports
// does not run at all (T002), so it keeps its figures.
void run_at_port_generation(Link& link, const Topology& t) {
  if (link.type.port != PortKind::Thunderbolt || link.type.transport != Transport::Tcp) return;
  int generation = link.type.thunderbolt;
  for (int end : {link.a, link.b}) {
    const auto& d = t.nodes[end].device;
    if (d && d->thunderbolt > 0) generation = std::min(generation, d->thunderbolt);
  }
  const LinkType* slower = generation < link.type.thunderbolt ? find_link_type(fmt::format("tb{}", generation)) : nullptr;
  if (!slower) return;
  link.slowed_to_thunderbolt = generation;
  link.type.bandwidth = slower->bandwidth;
  link.type.rate = slower->rate;
  link.type.goodput_derived = slower->goodput_derived;
  link.type.latency = slower->latency;
  link.type.forward_bandwidth = slower->forward_bandwidth;
  link.type.forward_latency = slower->forward_latency;
}

// The link's goodput and wire rate per direction. A goodput written (`goodput:` or `bandwidth:`) is
// taken as is; otherwise a rate written, or a new MTU or framing under a goodput the preset derived,
// derives it again (topologies/goodput.h). A measured preset goodput stays under a new MTU: it was
// measured at the preset's.
void apply_link_speed(const YamlDoc& doc, const YAML::Node& n, Link& link) {
  LinkType& type = link.type;
  if (n["mtu"]) type.mtu = static_cast<int>(doc.integer(n["mtu"], "mtu", 576, 65536));
  if (n["framing"]) type.framing = detail::parse_framing(doc, n["framing"]);
  if (n["rate"]) std::tie(type.rate, link.back_rate) = per_direction(doc, n["rate"], Quantity::Bandwidth, "rate");
  if (YAML::Node g = detail::goodput_node(doc, n)) {
    std::tie(type.bandwidth, link.back_bandwidth) =
        per_direction(doc, g, Quantity::Bandwidth, n["goodput"] ? "goodput" : "bandwidth");
    type.goodput_derived = false;
  } else if (type.rate > 0 && (n["rate"] || (type.goodput_derived && (n["mtu"] || n["framing"])))) {
    type.bandwidth = tcp_goodput(type.rate, type.mtu, type.framing);
    link.back_bandwidth = tcp_goodput(link.back_rate, type.mtu, type.framing);
    type.goodput_derived = true;
  } else if (n["framing"] && type.rate <= 0) {
    doc.fail(n["framing"], "'framing' says what a wire rate counts, but this link has no 'rate'",
             "add the wire rate (rate: 1Gbps), or delete 'framing'");
  }
}

Link parse_link(const YamlDoc& doc, const YAML::Node& n, const Topology& t) {
  doc.check_keys(n, {"between", "ports", "type", "goodput", "bandwidth", "rate", "framing", "latency", "duplex", "overhead",
                     "mtu", "note"},
                 "a link");
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
  if (idx[0] == idx[1])
    doc.fail(ends, fmt::format("link joins node '{}' to itself", t.nodes[idx[0]].name), "a link joins two different nodes");
  link.a = idx[0];
  link.b = idx[1];
  if (const auto& ports = n["ports"]) {
    if (!ports.IsSequence() || ports.size() != 2)
      doc.fail(ports, "expected 'ports' to name the port at each end, in 'between' order", "write ports: [tb1, en0]");
    link.port_a = doc.string(ports[0], "port name");
    link.port_b = doc.string(ports[1], "port name");
  }
  link.type = *find_link_type(doc.choice(doc.required(n, "type", "a link"), link_type_names(), "link type"));
  run_at_port_generation(link, t);
  link.back_bandwidth = link.type.bandwidth;
  link.back_rate = link.type.rate;
  link.back_latency = link.type.latency;
  apply_link_speed(doc, n, link);
  if (n["latency"]) std::tie(link.type.latency, link.back_latency) = per_direction(doc, n["latency"], Quantity::Time, "latency");
  if (n["duplex"]) link.type.full_duplex = doc.choice(n["duplex"], {"full", "half"}, "duplex") == "full";
  if (n["overhead"]) link.type.overhead = detail::figure(doc, n["overhead"], Quantity::Time, "overhead");
  if (link.type.bandwidth <= 0 || link.back_bandwidth <= 0)
    doc.fail(n["bandwidth"] ? n["bandwidth"] : n, "link bandwidth must be positive");
  return link;
}

void parse_networks(const YamlDoc& doc, const YAML::Node& list, Topology& t) {
  doc.require_seq(list, "'networks'");
  for (const auto& n : list) {
    doc.check_keys(n, {"name", "subnet", "control", "note"}, "a network");
    Network net;
    net.pos = doc.pos(n);
    net.name = doc.string(doc.required(n, "name", "a network"), "network name");
    if (find_network(t, net.name))
      doc.fail(n["name"], fmt::format("network '{}' is defined twice", net.name), "give every network its own name");
    net.subnet = parse_subnet(doc, doc.required(n, "subnet", "a network"), "subnet");
    if (n["control"]) net.control = doc.boolean(n["control"], "control");
    if (n["note"]) net.note = doc.string(n["note"], "note");
    t.networks.push_back(net);
  }
}

void parse_control(const YamlDoc& doc, const YAML::Node& c, Topology& t) {
  doc.check_keys(c, {"type", "subnet", "network", "note"}, "'control'");
  t.control_pos = doc.pos(c);
  t.control_network = doc.choice(doc.required(c, "type", "'control'"), link_type_names(), "link type");
  if (c["subnet"]) t.control_subnet = parse_subnet(doc, c["subnet"], "subnet");
  if (c["network"]) {
    std::string name = doc.string(c["network"], "network");
    const Network* net = find_network(t, name);
    if (!net) doc.fail(c["network"], fmt::format("unknown network '{}'", name), core::suggest(name, network_names(t)));
    t.control_subnet = net->subnet;
  }
  for (const auto& net : t.networks)
    if (net.control && !t.control_subnet) t.control_subnet = net.subnet;
}

// In IP mode every address must state its subnet: routing decides by subnet.
void require_subnets(Topology& t) {
  for (const auto& node : t.nodes) {
    t.ip_mode = t.ip_mode || !node.routes.empty();
    for (const auto& i : node.interfaces) t.ip_mode = t.ip_mode || i.prefix >= 0;
  }
  if (!t.ip_mode) return;
  for (const auto& node : t.nodes) {
    for (const auto& i : node.interfaces) {
      if (!i.ipv4)
        throw core::InputError(core::format_diagnostic(
            i.pos, t.source_line(i.pos.line),
            fmt::format("expected an IPv4 address for node '{}', got '{}'", node.name, i.address),
            "this file routes by subnet (some addresses state theirs), so every address must be IPv4"));
      if (i.prefix < 0)
        throw core::InputError(core::format_diagnostic(
            i.pos, t.source_line(i.pos.line),
            fmt::format("address '{}' of node '{}' has no subnet, but other addresses in this file state theirs",
                        i.address, node.name),
            fmt::format("write it with its prefix, like {}/24, or declare its subnet under 'networks'", i.address)));
    }
  }
}

// Which interface of `node` carries link `l` (IP mode): the one the link names by port, the only
// one, or the one sharing a subnet with the far end (or with the hosts behind a far switch).
int resolve_interface(const Topology& t, const Link& l, int node) {
  const Node& me = t.nodes[node];
  if (me.is_switch || me.interfaces.empty() || l.type.transport == Transport::Rdma) return -1;
  const std::string& port = node == l.a ? l.port_a : l.port_b;
  if (!port.empty()) {
    for (size_t i = 0; i < me.interfaces.size(); ++i) {
      const auto& in = me.interfaces[i];
      if (in.name == port || std::find(in.ports.begin(), in.ports.end(), port) != in.ports.end()) return static_cast<int>(i);
    }
  }
  if (me.interfaces.size() == 1) return 0;
  std::vector<int> peers{l.other(node)};
  if (t.nodes[peers[0]].is_switch) {
    for (const auto& other : t.links)
      if ((other.a == peers[0] || other.b == peers[0]) && other.other(peers[0]) != node) peers.push_back(other.other(peers[0]));
  }
  for (size_t i = 0; i < me.interfaces.size(); ++i) {
    const auto& in = me.interfaces[i];
    for (int p : peers)
      for (const auto& theirs : t.nodes[p].interfaces)
        if (theirs.ipv4 && in.has_subnet() && in.subnet().contains(theirs.ip)) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Topology build(const YamlDoc& doc, const std::string& text) {
  const YAML::Node& root = doc.root();
  doc.check_keys(root, {"name", "description", "networks", "nodes", "links", "control", "calibration"}, "a topology");
  Topology t;
  t.file = doc.name();
  t.source_lines = split_lines(text);
  t.name = doc.string(doc.required(root, "name", "the topology"), "name");
  if (root["networks"]) parse_networks(doc, root["networks"], t);
  const YAML::Node& nodes = doc.required(root, "nodes", "the topology");
  doc.require_seq(nodes, "'nodes'");
  if (nodes.size() > kMaxNodes)
    doc.fail(nodes, fmt::format("the topology has {} nodes; clustertwin models at most {}", nodes.size(), kMaxNodes),
             "a cluster this size is beyond what the simulator and the executor are built for; model a part of it");
  std::set<std::string> seen;
  int world = 0;
  for (const auto& n : nodes) {
    Node node = parse_node(doc, n, t);
    if (!seen.insert(node.name).second)
      doc.fail(n["name"], fmt::format("node '{}' is defined twice", node.name), "give every node its own name");
    if (node.runs_rank() && (world += node.ranks) > kMaxRanks)
      doc.fail(n, fmt::format("the nodes up to '{}' run {} ranks; clustertwin runs at most {}", node.name, world, kMaxRanks),
               "use fewer nodes or fewer 'ranks' per node");
    t.nodes.push_back(std::move(node));
  }
  if (t.compute_nodes().empty()) doc.fail(nodes, "the topology has no node that can run a rank", "add a node with a 'device'");
  if (root["links"]) {
    doc.require_seq(root["links"], "'links'");
    if (root["links"].size() > kMaxLinks)
      doc.fail(root["links"], fmt::format("the topology has {} links; clustertwin models at most {}", root["links"].size(), kMaxLinks),
               "a cluster this size is beyond what the simulator is built for; model a part of it");
    for (const auto& l : root["links"]) t.links.push_back(parse_link(doc, l, t));
  }
  if (const auto& c = root["control"]) parse_control(doc, c, t);
  if (const auto& c = root["calibration"]) {
    t.calibration = doc.string(c, "'calibration' (the path of a file `clustertwin probe -o` wrote)");
    t.calibration_pos = doc.pos(c);
  }
  require_subnets(t);
  if (t.ip_mode) {
    for (auto& l : t.links) {
      l.iface_a = resolve_interface(t, l, l.a);
      l.iface_b = resolve_interface(t, l, l.b);
    }
  }
  return t;
}

// yaml-cpp throws its own exceptions for shapes the reads above do not expect (a list used as a
// key): they are input errors too, at the place yaml-cpp marks.
Topology build_guarded(const YamlDoc& doc, const std::string& text) {
  try {
    return build(doc, text);
  } catch (const YAML::Exception& e) {
    auto lines = split_lines(text);
    core::SourcePos pos{doc.name(), e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1};
    std::string line = pos.line >= 1 && size_t(pos.line) <= lines.size() ? lines[pos.line - 1] : "";
    throw core::InputError(core::format_diagnostic(pos, line, fmt::format("unexpected YAML here: {}", e.msg),
                                                   "keys are plain names and values follow topologies/README.md"));
  }
}
}  // namespace

Topology load_topology(const std::string& path, const std::string& origin, const std::string& calibration_file,
                       bool calibrate) {
  auto doc = YamlDoc::load(path, origin);
  Topology t = build_guarded(doc, doc.text());
  if (!calibrate) return t;
  if (!calibration_file.empty()) {
    apply_calibration(t, load_calibration(calibration_file, "--calibration"));
  } else if (!t.calibration.empty()) {
    // Relative to the topology file, so the pair moves together.
    std::filesystem::path file = std::filesystem::path(path).parent_path() / t.calibration;
    if (std::filesystem::path(t.calibration).is_absolute()) file = t.calibration;
    if (!std::filesystem::exists(file))
      throw core::InputError(core::format_diagnostic(
          t.calibration_pos, t.source_line(t.calibration_pos.line),
          fmt::format("calibration file '{}' does not exist", file.string()),
          "the path is relative to the topology file; write one with `clustertwin probe -t TOPO -o calibration.yaml`"));
    apply_calibration(t, load_calibration(file.string(), fmt::format("{}'s 'calibration'", path)));
  }
  return t;
}

Topology parse_topology(const std::string& yaml_text, const std::string& file_name) {
  return build_guarded(YamlDoc::parse(yaml_text, file_name), yaml_text);
}

}  // namespace clustertwin::topo
