// compile(): a workload on a cluster to its Program, through the strategy's compiler, with the
// memory check at the end. (workload.h declares the topology form the command line uses.)
#pragma once

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

// Throws core::InputError when the plan cannot run on the cluster (degrees, divisibility, memory).
core::Program compile(const Workload& w, const Cluster& c);

}  // namespace clustertwin::work
