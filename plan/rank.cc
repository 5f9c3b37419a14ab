#include "plan/rank.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/format.h"
#include "plan/html.h"

namespace clustertwin::plan {

namespace {

std::string hours_or_seconds(double s) {
  if (s >= 48 * 3600) return fmt::format("{:.1f} d", s / 86400);
  if (s >= 3600) return fmt::format("{:.1f} h", s / 3600);
  return core::format_seconds(s);
}

// The step split as core::Summary gives it, named.
std::vector<std::pair<std::string, double>> parts(const core::Summary& s) {
  return {{"compute", s.compute},     {"exposed communication", s.exposed_communication},
          {"waiting for a peer", s.waiting}, {"pipeline bubble", s.bubble}, {"idle", s.idle}};
}

std::string quote(const std::string& field) {
  if (field.find_first_of(",\"\n") == std::string::npos) return field;
  std::string q = "\"";
  for (char c : field) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string status_name(Status s) {
  return s == Status::Ok ? "ok" : s == Status::Rejected ? "rejected" : "duplicate";
}

}  // namespace

double tokens_per_second(const Outcome& o) {
  return o.inference ? o.summary.decode_tokens_per_second : o.summary.tokens_per_second;
}

double joules_per_token(const Outcome& o) {
  return o.power > 0 && tokens_per_second(o) > 0 ? o.power / tokens_per_second(o) : 0;
}

double tokens_per_dollar(const Outcome& o) { return o.price > 0 ? tokens_per_second(o) / o.price : 0; }

double objective_value(const Spec& s, const Outcome& o) {
  switch (s.objective) {
    case Objective::TokensPerSecond: return tokens_per_second(o);
    case Objective::StepTime: return o.summary.step_mean;
    case Objective::TimeToTrain: return tokens_per_second(o) > 0 ? s.train_tokens / tokens_per_second(o) : 0;
    case Objective::JoulesPerToken: return joules_per_token(o);
    case Objective::TokensPerDollar: return tokens_per_dollar(o);
  }
  return 0;
}

std::string objective_text(const Spec& s, const Outcome& o) {
  switch (s.objective) {
    case Objective::TokensPerSecond: return fmt::format("{:.1f} tok/s", tokens_per_second(o));
    case Objective::StepTime: return core::format_seconds(o.summary.step_mean);
    case Objective::TimeToTrain: return hours_or_seconds(objective_value(s, o));
    case Objective::JoulesPerToken:
      return o.power > 0 ? fmt::format("{:.3g} J/tok", joules_per_token(o)) : "power unknown";
    case Objective::TokensPerDollar:
      return o.price > 0 ? fmt::format("{:.3g} tok/s/$", tokens_per_dollar(o)) : "price unknown";
  }
  return {};
}

std::vector<int> ranking(const Spec& s, const std::vector<Outcome>& outcomes) {
  std::vector<int> ok, refused;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].status == Status::Ok) ok.push_back(static_cast<int>(i));
    if (outcomes[i].status == Status::Rejected) refused.push_back(static_cast<int>(i));
  }
  const bool higher = s.objective == Objective::TokensPerSecond || s.objective == Objective::TokensPerDollar;
  std::stable_sort(ok.begin(), ok.end(), [&](int a, int b) {
    const double va = objective_value(s, outcomes[a]), vb = objective_value(s, outcomes[b]);
    if ((va > 0) != (vb > 0)) return va > 0;  // an unknown (0) ranks last whatever the direction
    return higher ? va > vb : va < vb;
  });
  ok.insert(ok.end(), refused.begin(), refused.end());
  return ok;
}

std::string why_loses(const Outcome& o, const Outcome& best) {
  if (o.status == Status::Rejected) return fmt::format("{}: {}", o.refused_by, o.reason);
  if (o.status == Status::Duplicate) return o.reason;
  // Per token, in the best's step: a candidate with twice the batch may take twice the step.
  const double tps = tokens_per_second(o), best_tps = tokens_per_second(best);
  if (!(tps > 0) || !(best_tps > 0) || !(o.summary.step_mean > 0) || !(best.summary.step_mean > 0)) return "no throughput";
  const double scale = best.summary.step_mean * best_tps / (o.summary.step_mean * tps);
  const auto mine = parts(o.summary), theirs = parts(best.summary);
  size_t worst = 0;
  double worst_delta = -1;
  for (size_t i = 0; i < mine.size(); ++i) {
    const double delta = mine[i].second * scale - theirs[i].second;
    if (delta > worst_delta) worst = i, worst_delta = delta;
  }
  std::string why = fmt::format("{} {} vs {}", mine[worst].first, core::format_seconds(mine[worst].second * scale),
                                core::format_seconds(theirs[worst].second));
  if (worst_delta <= 1e-3 * best.summary.step_mean) why = "as fast within the model";  // within 0.1 % of a step
  std::vector<std::string> hubs;
  for (const auto& f : o.forwarders)
    if (std::find(best.forwarders.begin(), best.forwarders.end(), f) == best.forwarders.end()) hubs.push_back(f);
  if (!hubs.empty()) why += fmt::format("; forwarding hub {} carries peers' traffic", fmt::join(hubs, ", "));
  if (!o.warnings.empty()) why += fmt::format("; check warns {}", fmt::join(o.warnings, ", "));
  return why;
}

