// Data-parallel training (DDP): every rank runs forward and backward on its own micro-batch, the
// gradients are all-reduced, then every rank runs the same optimizer step.
#pragma once

#include "core/program.h"
#include "workloads/workload.h"

namespace clustertwin::work {

core::Program compile_ddp(const Workload& w, int world);

}  // namespace clustertwin::work
