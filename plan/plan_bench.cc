// Planner speed: a sweep of 1,000 candidates on a 4-node cluster (GPT-2 124M DDP; link type x shape
// x all-reduce algorithm x micro-batch), every core busy, and the fixed cost of one simulation (fork,
// SimGrid engine and platform, a one-op Program). Prints nccl-tests-style lines and a JSON copy.
// Run: build/plan/plan_bench [--jobs N] [--micro-batches K]   (K micro-batch values: 10 -> 1,000)
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

ct::plan::Spec sweep(int micro_batches) {
  std::string mbs;
  for (int i = 1; i <= micro_batches; ++i) mbs += fmt::format("{}{}", i > 1 ? ", " : "", i);
  const std::string src = CLUSTERTWIN_SOURCE_DIR;
  const std::string text = fmt::format(
      "topology: {0}/topologies/examples/tb4-star-4minis.yaml\n"
      "workload: {0}/workloads/examples/ddp-buckets-gpt2.yaml\n"
      "axes:\n"
      "  link: [eth-1g, eth-2.5g, eth-10g, tb4, tb5]\n"
      "  shape: [switch, star, chain, ring, mesh]\n"
      "  allreduce: [ring, tree, halving-doubling, direct]\n"
      "  micro_batch: [{1}]\n",
      src, mbs);
  return ct::plan::parse_spec(text, "plan_bench.yaml");
}

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

}  // namespace

int main(int argc, char** argv) {
  int jobs = 0, micro_batches = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--jobs")) jobs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--micro-batches")) micro_batches = std::atoi(argv[i + 1]);
  }
  const double fixed = fixed_cost(20);
  const auto spec = sweep(micro_batches);
  const auto t0 = std::chrono::steady_clock::now();
  const auto base = ct::plan::load_base(spec);
  const auto candidates = ct::plan::expand(spec, base);
  const double expand_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ct::plan::EvalStats st;
  ct::plan::evaluate(spec, candidates, {.jobs = jobs, .progress = false}, &st);
  const double total = expand_s + st.wall_seconds;

  fmt::print("# plan sweep: GPT-2 124M DDP on 4 Mac minis: link x shape x all-reduce x micro-batch\n");
  fmt::print("# {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12}\n", "candidates", "simulated", "cached",
             "rejected", "expand", "evaluate", "cand/s", "sim_mean", "fixed_cost");
  fmt::print("# {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12}\n", "", "", "", "", "s", "s", "1/s", "ms", "ms");
  fmt::print("  {:>10} {:>9} {:>9} {:>9} {:>9.2f} {:>9.2f} {:>12.1f} {:>12.1f} {:>12.1f}\n", candidates.size(),
             st.simulations, st.cache_hits + st.duplicates, st.rejected, expand_s, st.wall_seconds,
             candidates.size() / total, st.simulations ? 1e3 * st.simulate_seconds / st.simulations : 0.0, 1e3 * fixed);
  nlohmann::json j{{"candidates", candidates.size()}, {"simulated", st.simulations},
                   {"cache_hits", st.cache_hits},     {"duplicates", st.duplicates},
                   {"rejected", st.rejected},         {"expand_seconds", expand_s},
                   {"evaluate_seconds", st.wall_seconds}, {"candidates_per_second", candidates.size() / total},
                   {"simulation_mean_seconds", st.simulations ? st.simulate_seconds / st.simulations : 0.0},
                   {"fixed_cost_seconds", fixed}};
  fmt::print("# json: {}\n", j.dump());
  fmt::print("# {} (target: 1,000 candidates in under 60 s)\n", total < 60 ? "OK" : "SLOW");
  return 0;
}
