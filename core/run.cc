#include "core/run.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/attribution.h"
#include "core/file.h"
#include "core/intervals.h"

namespace clustertwin::core {

namespace {
bool is_comm(OpKind k) { return k != OpKind::Compute; }
}  // namespace

std::optional<Program> first_steps(const Program& p, int32_t steps) {
  if (steps < 1 || steps > p.steps) return std::nullopt;
  Program cut = p;
  cut.steps = steps;
  cut.prefill_steps = std::min(cut.prefill_steps, steps);
  for (auto& rp : cut.ranks) {
    auto end = std::find_if(rp.ops.begin(), rp.ops.end(), [&](const Op& op) { return op.step >= steps; });
    if (std::any_of(end, rp.ops.end(), [&](const Op& op) { return op.step < steps; })) return std::nullopt;
    rp.ops.erase(end, rp.ops.end());
  }
  return cut;
}

Summary summarize(const Program& p, const std::vector<OpRecord>& records) {
  const int world = p.world();
  const int steps = std::max(p.steps, 1);
  size_t expected = 0;
  for (const auto& rp : p.ranks) expected += rp.ops.size();
  if (records.size() != expected)
    throw std::invalid_argument(fmt::format("run: {} op records for a program of {} ops", records.size(), expected));
  const std::vector<Wait> wait = waits(p, records);

  // [step][rank] -> intervals: compute, transfer, waiting in a collective, waiting in a receive;
  // and the waits by the peer waited for.
  struct Streams {
    std::vector<Interval> comp, transfer, wait_coll, wait_recv;
    std::map<int32_t, std::vector<Interval>> by_peer;
  };
  std::vector<std::vector<Streams>> at(steps, std::vector<Streams>(world));
  // A step begins when its first work begins: a receive's start only marks when its rank began
  // waiting (a pipeline stage posts the next step's receive as soon as it is free), so receives
  // count only when a step has nothing else.
  std::vector<double> first(steps, INFINITY), first_recv(steps, INFINITY), last(steps, -INFINITY);
  std::map<std::string, std::pair<double, int>> coll;  // label -> (total seconds, count)
  std::map<std::string, double> coll_bytes;
  for (size_t i = 0; i < records.size(); ++i) {
    const OpRecord& r = records[i];
    const Op& op = p.ranks[r.rank].ops[r.op];  // waits() checked rank and op
    int s = std::clamp(op.step, 0, steps - 1);
    double& begin = (op.kind == OpKind::Recv ? first_recv : first)[s];
    begin = std::min(begin, r.start);
    last[s] = std::max(last[s], r.end);
    // A message belongs to the step that sent it: the send returns once its bytes are handed over
    // (eager), the step ends when they are in (a pipeline's token back to the first stage).
    if (op.kind == OpKind::Send) last[s] = std::max(last[s], wait[i].delivered);
    Streams& st = at[s][r.rank];
    if (!is_comm(op.kind)) {
      st.comp.push_back({r.start, r.end});
      continue;
    }
    const Wait& w = wait[i];
    st.transfer.push_back({w.until, r.end});
    if (w.peer >= 0) {
      (op.kind == OpKind::Recv ? st.wait_recv : st.wait_coll).push_back({r.start, w.until});
      st.by_peer[w.peer].push_back({r.start, w.until});
    }
    if (op.kind == OpKind::Collective) {
      auto& c = coll[op.label];
      c.first += r.end - r.start;
      c.second += 1;
      coll_bytes[op.label] = op.bytes;
    }
  }

  Summary out;
  out.ranks.assign(world, {});
  std::vector<std::map<int32_t, double>> waited(world);  // rank -> peer -> seconds
  double sum_comm = 0;
  for (int s = 0; s < steps; ++s) {
    if (std::isinf(first[s])) first[s] = first_recv[s];
    double step = last[s] > first[s] ? last[s] - first[s] : 0;
    out.step_seconds.push_back(step);
    for (int r = 0; r < world; ++r) {
      Streams& st = at[s][r];
      auto window = [&](const std::vector<Interval>& v) { return clip(merge(v), first[s], last[s]); };
      auto c = window(st.comp), t = window(st.transfer), wc = window(st.wait_coll), wr = window(st.wait_recv);
      auto ct = unite(c, t), ctw = unite(ct, wc);
      RankTime& rt = out.ranks[r];
      rt.compute += length(c);
      sum_comm += length(t);
      rt.exposed_communication += length(t) - overlap(t, c);
      rt.waiting += length(wc) - overlap(wc, ct);
      rt.bubble += length(wr) - overlap(wr, ctw);
      rt.idle += std::max(0.0, step - length(unite(ctw, wr)));
      for (auto& [peer, v] : st.by_peer) {
        auto w = window(v);
        waited[r][peer] += length(w) - overlap(w, ct);
      }
    }
  }
  for (int r = 0; r < world; ++r) {
    RankTime& rt = out.ranks[r];
    rt.compute /= steps, rt.exposed_communication /= steps, rt.waiting /= steps, rt.bubble /= steps, rt.idle /= steps;
    for (const auto& [peer, secs] : waited[r])
      if (secs / steps > rt.waited) rt.waited_for = peer, rt.waited = secs / steps;
    out.compute += rt.compute / world;
    out.exposed_communication += rt.exposed_communication / world;
    out.waiting += rt.waiting / world;
    out.bubble += rt.bubble / world;
    out.idle += rt.idle / world;
  }
  out.communication = sum_comm / (static_cast<double>(steps) * std::max(world, 1));
  out.critical_path = critical_path(p, records, wait, first, last);
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

Energy energy(const RunInfo& info, const Summary& s) {
  if (!(info.power > 0) || !(s.step_mean > 0)) return {};
  // Inference: per decoded token (a prefill's tokens are far cheaper and counted apart).
  const bool decode = s.decode_tokens_per_second > 0;
  const double tokens_per_second = decode ? s.decode_tokens_per_second : s.tokens_per_second;
  return {info.power, info.power * s.step_mean, tokens_per_second > 0 ? info.power / tokens_per_second : 0};
}

std::string energy_text(const RunInfo& info, const Summary& s) {
  const Energy e = energy(info, s);
  if (!(e.watts > 0)) return "";
  std::string text = fmt::format("{:.0f} W at the wall (device presets, under load): {:.3g} J per step", e.watts,
                                 e.joules_per_step);
  if (e.joules_per_token > 0)
    text += fmt::format(", {:.3g} J per {}token", e.joules_per_token, s.decode_tokens_per_second > 0 ? "decoded " : "");
  return text;
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
            {"waiting_for_peers", s.waiting},
            {"pipeline_bubble", s.bubble},
            {"idle", s.idle}}},
          {"collectives", colls}};
  nlohmann::json path = nlohmann::json::array();
  for (const auto& part : s.critical_path)
    path.push_back({{"rank", part.rank}, {"compute_s", part.compute}, {"communication_s", part.communication}, {"idle_s", part.idle}});
  j["critical_path"] = std::move(path);
  nlohmann::json ranks = nlohmann::json::array();
  for (size_t r = 0; r < s.ranks.size(); ++r) {
    const RankTime& t = s.ranks[r];
    nlohmann::json row{{"rank", r}, {"compute_s", t.compute}, {"exposed_communication_s", t.exposed_communication},
                       {"waiting_s", t.waiting}, {"pipeline_bubble_s", t.bubble}, {"idle_s", t.idle}};
    if (t.waited_for >= 0) row["waited_for"] = {{"rank", t.waited_for}, {"seconds", t.waited}};
    ranks.push_back(std::move(row));
  }
  j["ranks"] = std::move(ranks);
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
  if (!info.calibration.empty()) j["calibration"] = info.calibration;
  if (const Energy e = energy(info, s); e.watts > 0)
    j["energy"] = {{"watts", e.watts}, {"joules_per_step", e.joules_per_step}, {"joules_per_token", e.joules_per_token},
                   {"basis", "device presets' power at the wall under load, for every node that runs ranks"}};
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
