// clustertwin: predict (SimGrid), run (socket executor), compare; the one binary, kept thin.
// Exit codes: 0 success, 1 a run failed, 2 bad input (a file or a flag).
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/diag.h"
#include "core/units.h"
#include "exec/executor.h"
#include "topologies/topology.h"

#ifndef CLUSTERTWIN_SOURCE_DIR
#define CLUSTERTWIN_SOURCE_DIR "."
#endif

namespace ct = clustertwin;

namespace {
void add_overrides(CLI::App* cmd, ct::cli::Overrides& o) {
  cmd->add_option("--steps", o.steps, "Override the workload's step count")->check(CLI::Range(1, 1000000));
  cmd->add_option("--micro-batch", o.micro_batch, "Override the per-rank micro-batch")->check(CLI::Range(1, 1 << 20));
}

void print_presets() {
  fmt::print("devices:\n");
  for (const auto& n : ct::topo::device_names()) {
    const auto* d = ct::topo::find_device(n);
    fmt::print("  {:<14} {:>10} fp32 x{:.2f}, {:>10} x{:.2f}, {}  [{}]\n", n,
               fmt::format("{:.1f} TF", d->peak_fp32 / 1e12), d->compute_efficiency, ct::core::format_rate(d->memory_bandwidth),
               d->memory_efficiency, ct::core::format_bytes(d->memory), d->source);
  }
  fmt::print("links:\n");
  for (const auto& n : ct::topo::link_type_names()) {
    const auto* l = ct::topo::find_link_type(n);
    fmt::print("  {:<14} {:>10} {:>10} {}-duplex  [{}]\n", n, ct::core::format_rate(l->bandwidth),
               ct::core::format_seconds(l->latency), l->full_duplex ? "full" : "half", l->source);
  }
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"clustertwin: predict, run and compare distributed training on small clusters"};
  app.require_subcommand(1);

  ct::cli::PredictArgs pa;
  auto* predict = app.add_subcommand("predict", "Simulate a workload on a topology (SimGrid)");
  predict->add_option("-t,--topology", pa.topology, "Topology YAML")->required();
  predict->add_option("-w,--workload", pa.workload, "Workload YAML")->required();
  predict->add_option("-o,--out", pa.out_dir, "Output directory")->required();
  add_overrides(predict, pa.overrides);

  ct::cli::RunArgs ra;
  auto* run = app.add_subcommand("run", "Run a workload for real with the socket executor");
  run->add_option("-t,--topology", ra.topology, "Topology YAML")->required();
  run->add_option("-w,--workload", ra.workload, "Workload YAML")->required();
  run->add_option("-o,--out", ra.out_dir, "Output directory")->required();
  run->add_option("--local", ra.local, "Run N worker processes on this machine over loopback")->required()->check(CLI::Range(1, 64));
  run->add_option("--compute", ra.compute, "real: CBLAS GEMMs of each op's shape; modelled: sleep for the modelled time")
      ->check(CLI::IsMember({"real", "modelled"}));
  run->add_option("--op-timeout", ra.op_timeout_s, "Seconds without progress on an op before the run fails")->check(CLI::PositiveNumber);
  run->add_option("--corrupt-rank", ra.corrupt_rank, "Testing aid: this rank corrupts its all-reduce contribution")->group("");
  add_overrides(run, ra.overrides);

  ct::cli::CompareArgs ca;
  auto* compare = app.add_subcommand("compare", "Compare a predicted run with a measured one");
  compare->add_option("PREDICTED", ca.predicted, "Predicted run directory (or its summary.json)")->required();
  compare->add_option("MEASURED", ca.measured, "Measured run directory (or its summary.json)")->required();
  compare->add_option("-o,--out", ca.out_dir, "Output directory for report.md")->required();

  ct::exec::WorkerOptions wo;
  auto* worker = app.add_subcommand("worker", "Serve one run for a coordinator");
  worker->add_option("--listen", wo.listen, "ADDR:PORT to listen on (port 0 picks a free one)");
  worker->add_option("--token", wo.token, "Run token (default: $CLUSTERTWIN_TOKEN)");

  ct::cli::DemoArgs da{CLUSTERTWIN_SOURCE_DIR, "build/demo"};
  auto* demo = app.add_subcommand("demo", "Predict, run and compare GPT-2 DDP (what README's first command runs)");
  demo->add_option("--examples", da.examples_dir, "Folder holding topologies/examples and workloads/examples");
  demo->add_option("-o,--out", da.out_dir, "Output directory");

  auto* presets = app.add_subcommand("presets", "List the built-in device and link presets with their sources");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    if (*predict) ct::cli::predict(pa);
    else if (*run) ct::cli::run(ra);
    else if (*compare) ct::cli::compare(ca);
    else if (*demo) ct::cli::demo(da);
    else if (*presets) print_presets();
    else if (*worker) {
      if (wo.token.empty())
        if (const char* t = std::getenv("CLUSTERTWIN_TOKEN")) wo.token = t;
      if (wo.token.empty()) {
        fmt::print(stderr, "--token: error: a worker needs the run token\nhint: pass --token or set CLUSTERTWIN_TOKEN\n");
        return 2;
      }
      ct::exec::run_worker(wo);
    }
  } catch (const ct::core::InputError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "clustertwin: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
