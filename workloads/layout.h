// Where every rank sits in a DP x PP x TP plan, how the layers are split across pipeline
// stages, and the pipeline schedules (the order of forward and backward micro-batch passes on
// each stage), with their bubble fractions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/cluster.h"
#include "workloads/workload.h"

namespace clustertwin::work {

struct Layout {
  int dp = 1, tp = 1, pp = 1;
  int virtual_stages = 1;
  // Logical position -> rank; position = (stage * dp + d) * tp + t: tensor-parallel groups are
  // consecutive positions, which placement puts on the fastest links.
  std::vector<int32_t> order;
  // Layers of each virtual stage V = chunk * pp + stage (pp * virtual_stages entries).
  std::vector<int64_t> layers;

  int32_t rank_at(int stage, int d, int t) const { return order[(stage * dp + d) * tp + t]; }
  int world() const { return dp * tp * pp; }
  int64_t first_layer(int v) const;  // first layer of virtual stage v
};

// Resolves the degrees of `w` for the cluster (dp 0 = the rest; pipeline and tensor strategies
// default to all ranks), places the ranks and splits the layers (even, as written, or balanced by
// modelled time or memory: workloads/stage_split.h). Throws core::InputError at the
// workload's parallel entry when the degrees do not multiply to the world or a degree does not fit.
Layout layout_for(const Workload& w, const Cluster& c);

struct Pass {
  bool forward = true;
  int micro_batch = 0;
  int chunk = 0;  // virtual stage chunk on this rank (0 without interleaving)
};
// The passes stage `stage` of `pp` runs in one step: GPipe (all forwards, then all backwards),
// 1F1B (PipeDream-flush: pp - stage - 1 warm-up forwards, then one forward one backward, then the
// remaining backwards) or Megatron's interleaved 1F1B over `v` chunks (micro_batches % pp == 0).
std::vector<Pass> schedule(Schedule kind, int pp, int stage, int micro_batches, int v);

// Idle fraction of a pipeline step with equal stages and free communication:
// (p - 1) / (m + p - 1) for GPipe and 1F1B, (p - 1) / (v·m + p - 1) interleaved.
double bubble_fraction(Schedule kind, int pp, int micro_batches, int v);

}  // namespace clustertwin::work
