// Hand-made runs for the report tests: a Program and its op records written as a run directory
// (summary.json, trace.json, program.json, optionally topology.yaml), as `predict` and `run` do.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/run.h"

namespace clustertwin::reports::testing {

// One op of a rank with its time, in the order given: a step of a hand-made run.
struct TimedOp {
  core::Op op;
  double start = 0, end = 0;
};

// Builds a Program op by op with the records that time it.
class RunBuilder {
 public:
  RunBuilder(int world, int steps);
  // Appends an op to `rank` (deps: the rank's previous op), timed [start, end].
  RunBuilder& compute(int rank, int step, core::Phase phase, const std::string& label, double start, double end);
  RunBuilder& collective(int rank, int step, const std::string& label, double bytes, double start, double end,
                         int group = 0);
  RunBuilder& send(int rank, int step, int peer, int tag, double bytes, double start, double end);
  RunBuilder& recv(int rank, int step, int peer, int tag, double bytes, double start, double end);
  // Writes DIR with the given backend ("predicted" / "measured"); topology_yaml, when not empty,
  // becomes DIR/topology.yaml. Returns DIR.
  std::string write(const std::filesystem::path& dir, const std::string& backend, const std::string& topology_yaml = {}) const;

  core::Program program;
  std::vector<core::OpRecord> records;

 private:
  RunBuilder& message(core::OpKind kind, int rank, int step, int peer, int tag, double bytes, double start, double end);
  core::Op& add(int rank, core::Op op, double start, double end);
};

std::string read_file(const std::filesystem::path& p);

// A DDP-like pair on `world` ranks behind one switch: per step 12 forward and 12 backward layers, 4
// gradient all-reduce buckets overlapping the backward pass, an optimizer step. The measured run
// is 10 % slower in compute, its all-reduces 30 % slower, and rank world/3 computes 40 % slower.
// Writes DIR/pred and DIR/meas (with topology.yaml) and returns their paths.
std::pair<std::string, std::string> write_synthetic_pair(const std::filesystem::path& dir, int world, int steps);

// A pair small enough to check by hand: 2 ranks, 1 step, no topology; each rank computes (phase
// forward, label "fwd") then all-reduces 100 MB (label "grad"). Predicted: compute [0, 1], all-reduce
// [1, 1.6]; measured: compute [0, 1.2], all-reduce [1.2, 2.2]. Writes DIR/pred and DIR/meas.
std::pair<std::string, std::string> write_hand_pair(const std::filesystem::path& dir);

// Issue 13 item 7's pair: a reference figure near zero and an op one run lacks. Predicted: both
// ranks compute [0, 1] ("fwd") and all-reduce 100 MB ("grad") until 1.6 (rank 1: 1.55), so idle is
// 0.05 / 2 = 25 ms per step and rank. Measured: compute [0, 1.2], "grad" [1.2, 2.2], then a 1 MB
// all-reduce "extra" the prediction does not have, [2.2, 2.3] (rank 1: 2 ns shorter), so idle is
// 2 ns / 2 = 1 ns. Writes DIR/pred and DIR/meas.
std::pair<std::string, std::string> write_near_zero_pair(const std::filesystem::path& dir);

// Issue 13 item 6's run: the 4-mini Thunderbolt 4 star (topologies/examples/tb4-star-4minis.yaml,
// hub mini1), rank i on mini(i+1), one step of 1 s in which every rank runs a ring all-reduce of
// 100 MB ("grad"). Writes DIR/star with its topology.yaml and returns the path.
std::string write_star_ring(const std::filesystem::path& dir);

// Occurrences of `needle` in `hay`.
size_t count(const std::string& hay, const std::string& needle);

}  // namespace clustertwin::reports::testing
