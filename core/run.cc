#include "core/run.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/intervals.h"

namespace clustertwin::core {

namespace {
bool is_comm(OpKind k) { return k != OpKind::Compute; }
}  // namespace

Summary summarize(const Program& p, const std::vector<OpRecord>& records) {
  const int world = p.world();
  const int steps = std::max(p.steps, 1);
  size_t expected = 0;
  for (const auto& rp : p.ranks) expected += rp.ops.size();
  if (records.size() != expected)
    throw std::invalid_argument(fmt::format("run: {} op records for a program of {} ops", records.size(), expected));

  // [step][rank] -> intervals by stream
  std::vector<std::vector<std::vector<Interval>>> comp(steps, std::vector<std::vector<Interval>>(world));
  auto comm = comp, recv = comp;
  // A step begins when its first work begins: a receive's start only marks when its rank began
  // waiting (a pipeline stage posts the next step's receive as soon as it is free), so receives
  // count only when a step has nothing else.
  std::vector<double> first(steps, INFINITY), first_recv(steps, INFINITY), last(steps, -INFINITY);
  std::map<std::string, std::pair<double, int>> coll;  // label -> (total seconds, count)
  std::map<std::string, double> coll_bytes;
  for (const auto& r : records) {
    if (r.rank < 0 || r.rank >= world || r.op >= p.ranks[r.rank].ops.size())
      throw std::invalid_argument(fmt::format("run: record for unknown rank {} op {}", r.rank, r.op));
    const Op& op = p.ranks[r.rank].ops[r.op];
    int s = std::clamp(op.step, 0, steps - 1);
    double& begin = (op.kind == OpKind::Recv ? first_recv : first)[s];
    begin = std::min(begin, r.start);
    last[s] = std::max(last[s], r.end);
    (op.kind == OpKind::Recv ? recv : is_comm(op.kind) ? comm : comp)[s][r.rank].push_back({r.start, r.end});
    if (op.kind == OpKind::Collective) {
      auto& c = coll[op.label];
      c.first += r.end - r.start;
      c.second += 1;
      coll_bytes[op.label] = op.bytes;
    }
  }

  Summary out;
  double sum_comp = 0, sum_comm = 0, sum_exposed = 0, sum_bubble = 0, sum_idle = 0;
  for (int s = 0; s < steps; ++s) {
    if (std::isinf(first[s])) first[s] = first_recv[s];
    double step = last[s] > first[s] ? last[s] - first[s] : 0;
    out.step_seconds.push_back(step);
    for (int r = 0; r < world; ++r) {
      auto window = [&](const auto& v) { return clip(merge(v[s][r]), first[s], last[s]); };
      auto c = window(comp), m = window(comm), w = window(recv);
      auto cm = unite(c, m);
      sum_comp += length(c);
      sum_comm += length(unite(m, w));
      sum_exposed += length(m) - overlap(m, c);
      sum_bubble += length(w) - overlap(w, cm);
      sum_idle += std::max(0.0, step - length(unite(cm, w)));
    }
  }
  double n = static_cast<double>(steps) * std::max(world, 1);
  out.compute = sum_comp / n;
  out.communication = sum_comm / n;
  out.exposed_communication = sum_exposed / n;
  out.bubble = sum_bubble / n;
  out.idle = sum_idle / n;
  double total = 0;
  for (double t : out.step_seconds) total += t;
  out.step_mean = total / steps;
  out.step_p50 = percentile(out.step_seconds, 0.5);
  out.step_p95 = percentile(out.step_seconds, 0.95);
  if (out.step_mean > 0) {
    out.samples_per_second = p.samples_per_step / out.step_mean;
    out.tokens_per_second = p.tokens_per_step / out.step_mean;
  }
  for (const auto& [label, c] : coll) out.collectives.push_back({label, c.first / c.second, coll_bytes[label]});
  if (p.prefill_steps > 0 && p.prefill_steps <= steps) {
    double decode = 0;
    for (int s = 0; s < steps; ++s) (s < p.prefill_steps ? out.time_to_first_token : decode) += out.step_seconds[s];
    int decode_steps = steps - p.prefill_steps;
    if (decode > 0 && decode_steps > 0) out.decode_tokens_per_second = p.tokens_per_step * decode_steps / decode;
    if (out.time_to_first_token > 0) out.prefill_tokens_per_second = p.prefill_tokens / out.time_to_first_token;
  }
  return out;
}

nlohmann::json summary_to_json(const RunInfo& info, const Program& p, const Summary& s) {
  nlohmann::json colls = nlohmann::json::array();
  for (const auto& c : s.collectives) colls.push_back({{"label", c.label}, {"mean_s", c.mean_seconds}, {"bytes", c.bytes}});
  nlohmann::json j{{"backend", info.backend},
          {"topology", info.topology},
          {"workload", info.workload},
          {"detail", info.detail},
          {"world", p.world()},
          {"steps", p.steps},
          {"program_hash", program_hash(p)},
          {"step_time_s", {{"mean", s.step_mean}, {"p50", s.step_p50}, {"p95", s.step_p95}, {"per_step", s.step_seconds}}},
          {"samples_per_s", s.samples_per_second},
          {"tokens_per_s", s.tokens_per_second},
          {"breakdown_s",
           {{"compute", s.compute},
            {"communication", s.communication},
            {"exposed_communication", s.exposed_communication},
            {"pipeline_bubble", s.bubble},
            {"idle", s.idle}}},
          {"collectives", colls}};
  if (p.prefill_steps > 0) {
    j["time_to_first_token_s"] = s.time_to_first_token;
    j["decode_tokens_per_s"] = s.decode_tokens_per_second;
    j["prefill_tokens_per_s"] = s.prefill_tokens_per_second;
  }
  if (!p.memory.empty()) {
    nlohmann::json mem = nlohmann::json::array();
    for (const auto& m : p.memory) mem.push_back({{"required", m.total()}, {"capacity", m.capacity}});
    j["memory_per_rank_bytes"] = std::move(mem);
  }
  return j;
}

nlohmann::json trace_to_json(const RunInfo& info, const Program& p, const std::vector<OpRecord>& records) {
  nlohmann::json events = nlohmann::json::array();
  for (int r = 0; r < p.world(); ++r) {
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", r}, {"args", {{"name", fmt::format("rank {}", r)}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", r}, {"tid", 0}, {"args", {{"name", "compute"}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", r}, {"tid", 1}, {"args", {{"name", "communication"}}}});
  }
  for (const auto& rec : records) {
    const Op& op = p.ranks.at(rec.rank).ops.at(rec.op);
    events.push_back({{"name", op.label},
                      {"cat", name(op.phase)},
                      {"ph", "X"},
                      {"ts", rec.start * 1e6},
                      {"dur", (rec.end - rec.start) * 1e6},
                      {"pid", rec.rank},
                      {"tid", is_comm(op.kind) ? 1 : 0},
                      {"args", {{"op", rec.op}, {"step", op.step}, {"kind", name(op.kind)}, {"bytes", op.bytes}, {"flops", op.flops}}}});
  }
  return {{"traceEvents", std::move(events)},
          {"displayTimeUnit", "ms"},
          {"otherData", {{"backend", info.backend}, {"topology", info.topology}, {"workload", info.workload}}}};
}

void write_run(const std::string& dir, const RunInfo& info, const Program& p,
               const std::vector<OpRecord>& records, const Summary& s) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  auto write = [&](const std::string& file, const nlohmann::json& j) {
    write_file((std::filesystem::path(dir) / file).string(), j.dump(1) + '\n');
  };
  write("summary.json", summary_to_json(info, p, s));
  write("trace.json", trace_to_json(info, p, records));
}

}  // namespace clustertwin::core
