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

core::Program compile(const Workload& w, const Cluster& c) {
  if (c.world() < 1) fail_at(w.parallel.where, fmt::format("topology '{}' has no node that runs a rank", c.name));
  core::Program p;
  if (w.task == Task::Infer) {
    p = compile_inference(w, c, layout_for(w, c));
  } else {
    switch (w.parallel.strategy) {
      case Strategy::Ddp:
      case Strategy::Zero: p = compile_data_parallel(w, c); break;
      case Strategy::ParameterServer: p = compile_parameter_server(w, c); break;
      default: p = compile_hybrid(w, c, layout_for(w, c));
    }
  }
  check_memory(w, p, c);
  return p;
}

core::Program compile(const Workload& w, const topo::Topology& t) { return compile(w, cluster_of(t, w)); }

}  // namespace clustertwin::work
