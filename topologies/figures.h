// Reading device and link figures from YAML: shared by the built-in presets and the per-node and
// per-link overrides of a topology file, so a figure means the same thing in both places.
#pragma once

#include <string>
#include <vector>

#include "core/yaml_doc.h"
#include "topologies/topology.h"

namespace clustertwin::topo::detail {

// Figure keys a device preset and a node override may set.
extern const std::vector<std::string> kDeviceFigures;

// Sets every figure present in `n` on `d`.
void apply_device_figures(const core::YamlDoc& doc, const YAML::Node& n, Device& d);

// A quantity that must be finite: positive for bandwidths and FLOP rates, at least 0 otherwise.
double figure(const core::YamlDoc& doc, const YAML::Node& n, core::Quantity q, std::string_view what);

// "50W", "7.2 W", "1.2kW" -> watts.
double parse_power(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what);

// The node of `goodput:` or of `bandwidth:` (one figure, two spellings), or an undefined node when
// neither is written. Fails at the second when both are.
YAML::Node goodput_node(const core::YamlDoc& doc, const YAML::Node& n);

// `framing: ethernet | tbf | none`.
Framing parse_framing(const core::YamlDoc& doc, const YAML::Node& n);

// "$599" -> US dollars.
double parse_price(const core::YamlDoc& doc, const YAML::Node& n, std::string_view what);

}  // namespace clustertwin::topo::detail
