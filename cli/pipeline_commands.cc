// predict, run, compare and demo: the command-line side of cli/commands.h.
#include <memory>
#include <optional>
#include <string>

#include "cli/app.h"
#include "cli/commands.h"

#ifndef CLUSTERTWIN_SOURCE_DIR
#define CLUSTERTWIN_SOURCE_DIR "."
#endif

namespace clustertwin::cli {

namespace {
void add_inputs(CLI::App* cmd, std::string& topology, std::string& workload, std::string& out, Overrides& o,
                TraceSteps& trace_steps) {
  cmd->add_option("-t,--topology", topology, "Topology YAML")->required();
  cmd->add_option("-w,--workload", workload, "Workload YAML")->required();
  cmd->add_option("-o,--out", out, "Output directory")->required();
  cmd->add_option("--steps", o.steps, "Override the workload's step count")->check(CLI::Range(1, 1000000));
  cmd->add_option("--micro-batch", o.micro_batch, "Override the per-rank micro-batch")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--trace-steps", trace_steps, "Write only the first N steps' ops to trace.json (summary.json keeps all)")
      ->check(CLI::Range(1, 1000000));
}

// compare and report write the same files and share the error gate.
void add_report_flags(CLI::App& cmd, std::string& out_dir, std::optional<double>& max_error) {
  cmd.add_option("-o,--out", out_dir, "Output directory: report.md, report.html, summary.csv, trace.json")->required();
  cmd.add_option("--max-error", max_error, "Exit with 1 when the step-time error exceeds PCT percent (against an imported run: the decode tokens/s error)")
      ->check(CLI::NonNegativeNumber);
}
}  // namespace

void add_pipeline_commands(CLI::App& app) {
  auto pa = std::make_shared<PredictArgs>();
  auto* predict_cmd = app.add_subcommand("predict", "Simulate a workload on a topology (SimGrid)");
  add_inputs(predict_cmd, pa->topology, pa->workload, pa->out_dir, pa->overrides, pa->trace_steps);
  predict_cmd->add_option("--scale", pa->scale, "Multiply every bandwidth by this, as `emulate up --scale` does")
      ->check(CLI::PositiveNumber);
  predict_cmd->add_option("--calibration", pa->calibration,
                          "Apply this calibration overlay (written by `clustertwin probe -o`) instead of the topology's "
                          "`calibration:` key");
  predict_cmd->add_option("--ignore-check", pa->ignore_checks,
                          "Predict although check reports this code (T008) or name (ports-exceeded): a what-if");
  predict_cmd->callback([pa] { predict(*pa); });

  auto ra = std::make_shared<RunArgs>();
  auto* run_cmd = app.add_subcommand(
      "run", "Run a workload for real with the socket executor: --local N on this machine, --attach to workers started "
             "by hand, or (neither) workers started over ssh with the topology's aliases");
  add_inputs(run_cmd, ra->topology, ra->workload, ra->settings.out_dir, ra->overrides, ra->trace_steps);
  add_launch_flags(run_cmd, ra->launch, {.attach = true, .topology = nullptr});
  add_settings_flags(run_cmd, ra->settings, true);
  run_cmd->add_option("--calibration", ra->calibration,
                      "Apply this calibration overlay (clustertwin probe -o): --compute modelled then sleeps for the "
                      "measured device figures, as predict --calibration models them");
  run_cmd->callback([ra] { run(*ra); });

  auto ca = std::make_shared<CompareArgs>();
  auto* compare_cmd = app.add_subcommand("compare", "Compare a predicted run with a measured one");
  compare_cmd->add_option("PREDICTED", ca->predicted, "Predicted run directory (or its summary.json)")->required();
  compare_cmd->add_option("MEASURED", ca->measured, "Measured run directory (or its summary.json)")->required();
  add_report_flags(*compare_cmd, ca->out_dir, ca->max_error);
  compare_cmd->callback([ca] { compare(*ca); });

  auto ra2 = std::make_shared<ReportArgs>();
  auto* report_cmd = app.add_subcommand(
      "report", "Report one run (pictures of a prediction) or several side by side, errors against the first measured one");
  report_cmd->add_option("RUN", ra2->runs, "Run directories (or their summary.json)")->required();
  add_report_flags(*report_cmd, ra2->out_dir, ra2->max_error);
  report_cmd->callback([ra2] { report(*ra2); });

  auto da = std::make_shared<DemoArgs>(DemoArgs{CLUSTERTWIN_SOURCE_DIR, "build/demo"});
  auto* demo_cmd = app.add_subcommand("demo", "Predict, run and compare GPT-2 DDP (what README's first command runs)");
  demo_cmd->add_option("--examples", da->examples_dir, "Folder holding topologies/examples and workloads/examples");
  demo_cmd->add_option("-o,--out", da->out_dir, "Output directory");
  demo_cmd->callback([da] { demo(*da); });
}

}  // namespace clustertwin::cli
