// Test helpers: check a compiled Program is valid and cannot deadlock, and time it on an ideal
// machine (each op a given duration, unlimited links) to check schedules against closed forms.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work::support {

// The ideal run: every op takes duration(op) (a collective: the longest of its members') and starts
// when its deps, its matching send (for a recv) and every member of its collective are ready; ops
// of a rank may overlap unless deps chain them (the compilers chain compute). `stuck` is "" when
// every op ran, else which op never could.
struct Timing {
  double makespan = 0;
  std::vector<double> busy;    // per rank: total duration of its compute ops
  std::vector<double> finish;  // per rank: when its last op ends
  std::string stuck;
};
Timing time_program(const core::Program& p, const std::function<double(const core::Op&)>& duration);

// validate() + every op runs on the ideal machine.
::testing::AssertionResult runnable(const core::Program& p);

// A cluster of n identical ranks with `memory` bytes each, usable in full.
Cluster cluster(int n, double memory = 1e15, double flops = 1e12);

Workload parse(const std::string& yaml);
// `error_of(yaml)`: the InputError text parsing produces, or "(no error)".
std::string error_of(const std::string& yaml);

}  // namespace clustertwin::work::support
