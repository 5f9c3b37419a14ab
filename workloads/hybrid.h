// Pipeline, tensor and hybrid DP x PP x TP training (Megatron-LM style), one compiler:
//   - pipeline: each stage holds a run of layers (the first the embedding, the last the head);
//     micro-batch activations go forward and their gradients back as point-to-point messages, in
//     the order of the schedule (GPipe, 1F1B, interleaved 1F1B); stages are split evenly, by
//     device speed or memory, or as written;
//   - tensor: every layer is split across the tp ranks of a group (column-parallel QKV and MLP
//     up-projection, row-parallel output and down-projection) and all-reduces its activations
//     twice in the forward pass (after attention, after the MLP) and twice in the backward pass
//     (four times with activation checkpointing: the recomputed forward all-reduces again);
//     the vocabulary-parallel embedding and head add one each way;
//   - data parallel across the dp replicas of each (stage, tensor rank): the gradients are
//     all-reduced (ZeRO-1: reduce-scattered, then the parameters all-gathered) after the last
//     micro-batch, then the optimizer runs.
#pragma once

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/layout.h"
#include "workloads/workload.h"

namespace clustertwin::work {

core::Program compile_hybrid(const Workload& w, const Cluster& c, const Layout& l);

}  // namespace clustertwin::work
