// A Program timed on an ideal machine: every op takes a given duration and starts when its deps,
// its matching send (for a receive) and every member of its collective are ready; nothing else
// (no link sharing, no overheads). Tests check schedules against closed forms with it, and
// `explain` uses it to state the bubble a pipeline split really has on the cluster's devices.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/program.h"

namespace clustertwin::work {

// Ops of a rank may overlap unless deps chain them (the compilers chain compute). A collective
// takes the longest of its members' durations.
struct Timing {
  double makespan = 0;
  std::vector<double> busy;    // per rank: total duration of its compute ops
  std::vector<double> finish;  // per rank: when its last op ends
  std::string stuck;           // "" when every op ran, else which op never could
};
Timing time_program(const core::Program& p, const std::function<double(int32_t rank, const core::Op&)>& duration);
Timing time_program(const core::Program& p, const std::function<double(const core::Op&)>& duration);

}  // namespace clustertwin::work
