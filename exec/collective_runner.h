// Runs a Program's collectives on real buffers over the data plane, by the one shared plan
// (work::plan_collective, with the op's algorithm, root and block size), and checks every result.
// Each rank's contribution is a pattern of small integers, so every sum is exact in the element
// type and the expected result is known without a second buffer: a wrong plan, a lost chunk or a
// corrupted byte fails loudly, naming where. Elements are fp32, or fp16/bf16 stored in 16 bits and
// reduced in fp32 (exec/half.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/program.h"
#include "exec/data_plane.h"
#include "workloads/collectives.h"

namespace clustertwin::exec {

// Rank r's contribution at element i: ((7i + 13r) mod 17) mod M, M = pattern_modulus: the largest
// M <= 17 for which a sum over the group stays an integer the element type holds exactly (fp32 to
// 2^24, fp16 to 2048, bf16 to 256), so partial sums in any order are exact too.
float pattern_value(int32_t rank, int64_t i, core::DType dtype = core::DType::F32, size_t group_size = 1);
int pattern_modulus(core::DType dtype, size_t group_size);

// Elements of a collective's buffer (bytes / element size, rounded).
int64_t element_count(const core::Op& op);
// The op's plan for `rank` (throws RunError for a collective the executor cannot run: int8/int4
// elements, an algorithm that does not implement the kind, a bad root or block size).
std::vector<work::P2PStep> plan_for(const core::Op& op, const std::vector<int32_t>& group, int32_t rank);

class CollectiveRunner {
 public:
  // Sizes the buffers for the largest collective among `ops` (this rank's ops), once.
  CollectiveRunner(DataPlane& plane, int32_t rank, const std::vector<std::vector<int32_t>>& groups,
                   const std::vector<core::Op>& ops, bool corrupt);

  // Writes this rank's pattern for `op` into its input buffer (outside any timed interval). The
  // corrupting rank (a testing aid) adds 1 to element 0, unknown to the others.
  void fill(const core::Op& op);
  // The timed part: every step of the plan, sending and receiving at once, reducing as bytes land.
  void run(const core::Op& op, uint32_t index);
  // Throws WrongResult naming the rank, collective, step, first bad element, expected and actual.
  // What is checked: all-reduce the whole buffer; reduce-scatter the chunk this rank owns under the
  // op's algorithm (work::owned_chunk); all-gather every member's owned chunk; broadcast the root's
  // pattern everywhere; reduce the sum at the root; all-to-all every received block.
  void verify(const core::Op& op, uint32_t index) const;

  // The op's result on this rank as floats (the output buffer for all-to-all): for tests.
  std::vector<float> result(const core::Op& op) const;
  uint64_t buffer_bytes() const { return buffer_.size() + output_.size() + staging_.size(); }

 private:
  std::string describe(const core::Op& op, uint32_t index) const;

  DataPlane& plane_;
  int32_t rank_;
  std::vector<std::vector<int32_t>> groups_;
  bool corrupt_;
  // Byte buffers (operator new aligns them for any element type): the collective's input, reused
  // by every collective; the output of all-to-all (out of place); one received chunk of a reduce
  // step, added into the buffer as it lands.
  std::vector<uint8_t> buffer_, output_, staging_;
};

}  // namespace clustertwin::exec