std::string table(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o, int top) {
  const auto order = ranking(s, o);
  std::string out;
  int evaluated = 0;
  for (int i : order) evaluated += o[i].status == Status::Ok;
  const int dups = static_cast<int>(std::count_if(o.begin(), o.end(), [](const Outcome& x) { return x.status == Status::Duplicate; }));
  out += fmt::format("plan: {} candidates, {} evaluated, {} rejected, {} duplicates; objective {}\n", c.size(), evaluated,
                     static_cast<int>(order.size()) - evaluated, dups, name(s.objective));
  if (evaluated == 0) {
    out += "no candidate could be evaluated:\n";
    for (int i : order) out += fmt::format("  #{} {}: {}\n", i, c[i].label(), why_loses(o[i], o[i]));
    return out;
  }
  const Outcome& best = o[order.front()];
  size_t width = 9;
  for (int r = 0; r < std::min(evaluated, top); ++r) width = std::max(width, c[order[r]].label().size());
  out += fmt::format("{:>4}  {:<{}} {:>14} {:>10} {:>5} {:>7} {:>7}  {}\n", "rank", "candidate", width,
                     name(s.objective), "step", "mem", "J/tok", "devices", "why it loses to #1");
  for (int r = 0; r < std::min(evaluated, top); ++r) {
    const int i = order[r];
    out += fmt::format("{:>4}  {:<{}} {:>14} {:>10} {:>4.0f}% {:>7} {:>7}  {}\n", r + 1, c[i].label(), width,
                       objective_text(s, o[i]), core::format_seconds(o[i].summary.step_mean), 100 * o[i].memory_peak,
                       o[i].power > 0 ? fmt::format("{:.3g}", joules_per_token(o[i])) : "-",
                       o[i].price > 0 ? fmt::format("${:.0f}", o[i].price) : "-",
                       r == 0 ? "best: " + best.bound : why_loses(o[i], best));
  }
  if (evaluated > top) out += fmt::format("      ... {} more evaluated (plan.csv has every candidate)\n", evaluated - top);
  std::map<std::string, std::vector<int>> by_reason;
  for (int i : order)
    if (o[i].status == Status::Rejected) by_reason[o[i].refused_by + ": " + o[i].reason].push_back(i);
  if (!by_reason.empty()) out += "rejected:\n";
  for (const auto& [reason, ids] : by_reason) {
    std::vector<std::string> labels;
    for (size_t k = 0; k < ids.size() && k < 3; ++k) labels.push_back(c[ids[k]].label());
    out += fmt::format("  {} candidate{} ({}{}): {}\n", ids.size(), ids.size() == 1 ? "" : "s", fmt::join(labels, "; "),
                       ids.size() > 3 ? "; ..." : "", reason);
  }
  return out;
}

std::string csv(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o) {
  const auto order = ranking(s, o);
  std::vector<int> rank_of(o.size(), 0);
  for (size_t r = 0; r < order.size(); ++r)
    if (o[order[r]].status == Status::Ok) rank_of[order[r]] = static_cast<int>(r) + 1;
  const Outcome* best = !order.empty() && o[order.front()].status == Status::Ok ? &o[order.front()] : nullptr;
  std::string out = "id,rank,status";
  for (const auto& a : s.axes) out += "," + quote(a.name);
  out += ",tokens_per_s,step_s,time_to_train_s,memory_peak,power_w,joules_per_token,price_usd,tokens_per_s_per_usd,"
         "compute_s,exposed_communication_s,"
         "waiting_s,bubble_s,idle_s,world,micro_batches,cached,refused_by,reason\n";
  for (size_t i = 0; i < c.size(); ++i) {
    const Outcome& x = o[i];
    out += fmt::format("{},{},{}", i, rank_of[i] ? std::to_string(rank_of[i]) : "", status_name(x.status));
    for (const auto& l : c[i].labels) out += "," + quote(l);
    if (x.status == Status::Ok) {
      const auto& m = x.summary;
      auto known = [](double v) { return v > 0 ? fmt::format("{:.6g}", v) : std::string(); };
      out += fmt::format(",{:.6g},{:.6g},{},{:.4f},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{},{}",
                         tokens_per_second(x), m.step_mean,
                         s.train_tokens > 0 ? known(s.train_tokens / tokens_per_second(x)) : "", x.memory_peak,
                         known(x.power), known(joules_per_token(x)), known(x.price), known(tokens_per_dollar(x)),
                         m.compute, m.exposed_communication, m.waiting, m.bubble, m.idle, x.world, x.micro_batches,
                         x.cached ? 1 : 0);
      out += ",," + quote(best && best != &x ? why_loses(x, *best) : "") + "\n";
    } else {
      out += ",,,,,,,,,,,,,,,,," + quote(x.refused_by) + "," + quote(x.reason) + "\n";
    }
  }
  return out;
}

