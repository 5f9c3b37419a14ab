#include "exec/compute.h"

#include <algorithm>
#include <cstring>

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#include <fmt/format.h>

// OpenBLAS's thread control; absent from other CBLAS libraries, hence weak. The coordinator also
// sets OPENBLAS_NUM_THREADS=1 for the workers it spawns, which covers every platform.
#if defined(__linux__)
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace clustertwin::exec {

void limit_blas_threads() {
#if defined(__linux__)
  if (openblas_set_num_threads) openblas_set_num_threads(1);
#endif
}

namespace {
constexpr size_t kStreamFloats = size_t{64} << 20 >> 2;  // 64 MiB: well past any last-level cache
}

ComputeKernels::ComputeKernels(ComputeMode mode, const std::vector<core::Op>& ops, std::vector<double> modelled_seconds)
    : mode_(mode), seconds_(std::move(modelled_seconds)) {
  if (mode_ != ComputeMode::Real) return;
  int64_t a = 0, b = 0, c = 0;
  bool streams = false;
  for (const auto& op : ops) {
    if (op.kind != core::OpKind::Compute) continue;
    const auto& g = op.gemm;
    if (g.count > 0) {
      a = std::max(a, g.m * g.k);
      b = std::max(b, g.k * g.n);
      c = std::max(c, g.m * g.n);
    } else if (op.bytes > 0) {
      streams = true;
    }
  }
  // Small non-zero values: zeros could hit special fast paths, large values could overflow.
  a_.assign(static_cast<size_t>(a), 0.001f);
  b_.assign(static_cast<size_t>(b), 0.001f);
  c_.assign(static_cast<size_t>(c), 0.0f);
  if (streams) stream_.assign(kStreamFloats, 1.0f);
  limit_blas_threads();
}

bool ComputeKernels::run(const core::Op& op, uint32_t index, Cancel& cancel) {
  if (mode_ == ComputeMode::Modelled) return cancel.sleep_for(index < seconds_.size() ? seconds_[index] : 0.0);
  if (op.gemm.count > 0) return gemms(op, cancel);
  return memory_pass(op.bytes, cancel);
}

bool ComputeKernels::gemms(const core::Op& op, Cancel& cancel) {
  const auto& g = op.gemm;
  const int m = static_cast<int>(g.m), n = static_cast<int>(g.n), k = static_cast<int>(g.k);
  for (int64_t i = 0; i < g.count; ++i) {
    if (cancel.cancelled()) return false;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a_.data(), k, b_.data(), n, 0.0f, c_.data(), n);
  }
  return true;
}

// An op with no GEMM shape (embedding, optimizer) is memory traffic: stream that many bytes
// (read + write counted) through a buffer larger than the caches, so real mode does not report 0 s.
bool ComputeKernels::memory_pass(double bytes, Cancel& cancel) {
  if (stream_.empty() || bytes <= 0) return true;
  double left = bytes;
  while (left > 0) {
    if (cancel.cancelled()) return false;
    size_t n = std::min(stream_.size(), static_cast<size_t>(left / (2 * sizeof(float))) + 1);
    float* p = stream_.data();
    for (size_t i = 0; i < n; ++i) p[i] = p[i] * 0.5f + 0.5f;  // stays at 1.0: no denormals, no overflow
    left -= static_cast<double>(n) * 2 * sizeof(float);
  }
  return true;
}

}  // namespace clustertwin::exec
