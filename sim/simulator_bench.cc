// Simulator speed: wall time and simulated-seconds per wall-second for the cases issue 6 names.
// Run: build/sim/sim_bench (Google Benchmark; each iteration is one whole simulation in its
// forked child, so wall time includes platform building).
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "core/program.h"
#include "sim/simulator.h"
#include "topologies/topology.h"
#include "workloads/ddp.h"

namespace ct = clustertwin;

namespace {

// n hosts in a ring of full-duplex links: neighbours only, as a ring all-reduce needs.
ct::topo::Topology ring(int n) {
  std::string y = "name: ring\nnodes:\n";
  for (int i = 0; i < n; ++i) y += fmt::format("  - {{name: h{}, device: mac-mini-m4}}\n", i);
  y += "links:\n";
  for (int i = 0; i < (n == 2 ? 1 : n); ++i) y += fmt::format("  - {{between: [h{}, h{}], type: tb4}}\n", i, (i + 1) % n);
  return ct::topo::parse_topology(y, "ring.yaml");
}

// n hosts on one switch.
ct::topo::Topology star(int n) {
  std::string y = "name: star\nnodes:\n  - {name: sw, kind: switch}\n";
  for (int i = 0; i < n; ++i) y += fmt::format("  - {{name: h{}, device: mac-mini-m4}}\n", i);
  y += "links:\n";
  for (int i = 0; i < n; ++i) y += fmt::format("  - {{between: [h{}, sw], type: eth-1g, bandwidth: 10Gbps}}\n", i);
  return ct::topo::parse_topology(y, "star.yaml");
}

ct::core::Program allreduce(int n, double bytes) {
  ct::core::Program p;
  p.name = "allreduce";
  p.groups.push_back({});
  for (int r = 0; r < n; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < n; ++r) {
    ct::core::Op op;
    op.kind = ct::core::OpKind::Collective;
    op.label = "allreduce";
    op.bytes = bytes;
    op.group = 0;
    p.ranks.push_back({r, {op}});
  }
  return p;
}

void report(benchmark::State& state, const std::vector<ct::core::OpRecord>& recs, const ct::sim::SimStats& st) {
  double end = 0;
  for (const auto& r : recs) end = std::max(end, r.end);
  state.counters["simulated_s"] = end;
  state.counters["sim_s_per_wall_s"] = end / st.wall_seconds;
  state.counters["peak_rss_MB"] = st.max_rss_kb / 1024.0;
}

void run_allreduce(benchmark::State& state, ct::topo::Topology (*topology)(int)) {
  const int n = static_cast<int>(state.range(0));
  auto t = topology(n);
  auto p = allreduce(n, 1073741824.0);
  ct::sim::SimStats st;
  std::vector<ct::core::OpRecord> recs;
  for (auto _ : state) {
    recs = ct::sim::simulate(p, t, &st);
    state.SetIterationTime(st.wall_seconds);
  }
  report(state, recs, st);
}

void BM_RingAllReduce1GiB_Ring(benchmark::State& s) { run_allreduce(s, ring); }
void BM_RingAllReduce1GiB_Switch(benchmark::State& s) { run_allreduce(s, star); }
BENCHMARK(BM_RingAllReduce1GiB_Ring)->Arg(8)->Arg(64)->Arg(512)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_RingAllReduce1GiB_Switch)->Arg(8)->Arg(64)->Arg(512)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_DdpGpt2Step(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  ct::work::Workload w;
  w.name = "ddp-gpt2";
  w.model = *ct::work::find_model("gpt2-124m");
  w.micro_batch = 8;
  w.seq_len = 1024;
  auto p = ct::work::compile_ddp(w, n);
  auto t = star(n);
  ct::sim::SimStats st;
  std::vector<ct::core::OpRecord> recs;
  for (auto _ : state) {
    recs = ct::sim::simulate(p, t, &st);
    state.SetIterationTime(st.wall_seconds);
  }
  report(state, recs, st);
}
BENCHMARK(BM_DdpGpt2Step)->Arg(8)->Arg(512)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
