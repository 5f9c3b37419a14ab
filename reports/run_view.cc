#include "reports/run_view.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "core/file.h"
#include "topologies/placement.h"
#include "topologies/topology.h"

namespace clustertwin::reports {

namespace {
namespace fs = std::filesystem;
using core::InputError;
constexpr const char* kHint = "pass the directory written by 'predict' or 'run'";

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

nlohmann::json read_json(const std::string& file, const std::string& origin) {
  if (!std::ifstream(file))
    throw InputError(core::format_diagnostic({file, 0, 0}, {}, fmt::format("cannot open file: {}", std::strerror(errno)),
                                             fmt::format("{} takes a run directory (with summary.json) or the file itself", origin)));
  const std::string text = core::read_input_file(file, origin, core::kMaxRunFileBytes);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    auto pos = position_of(file, text, e.byte > 0 ? e.byte - 1 : 0);
    throw InputError(core::format_diagnostic(pos, line_at(text, pos.line), "invalid JSON in a run file", kHint));
  }
}

core::OpKind kind_of(const std::string& s) {
  for (auto k : {core::OpKind::Compute, core::OpKind::Send, core::OpKind::Recv, core::OpKind::Collective})
    if (core::name(k) == s) return k;
  throw std::invalid_argument(fmt::format("unknown op kind '{}' (expected compute, send, recv or collective)", s));
}

// Index of `name` in `names`, adding it on first sight.
class Interner {
 public:
  explicit Interner(std::vector<std::string>& names) : names_(names) {}
  int operator()(const std::string& name) {
    auto [it, added] = ids_.try_emplace(name, static_cast<int>(names_.size()));
    if (added) names_.push_back(name);
    return it->second;
  }

 private:
  std::vector<std::string>& names_;
  std::unordered_map<std::string, int> ids_;
};

// Every complete ("X") event of trace.json, with the op id the backends wrote in its args.
void load_trace(const std::string& file, const std::string& origin, RunView& v) {
  nlohmann::json j = read_json(file, origin);
  Interner label_of(v.labels), phase_of(v.phases);
  size_t index = 0;
  try {
    const auto& events = j.at("traceEvents");
    v.events.reserve(events.size());
    for (; index < events.size(); ++index) {
      const auto& e = events[index];
      if (e.at("ph") != "X") continue;
      const auto& args = e.at("args");
      OpEvent ev;
      ev.rank = e.at("pid");
      ev.op = args.at("op");
      ev.step = args.at("step");
      ev.kind = kind_of(args.at("kind"));
      ev.phase = phase_of(e.at("cat").get<std::string>());
      ev.bytes = args.value("bytes", 0.0);
      ev.start = e.at("ts").get<double>() * 1e-6;
      ev.end = ev.start + e.at("dur").get<double>() * 1e-6;
      ev.label = label_of(e.at("name").get<std::string>());
      if (ev.rank < 0 || ev.rank >= v.world)
        throw std::invalid_argument(fmt::format("rank {} outside the run's {} ranks", ev.rank, v.world));
      v.events.push_back(std::move(ev));
    }
  } catch (const std::exception& e) {
    throw InputError(core::format_diagnostic(
        {file, 0, 0}, {}, fmt::format("not a clustertwin trace (traceEvents[{}]): {}", index, e.what()),
        "expected Chrome trace events with args {op, step, kind, bytes} as 'predict' and 'run' write them"));
  }
}

void load_clocks(const std::string& file, const std::string& origin, RunView& v) {
  nlohmann::json j = read_json(file, origin);
  try {
    v.clock_rtt.assign(v.world, 0);
    for (const auto& c : j) {
      int rank = c.at("rank");
      if (rank >= 0 && rank < v.world) v.clock_rtt[rank] = c.at("rtt_s");
    }
  } catch (const nlohmann::json::exception& e) {
    v.clock_rtt.clear();
    v.notes.push_back(fmt::format("{} was not used: {}", file, e.what()));
  }
}

void load_program(const std::string& file, const std::string& origin, RunView& v) {
  nlohmann::json j = read_json(file, origin);
  try {
    v.program = core::program_from_json(j);
  } catch (const std::exception& e) {
    throw InputError(core::format_diagnostic({file, 0, 0}, {}, fmt::format("not a clustertwin program: {}", e.what()), kHint));
  }
}
}  // namespace

RunView run_view(const std::string& dir, const core::RunInfo& info, const core::Program& p,
                 const std::vector<core::OpRecord>& records, const core::Summary& s,
                 std::shared_ptr<const topo::Topology> topology) {
  RunView v;
  v.dir = dir;
  v.path = (fs::path(dir) / "summary.json").string();
  v.info = info;
  v.program_hash = core::program_hash(p);
  v.world = p.world();
  v.steps = p.steps;
  v.summary = s;
  v.program = p;
  v.topology = std::move(topology);
  Interner label_of(v.labels), phase_of(v.phases);
  v.events.reserve(records.size());
  for (const auto& r : records) {
    const core::Op& op = p.ranks.at(r.rank).ops.at(r.op);
    v.events.push_back({r.rank, r.op, op.step, op.kind, phase_of(std::string(core::name(op.phase))), label_of(op.label),
                        op.bytes, r.start, r.end});
  }
  return v;
}

