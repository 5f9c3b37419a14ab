#include "topologies/calibration.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/yaml_doc.h"

namespace clustertwin::topo {

namespace {
using core::Quantity;
using core::YamlDoc;

// A measured figure lies in its quantity's physical range (rates above 0, times from 0): a probe
// never writes anything else, so another value is a hand edit gone wrong.
double measured(const YamlDoc& doc, const YAML::Node& n, Quantity q, std::string_view what) {
  return doc.quantity(n, q, what);
}

// "2026-12-03T14:05:00Z": UTC, so a calibration read anywhere says when the same thing.
std::string timestamp(const YamlDoc& doc, const YAML::Node& n) {
  std::string s = doc.string(n, "'measured'");
  int y, mo, d, h, mi, sec;
  char z = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 || z != 'Z' ||
      s.size() != 20 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    doc.fail(n, fmt::format("expected a UTC time like 2026-12-03T14:05:00Z, got '{}'", s),
             "write the time the figure was measured in ISO 8601 UTC (the Z at the end)");
  return s;
}

Provenance provenance(const YamlDoc& doc, const YAML::Node& n, const Provenance& inherited) {
  Provenance p = inherited;
  if (n["measured"]) p.measured = timestamp(doc, n["measured"]);
  if (n["how"]) p.how = doc.string(n["how"], "'how'");
  return p;
}

LinkCalibration parse_link(const YamlDoc& doc, const YAML::Node& n, const Provenance& file) {
  doc.require_map(n, "a link entry");
  doc.check_keys(n, {"from", "to", "goodput", "latency", "overhead", "measured", "how", "spread"}, "a link entry");
  LinkCalibration l;
  l.pos = doc.pos(n);
  l.from = doc.string(doc.required(n, "from", "a link entry"), "'from'");
  l.to = doc.string(doc.required(n, "to", "a link entry"), "'to'");
  l.goodput = measured(doc, doc.required(n, "goodput", "a link entry"), Quantity::Bandwidth, "'goodput'");
  if (n["latency"]) l.latency = measured(doc, n["latency"], Quantity::Time, "'latency'");
  if (n["overhead"]) l.overhead = measured(doc, n["overhead"], Quantity::Time, "'overhead'");
  l.when = provenance(doc, n, file);
  if (n["spread"]) l.spread = doc.string(n["spread"], "'spread'");
  return l;
}

ForwarderCalibration parse_forwarder(const YamlDoc& doc, const YAML::Node& n, const Provenance& file) {
  doc.require_map(n, "a forwarder entry");
  doc.check_keys(n, {"node", "bandwidth", "latency", "measured", "how", "spread"}, "a forwarder entry");
  ForwarderCalibration f;
  f.pos = doc.pos(n);
  f.node = doc.string(doc.required(n, "node", "a forwarder entry"), "'node'");
  if (n["bandwidth"]) f.bandwidth = measured(doc, n["bandwidth"], Quantity::Bandwidth, "'bandwidth'");
  f.latency = measured(doc, doc.required(n, "latency", "a forwarder entry"), Quantity::Time, "'latency'");
  f.when = provenance(doc, n, file);
  if (n["spread"]) f.spread = doc.string(n["spread"], "'spread'");
  return f;
}

DeviceCalibration parse_device(const YamlDoc& doc, const YAML::Node& n, const Provenance& file) {
  doc.require_map(n, "a device entry");
  doc.check_keys(n, {"node", "flops", "memory_bandwidth", "measured", "how", "spread"}, "a device entry");
  DeviceCalibration d;
  d.pos = doc.pos(n);
  d.node = doc.string(doc.required(n, "node", "a device entry"), "'node'");
  if (n["flops"]) d.flops = measured(doc, n["flops"], Quantity::FlopRate, "'flops'");
  if (n["memory_bandwidth"]) d.memory_bandwidth = measured(doc, n["memory_bandwidth"], Quantity::Bandwidth, "'memory_bandwidth'");
  if (!d.flops && !d.memory_bandwidth)
    doc.fail(n, "a device entry needs 'flops' or 'memory_bandwidth'", "add the measured figure, or delete the entry");
  d.when = provenance(doc, n, file);
  if (n["spread"]) d.spread = doc.string(n["spread"], "'spread'");
  return d;
}

template <class Parse>
void parse_list(const YamlDoc& doc, const YAML::Node& root, const char* key, Parse parse) {
  if (!root[key]) return;
  doc.require_seq(root[key], fmt::format("'{}'", key));
  for (const auto& n : root[key]) parse(n);
}

Calibration build(const YamlDoc& doc, const std::string& text) {
  const YAML::Node& root = doc.root();
  doc.require_map(root, "a calibration file");
  doc.check_keys(root, {"calibration", "topology", "measured", "how", "links", "forwarders", "devices"},
                 "a calibration file");
  Calibration c;
  c.file = doc.name();
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) c.source_lines.push_back(line);
  doc.required(root, "calibration", "a calibration file");  // `calibration: 1`, so a topology is never taken for one
  doc.integer(root["calibration"], "'calibration' (the format version)", 1, 1);
  if (root["topology"]) c.topology = doc.string(root["topology"], "'topology'");
  c.when.measured = timestamp(doc, doc.required(root, "measured", "a calibration file"));
  if (root["how"]) c.when.how = doc.string(root["how"], "'how'");
  parse_list(doc, root, "links", [&](const YAML::Node& n) { c.links.push_back(parse_link(doc, n, c.when)); });
  parse_list(doc, root, "forwarders", [&](const YAML::Node& n) { c.forwarders.push_back(parse_forwarder(doc, n, c.when)); });
  parse_list(doc, root, "devices", [&](const YAML::Node& n) { c.devices.push_back(parse_device(doc, n, c.when)); });
  return c;
}

Calibration build_guarded(const YamlDoc& doc, const std::string& text) {
  try {
    return build(doc, text);
  } catch (const YAML::Exception& e) {
    core::SourcePos pos{doc.name(), e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1};
    throw core::InputError(core::format_diagnostic(pos, "", fmt::format("unexpected YAML here: {}", e.msg),
                                                   "a calibration file is the YAML `clustertwin probe -o` writes"));
  }
}

// Figures written so parse_quantity reads them back without loss that matters (4 significant digits).
std::string rate(double bytes_per_s) {
  return bytes_per_s >= 1e9 ? fmt::format("{:.4g}GB/s", bytes_per_s / 1e9) : fmt::format("{:.4g}MB/s", bytes_per_s / 1e6);
}
std::string seconds(double s) {
  return s >= 1e-3 ? fmt::format("{:.4g}ms", s * 1e3) : fmt::format("{:.4g}us", s * 1e6);
}
std::string flops(double f) {
  return f >= 1e12 ? fmt::format("{:.4g}TFLOPS", f / 1e12) : fmt::format("{:.4g}GFLOPS", f / 1e9);
}
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) out += ch == '"' || ch == '\\' ? std::string("\\") + ch : std::string(1, ch);
  return out + "\"";
}

