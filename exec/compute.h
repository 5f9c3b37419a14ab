// Compute ops on a worker: either the real kernel of the op's shape (CBLAS sgemm; a streaming
// memory pass for ops that are only memory traffic) or a sleep for the modelled roofline time,
// which isolates the network from the machine's compute speed.
#pragma once

#include <vector>

#include "core/program.h"
#include "exec/cancel.h"
#include "exec/settings.h"

namespace clustertwin::exec {

// One BLAS thread per worker: each rank is one process, and ranks sharing a machine must not
// oversubscribe its cores (OpenBLAS would start one thread per core in every worker).
void limit_blas_threads();

class ComputeKernels {
 public:
  // Real mode sizes its matrices once, for the largest GEMM among `ops`. Modelled mode needs one
  // duration per op (`modelled_seconds[i]` for ops[i]; others ignored).
  ComputeKernels(ComputeMode mode, const std::vector<core::Op>& ops, std::vector<double> modelled_seconds);

  // Runs compute op `index`; returns early (false) when cancelled.
  bool run(const core::Op& op, uint32_t index, Cancel& cancel);

 private:
  bool gemms(const core::Op& op, Cancel& cancel);
  bool memory_pass(double bytes, Cancel& cancel);

  ComputeMode mode_;
  std::vector<double> seconds_;
  std::vector<float> a_, b_, c_;  // GEMM operands at the largest shape
  std::vector<float> stream_;     // memory-pass scratch, larger than the caches
};

}  // namespace clustertwin::exec
