#include "workloads/compile.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "workloads/builder.h"
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

core::Program build(const Workload& w, const Cluster& c) {
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
  return p;
}

// Steps as the Program counts them: an inference's prefill and one step per generated token.
int64_t steps_of(const Workload& w) { return w.task == Task::Infer ? 1 + w.generate : w.steps; }

Workload with_steps(Workload w, int64_t steps) {
  if (w.task == Task::Infer) w.generate = steps - 1;
  else w.steps = static_cast<int32_t>(steps);
  return w;
}

size_t op_count(const core::Program& p) {
  size_t n = 0;
  for (const auto& r : p.ranks) n += r.ops.size();
  return n;
}

// Built within the op budget; past it, an input error naming the shape that makes one step so large.
core::Program bounded_build(const Workload& w, const Cluster& c, size_t max_ops) {
  try {
    OpBudget budget(max_ops);
    return build(w, c);
  } catch (const ProgramTooLarge&) {
    fail_at(w.model_where,
            fmt::format("one step of '{}' on {} ranks is more than {} ops, the most clustertwin builds into a Program",
                        w.model.name, c.world(), max_ops),
            fmt::format("the model has {} layers; check 'layers' and the micro-batch count, or use fewer ranks",
                        w.model.layers));
  }
}

// Before the whole Program: a probe of the fewest steps (training: one; inference: the prefill and one
// token) and of one more (steps after the first repeat), on which the memory check runs (weights,
// optimizer and activations do not depend on the step count; the KV cache for all tokens is checked
// again on the whole) and which tells how many ops the whole would hold, so neither a plan that cannot
// fit nor a step count written by mistake costs the time and memory of building it. Returns the probe
// when it is the whole workload.
std::optional<core::Program> check_feasible(const Workload& w, const Cluster& c, size_t max_ops) {
  const int64_t steps = steps_of(w), fewest = w.task == Task::Infer ? 2 : 1;
  core::Program probe = bounded_build(with_steps(w, std::min(steps, fewest)), c, max_ops);
  check_memory(w, probe, c);
  if (steps <= fewest) return probe;
  if (steps == fewest + 1) return std::nullopt;
  const double first = static_cast<double>(op_count(probe));
  const double per_step = static_cast<double>(op_count(bounded_build(with_steps(w, fewest + 1), c, max_ops))) - first;
  const double total = first + per_step * static_cast<double>(steps - fewest);
  if (total <= static_cast<double>(max_ops)) return std::nullopt;
  const auto most =
      static_cast<long long>(fewest + (static_cast<double>(max_ops) - first) / std::max(per_step, 1.0));
  const bool infer = w.task == Task::Infer;
  fail_at(w.steps_where,
          fmt::format("{} {} make a Program of about {:.3g} ops ({:.0f} a step over {} ranks), more than the {} "
                      "clustertwin builds",
                      infer ? steps - 1 : steps, infer ? "generated tokens" : "steps", total, per_step, c.world(),
                      max_ops),
          infer ? fmt::format("use generate: {} or fewer: decode steps repeat, so their mean needs few", std::max(1LL, most - 1))
                : fmt::format("use steps: {} or fewer: steps repeat, so the step time needs few", most));
}
}  // namespace

core::Program compile(const Workload& w, const Cluster& c, size_t max_ops) {
  if (c.world() < 1) fail_at(w.parallel.where, fmt::format("topology '{}' has no node that runs a rank", c.name));
  if (auto whole = check_feasible(w, c, max_ops)) return std::move(*whole);
  core::Program p = bounded_build(w, c, max_ops);
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
