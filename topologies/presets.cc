// The built-in device and link presets, parsed once from the YAML embedded at build time.
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "core/yaml_doc.h"
#include "topologies/topology.h"

namespace clustertwin::topo {

extern const char* const kPresetsYaml;  // generated from presets/presets.yaml

namespace {
struct Presets {
  std::map<std::string, Device> devices;
  std::map<std::string, LinkType> links;
};

Device parse_device(const core::YamlDoc& doc, const std::string& name, const YAML::Node& n) {
  using core::Quantity;
  doc.check_keys(n, {"description", "peak_fp32", "peak_fp16", "compute_efficiency", "memory_bandwidth",
                     "memory_efficiency", "memory", "source"},
                 fmt::format("device preset '{}'", name));
  Device d;
  d.preset = name;
  d.description = doc.string(doc.required(n, "description", "a device preset"), "description");
  d.peak_fp32 = doc.quantity(doc.required(n, "peak_fp32", "a device preset"), Quantity::FlopRate, "peak_fp32");
  d.peak_fp16 = n["peak_fp16"] ? doc.quantity(n["peak_fp16"], Quantity::FlopRate, "peak_fp16") : d.peak_fp32;
  d.compute_efficiency = doc.number(doc.required(n, "compute_efficiency", "a device preset"), "compute_efficiency");
  d.memory_bandwidth = doc.quantity(doc.required(n, "memory_bandwidth", "a device preset"), Quantity::Bandwidth, "memory_bandwidth");
  d.memory_efficiency = doc.number(doc.required(n, "memory_efficiency", "a device preset"), "memory_efficiency");
  d.memory = doc.quantity(doc.required(n, "memory", "a device preset"), Quantity::Bytes, "memory");
  d.source = doc.string(doc.required(n, "source", "a device preset"), "source");
  return d;
}

const Presets& presets() {
  static Presets p;
  static std::once_flag once;
  std::call_once(once, [] {
    auto doc = core::YamlDoc::parse(kPresetsYaml, "<built-in presets.yaml>");
    for (const auto& kv : doc.required(doc.root(), "devices", "presets")) {
      auto name = kv.first.as<std::string>();
      p.devices[name] = parse_device(doc, name, kv.second);
    }
    for (const auto& kv : doc.required(doc.root(), "links", "presets")) {
      auto name = kv.first.as<std::string>();
      const auto& n = kv.second;
      doc.check_keys(n, {"description", "bandwidth", "latency", "duplex", "overhead", "forward_bandwidth",
                         "forward_latency", "source"},
                     "link preset");
      LinkType t;
      t.preset = name;
      t.description = doc.string(doc.required(n, "description", "a link preset"), "description");
      t.bandwidth = doc.quantity(doc.required(n, "bandwidth", "a link preset"), core::Quantity::Bandwidth, "bandwidth");
      t.latency = doc.quantity(doc.required(n, "latency", "a link preset"), core::Quantity::Time, "latency");
      t.full_duplex = doc.choice(doc.required(n, "duplex", "a link preset"), {"full", "half"}, "duplex") == "full";
      using core::Quantity;
      t.overhead = n["overhead"] ? doc.quantity(n["overhead"], Quantity::Time, "overhead") : 0;
      t.forward_bandwidth = n["forward_bandwidth"] ? doc.quantity(n["forward_bandwidth"], Quantity::Bandwidth, "forward_bandwidth")
                                                   : t.bandwidth;
      t.forward_latency = n["forward_latency"] ? doc.quantity(n["forward_latency"], Quantity::Time, "forward_latency") : 0;
      t.source = doc.string(doc.required(n, "source", "a link preset"), "source");
      p.links[name] = t;
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
