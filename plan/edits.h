// Edits applied to the YAML documents of a topology and a workload. A candidate is the base
// documents with its edits applied, emitted as text and read back by the ordinary loaders: what the
// planner evaluates is exactly the YAML it writes out, so `predict` and `run` take the winner as is.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "plan/spec.h"

namespace clustertwin::plan {

struct Documents {
  YAML::Node topology, workload;
};

// The wiring a topology's data links form among its compute nodes (hosts that run ranks).
enum class Wiring { Star, Chain, Ring, Mesh, Switch, Other };
Wiring wiring_of(const YAML::Node& topology);

// Deep copies of `base` with `edits` applied in a fixed order whatever the axes' order: nodes
// removed, nodes added, device, link type, shape, then the workload's `parallel:` and its keys.
Documents apply_edits(const Documents& base, const std::vector<const Edit*>& edits);

// Block-style YAML text of a document (flow style kept for the nodes and links written so).
std::string emit(const YAML::Node& doc);

}  // namespace clustertwin::plan
