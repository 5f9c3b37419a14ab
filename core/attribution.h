// Why a step took what it took, from a run's records and its Program: the same for predicted and
// measured runs. A communication op's time splits into waiting (for the last peer it needs to
// arrive: a collective's last member to start it, a receive's sender to send) and transfer (the
// rest: bytes on the wire, and the latencies and reductions of the algorithm). The step's critical
// path walks back from its last op, through the peer a waiting op waited for, so a straggler's
// compute shows as the cause and not as the others' communication.
#pragma once

#include <cstdint>
#include <vector>

#include "core/program.h"
#include "core/run.h"

namespace clustertwin::core {

// For one record: the op waited from its start until `until` for rank `peer` (-1: it waited for
// nobody, until == start).
struct Wait {
  double until = 0;
  int32_t peer = -1;
  uint32_t peer_op = 0;  // the peer's matching op (the send, or its copy of the collective)
  double delivered = -1;  // a send: when its matching receive ended (its message was in); else -1
};

// One Wait per record, in the records' order. Sends never wait (messages are eager). Matching
// follows the IR: the k-th send (src, dst, tag) pairs with the k-th recv; the k-th occurrence of
// a collective (group, tag) on each member is one instance. Requires one record per op.
std::vector<Wait> waits(const Program& p, const std::vector<OpRecord>& records);

// The critical path of the steps, per rank (PathPart, core/run.h). `first[s]` and `last[s]` bound
// step s (as Summary::step_seconds does); ranks with nothing on it are left out; largest first.
std::vector<PathPart> critical_path(const Program& p, const std::vector<OpRecord>& records, const std::vector<Wait>& w,
                                    const std::vector<double>& first, const std::vector<double>& last);

}  // namespace clustertwin::core