namespace {
void read_summary(const nlohmann::json& j, const std::string& file, RunView& v) {
  try {
    v.info = {j.at("backend"), j.at("topology"), j.at("workload"), j.value("detail", ""), j.value("calibration", ""),
              j.contains("energy") ? j["energy"].value("watts", 0.0) : 0.0};
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
    v.summary.time_to_first_token = j.value("time_to_first_token_s", 0.0);
    v.summary.decode_tokens_per_second = j.value("decode_tokens_per_s", 0.0);
    v.summary.prefill_tokens_per_second = j.value("prefill_tokens_per_s", 0.0);
    const auto& b = j.at("breakdown_s");
    v.summary.compute = b.at("compute");
    v.summary.communication = b.at("communication");
    v.summary.exposed_communication = b.at("exposed_communication");
    v.summary.idle = b.at("idle");
    v.summary_bubble = b.value("pipeline_bubble", 0.0);
    for (const auto& c : j.at("collectives")) v.summary.collectives.push_back({c.at("label"), c.at("mean_s"), c.at("bytes")});
    if (j.contains("memory_per_rank_bytes"))
      for (const auto& m : j.at("memory_per_rank_bytes")) v.peak_memory = std::max(v.peak_memory, m.at("required").get<double>());
    if (j.contains("imported")) {  // interop/measured.cc: another tool's step-level figures
      const auto& imp = j.at("imported");
      v.imported = imp.at("tool");
      v.imported_description = imp.value("description", "");
      v.peak_memory = imp.value("peak_memory_bytes", 0.0);
      for (const auto& n : imp.value("notes", std::vector<std::string>{})) v.notes.push_back(n);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(core::format_diagnostic({file, 0, 0}, {}, fmt::format("not a clustertwin run summary: {}", e.what()),
                                             "pass the summary.json written by 'predict' or 'run'"));
  }
}

// A run kept by an older clustertwin may hold a topology today's parser refuses: the report stands
// without the drawing and says why.
// A calibrated prediction keeps its overlay beside the topology copy (calibration.yaml): that one,
// not the copy's `calibration:` key, whose path was relative to the original file.
void load_topology_copy(const std::string& file, const std::string& origin, RunView& v) {
  try {
    const std::string overlay = (fs::path(file).parent_path() / "calibration.yaml").string();
    v.topology = std::make_shared<const topo::Topology>(
        topo::load_topology(file, origin, fs::exists(overlay) ? overlay : std::string()));
  } catch (const InputError& e) {
    std::string what = e.what();
    v.notes.push_back(fmt::format("{} was not used: {}", file, what.substr(0, what.find('\n'))));
  }
}
// The run put rank i on the Program's placement[i]: name, draw and route by that, not file order.
void place_as_program(const std::string& program_file, RunView& v) {
  try {
    v.topology = std::make_shared<const topo::Topology>(topo::with_placement(*v.topology, v.program->placement));
  } catch (const InputError& e) {
    std::string what = e.what();
    v.notes.push_back(fmt::format("{} was not used: its nodes do not fit the placement of {}: {}", v.topology->file,
                                  program_file, what.substr(0, what.find('\n'))));
    v.topology.reset();
  }
}
}  // namespace

RunView load_run(const std::string& path, const std::string& origin) {
  std::string file = fs::is_directory(path) ? (fs::path(path) / "summary.json").string() : path;
  RunView v;
  v.path = file;
  v.dir = fs::path(file).parent_path().string();
  if (v.dir.empty()) v.dir = ".";
  read_summary(read_json(file, origin), file, v);
  auto beside = [&](const char* name) { return (fs::path(v.dir) / name).string(); };
  if (fs::exists(beside("trace.json"))) load_trace(beside("trace.json"), origin, v);
  if (fs::exists(beside("program.json"))) load_program(beside("program.json"), origin, v);
  if (fs::exists(beside("topology.yaml"))) load_topology_copy(beside("topology.yaml"), origin, v);
  if (v.program && v.program->world() != v.world) {
    v.notes.push_back(fmt::format("{} has {} ranks where summary.json has {}: not used", beside("program.json"),
                                  v.program->world(), v.world));
    v.program.reset();
  }
  if (v.program && v.topology && !v.program->placement.empty()) place_as_program(beside("program.json"), v);
  if (fs::exists(beside("clocks.json"))) load_clocks(beside("clocks.json"), origin, v);
  return v;
}

}  // namespace clustertwin::reports
