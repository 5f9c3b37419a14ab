// Hand-built Programs the simulator tests share.
#pragma once

#include "core/program.h"

namespace clustertwin::sim::test_programs {

// One all-reduce (ring, fp32) of `bytes` per rank over ranks 0..n-1.
inline core::Program one_allreduce(int n, double bytes) {
  core::Program p;
  p.name = "allreduce";
  p.groups.push_back({});
  for (int r = 0; r < n; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < n; ++r) {
    core::Op op;
    op.kind = core::OpKind::Collective;
    op.label = "allreduce";
    op.bytes = bytes;
    op.group = 0;
    p.ranks.push_back({r, {op}});
  }
  return p;
}

}  // namespace clustertwin::sim::test_programs
