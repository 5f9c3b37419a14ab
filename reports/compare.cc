#include "reports/compare.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "core/units.h"

namespace clustertwin::reports {

namespace {
using core::InputError;

// Line and column of a byte offset, for JSON parse errors.
core::SourcePos position_of(const std::string& path, const std::string& text, size_t offset) {
  core::SourcePos p{path, 1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++p.line, p.col = 1;
    else ++p.col;
  }
  return p;
}

std::string line_at(const std::string& text, int line) {
  std::istringstream in(text);
  std::string l;
  for (int i = 0; i < line && std::getline(in, l); ++i) {
  }
  return l;
}
}  // namespace

namespace {
nlohmann::json read_json(const std::string& file, const std::string& origin) {
  std::ifstream in(file);
  if (!in)
    throw InputError(core::format_diagnostic({file, 0, 0}, {}, fmt::format("cannot open file: {}", std::strerror(errno)),
                                             fmt::format("{} takes a run directory (with summary.json) or the file itself", origin)));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    auto pos = position_of(file, text, e.byte > 0 ? e.byte - 1 : 0);
    throw InputError(core::format_diagnostic(pos, line_at(text, pos.line), "invalid JSON in a run file",
                                             "pass the directory written by 'predict' or 'run'"));
  }
}

// Per-phase and per-op times from the Chrome trace both backends write.
void load_trace(const std::string& file, const std::string& origin, RunView& v) {
  nlohmann::json j = read_json(file, origin);
  try {
    const double per = static_cast<double>(std::max(v.world, 1)) * std::max(v.steps, 1);
    std::map<std::string, std::pair<double, int>> ops;  // label -> (total seconds, count)
    for (const auto& e : j.at("traceEvents")) {
      if (e.at("ph") != "X") continue;
      double secs = e.at("dur").get<double>() * 1e-6;
      v.phase_seconds[e.at("cat").get<std::string>()] += secs / per;
      auto& o = ops[e.at("name").get<std::string>()];
      o.first += secs;
      o.second += 1;
    }
    for (const auto& [label, o] : ops) v.ops[label] = {o.first / o.second, o.second / per};
  } catch (const nlohmann::json::exception& e) {
    throw InputError(core::format_diagnostic({file, 0, 0}, {}, fmt::format("not a clustertwin trace: {}", e.what()),
                                             "pass the directory written by 'predict' or 'run'"));
  }
}
}  // namespace

RunView load_summary(const std::string& path, const std::string& origin) {
  namespace fs = std::filesystem;
  std::string file = fs::is_directory(path) ? (fs::path(path) / "summary.json").string() : path;
  nlohmann::json j = read_json(file, origin);
  try {
    RunView v;
    v.path = file;
    v.info = {j.at("backend"), j.at("topology"), j.at("workload"), j.value("detail", "")};
    v.program_hash = j.at("program_hash");
    v.world = j.at("world");
    v.steps = j.at("steps");
    const auto& st = j.at("step_time_s");
    v.summary.step_mean = st.at("mean");
    v.summary.step_p50 = st.at("p50");
    v.summary.step_p95 = st.at("p95");
    v.summary.step_seconds = st.at("per_step").get<std::vector<double>>();
    v.summary.samples_per_second = j.at("samples_per_s");
    v.summary.tokens_per_second = j.at("tokens_per_s");
    const auto& b = j.at("breakdown_s");
    v.summary.compute = b.at("compute");
    v.summary.communication = b.at("communication");
    v.summary.exposed_communication = b.at("exposed_communication");
    v.summary.idle = b.at("idle");
    for (const auto& c : j.at("collectives")) v.summary.collectives.push_back({c.at("label"), c.at("mean_s"), c.at("bytes")});
    std::string trace = (fs::path(file).parent_path() / "trace.json").string();
    if (fs::exists(trace)) load_trace(trace, origin, v);
    return v;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(core::format_diagnostic({file, 0, 0}, {}, fmt::format("not a clustertwin run summary: {}", e.what()),
                                             "pass the summary.json written by 'predict' or 'run'"));
  }
}

double error_percent(double predicted, double measured) {
  if (measured == 0) return predicted == 0 ? 0 : INFINITY;
  return (predicted - measured) / measured * 100;
}