void write_when(std::ostringstream& o, const Provenance& p, const Provenance& file, const std::string& spread) {
  if (!spread.empty()) o << "    spread: " << quoted(spread) << "\n";
  if (p.measured != file.measured) o << "    measured: " << p.measured << "\n";
  if (p.how != file.how) o << "    how: " << quoted(p.how) << "\n";
}

[[noreturn]] void fail_at(const Calibration& c, const core::SourcePos& pos, const std::string& message,
                          const std::string& hint) {
  const bool known = pos.line >= 1 && static_cast<size_t>(pos.line) <= c.source_lines.size();
  throw core::InputError(core::format_diagnostic(pos, known ? c.source_lines[pos.line - 1] : "", message, hint));
}

std::vector<std::string> node_names(const Topology& t) {
  std::vector<std::string> names;
  for (const auto& n : t.nodes) names.push_back(n.name);
  return names;
}

int node_of(const Topology& t, const Calibration& c, const std::string& name, const core::SourcePos& pos, std::string_view what) {
  int i = t.find(name);
  if (i < 0)
    fail_at(c, pos, fmt::format("{} '{}' is not a node of topology '{}'", what, name, t.name),
            fmt::format("{} (was the calibration measured on another topology?)", core::suggest(name, node_names(t))));
  return i;
}
}  // namespace

Calibration load_calibration(const std::string& path, const std::string& origin) {
  auto doc = YamlDoc::load(path, origin);
  return build_guarded(doc, doc.text());
}

Calibration parse_calibration(const std::string& yaml_text, const std::string& file_name) {
  return build_guarded(YamlDoc::parse(yaml_text, file_name), yaml_text);
}