nlohmann::json to_json(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o) {
  const auto order = ranking(s, o);
  const Outcome* best = !order.empty() && o[order.front()].status == Status::Ok ? &o[order.front()] : nullptr;
  nlohmann::json j;
  j["topology"] = s.topology;
  j["workload"] = s.workload;
  j["objective"] = name(s.objective);
  j["headroom"] = s.headroom;
  if (s.global_batch) j["global_batch"] = *s.global_batch;
  j["axes"] = nlohmann::json::array();
  for (const auto& a : s.axes) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& v : a.values) values.push_back(v.label);
    j["axes"].push_back({{"name", a.name}, {"values", values}});
  }
  j["ranking"] = nlohmann::json::array();
  for (int i : order)
    if (o[i].status == Status::Ok) j["ranking"].push_back(i);
  j["best"] = best ? nlohmann::json(order.front()) : nlohmann::json(nullptr);
  j["candidates"] = nlohmann::json::array();
  for (size_t i = 0; i < c.size(); ++i) {
    const Outcome& x = o[i];
    nlohmann::json e{{"id", i}, {"label", c[i].label()}, {"status", status_name(x.status)}};
    nlohmann::json labels = nlohmann::json::object();
    for (size_t a = 0; a < s.axes.size(); ++a) labels[s.axes[a].name] = c[i].labels[a];
    e["axes"] = labels;
    if (x.status == Status::Ok) {
      e["tokens_per_second"] = tokens_per_second(x);
      e["step_seconds"] = x.summary.step_mean;
      e["objective"] = objective_value(s, x);
      e["memory_peak"] = x.memory_peak;
      e["power_watts"] = x.power > 0 ? nlohmann::json(x.power) : nlohmann::json(nullptr);
      e["joules_per_token"] = x.power > 0 ? nlohmann::json(joules_per_token(x)) : nlohmann::json(nullptr);
      e["price_usd"] = x.price > 0 ? nlohmann::json(x.price) : nlohmann::json(nullptr);
      e["tokens_per_second_per_usd"] = x.price > 0 ? nlohmann::json(tokens_per_dollar(x)) : nlohmann::json(nullptr);
      e["breakdown"] = {{"compute", x.summary.compute},
                        {"exposed_communication", x.summary.exposed_communication},
                        {"waiting", x.summary.waiting},
                        {"bubble", x.summary.bubble},
                        {"idle", x.summary.idle}};
      e["world"] = x.world;
      e["micro_batches"] = x.micro_batches;
      e["program_hash"] = x.program_hash;
      e["cached"] = x.cached;
      e["bound"] = x.bound;
      e["forwarders"] = x.forwarders;
      e["warnings"] = x.warnings;
      if (best && best != &x) e["why_loses"] = why_loses(x, *best);
    } else {
      e["refused_by"] = x.refused_by;
      e["reason"] = x.reason;
      if (x.status == Status::Duplicate) e["duplicate_of"] = c[i].duplicate_of;
    }
    j["candidates"].push_back(e);
  }
  return j;
}

int write_outputs(const std::string& dir, const Spec& s, const std::vector<Candidate>& c,
                  const std::vector<Outcome>& o) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  core::write_file((fs::path(dir) / "plan.csv").string(), csv(s, c, o));
  core::write_file((fs::path(dir) / "plan.json").string(), to_json(s, c, o).dump(2) + "\n");
  core::write_file((fs::path(dir) / "plan.html").string(), plan_html(s, c, o));
  const auto order = ranking(s, o);
  if (order.empty() || o[order.front()].status != Status::Ok) return -1;
  const Outcome& best = o[order.front()];
  fs::create_directories(fs::path(dir) / "best");
  const std::string header = fmt::format("# written by clustertwin plan: candidate {} ({}), {}\n", order.front(),
                                         c[order.front()].label(), objective_text(s, best));
  core::write_file((fs::path(dir) / "best" / "topology.yaml").string(), header + best.topology_yaml);
  core::write_file((fs::path(dir) / "best" / "workload.yaml").string(), header + best.workload_yaml);
  return order.front();
}

}  // namespace clustertwin::plan
