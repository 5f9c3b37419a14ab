// Compile-time benchmark: Llama-3.1-70B, 3D parallel (tp 8 x pp 8 x dp n/64, interleaved 1F1B,
// 16 micro-batches), compiled for 64 to 1024 ranks. The issue's bound: 1024 ranks in < 2 s, and a
// Program whose size grows linearly with ranks (counters: ops and group members per rank).
#include <benchmark/benchmark.h>

#include "workloads/compile.h"

namespace ct = clustertwin;

namespace {
ct::work::Workload hybrid_70b() {
  return ct::work::parse_workload(R"(name: hybrid-70b
model: llama-3.1-70b
task: train
batch: {micro_batch: 1, seq_len: 4096}
precision: {compute: bf16, weights: bf16, gradients: bf16, optimizer: fp32}
parallel: {strategy: hybrid, tp: 8, pp: 8, schedule: interleaved, virtual_stages: 2, micro_batches: 16, stage: 1}
memory: {activation_checkpointing: true}
steps: 1
)",
                                  "bench.yaml");
}

void BM_CompileHybrid70b(benchmark::State& state) {
  const int ranks = static_cast<int>(state.range(0));
  ct::topo::Device studio;
  studio.preset = "mac-studio-m3-ultra";
  studio.peak_fp32 = studio.peak_fp16 = 28e12;
  studio.memory_bandwidth = 819e9;
  studio.memory = 512e9;
  ct::work::Cluster cluster = ct::work::uniform_cluster(ranks, studio);
  ct::work::Workload w = hybrid_70b();
  size_t ops = 0, members = 0;
  for (auto _ : state) {
    ct::core::Program p = ct::work::compile(w, cluster);
    ops = 0;
    for (const auto& rp : p.ranks) ops += rp.ops.size();
    members = 0;
    for (const auto& g : p.groups) members += g.size();
    benchmark::DoNotOptimize(p);
  }
  state.counters["ops"] = static_cast<double>(ops);
  state.counters["ops_per_rank"] = static_cast<double>(ops) / ranks;
  state.counters["group_members_per_rank"] = static_cast<double>(members) / ranks;
}
BENCHMARK(BM_CompileHybrid70b)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
}  // namespace

BENCHMARK_MAIN();