namespace {
std::string row(std::string_view what, double pred, double meas, bool seconds = true) {
  auto f = [&](double v) { return seconds ? core::format_seconds(v) : fmt::format("{:.2f}", v); };
  return fmt::format("| {} | {} | {} | {:+.1f} % |\n", what, f(pred), f(meas), error_percent(pred, meas));
}

// The largest contributor to the step-time error, in words a user can act on.
std::string likely_cause(const core::Summary& p, const core::Summary& m) {
  double step_err = p.step_mean - m.step_mean;
  double comp_err = p.compute - m.compute;
  double comm_err = p.exposed_communication - m.exposed_communication;
  if (std::abs(error_percent(p.step_mean, m.step_mean)) < 5) return "The prediction is within 5 % of the measurement.";
  std::string where = std::abs(comp_err) >= std::abs(comm_err)
      ? fmt::format("compute ({} predicted vs {} measured per step): the device figures (peak FLOP/s, sustained "
                    "fraction, memory bandwidth) do not match this hardware; calibrate them in the topology file",
                    core::format_seconds(p.compute), core::format_seconds(m.compute))
      : fmt::format("exposed communication ({} predicted vs {} measured per step): the link figures (bandwidth, "
                    "latency, per-message overhead) do not match this network; calibrate them in the topology file",
                    core::format_seconds(p.exposed_communication), core::format_seconds(m.exposed_communication));
  return fmt::format("The prediction is {} than measured by {}; most of the difference is in {}.",
                     step_err > 0 ? "slower" : "faster", core::format_seconds(std::abs(step_err)), where);
}

// The ops whose predicted and measured times differ most per step: where to look first.
std::string op_differences(const RunView& pred, const RunView& meas) {
  struct Diff {
    std::string label;
    double pred, meas, per_step;
  };
  std::vector<Diff> diffs;
  for (const auto& [label, p] : pred.ops) {
    auto it = meas.ops.find(label);
    if (it != meas.ops.end()) diffs.push_back({label, p.mean_seconds, it->second.mean_seconds, p.per_step});
  }
  auto weight = [](const Diff& d) { return std::abs(d.pred - d.meas) * d.per_step; };
  std::sort(diffs.begin(), diffs.end(), [&](const Diff& a, const Diff& b) { return weight(a) > weight(b); });
  if (diffs.size() > 5) diffs.resize(5);
  std::string out = "\n| largest differences: op | per occurrence, predicted | measured | error | × per step |\n"
                    "|---|---:|---:|---:|---:|\n";
  for (const auto& d : diffs)
    out += fmt::format("| {} | {} | {} | {:+.1f} % | {:g} |\n", d.label, core::format_seconds(d.pred),
                       core::format_seconds(d.meas), error_percent(d.pred, d.meas), d.per_step);
  return out;
}
}  // namespace

std::string report_markdown(const RunView& pred, const RunView& meas) {
  const auto& p = pred.summary;
  const auto& m = meas.summary;
  std::string out = fmt::format("# clustertwin: predicted vs measured\n\n"
                                "- workload: `{}`, {} ranks, {} steps measured\n"
                                "- predicted: `{}` on topology `{}` ({})\n"
                                "- measured: `{}` on topology `{}` ({})\n\n",
                                meas.info.workload, meas.world, meas.steps, pred.path, pred.info.topology,
                                pred.info.detail, meas.path, meas.info.topology, meas.info.detail);
  if (pred.program_hash != meas.program_hash)
    out += fmt::format("> **Warning:** the two runs executed different Programs (hash {} vs {}): the comparison "
                       "mixes a model error with a workload difference.\n\n",
                       pred.program_hash, meas.program_hash);
  out += "| per step | predicted | measured | error |\n|---|---:|---:|---:|\n";
  out += row("step time (mean)", p.step_mean, m.step_mean);
  out += row("step time (p50)", p.step_p50, m.step_p50);
  out += row("step time (p95)", p.step_p95, m.step_p95);
  out += row("compute", p.compute, m.compute);
  out += row("communication", p.communication, m.communication);
  out += row("exposed communication", p.exposed_communication, m.exposed_communication);
  out += row("idle", p.idle, m.idle);
  out += row("samples/s", p.samples_per_second, m.samples_per_second, false);
  out += row("tokens/s", p.tokens_per_second, m.tokens_per_second, false);

  std::map<std::string, double> measured_coll;
  for (const auto& c : m.collectives) measured_coll[c.label] = c.mean_seconds;
  if (!p.collectives.empty()) {
    out += "\n| collective | bytes | predicted | measured | error |\n|---|---:|---:|---:|---:|\n";
    for (const auto& c : p.collectives) {
      auto it = measured_coll.find(c.label);
      if (it == measured_coll.end()) continue;
      out += fmt::format("| {} | {} | {} | {} | {:+.1f} % |\n", c.label, core::format_bytes(c.bytes),
                         core::format_seconds(c.mean_seconds), core::format_seconds(it->second),
                         error_percent(c.mean_seconds, it->second));
    }
  }
  if (!pred.phase_seconds.empty() && !meas.phase_seconds.empty()) {
    out += "\n| phase (op time per step and rank) | predicted | measured | error |\n|---|---:|---:|---:|\n";
    for (const auto& [phase, secs] : pred.phase_seconds) {
      auto it = meas.phase_seconds.find(phase);
      if (it != meas.phase_seconds.end()) out += row(phase, secs, it->second);
    }
    out += op_differences(pred, meas);
  }
  out += fmt::format("\n**Likely cause:** {}\n\nError = (predicted − measured) / measured. Compute, communication, "
                     "exposed communication and idle are per-step averages over ranks; exposed communication is the "
                     "time a rank communicates with no compute running.\n",
                     likely_cause(p, m));
  return out;
}

std::string write_report(const std::string& dir, const RunView& predicted, const RunView& measured) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  std::string path = (std::filesystem::path(dir) / "report.md").string();
  std::ofstream out(path);
  out << report_markdown(predicted, measured);
  if (!out) throw std::runtime_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  return path;
}

}  // namespace clustertwin::reports
