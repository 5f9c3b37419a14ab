// Runs a Program's collectives on real float buffers over the data plane, by the one shared plan
// (work::plan_collective), and checks every result. Each rank's contribution is a pattern of small
// integers, so every sum is exact in float and the expected result is known without a second
// buffer: a wrong plan, a lost chunk or a corrupted byte fails loudly, naming where.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/program.h"
#include "exec/data_plane.h"
#include "workloads/collectives.h"

namespace clustertwin::exec {

// Rank r's contribution at element i: (7i + 13r) mod 17.
float pattern_value(int32_t rank, int64_t i);

// Elements of a collective's fp32 buffer (bytes / 4, rounded).
int64_t element_count(const core::Op& op);
// The op's plan for `rank` (throws RunError for a collective the executor cannot run).
std::vector<work::P2PStep> plan_for(const core::Op& op, const std::vector<int32_t>& group, int32_t rank);

class CollectiveRunner {
 public:
  // Sizes the buffers for the largest collective among `ops` (this rank's ops), once.
  CollectiveRunner(DataPlane& plane, int32_t rank, const std::vector<std::vector<int32_t>>& groups,
                   const std::vector<core::Op>& ops, bool corrupt);

  // Writes this rank's pattern into the first `count` elements (outside any timed interval). The
  // corrupting rank (a testing aid) adds 1 to element 0, unknown to the others.
  void fill(int64_t count);
  // The timed part: every ring step, sending and receiving at once, reducing as bytes land.
  void run(const core::Op& op, uint32_t index);
  // Throws WrongResult naming the rank, collective, step, first bad element, expected and actual.
  void verify(const core::Op& op, uint32_t index) const;

  std::span<const float> buffer() const { return {buffer_.data(), buffer_.size()}; }
  uint64_t buffer_bytes() const { return (buffer_.size() + staging_.size()) * sizeof(float); }

 private:
  std::string describe(const core::Op& op, uint32_t index) const;

  DataPlane& plane_;
  int32_t rank_;
  std::vector<std::vector<int32_t>> groups_;
  bool corrupt_;
  std::vector<float> buffer_;   // the collective's buffer, reused by every collective
  std::vector<float> staging_;  // one received chunk, reduced into buffer_ as it lands
};

}  // namespace clustertwin::exec
