// compile(): a workload on a cluster to its Program, through the strategy's compiler, with the
// memory check at the end. (workload.h declares the topology form the command line uses.)
#pragma once

#include <cstddef>

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

// The most ops clustertwin builds into one Program (all ranks, all steps). Measured: `explain` of 1.9
// million ops peaks at 830 MB (about 430 bytes an op with its label, deps and the command's copies)
// and takes 6 s before any simulation: a larger Program is a step count or a model shape written by
// mistake. compile() checks the size it would reach from a probe of its first steps before building
// the whole; an OpBudget (builder.h) is the backstop for shapes too large in a single step.
inline constexpr size_t kMaxProgramOps = 2'000'000;

// Throws core::InputError when the plan cannot run on the cluster (degrees, divisibility, memory) or
// would hold more than `max_ops` ops (tests lower it to exercise the checks cheaply).
core::Program compile(const Workload& w, const Cluster& c, size_t max_ops = kMaxProgramOps);

}  // namespace clustertwin::work
