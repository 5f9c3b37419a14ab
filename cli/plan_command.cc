// plan: the what-if planner (plan/). A plan file, flags for the common axes, or both (a flag's axis
// replaces the file's axis of the same name).
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/app.h"
#include "core/diag.h"
#include "core/output_dir.h"
#include "core/yaml_doc.h"
#include "plan/candidates.h"
#include "plan/evaluate.h"
#include "plan/mpi.h"
#include "plan/rank.h"
#include "plan/spec.h"

namespace clustertwin::cli {

namespace {

struct PlanArgs {
  std::string file, topology, workload, out_dir, objective;
  // flag -> its values as written (comma-separated), in the order the axes are listed
  std::vector<std::pair<std::string, std::string>> axes{{"remove_nodes", ""}, {"add_nodes", ""}, {"device", ""}, {"link", ""},
                                                         {"shape", ""},     {"strategy", ""}, {"micro_batch", ""},
                                                         {"allreduce", ""}, {"recompute", ""}};
  std::optional<double> train_tokens, headroom;
  std::optional<long long> global_batch;
  int jobs = 0, top = 10;
  bool mpi = false;  // --mpi: this process is one rank of an MPI job (plan/mpi.h)
};

std::string flag_of(const std::string& axis) {
  std::string f = "--" + axis;
  for (auto& ch : f)
    if (ch == '_') ch = '-';
  return f;
}

plan::Spec spec_of(const PlanArgs& a) {
  plan::Spec s;
  if (!a.file.empty()) s = plan::load_spec(a.file);
  if (!a.topology.empty()) s.topology = a.topology;
  if (!a.workload.empty()) s.workload = a.workload;
  if (s.topology.empty() || s.workload.empty())
    throw core::InputError(core::format_diagnostic({a.file.empty() ? "plan" : a.file, 0, 0}, {},
                                                   "a plan needs a base topology and a base workload",
                                                   "give a PLAN file with 'topology:' and 'workload:', or -t and -w"));
  for (const auto& [axis, values] : a.axes) {
    if (values.empty()) continue;
    // The flag's values read as the YAML list they would be in a plan file, named after the flag.
    const auto doc = core::YamlDoc::parse(fmt::format("{}: [{}]\n", axis, values), flag_of(axis));
    plan::Axis parsed = plan::parse_axis(doc, axis, doc.root()[axis]);
    auto same = std::find_if(s.axes.begin(), s.axes.end(), [&](const plan::Axis& x) { return x.name == axis; });
    if (same != s.axes.end()) *same = std::move(parsed);
    else s.axes.push_back(std::move(parsed));
  }
  if (!a.objective.empty()) {
    s.objective = plan::objective_named(a.objective);
  }
  if (a.train_tokens) s.train_tokens = *a.train_tokens;
  if (a.headroom) s.headroom = *a.headroom / 100;
  if (a.global_batch) s.global_batch = *a.global_batch;
  if (s.objective == plan::Objective::TimeToTrain && !(s.train_tokens > 0))
    throw core::InputError(core::format_diagnostic({"--objective", 0, 0}, {}, "objective time-to-train needs a token count",
                                                   "add --train-tokens 1e9 (or train_tokens: in the plan)"));
  return s;
}

void run_plan(const PlanArgs& a) {
  const plan::Spec s = spec_of(a);
  const plan::Documents base = plan::load_base(s);
  if (!a.out_dir.empty())
    core::prepare_output_dir({a.out_dir, "-o/--out", core::OutputKind::Plan}, {a.file, s.topology, s.workload});
  const auto candidates = plan::expand(s, base);
  plan::EvalStats st;
  const plan::EvalOptions opt{.jobs = a.jobs, .progress = isatty(STDERR_FILENO) == 1};
  std::vector<plan::Outcome> outcomes;
  if (a.mpi) {
    auto merged = plan::evaluate_on_mpi(s, candidates, opt, &st);
    if (!merged) return;  // not rank 0: its share went to rank 0, which prints and writes
    outcomes = std::move(*merged);
  } else {
    outcomes = plan::evaluate(s, candidates, opt, &st);
  }
  fmt::print("{}", plan::table(s, candidates, outcomes, a.top));
  fmt::print("  {} simulations ({} cached), {:.1f} s\n", st.simulations, st.cache_hits, st.wall_seconds);
  if (a.out_dir.empty()) return;
  const int best = plan::write_outputs(a.out_dir, s, candidates, outcomes);
  fmt::print("  wrote       {0}/plan.csv, {0}/plan.json, {0}/plan.html{1}\n", a.out_dir,
             best >= 0 ? fmt::format(", {0}/best/topology.yaml, {0}/best/workload.yaml", a.out_dir) : "");
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  auto* cmd = app.add_subcommand(
      "plan", "What-if planner: evaluate every combination of cluster and strategy axes (simulated on every core), "
              "rank them, and write the winner's topology and workload");
  cmd->add_option("PLAN", a->file, "Plan YAML (base topology, workload and axes; see plans/README.md)");
  cmd->add_option("-t,--topology", a->topology, "Base topology YAML (instead of the plan's)");
  cmd->add_option("-w,--workload", a->workload, "Base workload YAML (instead of the plan's)");
  cmd->add_option("-o,--out", a->out_dir, "Output directory: plan.csv, plan.json, plan.html, best/topology.yaml, best/workload.yaml");
  const std::pair<const char*, const char*> help[] = {
      {"remove_nodes", "Nodes of the base to leave out, e.g. none,macbook (with their links)"},
      {"add_nodes", "Nodes to add, e.g. 0,1,2 (of the base's device; wired like the others)"},
      {"device", "Device presets every compute node takes, e.g. mac-mini-m4,mac-mini-m4-pro"},
      {"link", "Link presets every link takes, e.g. tb4,tb5,eth-10g"},
      {"shape", "Shapes: star, chain, ring, mesh, switch"},
      {"strategy", "Strategies, e.g. ddp,fsdp,pipeline or '{strategy: hybrid, tp: 2}'"},
      {"micro_batch", "Micro-batch sizes (training)"},
      {"allreduce", "Gradient all-reduce algorithms, e.g. ring,tree"},
      {"recompute", "Activation recompute: false,true"}};
  for (auto& [axis, values] : a->axes)
    for (const auto& [name, text] : help)
      if (axis == name) cmd->add_option(flag_of(axis), values, text);
  cmd->add_option("--objective", a->objective, "tokens/s (default), step-time, time-to-train, J/token or tokens/s/$")
      ->check(CLI::IsMember(plan::objective_names()));
  cmd->add_option("--train-tokens", a->train_tokens, "Tokens to train, for --objective time-to-train")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--headroom", a->headroom, "Percent of each rank's usable memory kept free (default 0)")
      ->check(CLI::Range(0.0, 99.0));
  cmd->add_option("--global-batch", a->global_batch,
                  "Sequences per step held fixed: gradient accumulation makes up micro-batch x replicas")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("-j,--jobs", a->jobs, "Candidates evaluated at once (default: every core)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--mpi", a->mpi,
                "Run as one rank of an MPI job (mpirun -H host1,host2 clustertwin plan ... --mpi): ranks take shares "
                "of the candidates, rank 0 prints and writes");
  cmd->add_option("--top", a->top, "Rows of the ranked table (default 10)")->check(CLI::Range(1, 100000));
  cmd->callback([a] { run_plan(*a); });
}

}  // namespace clustertwin::cli
