// `clustertwin validate`: each published row predicted in its own simulation (the predict path,
// in-process), then the table of published vs predicted and the error summary.
#include "cli/validate.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "core/file.h"
#include "core/run.h"
#include "exec/bench.h"
#include "sim/simulator.h"

namespace clustertwin::cli {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Result {
  const Row* row = nullptr;
  double predicted = kNaN;
  std::string error;  // why the prediction failed (a compile or simulation error)
  double error_percent() const { return (predicted / row->published - 1) * 100; }
  bool predicted_ok() const { return std::isfinite(predicted) && predicted > 0; }
  bool within() const { return predicted_ok() && std::abs(error_percent()) <= row->tolerance * 100; }
};

double predict_inference(const Row& r) {
  Loaded l = load(r.topology, r.workload);
  const auto s = core::summarize(l.program, sim::simulate(l.program, l.topology));
  if (r.metric == Metric::DecodeTokensPerSecond) return s.decode_tokens_per_second;
  return static_cast<double>(l.workload.prompt * l.workload.micro_batch) / s.time_to_first_token;
}

// One fp32 all-reduce over every rank of the topology: the Program `bench` runs, timed as bench
// times it (last rank in to last rank out).
double predict_allreduce(const Row& r) {
  const topo::Topology t = topo::load_topology(r.topology);
  const int ranks = static_cast<int>(t.rank_nodes().size());
  const auto bytes = static_cast<uint64_t>(r.collective->bytes) / 4 * 4;
  core::Program p = exec::bench_program(exec::BenchKind::AllReduce, ranks, bytes, 1, r.collective->algorithm);
  for (auto& rp : p.ranks)
    for (auto& op : rp.ops)
      if (op.kind == core::OpKind::Collective) op.stripes = r.collective->stripes;
  if (r.collective->runtime) work::lower_calls(*r.collective->runtime, p);
  const double seconds = exec::step_time(sim::simulate(p, t), p, 0);
  if (r.metric == Metric::AllReduceSeconds) return seconds;
  return static_cast<double>(bytes) / seconds * exec::busbw_factor(exec::BenchKind::AllReduce, ranks) / 1e9;
}

Result predict_row(const Row& r) {
  Result out;
  out.row = &r;
  if (!r.inexpressible.empty()) return out;
  try {
    out.predicted = r.collective ? predict_allreduce(r) : predict_inference(r);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

std::string status(const Result& x) {
  if (!x.row->inexpressible.empty()) return "inexpressible";
  if (!x.error.empty()) return "failed";
  return x.within() ? "yes" : "no";
}

std::string figure(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "-"; }

std::string table_row(const Result& x) {
  const Row& r = *x.row;
  std::string missing;
  for (const auto& m : r.missing) missing += (missing.empty() ? "" : ",") + m;
  return fmt::format("{:<28} {:<26} {:>10} {:>10} {:>8} {:>13} {:>4}  {}\n", r.id, metric_name(r.metric),
                     figure(r.published), figure(x.predicted),
                     x.predicted_ok() ? fmt::format("{:+.1f}", x.error_percent()) : "-", status(x),
                     r.gate ? "gate" : "", missing.empty() ? "-" : missing);
}

struct Totals {
  int predicted = 0, within = 0;
  double mean_abs = 0;
  const Result* worst = nullptr;
  std::vector<const Result*> gated_out, not_yet;
};

Totals totals(const std::vector<Result>& results) {
  Totals t;
  for (const auto& x : results) {
    if (!x.row->inexpressible.empty()) continue;
    if (!x.within()) (x.row->gate ? t.gated_out : t.not_yet).push_back(&x);
    if (!x.predicted_ok()) continue;
    ++t.predicted;
    t.within += x.within();
    t.mean_abs += std::abs(x.error_percent());
    if (!t.worst || std::abs(x.error_percent()) > std::abs(t.worst->error_percent())) t.worst = &x;
  }
  if (t.predicted > 0) t.mean_abs /= t.predicted;
  return t;
}

std::string ids(const std::vector<const Result*>& v) {
  std::string s;
  for (const auto* x : v) s += (s.empty() ? "" : ", ") + x->row->id;
  return s;
}

void print_table(const std::vector<Result>& results, const Totals& t, double seconds) {
  fmt::print("# clustertwin validate: published measurements vs predictions (error = predicted / published - 1)\n");
  fmt::print("{:<28} {:<26} {:>10} {:>10} {:>8} {:>13} {:>4}  {}\n", "# row", "metric", "published", "predicted",
             "error%", "within tol.", "", "missing mechanisms");
  for (const auto& x : results) fmt::print("{}", table_row(x));
  for (const auto& x : results)
    if (!x.error.empty()) fmt::print("# {} failed: {}\n", x.row->id, x.error);
  fmt::print("# {} rows predicted, {} within tolerance; mean |error| {:.1f} %", t.predicted, t.within, t.mean_abs);
  if (t.worst) fmt::print(", worst {} {:+.1f} %", t.worst->row->id, t.worst->error_percent());
  fmt::print(" ({:.1f} s)\n", seconds);
  if (!t.not_yet.empty()) fmt::print("# not yet within tolerance (not gated): {}\n", ids(t.not_yet));
  fmt::print("# gated rows out of tolerance: {}\n", t.gated_out.empty() ? "none (OK)" : ids(t.gated_out) + " (FAILED)");
}

nlohmann::json result_json(const Result& x) {
  const Row& r = *x.row;
  nlohmann::json j{{"id", r.id},         {"metric", metric_name(r.metric)}, {"published", r.published},
                   {"tolerance", r.tolerance}, {"gate", r.gate},          {"missing", r.missing},
                   {"status", status(x)}, {"within", x.within()},          {"source", r.source},
                   {"hardware", r.hardware},  {"assumptions", r.assumptions}};
  j["predicted"] = x.predicted_ok() ? nlohmann::json(x.predicted) : nlohmann::json();
  j["error_percent"] = x.predicted_ok() ? nlohmann::json(x.error_percent()) : nlohmann::json();
  if (!r.inexpressible.empty()) j["inexpressible"] = r.inexpressible;
  if (!x.error.empty()) j["error"] = x.error;
  return j;
}

void write_json(const std::string& path, const std::vector<Result>& results, const Totals& t) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& x : results) rows.push_back(result_json(x));
  nlohmann::json j{{"rows", rows}, {"predicted", t.predicted}, {"within", t.within}, {"mean_abs_error_percent", t.mean_abs}};
  if (t.worst) j["worst"] = {{"id", t.worst->row->id}, {"error_percent", t.worst->error_percent()}};
  core::write_file(path, j.dump(2) + '\n');
}
}  // namespace

int validate(const ValidateArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Row> rows = load_rows(a.rows);
  std::vector<Result> results;
  for (const auto& r : rows) results.push_back(predict_row(r));
  const Totals t = totals(results);
  print_table(results, t, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!a.json.empty()) write_json(a.json, results, t);
  return static_cast<int>(t.gated_out.size());
}

void add_validate_command(CLI::App& app) {
  auto va = std::make_shared<ValidateArgs>();
  va->rows = std::string(CLUSTERTWIN_SOURCE_DIR) + "/tests/validation/rows.yaml";
  auto* cmd = app.add_subcommand("validate", "Predict published measurements of real clusters and print the errors");
  cmd->add_option("--rows", va->rows, "The rows file (default: the repository's tests/validation/rows.yaml)");
  cmd->add_option("--json", va->json, "Also write the results as JSON to this file");
  cmd->callback([va] {
    if (int out = validate(*va); out > 0)
      throw std::runtime_error(fmt::format("validate: {} gated row(s) left their tolerance (see the table)", out));
  });
}

}  // namespace clustertwin::cli
