// Parameter-server training, as smolcluster runs it on Mac minis and Pis: one rank (the server)
// holds the parameters and the optimizer; every other rank (a worker) runs forward and backward
// on its micro-batch, pushes its gradients to the server (optionally quantized to 8 bits) and
// pulls the parameters back.
//   sync:  the server sums every worker's gradients, takes one optimizer step and sends the new
//          parameters to all: each step waits for the slowest worker.
//   async: the server applies each worker's gradients as they arrive and returns the parameters
//          to that worker at once, unless the staleness bound holds it: the parameters worker w
//          gets after its step s include every worker's update of step s - staleness.
//          The server's applies are not chained into one stream (DESIGN.md chains compute ops):
//          their order is the arrival order, which only the run decides; overlapping applies
//          share the server's device.
#pragma once

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

core::Program compile_parameter_server(const Workload& w, const Cluster& c);

// Bytes of `params` gradients pushed in `dtype`: int8 carries one fp32 scale per block of 256.
double push_bytes(double params, core::DType dtype);

}  // namespace clustertwin::work
