// Simulator speed: wall time and simulated-seconds per wall-second for the cases issue 6 names.
// Run: build/sim/sim_bench (Google Benchmark; each iteration is one whole simulation in its
// forked child, so wall time includes platform building).
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "core/program.h"
#include "sim/simulator.h"
#include "topologies/topology.h"
#include "workloads/ddp.h"
#include "workloads/workload.h"

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

void run_program(benchmark::State& state, const ct::core::Program& p, const ct::topo::Topology& t) {
  ct::sim::SimStats st;
  std::vector<ct::core::OpRecord> recs;
  for (auto _ : state) {
    recs = ct::sim::simulate(p, t, &st);
    state.SetIterationTime(st.wall_seconds);
  }
  report(state, recs, st);
  state.counters["ops"] = static_cast<double>(recs.size());
}

void run_allreduce(benchmark::State& state, ct::topo::Topology (*topology)(int)) {
  const int n = static_cast<int>(state.range(0));
  run_program(state, allreduce(n, 1073741824.0), topology(n));
}

void BM_RingAllReduce1GiB_Ring(benchmark::State& s) { run_allreduce(s, ring); }
void BM_RingAllReduce1GiB_Switch(benchmark::State& s) { run_allreduce(s, star); }
BENCHMARK(BM_RingAllReduce1GiB_Ring)->Arg(8)->Arg(64)->Arg(512)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_RingAllReduce1GiB_Switch)->Arg(8)->Arg(64)->Arg(512)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);


// One training step of `yaml` (its steps: 1) on n ranks of a 10 Gb/s switch.
void run_workload(benchmark::State& state, const std::string& yaml, int n) {
  auto w = ct::work::parse_workload(yaml, "bench.yaml");
  auto t = star(n);
  run_program(state, ct::work::compile(w, t), t);
}

// The fixed cost of one simulation: fork, engine start, platform, one rank's one op.
void BM_OneOpOneRank(benchmark::State& state) {
  ct::core::Program p;
  p.name = "one-op";
  p.ranks = {{0, {ct::core::Op{}}}};
  run_program(state, p, star(1));
}
BENCHMARK(BM_OneOpOneRank)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_DdpGpt2Step(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  ct::work::Workload w;
  w.name = "ddp-gpt2";
  w.model = *ct::work::find_model("gpt2-124m");
  w.micro_batch = 8;
  w.seq_len = 1024;
  run_program(state, ct::work::compile_ddp(w, n), star(n));
}
BENCHMARK(BM_DdpGpt2Step)->Arg(8)->Arg(512)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// Llama 3.2 1B, PyTorch DDP defaults (25 MB buckets overlapping backward), bf16.
void BM_DdpLlama1BStep(benchmark::State& state) {
  run_workload(state, R"(name: ddp-llama-1b
model: llama-3.2-1b
task: train
batch: {micro_batch: 4, seq_len: 2048}
precision: {compute: bf16}
parallel: {strategy: ddp, bucket: 25MB}
memory: {check: false}
steps: 1
)", static_cast<int>(state.range(0)));
}
BENCHMARK(BM_DdpLlama1BStep)->Arg(8)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// Llama 3.1 8B, 1F1B over 4 stages with 8 micro-batches.
void BM_OneFOneBLlama8BStep(benchmark::State& state) {
  run_workload(state, R"(name: 1f1b-llama-8b
model: llama-3.1-8b
task: train
batch: {micro_batch: 1, seq_len: 2048}
precision: {compute: bf16}
parallel: {strategy: pipeline, pp: 4, schedule: 1f1b, micro_batches: 8}
memory: {check: false}
steps: 1
)", 4);
}
BENCHMARK(BM_OneFOneBLlama8BStep)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// A ResNet-50-sized model (25.7 M parameters, ResNet-50 has 25.6 M: 8 GPT blocks of width 512,
// 1000 output classes as the vocabulary) data-parallel with 25 MB gradient buckets (4 buckets), the
// size of ASTRA-sim's ResNet-50 data-parallel step.
void BM_DdpResNet50SizedStep(benchmark::State& state) {
  run_workload(state, R"(name: ddp-resnet50-sized
model: {name: resnet50-sized, layers: 8, hidden: 512, heads: 8, ffn: 2048, vocab: 1000, context: 0}
task: train
batch: {micro_batch: 32, seq_len: 256}
parallel: {strategy: ddp, bucket: 25MB}
memory: {check: false}
steps: 1
)", static_cast<int>(state.range(0)));
}
BENCHMARK(BM_DdpResNet50SizedStep)->Arg(8)->Arg(512)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
