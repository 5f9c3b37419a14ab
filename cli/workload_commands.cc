// `clustertwin explain`: how a workload's step decomposes on the user's cluster, for teaching.
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/lint.h"
#include "topologies/calibration.h"
#include "topologies/placement.h"
#include "topologies/topology.h"
#include "workloads/cluster.h"
#include "workloads/explain.h"
#include "workloads/placement.h"
#include "workloads/workload.h"

namespace clustertwin::cli {

namespace {
struct ExplainArgs {
  std::string topology, workload;
  std::optional<int> rank;
  std::string calibration;
};

void run_explain(const ExplainArgs& a) {
  topo::Topology t = topo::load_topology(a.topology, "-t/--topology", a.calibration);
  work::Workload w = work::load_workload(a.workload);
  const core::Program p = work::compile(w, t);
  topo::place(t, p.placement);
  warn_findings(t, p);
  if (t.calibrated) fmt::print("figures: {}\n", topo::calibration_text(t));
  fmt::print("{}", work::explain_placement(w, t));
  fmt::print("{}", work::explain(w, work::cluster_of(t, w), {a.rank}));
}
}  // namespace

void add_workload_commands(CLI::App& app) {
  auto args = std::make_shared<ExplainArgs>();
  auto* cmd = app.add_subcommand("explain", "Explain how a workload's step decomposes on a cluster: collectives, bytes, "
                                            "bubble, memory, with the formulas");
  cmd->add_option("-t,--topology", args->topology, "Topology YAML")->required();
  cmd->add_option("-w,--workload", args->workload, "Workload YAML")->required();
  cmd->add_option("--calibration", args->calibration, "Apply this calibration overlay (clustertwin probe -o)");
  cmd->add_option("--rank", args->rank, "Also list this rank's ops (first step)")->check(CLI::NonNegativeNumber);
  cmd->callback([args] { run_explain(*args); });
}

}  // namespace clustertwin::cli
