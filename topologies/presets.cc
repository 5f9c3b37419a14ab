// The built-in device and link presets, parsed once from the YAML embedded at build time. The
// comment beside each figure is its source; it is kept as data (Device::notes, LinkType::notes).
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "core/yaml_doc.h"
#include "topologies/figures.h"
#include "topologies/topology.h"

namespace clustertwin::topo {

extern const char* const kPresetsYaml;  // generated from presets/presets.yaml

namespace detail {

const std::vector<std::string> kDeviceFigures = {"peak_fp32", "peak_fp16", "peak_bf16", "peak_int8",
                                                 "compute_efficiency", "memory_bandwidth", "memory_efficiency",
                                                 "memory", "power", "price", "thunderbolt", "ports"};

// Every figure's range is its quantity's physical range (core::physical_range), so 1e-300Gbps and
// 1e30s are refused where they are written.
double figure(const core::YamlDoc& doc, const YAML::Node& n, core::Quantity q, std::string_view what) {
  return doc.quantity(n, q, what);
}

double parse_power(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what) {
  std::string s = doc.string(n, what);
  std::string num = s;
  double scale = 1;
  while (!num.empty() && num.back() == ' ') num.pop_back();
  if (num.size() > 2 && num.ends_with("kW")) {
    scale = 1e3;
    num.resize(num.size() - 2);
  } else if (num.size() > 1 && num.back() == 'W') {
    num.pop_back();
  } else {
    num.clear();
  }
  try {
    size_t used = 0;
    double v = std::stod(num, &used);
    if (used == num.size() && std::isfinite(v) && v >= 0) return v * scale;
  } catch (const std::exception&) {
  }
  doc.fail(n, fmt::format("expected {} to be a power with its unit, like 42W, got '{}'", what, s),
           "write the number and W together (watts at the wall under load)");
}

YAML::Node goodput_node(const core::YamlDoc& doc, const YAML::Node& n) {
  if (n["goodput"] && n["bandwidth"])
    doc.fail(n["bandwidth"], "a link takes 'goodput' or 'bandwidth' (the same figure), not both",
             "keep 'goodput' (TCP payload rate); write a wire rate as 'rate'");
  return n["goodput"] ? n["goodput"] : n["bandwidth"];
}

Framing parse_framing(const core::YamlDoc& doc, const YAML::Node& n) {
  return framing_named(doc.choice(n, framing_names(), "framing"));
}

// "$599" or "$1399.99": US dollars (no thousands separators).
double parse_price(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what) {
  const std::string s = doc.string(n, what);
  if (s.size() > 1 && s[0] == '$') {
    try {
      size_t used = 0;
      const double v = std::stod(s.substr(1), &used);
      if (used == s.size() - 1 && std::isfinite(v) && v >= 0) return v;
    } catch (const std::exception&) {
    }
  }
  doc.fail(n, fmt::format("expected {} to be US dollars, like $599, got '{}'", what, s),
           "write $ and the number, without thousands separators ($1399)");
}

namespace {
int port_count(const core::YamlDoc& doc, const YAML::Node& n, const char* key) {
  return n[key] ? static_cast<int>(doc.integer(n[key], fmt::format("ports.{}", key), 0, 64)) : 0;
}

void parse_ports(const core::YamlDoc& doc, const YAML::Node& n, Ports& p) {
  doc.check_keys(n, {"thunderbolt", "rdma", "ethernet", "wifi"}, "'ports'");
  // A node override replaces only the counts it names.
  if (n["thunderbolt"]) p.thunderbolt = port_count(doc, n, "thunderbolt");
  if (n["rdma"]) p.rdma = port_count(doc, n, "rdma");
  if (n["ethernet"]) p.ethernet = port_count(doc, n, "ethernet");
  if (n["wifi"]) p.wifi = port_count(doc, n, "wifi");
  if (p.rdma > p.thunderbolt)
    doc.fail(n, fmt::format("'ports' lists {} RDMA ports but only {} Thunderbolt ports", p.rdma, p.thunderbolt),
             "RDMA runs on Thunderbolt ports: rdma counts the Thunderbolt ports that can run it");
  p.known = true;
}
}  // namespace

void apply_device_figures(const core::YamlDoc& doc, const YAML::Node& n, Device& d) {
  using core::Quantity;
  if (n["peak_fp32"]) d.peak_fp32 = figure(doc, n["peak_fp32"], Quantity::FlopRate, "peak_fp32");
  if (n["peak_fp16"]) d.peak_fp16 = figure(doc, n["peak_fp16"], Quantity::FlopRate, "peak_fp16");
  if (n["peak_bf16"]) d.peak_bf16 = figure(doc, n["peak_bf16"], Quantity::FlopRate, "peak_bf16");
  if (n["peak_int8"]) d.peak_int8 = figure(doc, n["peak_int8"], Quantity::FlopRate, "peak_int8");
  if (n["compute_efficiency"]) d.compute_efficiency = doc.number(n["compute_efficiency"], "compute_efficiency");
  if (n["memory_bandwidth"]) d.memory_bandwidth = figure(doc, n["memory_bandwidth"], Quantity::Bandwidth, "memory_bandwidth");
  if (n["memory_efficiency"]) d.memory_efficiency = doc.number(n["memory_efficiency"], "memory_efficiency");
  // 0 would mean "unknown" and skip the memory check: a device written with memory has some.
  if (n["memory"]) d.memory = doc.quantity(n["memory"], Quantity::Bytes, "memory", {1e6, 1e15, "1MB", "1000TB"});
  if (n["power"]) d.power = parse_power(doc, n["power"], "power");
  if (n["price"]) d.price = parse_price(doc, n["price"], "price");
  if (n["thunderbolt"]) d.thunderbolt = static_cast<int>(doc.integer(n["thunderbolt"], "thunderbolt (generation)", 3, 5));
  if (n["ports"]) parse_ports(doc, n["ports"], d.ports);
  for (const char* key : {"compute_efficiency", "memory_efficiency"}) {
    double v = key[0] == 'c' ? d.compute_efficiency : d.memory_efficiency;
    if (n[key] && !(v > 0 && v <= 1)) doc.fail(n[key], fmt::format("expected {} between 0 and 1 (a fraction of the peak), got {}", key, v),
                                                  "write the sustained share of the peak, like 0.6");
  }
}

}  // namespace detail

namespace {
struct Presets {
  std::map<std::string, Device> devices;
  std::map<std::string, LinkType> links;
};

// The comment written beside a figure on its line of presets.yaml ("" when there is none).
std::string note_of(const std::vector<std::string>& lines, const YAML::Node& n) {
  auto m = n.Mark();
  if (m.is_null() || m.line < 0 || size_t(m.line) >= lines.size()) return "";
  const std::string& line = lines[m.line];
  size_t hash = line.find(" #", m.column);
  if (hash == std::string::npos) return "";
  size_t start = line.find_first_not_of(" #", hash);
  return start == std::string::npos ? "" : line.substr(start);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Device parse_device(const core::YamlDoc& doc, const std::vector<std::string>& lines, const std::string& name,
                    const YAML::Node& n) {
  doc.check_keys(n, {"description", "peak_fp32", "peak_fp16", "peak_bf16", "peak_int8", "compute_efficiency",
                     "memory_bandwidth", "memory_efficiency", "memory", "power", "price", "thunderbolt", "ports", "source"},
                 fmt::format("device preset '{}'", name));
  for (const char* key : {"peak_fp32", "compute_efficiency", "memory_bandwidth", "memory_efficiency", "memory"})
    doc.required(n, key, "a device preset");
  Device d;
  d.preset = name;
  d.description = doc.string(doc.required(n, "description", "a device preset"), "description");
  detail::apply_device_figures(doc, n, d);
  if (!n["peak_fp16"]) d.peak_fp16 = d.peak_fp32;
  d.source = doc.string(doc.required(n, "source", "a device preset"), "source");
  for (const auto& key : detail::kDeviceFigures)
    if (n[key]) d.notes[key] = note_of(lines, n[key]);
  return d;
}

LinkType parse_link_type(const core::YamlDoc& doc, const std::vector<std::string>& lines, const std::string& name,
                         const YAML::Node& n) {
  using core::Quantity;
  doc.check_keys(n, {"description", "goodput", "bandwidth", "rate", "framing", "latency", "duplex", "overhead",
                     "forward_bandwidth", "forward_latency", "transport", "port", "thunderbolt", "mtu", "price", "source"},
                 "link preset");
  LinkType t;
  t.preset = name;
  t.description = doc.string(doc.required(n, "description", "a link preset"), "description");
  if (n["mtu"]) t.mtu = static_cast<int>(doc.integer(n["mtu"], "mtu", 576, 65536));
  if (n["framing"]) t.framing = detail::parse_framing(doc, n["framing"]);
  if (n["rate"]) t.rate = detail::figure(doc, n["rate"], Quantity::Bandwidth, "rate");
  if (YAML::Node g = detail::goodput_node(doc, n)) {
    t.bandwidth = detail::figure(doc, g, Quantity::Bandwidth, "goodput");
  } else if (t.rate > 0) {
    t.bandwidth = tcp_goodput(t.rate, t.mtu, t.framing);
    t.goodput_derived = true;
  } else {
    doc.fail(n, "a link preset needs 'goodput' (or 'bandwidth') or 'rate'",
             "write the measured TCP goodput, or the wire rate to derive it from");
  }
  t.latency = detail::figure(doc, doc.required(n, "latency", "a link preset"), Quantity::Time, "latency");
  t.full_duplex = doc.choice(doc.required(n, "duplex", "a link preset"), {"full", "half"}, "duplex") == "full";
  t.overhead = n["overhead"] ? detail::figure(doc, n["overhead"], Quantity::Time, "overhead") : 0;
  t.forward_bandwidth =
      n["forward_bandwidth"] ? detail::figure(doc, n["forward_bandwidth"], Quantity::Bandwidth, "forward_bandwidth") : t.bandwidth;
  t.forward_latency = n["forward_latency"] ? detail::figure(doc, n["forward_latency"], Quantity::Time, "forward_latency") : 0;
  t.transport = doc.choice(doc.required(n, "transport", "a link preset"), {"tcp", "rdma"}, "transport") == "rdma"
                    ? Transport::Rdma
                    : Transport::Tcp;
  std::string port = doc.choice(doc.required(n, "port", "a link preset"), {"thunderbolt", "ethernet", "wifi", "none"}, "port");
  t.port = port == "thunderbolt" ? PortKind::Thunderbolt
           : port == "ethernet"  ? PortKind::Ethernet
           : port == "wifi"      ? PortKind::Wifi
                                 : PortKind::None;
  if (n["thunderbolt"]) t.thunderbolt = static_cast<int>(doc.integer(n["thunderbolt"], "thunderbolt (generation)", 3, 5));
  if (n["price"]) t.price = detail::parse_price(doc, n["price"], "price");
  t.source = doc.string(doc.required(n, "source", "a link preset"), "source");
  for (const char* key : {"goodput", "bandwidth", "rate", "framing", "latency", "duplex", "overhead", "forward_bandwidth", "forward_latency",
                          "thunderbolt", "mtu", "price"})
    if (n[key]) t.notes[key] = note_of(lines, n[key]);
  return t;
}

const Presets& presets() {
  static Presets p;
  static std::once_flag once;
  std::call_once(once, [] {
    auto doc = core::YamlDoc::parse(kPresetsYaml, "<built-in presets.yaml>");
    auto lines = split_lines(kPresetsYaml);
    for (const auto& kv : doc.required(doc.root(), "devices", "presets")) {
      auto name = kv.first.as<std::string>();
      p.devices[name] = parse_device(doc, lines, name, kv.second);
    }
    for (const auto& kv : doc.required(doc.root(), "links", "presets")) {
      auto name = kv.first.as<std::string>();
      p.links[name] = parse_link_type(doc, lines, name, kv.second);
    }
  });
  return p;
}

template <typename M>
std::vector<std::string> keys(const M& m) {
  std::vector<std::string> out;
  for (const auto& kv : m) out.push_back(kv.first);
  return out;
}
}  // namespace

const Device* find_device(const std::string& name) {
  auto it = presets().devices.find(name);
  return it == presets().devices.end() ? nullptr : &it->second;
}
const LinkType* find_link_type(const std::string& name) {
  auto it = presets().links.find(name);
  return it == presets().links.end() ? nullptr : &it->second;
}
std::vector<std::string> device_names() { return keys(presets().devices); }
std::vector<std::string> link_type_names() { return keys(presets().links); }

}  // namespace clustertwin::topo
