#include "cli/commands.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/lint.h"
#include "core/file.h"
#include "core/format.h"
#include "core/output_dir.h"
#include "core/run.h"
#include "exec/emulate/emulation.h"
#include "exec/executor.h"
#include "exec/settings.h"
#include "reports/bottleneck.h"
#include "reports/compare.h"
#include "sim/simulator.h"
#include "topologies/calibration.h"
#include "topologies/cost.h"
#include "topologies/placement.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::cli {

Loaded load(const std::string& topology, const std::string& workload, const Overrides& o,
            const std::string& calibration) {
  Loaded l{topo::load_topology(topology, "-t/--topology", calibration), work::load_workload(workload), {}};
  if (o.steps) {
    l.workload.steps = *o.steps;
    l.workload.steps_where = {{"--steps", 0, 0}, ""};
  }
  if (o.micro_batch) l.workload.micro_batch = *o.micro_batch;
  l.program = work::compile(l.workload, l.topology);
  core::validate(l.program);
  topo::place(l.topology, l.program.placement);  // from here on, rank i is on the Program's node
  return l;
}

namespace {

void write_program(const std::string& dir, const core::Program& p) {
  core::write_file(std::filesystem::path(dir) / "program.json", core::to_json(p).dump() + '\n');
}

// An input copied into the run directory: read as it was loaded (bounded), written as every output is
// (a temporary file renamed, so a link in the directory is replaced, never written through).
void copy_input(const std::string& from, const std::string& dir, const char* name) {
  core::write_file((std::filesystem::path(dir) / name).string(), core::read_input_file(from, {}, core::kMaxYamlBytes));
}

// The topology file travels with the run, so reports can draw it and route its traffic.
void copy_topology(const std::string& dir, const std::string& topology) { copy_input(topology, dir, "topology.yaml"); }

// A calibrated prediction keeps the overlay it used beside the topology copy (reports/run_view.cc
// reads it from there: the copy's own `calibration:` path was relative to the original).
void copy_calibration(const std::string& dir, const topo::Topology& t) {
  if (!t.calibrated || t.calibrated->file.empty()) return;
  copy_input(t.calibrated->file, dir, "calibration.yaml");
}

// The records trace.json shows: all, or with --trace-steps N those of the first N steps (a trace of
// every step of a long run is hundreds of MB that no viewer opens), and the note that says so.
std::vector<core::OpRecord> traced(const core::Program& p, const std::vector<core::OpRecord>& records,
                                   const TraceSteps& steps, core::RunInfo& info) {
  if (!steps || *steps >= p.steps) return records;
  std::vector<core::OpRecord> out;
  for (const auto& r : records)
    if (p.ranks[r.rank].ops[r.op].step < *steps) out.push_back(r);
  info.detail += fmt::format(", trace.json: the first {} of {} steps", *steps, p.steps);
  return out;
}

// A run directory checked and made ready: an earlier run's summary.json and trace.json (of this
// kind: prepare_output_dir refuses another) go first, so a run that fails leaves none of its
// predecessor's results looking like its own.
void prepare_run_dir(const std::string& dir, core::OutputKind kind, std::vector<std::string> inputs) {
  core::prepare_output_dir({dir, "-o/--out", kind}, inputs);
  std::error_code ignored;  // absent, or removed: either way gone
  for (const char* stale : {"summary.json", "trace.json"}) std::filesystem::remove(std::filesystem::path(dir) / stale, ignored);
}

// The inputs a run's directory must not hold under an output's name.
std::vector<std::string> run_inputs(const std::string& topology, const std::string& workload, const topo::Topology& t) {
  std::vector<std::string> inputs{topology, workload};
  if (t.calibrated && !t.calibrated->file.empty()) inputs.push_back(t.calibrated->file);
  return inputs;
}

void print_summary(const core::RunInfo& info, const core::Program& p, const core::Summary& s, const topo::Topology& t,
                   const std::string& dir) {
  fmt::print("{} run of '{}' on '{}' ({} ranks, {} steps; {})\n", info.backend, info.workload, info.topology, p.world(),
             p.steps, info.detail);
  if (!info.calibration.empty()) fmt::print("  figures     {}\n", info.calibration);
  fmt::print("  step time   {} mean, {} p50, {} p95\n", core::format_seconds(s.step_mean),
             core::format_seconds(s.step_p50), core::format_seconds(s.step_p95));
  if (p.prefill_steps > 0)  // the mean over all steps would average the prefill into the decode rate
    fmt::print("  throughput  decode {:.1f} tokens/s, prefill {:.0f} tokens/s, time to first token {}\n",
               s.decode_tokens_per_second, s.prefill_tokens_per_second, core::format_seconds(s.time_to_first_token));
  else
    fmt::print("  throughput  {:.2f} samples/s, {:.0f} tokens/s\n", s.samples_per_second, s.tokens_per_second);
  fmt::print("  per step    compute {}, communication {} ({} exposed), {}{}idle {}\n", core::format_seconds(s.compute),
             core::format_seconds(s.communication), core::format_seconds(s.exposed_communication),
             s.waiting > 1e-3 * s.step_mean ? fmt::format("waiting for a peer {}, ", core::format_seconds(s.waiting)) : "",
             s.bubble > 1e-3 * s.step_mean ? fmt::format("pipeline bubble {}, ", core::format_seconds(s.bubble)) : "",
             core::format_seconds(s.idle));
  if (std::string bound = reports::what_bounds(s, &t); !bound.empty()) fmt::print("  {}\n", bound);
  if (std::string energy = core::energy_text(info, s); !energy.empty()) fmt::print("  energy      {}\n", energy);
  fmt::print("  wrote       {}/summary.json, {}/trace.json\n", dir, dir);
}
}  // namespace

