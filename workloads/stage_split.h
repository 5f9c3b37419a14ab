// Pipeline stage splits that balance what a stage costs: its modelled time (`split: speed`) or the
// share of its device's memory it fills (`split: memory`), with the embedding on the first stage and
// the LM head and loss on the last. One mechanism for both: a cost per (chunk, layer count), and
// the split of the layers into contiguous chunks whose largest cost is the least.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "workloads/cluster.h"
#include "workloads/layout.h"
#include "workloads/workload.h"

namespace clustertwin::work {

// What chunk `v` (virtual stage, 0 = the embedding's, last = the head's) costs holding `layers` layers.
using ChunkCost = std::function<double(int v, int64_t layers)>;

// Layers per chunk, each at least one, in order, minimising the largest chunk cost (dynamic
// programming over the cut points; on ties the later chunks take more layers, since the first
// stages hold the most micro-batches at once in 1F1B).
std::vector<int64_t> balanced_split(int64_t layers, int chunks, const ChunkCost& cost);

// Seconds one micro-batch takes on chunk v's slowest rank (l.order, l.pp, l.tp set): forward and
// backward in training, one decode step in inference; roofline of each unit on the device.
ChunkCost chunk_seconds(const Workload& w, const Cluster& c, const Layout& l);
// The share of chunk v's smallest memory its model states (weights, gradients, optimizer) and the
// activations of the micro-batches its stage holds at once (KV cache in inference) take.
ChunkCost chunk_memory_share(const Workload& w, const Cluster& c, const Layout& l);

}  // namespace clustertwin::work
