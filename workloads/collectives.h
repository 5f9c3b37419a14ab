// The one decomposition of collectives into point-to-point steps, shared by both backends: the
// simulator prices each step, the executor moves and reduces real bytes by the same plan.
#pragma once

#include <cstdint>
#include <vector>

#include "core/program.h"

namespace clustertwin::work {

// A contiguous range of elements of the collective's buffer.
struct Chunk {
  int64_t offset = 0;
  int64_t count = 0;
};

// One step of one rank: send `send` to `send_to` while receiving `recv` from `recv_from`; the
// received elements are then added into the buffer (`reduce`) or copied over it. A one-sided step
// (a tree leaf sends only, a root receives only) has -1 for the missing peer.
struct P2PStep {
  int32_t send_to = -1;
  Chunk send;
  int32_t recv_from = -1;
  Chunk recv;
  bool reduce = false;
};

// The steps `rank` runs, in order, for a collective over `group` of a buffer of `count` elements
// on every rank. Ring all-reduce = ring reduce-scatter then ring all-gather: 2(n-1) steps, each
// moving one of n near-equal chunks. Throws std::invalid_argument for an unsupported algorithm or
// a rank outside the group.
std::vector<P2PStep> plan_collective(core::CollectiveKind kind, core::Algorithm algorithm,
                                     const std::vector<int32_t>& group, int32_t rank, int64_t count);

// The distinct peers `rank` exchanges with in `plan`.
std::vector<int32_t> peers_of(const std::vector<P2PStep>& plan);

}  // namespace clustertwin::work