// The records in steps.jsonl are on the coordinator's clock already (each worker applied its offset).
std::string write_finished_steps(const std::string& dir, core::RunInfo info, const core::Program& p) {
  const std::string steps_file = (std::filesystem::path(dir) / "steps.jsonl").string();
  try {
    std::ifstream in(steps_file);
    std::vector<std::vector<std::vector<core::OpRecord>>> by_step;  // [step][rank] -> records
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      const auto step = j.at("step").get<int32_t>(), rank = j.at("rank").get<int32_t>();
      if (step < 0 || step >= p.steps || rank < 0 || rank >= p.world()) continue;
      if (by_step.size() <= static_cast<size_t>(step)) by_step.resize(step + 1, std::vector<std::vector<core::OpRecord>>(p.world()));
      for (const auto& o : j.at("ops"))
        by_step[step][rank].push_back({rank, o.at(0).get<uint32_t>(), o.at(1).get<double>(), o.at(2).get<double>()});
    }
    int32_t finished = 0;  // the leading steps every rank reported
    while (static_cast<size_t>(finished) < by_step.size() &&
           std::none_of(by_step[finished].begin(), by_step[finished].end(), [](const auto& r) { return r.empty(); }))
      ++finished;
    if (finished == 0) return "\n  no step finished on every rank: no summary.json was written";
    const auto cut = core::first_steps(p, finished);
    if (!cut) return "\n  the finished steps cannot be summarised apart from the rest (their ops interleave)";
    std::vector<core::OpRecord> records;
    for (int32_t s = 0; s < finished; ++s)
      for (const auto& rank : by_step[s]) records.insert(records.end(), rank.begin(), rank.end());
    info.detail += fmt::format(", failed: the {} of {} steps every rank finished", finished, p.steps);
    core::write_run(dir, info, *cut, records, core::summarize(*cut, records));
    return fmt::format("\n  summary.json and trace.json in {} hold the {} of {} steps that finished", dir, finished, p.steps);
  } catch (const std::exception&) {  // a record cut short by the crash, or a library's text: not for the user
    return fmt::format("\n  the finished steps could not be summarised: see {}", steps_file);
  }
}

