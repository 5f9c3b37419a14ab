// The rank pairs a Program moves bytes between, as the topology lint (topologies/check.h) judges
// them: its sends, and the steps of its collectives as the shared decomposition plans them (what
// both backends run). `check`, `predict` and the planner lint the same pairs.
#pragma once

#include "core/program.h"
#include "topologies/check.h"

namespace clustertwin::work {

topo::CheckOptions talking_pairs(const core::Program& p);

}  // namespace clustertwin::work
