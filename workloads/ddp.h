// Data-parallel training: every rank runs forward and backward on its own micro-batch(es), the
// gradients are reduced across ranks, every rank runs the optimizer. DDP (ZeRO stage 0) all-reduces
// gradient buckets as backward produces them, overlapping the rest of backward; ZeRO stage 1 and 2
// reduce-scatter the buckets, update 1/n of the parameters and all-gather them back; stage 3
// (FSDP) also shards the parameters: each unit (embedding, block, head) is all-gathered before its
// forward and again before its backward (`prefetch` units ahead), and its gradient reduce-scattered
// right after its backward.
#pragma once

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

core::Program compile_data_parallel(const Workload& w, const Cluster& c);

// Data parallel over `world` identical ranks of unknown memory (benchmarks and tests).
core::Program compile_ddp(const Workload& w, int world);

// A model unit of the data-parallel compilers, in forward order: its parameters (a tied LM head
// owns none: its gradient lands in the embedding's) and the parameters it reads.
struct Unit {
  std::string name;  // "embed", "L7", "head"
  double params = 0;
  double reads = 0;
};
std::vector<Unit> units_of(const ModelShape& m);

// Gradient buckets in backward order: each closes after the unit whose gradient fills it past
// `bucket_bytes` (0 = one bucket for the whole gradient). Returns, per bucket, the index (in
// backward order) of its last unit and its parameter count.
struct Bucket {
  size_t last_unit = 0;
  double params = 0;
};
std::vector<Bucket> buckets_of(const std::vector<Unit>& backward_order, double bytes_per_param, double bucket_bytes);

}  // namespace clustertwin::work