std::string predict(const PredictArgs& a) {
  const auto ignored = ignored_codes(a.ignore_checks);
  Loaded l = load(a.topology, a.workload, a.overrides, a.calibration);
  require_checked(l.topology, l.program, ignored);
  prepare_run_dir(a.out_dir, core::OutputKind::PredictedRun, run_inputs(a.topology, a.workload, l.topology));
  if (a.scale != 1) l.topology = exec::emulate::scaled_topology(std::move(l.topology), a.scale);
  auto records = sim::simulate(l.program, l.topology);
  std::string detail = sim::model_description();
  if (a.scale != 1) detail += fmt::format(", bandwidths x{} (as emulate up --scale {})", a.scale, a.scale);
  core::RunInfo info{"predicted", l.topology.name, l.program.name, detail, topo::calibration_text(l.topology),
                     topo::power_under_load(l.topology)};
  auto summary = core::summarize(l.program, records);
  write_program(a.out_dir, l.program);
  copy_topology(a.out_dir, a.topology);
  copy_calibration(a.out_dir, l.topology);
  core::write_run(a.out_dir, info, l.program, traced(l.program, records, a.trace_steps, info), summary);
  print_summary(info, l.program, summary, l.topology, a.out_dir);
  auto topology = std::make_shared<const topo::Topology>(l.topology);
  std::vector<reports::RunView> runs{reports::run_view(a.out_dir, info, l.program, records, summary, topology)};
  const reports::Comparison c = reports::build_comparison(runs);
  // The resource a step's communication waits on first: a link, or a node forwarding for others.
  if (auto busiest = reports::busiest_resource(c.runs.front()))
    fmt::print("  busiest     {}\n", reports::describe(*busiest));
  fmt::print("  wrote       {}\n", reports::write_html(a.out_dir, c));
  return a.out_dir;
}

std::string run(const RunArgs& a) {
  Loaded l = load(a.topology, a.workload, a.overrides, a.calibration);
  warn_findings(l.topology, l.program);
  const exec::Launch how = to_launch(a.launch, l.topology, self_exe());
  exec::check_launch(how, l.program, l.topology);
  const std::string& out_dir = a.settings.out_dir;
  prepare_run_dir(out_dir, core::OutputKind::MeasuredRun, run_inputs(a.topology, a.workload, l.topology));
  write_program(out_dir, l.program);
  copy_topology(out_dir, a.topology);
  const std::string launched = fmt::format("{}, compute={}", exec::launch_text(how, l.program.world()),
                                           exec::name(a.settings.compute));
  core::RunInfo info{"measured", l.topology.name, l.program.name, launched,
                     l.topology.calibrated ? topo::calibration_text(l.topology) : "", topo::power_under_load(l.topology)};
  exec::MeasuredRun measured;
  try {
    measured = exec::run(l.program, l.topology, how, a.settings);
  } catch (const exec::RunError& e) {
    throw exec::RunError(e.what() + write_finished_steps(out_dir, info, l.program));
  }
  info.detail = fmt::format("{}, {}", launched, measured.clock_text());
  auto summary = core::summarize(l.program, measured.records);
  core::write_run(out_dir, info, l.program, traced(l.program, measured.records, a.trace_steps, info), summary);
  print_summary(info, l.program, summary, l.topology, out_dir);
  return out_dir;
}

namespace {
// Writes the comparison's files, prints the step times and hints, and enforces --max-error.
std::string write_comparison(const std::vector<reports::RunView>& runs, const std::string& out_dir,
                             std::optional<double> max_error, int reference = -1) {
  std::vector<std::string> inputs;
  for (const auto& r : runs) inputs.push_back(r.dir);
  core::prepare_output_dir({out_dir, "-o/--out", core::OutputKind::Report}, inputs);
  auto c = reports::build_comparison(runs, reference);
  std::string path = reports::write_report(out_dir, c);
  for (const auto& r : c.runs)
    fmt::print("{:>10}  step {}{}\n", r.name, core::format_seconds(r.step_mean),
               r.run->info.calibration.empty() ? "" : "  (" + r.run->info.calibration + ")");
  if (!c.paired()) {
    fmt::print("  wrote       {} (and report.html, summary.csv, trace.json)\n", path);
    return path;
  }
  const auto& p = c.runs[c.predicted];
  const auto& m = c.runs[c.reference];
  double err = reports::error_percent(p.step_mean, m.step_mean);
  fmt::print("step time: {} {}, {} {} ({})\n", p.name, core::format_seconds(p.step_mean), m.name,
             core::format_seconds(m.step_mean), core::format_error_percent(err));
  if (c.step_level) fmt::print("  {}\n", c.verdict);  // another tool's figures: tokens/s say more than a step
  for (const auto& h : c.hints) fmt::print("  likely cause: {}\n", h.cause);
  fmt::print("  wrote       {} (and report.html, summary.csv, trace.json)\n", path);
  if (!max_error) return path;
  const double pd = p.run->summary.decode_tokens_per_second, md = m.run->summary.decode_tokens_per_second;
  if (c.step_level && pd > 0 && md > 0) {  // another tool's decode rate: the figure it measured, not a step it derived
    const double decode_err = reports::error_percent(pd, md);
    if (!(std::abs(decode_err) <= *max_error))
      throw std::runtime_error(fmt::format("compare: the decode tokens/s error {} ({} {:.1f} vs {} {:.1f}) exceeds --max-error {} %",
                                           core::format_error_percent(decode_err), p.name, pd, m.name, md, *max_error));
    return path;
  }
  if (!(std::abs(err) <= *max_error))
    throw std::runtime_error(fmt::format("compare: the step-time error {} ({} {} vs {} {}) exceeds --max-error {} %",
                                         core::format_error_percent(err), p.name, core::format_seconds(p.step_mean), m.name,
                                         core::format_seconds(m.step_mean), *max_error));
  return path;
}
}  // namespace

