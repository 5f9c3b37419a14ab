// Memory per rank: weights, gradients, optimizer state, activations, KV cache and communication
// buffers, for each strategy, and the capacity check: a plan that does not fit is an input error
// naming the rank, its node, by how much it is over and what takes the room.
#pragma once

#include <vector>

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

// Data parallel (DDP and ZeRO 1-3) on `world` ranks, per rank (capacity left 0). ZeRO (Rajbhandari
// et al. 2020), Ψ parameters, N ranks, K optimizer bytes per parameter: model states per rank are
// stage 0: (w + g + K)Ψ, stage 1: (w + g)Ψ + KΨ/N, stage 2: wΨ + (g + K)Ψ/N, stage 3: (w + g + K)Ψ/N.
core::MemoryUse data_parallel_memory_of(const Workload& w, int world);
std::vector<core::MemoryUse> data_parallel_memory(const Workload& w, const Cluster& c);

// Activations one micro-batch keeps for backward over `layers` layers (+ embedding output and,
// on the last stage, the logits), on a rank holding 1/tp of each layer.
double training_activation_bytes(const Workload& w, int64_t layers, bool with_head, int tp = 1);

// Throws core::InputError (pointing at the workload's 'parallel' or 'memory' entry) when a rank
// needs more than its capacity, naming the worst rank, its node and device, the shortfall, the
// breakdown, how many ranks are over, and what to try. Does nothing when w.memory.check is false
// or capacities are unknown (0).
void check_memory(const Workload& w, const core::Program& p, const Cluster& c);

}  // namespace clustertwin::work