std::string calibration_yaml(const Calibration& c, const std::vector<std::string>& comments) {
  std::ostringstream o;
  for (const auto& line : comments) o << "# " << line << "\n";
  o << "calibration: 1\n";
  if (!c.topology.empty()) o << "topology: " << quoted(c.topology) << "\n";
  o << "measured: " << c.when.measured << "\n";
  o << "how: " << quoted(c.when.how) << "\n";
  if (!c.links.empty()) o << "links:  # one entry per direction\n";
  for (const auto& l : c.links) {
    o << "  - from: " << quoted(l.from) << "\n    to: " << quoted(l.to) << "\n";
    o << "    goodput: " << rate(l.goodput) << "\n";
    if (l.latency) o << "    latency: " << seconds(*l.latency) << "\n";
    if (l.overhead) o << "    overhead: " << seconds(*l.overhead) << "\n";
    write_when(o, l.when, c.when, l.spread);
  }
  if (!c.forwarders.empty()) o << "forwarders:\n";
  for (const auto& f : c.forwarders) {
    o << "  - node: " << quoted(f.node) << "\n";
    if (f.bandwidth) o << "    bandwidth: " << rate(*f.bandwidth) << "\n";
    o << "    latency: " << seconds(f.latency) << "\n";
    write_when(o, f.when, c.when, f.spread);
  }
  if (!c.devices.empty()) o << "devices:\n";
  for (const auto& d : c.devices) {
    o << "  - node: " << quoted(d.node) << "\n";
    if (d.flops) o << "    flops: " << flops(*d.flops) << "\n";
    if (d.memory_bandwidth) o << "    memory_bandwidth: " << rate(*d.memory_bandwidth) << "\n";
    write_when(o, d.when, c.when, d.spread);
  }
  return o.str();
}

void apply_calibration(Topology& t, const Calibration& c) {
  for (const auto& l : c.links) {
    int from = node_of(t, c, l.from, l.pos, "'from'"), to = node_of(t, c, l.to, l.pos, "'to'");
    bool found = false;
    for (auto& link : t.links) {
      if (!((link.a == from && link.b == to) || (link.a == to && link.b == from))) continue;
      found = true;
      const bool up = link.a == from;
      (up ? link.type.bandwidth : link.back_bandwidth) = l.goodput;
      if (l.latency) (up ? link.type.latency : link.back_latency) = *l.latency;
      if (l.overhead) link.type.overhead = *l.overhead;
    }
    if (!found)
      fail_at(c, l.pos, fmt::format("topology '{}' has no link between '{}' and '{}'", t.name, l.from, l.to),
              "calibrate the topology the probe measured (its links name the same nodes), or delete the entry");
  }
  for (const auto& f : c.forwarders) {
    Node& n = t.nodes[node_of(t, c, f.node, f.pos, "'node'")];
    if (!n.forwards)
      fail_at(c, f.pos, fmt::format("node '{}' does not forward in topology '{}'", f.node, t.name),
              "set 'forwards: true' on the node, or delete the entry");
    if (f.bandwidth) n.forward_bandwidth = *f.bandwidth;
    n.forward_latency = f.latency;
  }
  for (const auto& d : c.devices) {
    Node& n = t.nodes[node_of(t, c, d.node, d.pos, "'node'")];
    if (!n.device)
      fail_at(c, d.pos, fmt::format("node '{}' has no device (a switch or a control machine)", d.node),
              "delete the entry: only nodes with a device compute");
    Device& dev = *n.device;
    // The efficiencies carry the measurement, so every dtype keeps the preset's ratio to fp32.
    if (d.flops) {
      if (dev.peak_fp32 <= 0) dev.peak_fp32 = *d.flops;
      dev.compute_efficiency = *d.flops / dev.peak_fp32;
    }
    if (d.memory_bandwidth) {
      if (dev.memory_bandwidth <= 0) dev.memory_bandwidth = *d.memory_bandwidth;
      dev.memory_efficiency = *d.memory_bandwidth / dev.memory_bandwidth;
    }
  }
  t.calibrated = Calibrated{c.file, c.when.measured, c.when.how};
}

std::string calibration_text(const Topology& t) {
  if (!t.calibrated) return "uncalibrated (preset figures)";
  return fmt::format("calibrated with {} (measured {})", t.calibrated->file.empty() ? "an overlay" : t.calibrated->file,
                     t.calibrated->measured);
}

}  // namespace clustertwin::topo
