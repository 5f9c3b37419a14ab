#include "workloads/compile.h"

#include <fmt/format.h>

#include "workloads/ddp.h"
#include "workloads/hybrid.h"
#include "workloads/inference.h"
#include "workloads/layout.h"
#include "workloads/memory.h"
#include "workloads/parameter_server.h"
#include "workloads/placement.h"
#include "topologies/placement.h"
#include "workloads/workload.h"

namespace clustertwin::work {

namespace {
// A hierarchical collective's blocks must tile its group.
void check_blocks(const Workload& w, const CollectiveChoice& with, int group, const char* what) {
  const int local = with.local;
  if (with.algorithm != core::Algorithm::Hierarchical || group < 2 || group % local == 0) return;
  fail_at(w.parallel.where,
          fmt::format("hierarchical {} over {} ranks cannot be cut into blocks of local: {}", what, group, local),
          fmt::format("use a local that divides {}", group));
}
}  // namespace

core::Program compile(const Workload& w, const Cluster& c) {
  if (c.world() < 1) fail_at(w.parallel.where, fmt::format("topology '{}' has no node that runs a rank", c.name));
  core::Program p;
  const Strategy s = w.parallel.strategy();
  if (w.task == Task::Train && (s == Strategy::Ddp || s == Strategy::Zero)) {
    check_blocks(w, data_parallel_plan(w.parallel).gradients, c.world(), "gradient collectives");
    p = compile_data_parallel(w, c);
  } else if (w.task == Task::Train && s == Strategy::ParameterServer) {
    p = compile_parameter_server(w, c);
  } else {
    Layout l = layout_for(w, c);
    const Hybrid plan = model_parallel_plan(w.parallel);
    check_blocks(w, plan.tensor.allreduce, l.tp, "tensor-parallel all-reduces");
    if (w.task == Task::Train) check_blocks(w, plan.gradients, l.dp, "gradient collectives");
    p = w.task == Task::Infer ? compile_inference(w, c, l) : compile_hybrid(w, c, l);
  }
  lower_calls(w.runtime, p);
  check_memory(w, p, c);
  return p;
}

core::Program compile(const Workload& w, const topo::Topology& t) {
  const topo::Topology on = placed(w, t);
  core::Program p = compile(w, cluster_of(on, w));
  if (!on.placement.empty()) p.placement = topo::rank_node_names(on);
  return p;
}

}  // namespace clustertwin::work
