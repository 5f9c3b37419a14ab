// Loopback ring all-reduce throughput with worker processes, in the nccl-tests table style:
//   exec_allreduce_bench [--ranks 3] [--bytes 497759232] [--iters 5]
// The binary is its own worker (`exec_allreduce_bench worker --listen ...`), so it needs no CLI.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/executor.h"

namespace ce = clustertwin::exec;
namespace core = clustertwin::core;

namespace {
int worker_main(int argc, char** argv) {
  ce::WorkerOptions o;
  if (const char* t = std::getenv("CLUSTERTWIN_TOKEN")) o.token = t;
  for (int i = 2; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--listen") o.listen = argv[i + 1];
  try {
    ce::run_worker(o);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

core::Program allreduce_program(int ranks, double bytes, int iters) {
  core::Program p;
  p.name = "allreduce-bench";
  p.steps = iters;
  p.groups = {{}};
  for (int r = 0; r < ranks; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < ranks; ++r) {
    p.ranks.push_back({r, {}});
    for (int s = 0; s < iters; ++s) {
      core::Op op;
      op.kind = core::OpKind::Collective;
      op.phase = core::Phase::Comm;
      op.step = s;
      op.tag = s;
      op.label = "allreduce";
      op.bytes = bytes;
      op.group = 0;
      if (s > 0) op.deps = {static_cast<uint32_t>(s - 1)};
      p.ranks.back().ops.push_back(op);
    }
  }
  return p;
}

clustertwin::topo::Topology topology(int ranks) {
  clustertwin::topo::Topology t;
  t.name = "loopback";
  for (int r = 0; r < ranks; ++r) {
    clustertwin::topo::Node n;
    n.name = fmt::format("local{}", r);
    n.device = clustertwin::topo::Device{};
    t.nodes.push_back(n);
  }
  return t;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "worker") return worker_main(argc, argv);
  int ranks = 3, iters = 5;
  double bytes = 124439808.0 * 4;  // GPT-2 (124M) fp32 gradients
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--ranks") ranks = std::atoi(argv[i + 1]);
    if (f == "--bytes") bytes = std::atof(argv[i + 1]);
    if (f == "--iters") iters = std::atoi(argv[i + 1]);
  }
  char self[PATH_MAX];
  if (!realpath(argv[0], self)) std::snprintf(self, sizeof self, "%s", argv[0]);
  ce::LocalRunOptions o;
  o.self_exe = self;
  try {
    auto p = allreduce_program(ranks, bytes, iters);
    auto records = ce::run_local(p, topology(ranks), o).records;
    // Per iteration: the slowest rank's op time (the collective ends when every rank has its result).
    std::vector<double> t(iters, 0.0);
    for (const auto& r : records) t[r.op] = std::max(t[r.op], r.end - r.start);
    std::sort(t.begin(), t.end());
    double med = t[t.size() / 2];
    double busbw = 2.0 * (ranks - 1) / ranks * bytes / med / 1e9;
    std::printf("# ring all-reduce over loopback TCP, %d worker processes, %d iterations, median shown\n", ranks, iters);
    std::printf("# %12s %12s %6s %10s %8s %8s %7s\n", "size", "count", "type", "time", "algbw", "busbw", "#wrong");
    std::printf("# %12s %12s %6s %10s %8s %8s %7s\n", "(B)", "(elements)", "", "(ms)", "(GB/s)", "(GB/s)", "");
    std::printf("  %12.0f %12.0f %6s %10.1f %8.3f %8.3f %7d\n", bytes, bytes / 4, "float", med * 1e3, bytes / med / 1e9,
                busbw, 0);
    std::printf("# min %.1f ms, max %.1f ms\n# OK\n", t.front() * 1e3, t.back() * 1e3);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n# FAILED\n", e.what());
    return 1;
  }
}
