// Planner speed: the sweep of plans/bench-4minis.yaml (1,000 candidates on 4 Mac minis: GPT-2 124M
// DDP, link type x shape x all-reduce algorithm x micro-batch), every core busy, and the fixed cost
// of one simulation (fork, SimGrid engine and platform, a one-op Program). CPU seconds are printed
// beside wall seconds: on a shared machine the wall time also measures the neighbours.
// Run: build/plan/plan_bench [--jobs N] [--plan FILE]
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/program.h"
#include "plan/candidates.h"
#include "plan/evaluate.h"
#include "plan/spec.h"
#include "sim/simulator.h"
#include "topologies/topology.h"

#ifndef CLUSTERTWIN_SOURCE_DIR
#define CLUSTERTWIN_SOURCE_DIR "."
#endif

namespace ct = clustertwin;

namespace {

// The fixed cost: one 8-byte all-reduce of 4 ranks, simulated `n` times one after another.
double fixed_cost(int n) {
  auto t = ct::topo::load_topology(std::string(CLUSTERTWIN_SOURCE_DIR) + "/topologies/examples/tb4-star-4minis.yaml");
  ct::core::Program p;
  p.name = "fixed-cost";
  p.groups.push_back({0, 1, 2, 3});
  for (int r = 0; r < 4; ++r) {
    ct::core::Op op;
    op.kind = ct::core::OpKind::Collective;
    op.label = "allreduce";
    op.bytes = 8;
    op.group = 0;
    p.ranks.push_back({r, {op}});
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) ct::sim::simulate(p, t);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / n;
}

double cpu_seconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    getrusage(who, &u);
    total += u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = 0;
  std::string plan_file = std::string(CLUSTERTWIN_SOURCE_DIR) + "/plans/bench-4minis.yaml";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--jobs")) jobs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--plan")) plan_file = argv[i + 1];
  }
  const double fixed = fixed_cost(20);
  const auto spec = ct::plan::load_spec(plan_file);
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  const auto base = ct::plan::load_base(spec);
  const auto candidates = ct::plan::expand(spec, base);
  const double expand_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ct::plan::EvalStats st;
  ct::plan::evaluate(spec, candidates, {.jobs = jobs, .progress = false}, &st);
  const double total = expand_s + st.wall_seconds;
  const double cpu = cpu_seconds() - cpu0;

  fmt::print("# plan sweep: {} ({})\n", plan_file, jobs > 0 ? fmt::format("{} jobs", jobs) : "a job per core");
  fmt::print("# {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}\n", "candidates", "simulated", "cached",
             "rejected", "expand", "evaluate", "cpu", "cand/s", "sim_mean", "fixed_cost");
  fmt::print("# {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}\n", "", "", "", "", "s", "s", "s", "1/s",
             "ms", "ms");
  fmt::print("  {:>10} {:>9} {:>9} {:>9} {:>9.2f} {:>9.2f} {:>9.2f} {:>10.1f} {:>10.1f} {:>10.1f}\n", candidates.size(),
             st.simulations, st.cache_hits + st.duplicates, st.rejected, expand_s, st.wall_seconds, cpu,
             candidates.size() / total, st.simulations ? 1e3 * st.simulate_seconds / st.simulations : 0.0, 1e3 * fixed);
  nlohmann::json j{{"candidates", candidates.size()}, {"simulated", st.simulations},
                   {"cache_hits", st.cache_hits},     {"duplicates", st.duplicates},
                   {"rejected", st.rejected},         {"expand_seconds", expand_s},
                   {"evaluate_seconds", st.wall_seconds}, {"candidates_per_second", candidates.size() / total},
                   {"simulation_mean_seconds", st.simulations ? st.simulate_seconds / st.simulations : 0.0},
                   {"fixed_cost_seconds", fixed},     {"cpu_seconds", cpu}};
  fmt::print("# json: {}\n", j.dump());
  fmt::print("# {} (target: 1,000 candidates in under 60 s)\n", total < 60 ? "OK" : "SLOW");
  return 0;
}