std::string compare(const CompareArgs& a) {
  std::vector<reports::RunView> runs{reports::load_run(a.predicted, "PREDICTED"), reports::load_run(a.measured, "MEASURED")};
  return write_comparison(runs, a.out_dir, a.max_error, 1);  // MEASURED, even when both runs are predictions
}

std::string report(const ReportArgs& a) {
  std::vector<reports::RunView> runs;
  for (size_t i = 0; i < a.runs.size(); ++i) runs.push_back(reports::load_run(a.runs[i], fmt::format("RUN {}", i + 1)));
  return write_comparison(runs, a.out_dir, a.max_error);
}

void demo(const DemoArgs& a) {
  namespace fs = std::filesystem;
  auto ex = [&](const char* rel) { return (fs::path(a.examples_dir) / rel).string(); };
  auto out = [&](const char* rel) { return (fs::path(a.out_dir) / rel).string(); };
  const std::string workload = ex("workloads/examples/ddp-gpt2.yaml");

  fmt::print("== 1/4 predict: GPT-2 124M DDP on three Mac minis M4, Thunderbolt 4 star (the guide's cluster)\n");
  auto predict_on = [&](const char* topology, const char* dir, Overrides o) {
    PredictArgs p;
    p.topology = ex(topology);
    p.workload = workload;
    p.out_dir = out(dir);
    p.overrides = o;
    return predict(p);
  };
  predict_on("topologies/examples/tb4-star-3minis.yaml", "predict-tb4-star", {});

  // Three ranks share this machine's two cores: micro-batch 1 keeps each modelled step to seconds.
  // The gradients all-reduced are still GPT-2's full 124M fp32 values (498 MB per rank).
  Overrides local{3, 1};
  fmt::print("\n== 2/4 predict: the same workload on three local ranks over loopback (micro-batch 1, 3 steps)\n");
  predict_on("topologies/examples/local-3.yaml", "predict-local-3", local);

  fmt::print("\n== 3/4 run: 3 worker processes, real ring all-reduce over TCP, modelled compute\n");
  RunArgs r;
  r.topology = ex("topologies/examples/local-3.yaml");
  r.workload = workload;
  r.settings.out_dir = out("run-local-3");
  r.overrides = local;
  r.launch.local = 3;
  r.settings.compute = exec::ComputeMode::Modelled;
  run(r);

  fmt::print("\n== 4/4 compare: predicted vs measured on local-3\n");
  std::string report = compare({out("predict-local-3"), out("run-local-3"), out("compare-local-3"), {}});
  std::ifstream in(report);
  fmt::print("\n{}", std::string(std::istreambuf_iterator<char>(in), {}));
  fmt::print("\nFiles are in {}/ (open {}/compare-local-3/report.html in a browser, any trace.json in "
             "https://ui.perfetto.dev).\n",
             a.out_dir, a.out_dir);
}

}  // namespace clustertwin::cli
