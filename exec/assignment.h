// What the coordinator tells one worker before a run: who it is, where its peers listen, how to
// compute, and its own ops. Sent as the JSON payload of the Assign frame (see PROTOCOL.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/program.h"
#include "exec/settings.h"
#include "exec/socket.h"

namespace clustertwin::exec {

struct Assignment {
  int32_t rank = 0;
  int32_t world = 0;
  std::vector<Endpoint> addresses;  // every rank's worker (index = rank), for the data plane
  RunSettings settings;             // the run's, unchanged
  std::string program_name;
  std::string program_hash;  // of the whole Program, so logs can tell runs apart
  int32_t steps = 1;
  std::vector<std::vector<int32_t>> groups;  // every group: collectives index them
  std::vector<core::Op> ops;                 // this rank's ops only: a worker needs no one else's
  std::vector<double> modelled_seconds;      // per op; compute ops' roofline time (Modelled mode)
  bool corrupt() const { return settings.corrupt_rank == rank; }
};

std::string to_json_text(const Assignment& a);
// core::program_hash of the one-rank Program the assignment carries. The worker reports its own in
// `ready`; the coordinator compares it with its own, so a worker that parsed the program
// differently (another build) is refused before the start.
std::string rank_program_hash(const Assignment& a);
// Throws RunError when the text is not a well-formed assignment.
Assignment assignment_from_json(const std::string& text);

// The coordinator's Start frame: the run's time zero on the coordinator's clock and this worker's
// offset to it. A worker's time zero is origin_ns + clock_offset_ns on its own steady_clock.
struct StartInfo {
  int64_t origin_ns = 0;
  // Worker clock minus coordinator clock. 0 for local runs (one steady_clock per machine). A
  // ping-pong estimate for multi-machine runs is a later issue.
  int64_t clock_offset_ns = 0;
};
std::string to_json_text(const StartInfo& s);
StartInfo start_from_json(const std::string& text);

}  // namespace clustertwin::exec
