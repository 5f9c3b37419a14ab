// What bounds a run's step, in one sentence a user can act on: the critical path's leading rank
// (its node and device) and what it spends there, and who waits for it. A straggler is named as
// the cause, not the links the others wait in.
#pragma once

#include <string>
#include <vector>

#include "core/run.h"

namespace clustertwin::topo {
struct Topology;
}

namespace clustertwin::reports {

// One rank's figures per step, as core::RankTime and reports::RankStats both have them.
struct RankLoad {
  double compute = 0;
  int waited_for = -1;  // the rank it waited for longest, -1: none
  double waited = 0;
};

// "rank 2 (node pi1, raspberry-pi-5)" when the topology says which node runs it, else "rank 2".
std::string rank_name(const topo::Topology* t, int rank);

// The sentence, or "" without a critical path. A rank is the straggler when it leads the path
// with compute, computes more than 1.1x the median rank, and others wait for it.
std::string what_bounds(const std::vector<core::PathPart>& path, const std::vector<RankLoad>& ranks, double step,
                        const topo::Topology* t);

// The same from a run's summary.
std::string what_bounds(const core::Summary& s, const topo::Topology* t);

}  // namespace clustertwin::reports
