#include "workloads/compile.h"

#include <fmt/format.h>

#include "workloads/ddp.h"
#include "workloads/hybrid.h"
#include "workloads/inference.h"
#include "workloads/layout.h"
#include "workloads/memory.h"
#include "workloads/parameter_server.h"
#include "workloads/workload.h"

namespace clustertwin::work {

namespace {
// A hierarchical collective's blocks must tile its group.
void check_blocks(const Workload& w, core::Algorithm a, int group, const char* what) {
  const int local = w.parallel.hierarchical_local;
  if (a != core::Algorithm::Hierarchical || group < 2 || group % local == 0) return;
  fail_at(w.parallel.where,
          fmt::format("hierarchical {} over {} ranks cannot be cut into blocks of local: {}", what, group, local),
          fmt::format("use a local that divides {}", group));
}
}  // namespace

core::Program compile(const Workload& w, const Cluster& c) {
  if (c.world() < 1) fail_at(w.parallel.where, fmt::format("topology '{}' has no node that runs a rank", c.name));
  core::Program p;
  const bool data_parallel = w.parallel.strategy == Strategy::Ddp || w.parallel.strategy == Strategy::Zero;
  if (w.task == Task::Train && data_parallel) {
    check_blocks(w, w.parallel.allreduce, c.world(), "gradient collectives");
    p = compile_data_parallel(w, c);
  } else if (w.task == Task::Train && w.parallel.strategy == Strategy::ParameterServer) {
    p = compile_parameter_server(w, c);
  } else {
    Layout l = layout_for(w, c);
    check_blocks(w, w.parallel.tp_algorithm, l.tp, "tensor-parallel all-reduces");
    if (w.task == Task::Train) check_blocks(w, w.parallel.allreduce, l.dp, "gradient collectives");
    p = w.task == Task::Infer ? compile_inference(w, c, l) : compile_hybrid(w, c, l);
  }
  check_memory(w, p, c);
  return p;
}

core::Program compile(const Workload& w, const topo::Topology& t) { return compile(w, cluster_of(t, w)); }

}  // namespace clustertwin::work
