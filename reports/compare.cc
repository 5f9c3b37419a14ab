#include "reports/compare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "core/file.h"
#include "core/format.h"
#include "reports/csv.h"
#include "reports/hints.h"
#include "reports/html.h"
#include "reports/merged_trace.h"

namespace clustertwin::reports {

namespace {
namespace fs = std::filesystem;

std::vector<std::string> run_names(const std::vector<RunView>& runs) {
  std::vector<std::string> names;
  bool by_backend = runs.size() == 2 && runs[0].info.backend != runs[1].info.backend;
  if (runs.size() == 1) by_backend = true;
  std::map<std::string, int> seen;
  for (const auto& r : runs) {
    std::string n = by_backend ? r.info.backend : fs::path(r.dir).filename().string();
    if (n.empty() || n == ".") n = r.info.backend;
    if (seen[n]++) n += fmt::format(" ({})", seen[n]);
    names.push_back(n);
  }
  return names;
}

// Op by op: (rank, op id) of the predicted run against the same pair in the measured one.
void match_ops(const RunView& p, const RunView& m, Comparison& c) {
  std::map<uint64_t, const OpEvent*> pred;
  for (const auto& e : p.events) pred[(uint64_t(e.rank) << 32) | e.op] = &e;
  struct Acc {
    double p = 0, m = 0;
    int n = 0;
  };
  std::map<std::string, Acc> by_label;
  std::vector<OpDiff> ops;
  for (const auto& e : m.events) {
    auto it = pred.find((uint64_t(e.rank) << 32) | e.op);
    if (it == pred.end() || p.labels[it->second->label] != m.labels[e.label]) {
      ++c.only_measured;
      continue;
    }
    ++c.matched;
    const std::string& label = m.labels[e.label];
    auto& a = by_label[label];
    a.p += it->second->seconds(), a.m += e.seconds(), ++a.n;
    ops.push_back({label, e.rank, e.op, e.step, it->second->seconds(), e.seconds(), 1});
  }
  c.only_predicted = p.events.size() - c.matched;
  const double rank_steps = std::max(1, m.world) * std::max(1, m.steps);
  for (const auto& [label, a] : by_label) c.worst_labels.push_back({label, -1, 0, -1, a.p / a.n, a.m / a.n, a.n / rank_steps});
  auto by_weight = [](const OpDiff& a, const OpDiff& b) { return std::abs(a.weight()) > std::abs(b.weight()); };
  std::sort(c.worst_labels.begin(), c.worst_labels.end(), by_weight);
  if (c.worst_labels.size() > 5) c.worst_labels.resize(5);
  size_t top = std::min<size_t>(5, ops.size());
  std::partial_sort(ops.begin(), ops.begin() + top, ops.end(), by_weight);
  ops.resize(top);
  c.worst_ops = std::move(ops);
}

// The largest contributor to the step-time error, in words a user can act on.
std::string verdict(const RunStats& p, const RunStats& m) {
  double step_err = p.step_mean - m.step_mean;
  // A prediction against a measurement, or two runs of any kind (a what-if) by their names.
  const bool model = p.name == "predicted" && m.name == "measured";
  const std::string subject = model ? "The prediction" : p.name, object = model ? "measured" : m.name;
  if (std::abs(error_percent(p.step_mean, m.step_mean)) < 5)
    return model ? "The prediction is within 5 % of the measurement." : fmt::format("{} is within 5 % of {}.", p.name, m.name);
  double pc = 0, mc = 0;
  for (const auto& [k, v] : p.phases)
    if (k != "exposed communication" && k != "pipeline bubble" && k != "idle") pc += v;
  for (const auto& [k, v] : m.phases)
    if (k != "exposed communication" && k != "pipeline bubble" && k != "idle") mc += v;
  std::string biggest = "compute";
  double best = std::abs(mc - pc);
  for (const char* k : {"exposed communication", "pipeline bubble", "idle"}) {
    double d = std::abs(m.phase(k) - p.phase(k));
    if (d > best) best = d, biggest = k;
  }
  return fmt::format("{} is {} than {} by {} per step ({}); most of the difference is in {} ({} {} vs {} {} "
                     "per step and rank).",
                     subject, step_err > 0 ? "slower" : "faster", object, core::format_seconds(std::abs(step_err)),
                     core::format_error_percent(error_percent(p.step_mean, m.step_mean)), biggest,
                     core::format_seconds(biggest == "compute" ? pc : p.phase(biggest)), model ? "predicted" : p.name,
                     core::format_seconds(biggest == "compute" ? mc : m.phase(biggest)), model ? "measured" : m.name);
}

// Decode throughput is what the tools measure best; the step time of an imported run is its inverse.
std::string step_level_verdict(const RunStats& p, const RunStats& m) {
  const auto& ps = p.run->summary;
  const auto& ms = m.run->summary;
  const bool model = p.name == "predicted" && m.name == "measured";
  const std::string subject = model ? "The prediction" : p.name, object = model ? "measured" : m.name;
  std::vector<std::string> parts;
  auto add = [&](const char* what, double predicted, double measured) {
    if (predicted > 0 && measured > 0)
      parts.push_back(fmt::format("{} {:.1f} vs {:.1f} tokens/s ({})", what, predicted, measured,
                                  core::format_error_percent(error_percent(predicted, measured))));
  };
  add("decode", ps.decode_tokens_per_second, ms.decode_tokens_per_second);
  add("prefill", ps.prefill_tokens_per_second, ms.prefill_tokens_per_second);
  const std::string source = m.run->step_level() ? m.run->imported : p.run->imported;
  if (parts.empty())
    return fmt::format("No throughput both runs have: the comparison rests on the step time alone ({} figures are step-level).",
                       source);
  return fmt::format("{} vs {} ({} figures, step-level only): {}.", subject, object, source, fmt::join(parts, "; "));
}
}  // namespace

std::string not_compared_note(const Comparison& c) {
  if (!c.step_level) return {};
  std::string who;
  for (const auto& r : c.runs)
    if (r.run->step_level()) who += fmt::format("{}{} ({})", who.empty() ? "" : ", ", r.name, r.run->imported);
  return fmt::format("The phase breakdown, per-step times, collectives, per-rank, per-route and per-op times: {} has "
                     "another tool's step-level figures only. No likely causes are read off the difference, as they rest "
                     "on per-op residuals.",
                     who);
}

double error_percent(double predicted, double measured) {
  if (measured == 0) return predicted == 0 ? 0 : INFINITY;
  return (predicted - measured) / measured * 100;
}

ErrorCell error_cell(const Comparison& c, int run, double value, double reference, Figure f) {
  const bool has = !std::isnan(value), ref = !std::isnan(reference);
  if (!has && !ref) return {ErrorCell::Kind::None, 0, {}};
  if (!has || !ref) {
    const int lacking = has ? c.reference : run;
    const bool named = lacking >= 0 && lacking < static_cast<int>(c.runs.size());
    return {ErrorCell::Kind::Missing, 0, named ? c.runs[lacking].name : ""};
  }
  const double floor = f == Figure::Time ? c.floor_seconds : 0;
  if (std::abs(reference) <= floor) return {ErrorCell::Kind::Difference, value - reference, {}};
  return {ErrorCell::Kind::Percent, error_percent(value, reference), {}};
}

std::string format_error(const ErrorCell& e, Figure f) {
  switch (e.kind) {
    case ErrorCell::Kind::Percent: return core::format_error_percent(e.value);
    case ErrorCell::Kind::Difference:
      return f == Figure::Time ? core::format_signed_seconds(e.value) : fmt::format("{:+.2f}", e.value);
    case ErrorCell::Kind::Missing: return "not in run " + e.missing_in;
    case ErrorCell::Kind::None: break;
  }
  return "-";
}

std::string error_floor_note(const Comparison& c) {
  if (c.reference < 0) return {};
  return fmt::format("Where the reference ({}) is under {} (0.1 % of its mean step time, at least 1 us; a rate or a "
                     "size: 0), the error is the difference instead of a percentage; \"not in run X\" marks what run X "
                     "does not have.",
                     c.runs[c.reference].name, core::format_seconds(c.floor_seconds));
}

RunView load_summary(const std::string& path, const std::string& origin) { return load_run(path, origin); }

Comparison build_comparison(const std::vector<RunView>& runs, int reference) {
  Comparison c;
  auto names = run_names(runs);
  for (size_t i = 0; i < runs.size(); ++i) c.runs.push_back(analyse(runs[i], names[i]));
  c.step_level = std::any_of(runs.begin(), runs.end(), [](const RunView& r) { return r.step_level(); });
  if (runs.size() < 2) return c;
  if (reference >= 0 && reference < static_cast<int>(runs.size())) c.reference = reference;
  for (size_t i = 0; i < runs.size() && c.reference < 0; ++i)
    if (runs[i].measured()) c.reference = static_cast<int>(i);
  if (c.reference < 0) c.reference = 0;
  c.floor_seconds = std::max(1e-6, 1e-3 * c.runs[c.reference].step_mean);
  for (size_t i = 0; i < runs.size() && c.predicted < 0; ++i)
    if (static_cast<int>(i) != c.reference && !runs[i].measured()) c.predicted = static_cast<int>(i);
  for (size_t i = 0; i < runs.size() && c.predicted < 0; ++i)
    if (static_cast<int>(i) != c.reference) c.predicted = static_cast<int>(i);
  const RunView& p = runs[c.predicted];
  const RunView& m = runs[c.reference];
  if (c.step_level) {  // another tool's figures: no Program, no ops to match, no residuals to read causes off
    c.verdict = step_level_verdict(c.runs[c.predicted], c.runs[c.reference]);
    return c;
  }
  c.same_program = p.program_hash == m.program_hash;
  match_ops(p, m, c);
  // Residuals of different Programs mix the workload into the model error: no causes read off them.
  if (c.same_program) c.hints = likely_causes(c.runs[c.predicted], c.runs[c.reference]);
  c.verdict = verdict(c.runs[c.predicted], c.runs[c.reference]);
  return c;
}

std::string report_markdown(const RunView& predicted, const RunView& measured) {
  std::vector<RunView> runs{predicted, measured};
  return report_markdown(build_comparison(runs));
}

std::string write_report(const std::string& dir, const Comparison& c) {
  std::error_code ec;
  for (const auto& r : c.runs)
    if (fs::exists(dir) && fs::equivalent(dir, r.run->dir, ec))
      throw core::InputError(fmt::format(
          "-o/--out: error: '{}' is the directory of run '{}': the merged trace.json would replace the run's own\n"
          "hint: write the report to another directory (e.g. {}/../compare)",
          dir, r.name, r.run->dir));
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  fs::path d(dir);
  core::write_file(d / "report.md", report_markdown(c));
  core::write_file(d / "report.html", report_html(c));
  core::write_file(d / "summary.csv", summary_csv(c));
  core::write_file(d / "trace.json", merged_trace(c) + "\n");
  return (d / "report.md").string();
}

std::string write_html(const std::string& dir, const Comparison& c) {
  fs::path path = fs::path(dir) / "report.html";
  core::write_file(path, report_html(c));
  return path.string();
}

std::string write_report(const std::string& dir, const RunView& predicted, const RunView& measured) {
  std::vector<RunView> runs{predicted, measured};
  return write_report(dir, build_comparison(runs));
}

}  // namespace clustertwin::reports
