// The subcommands, as functions the demo can chain. Each throws core::InputError for bad input
// (exit code 2) and std::runtime_error for a failed run (exit code 1); main.cc maps them (cli/failure.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/launch_flags.h"
#include "core/program.h"
#include "core/run.h"
#include "exec/settings.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::cli {

// Workload figures a command line may override for a what-if without editing the file.
struct Overrides {
  std::optional<int> steps;
  std::optional<long long> micro_batch;
};

// A topology and a workload read, the overrides applied, and the workload compiled and validated
// for that topology: what predict, run and validate start from.
struct Loaded {
  topo::Topology topology;
  work::Workload workload;
  core::Program program;
};
// `calibration`: an overlay applied instead of the topology's `calibration:` key (--calibration).
Loaded load(const std::string& topology, const std::string& workload, const Overrides& o = {},
            const std::string& calibration = "");

// --trace-steps N: trace.json keeps the ops of the first N steps (summary.json still has them all).
using TraceSteps = std::optional<int32_t>;

struct PredictArgs {
  std::string topology, workload, out_dir;
  Overrides overrides;
  TraceSteps trace_steps;
  double scale = 1;  // every bandwidth x this: the figures of `emulate up --scale`
  std::vector<std::string> ignore_checks;  // lint codes or names predicted anyway (what-ifs)
  std::string calibration;  // --calibration: a `probe -o` overlay instead of the topology's key
};

struct RunArgs {
  std::string topology, workload;
  std::string calibration;  // --calibration: figures for modelled compute (and the run's record)
  Overrides overrides;
  TraceSteps trace_steps;
  LaunchFlags launch;
  exec::RunSettings settings{.compute = exec::ComputeMode::Real};  // -o is settings.out_dir
};

struct CompareArgs {
  std::string predicted, measured, out_dir;
  std::optional<double> max_error;  // percent: fail (exit 1) when |step-time error| exceeds it
};

// `report RUN... -o DIR`: one run (pictures of a prediction) or several side by side.
struct ReportArgs {
  std::vector<std::string> runs;
  std::string out_dir;
  std::optional<double> max_error;
};

// Each prints a short summary and returns the path of what it wrote.
std::string predict(const PredictArgs& a);
std::string run(const RunArgs& a);
std::string compare(const CompareArgs& a);
std::string report(const ReportArgs& a);

// After a failed `run`: DIR/summary.json and DIR/trace.json of the leading steps every rank finished,
// read from DIR/steps.jsonl, with `info.detail` saying so. Returns the sentence to add to the run's
// error (where they are, or why there are none); never throws.
std::string write_finished_steps(const std::string& dir, core::RunInfo info, const core::Program& p);

struct DemoArgs {
  std::string examples_dir;  // folder holding topologies/ and workloads/ examples
  std::string out_dir;
};
void demo(const DemoArgs& a);

// Absolute path of the running binary (to start workers).
std::string self_exe();

}  // namespace clustertwin::cli
