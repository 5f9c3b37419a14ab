// `clustertwin explain`: for teaching. For the user's own cluster, how one step decomposes --
// the model's FLOPs, the collectives and messages with the bytes each rank sends and the number
// of point-to-point steps, the pipeline bubble, memory per rank -- each number beside the formula
// that gives it. Optionally one rank's op list.
#pragma once

#include <optional>
#include <string>

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

struct ExplainOptions {
  std::optional<int> rank;  // also list this rank's ops (first step)
};

// Compiles `w` on `c` without the memory check (an infeasible plan is explained, its memory table
// marks the ranks that are over, and the text ends with the error compile() would give).
// Throws core::InputError for a plan that cannot be built at all, or a rank out of range.
std::string explain(const Workload& w, const Cluster& c, const ExplainOptions& opt = {});

}  // namespace clustertwin::work
