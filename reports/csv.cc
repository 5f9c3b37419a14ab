#include "reports/csv.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace clustertwin::reports {

namespace {
std::string quoted(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string value(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : ""; }

// A note beside each error_pct: empty when it holds the percentage, "below floor" when the
// reference is under the comparison's floor (error_pct empty; abs_error holds the difference),
// "not in run NAME" when a run lacks the figure (error_pct and abs_error empty).
std::string note(const ErrorCell& e) {
  switch (e.kind) {
    case ErrorCell::Kind::Difference: return "below floor";
    case ErrorCell::Kind::Missing: return quoted("not in run " + e.missing_in);
    case ErrorCell::Kind::Percent:
    case ErrorCell::Kind::None: break;
  }
  return {};
}

std::string percent(const ErrorCell& e) { return e.kind == ErrorCell::Kind::Percent ? value(e.value) : ""; }

class Writer {
 public:
  explicit Writer(const Comparison& c) : c_(c) {
    out_ = "section,item,metric,unit";
    for (const auto& r : c.runs) out_ += "," + quoted(r.name);
    if (pair()) {
      out_ += ",abs_error,error_pct,error_note";
    } else if (c.reference >= 0) {
      for (size_t i = 0; i < c.runs.size(); ++i)
        if (static_cast<int>(i) != c.reference) out_ += "," + quoted("error_pct " + c.runs[i].name);
      for (size_t i = 0; i < c.runs.size(); ++i)
        if (static_cast<int>(i) != c.reference) out_ += "," + quoted("error_note " + c.runs[i].name);
    }
    out_ += "\n";
  }
  void row(const std::string& section, const std::string& item, const std::string& metric, const std::string& unit,
           const std::vector<double>& v) {
    out_ += fmt::format("{},{},{},{}", section, quoted(item), metric, unit);
    for (double x : v) out_ += "," + value(x);
    const Figure f = unit == "s" ? Figure::Time : Figure::Other;
    if (pair()) {
      double p = v[c_.predicted], m = v[c_.reference];
      ErrorCell e = error_cell(c_, c_.predicted, p, m, f);
      out_ += "," + value(p - m) + "," + percent(e) + "," + note(e);
    } else if (c_.reference >= 0) {
      std::vector<ErrorCell> errors;
      for (size_t i = 0; i < v.size(); ++i)
        if (static_cast<int>(i) != c_.reference)
          errors.push_back(error_cell(c_, static_cast<int>(i), v[i], v[c_.reference], f));
      for (const auto& e : errors) out_ += "," + percent(e);
      for (const auto& e : errors) out_ += "," + note(e);
    }
    out_ += "\n";
  }
  template <typename F>
  void each(const std::string& section, const std::string& item, const std::string& metric, const std::string& unit, F get) {
    std::vector<double> v;
    for (const auto& r : c_.runs) v.push_back(get(r));
    row(section, item, metric, unit, v);
  }
  std::string str() const { return out_; }

 private:
  bool pair() const { return c_.runs.size() == 2 && c_.paired(); }
  const Comparison& c_;
  std::string out_;
};

constexpr double kNone = NAN;  // a figure this run does not have: an empty cell

// The whole run: step times and throughput, then every step and phase.
void run_rows(const Comparison& c, Writer& w) {
  w.each("run", "all", "step_mean", "s", [](const RunStats& r) { return r.step_mean; });
  w.each("run", "all", "step_p50", "s", [](const RunStats& r) { return r.step_p50; });
  w.each("run", "all", "step_p95", "s", [](const RunStats& r) { return r.step_p95; });
  w.each("run", "all", "samples_per_s", "1/s",
         [](const RunStats& r) { return r.run->step_level() ? kNone : r.run->summary.samples_per_second; });
  w.each("run", "all", "tokens_per_s", "1/s", [](const RunStats& r) { return r.run->summary.tokens_per_second; });
  if (c.step_level) {  // another tool's figures: what it has is these, and nothing per step or phase
    auto stated = [](double v) { return v > 0 ? v : kNone; };
    w.each("run", "all", "decode_tokens_per_s", "1/s",
           [&](const RunStats& r) { return stated(r.run->summary.decode_tokens_per_second); });
    w.each("run", "all", "prefill_tokens_per_s", "1/s",
           [&](const RunStats& r) { return stated(r.run->summary.prefill_tokens_per_second); });
    w.each("run", "all", "time_to_first_token", "s", [&](const RunStats& r) { return stated(r.run->summary.time_to_first_token); });
    w.each("run", "all", "peak_memory", "B", [&](const RunStats& r) { return stated(r.run->peak_memory); });
    return;
  }
  size_t steps = 0;
  std::set<std::string> phases;
  for (const auto& r : c.runs) {
    steps = std::max(steps, r.step_seconds.size());
    for (const auto& [k, v] : r.phases) phases.insert(k);
  }
  for (size_t s = 0; s < steps; ++s)
    w.each("step", std::to_string(s), "time", "s",
           [&](const RunStats& r) { return s < r.step_seconds.size() ? r.step_seconds[s] : kNone; });
  for (const auto& k : phases)
    w.each("phase", k, "time_per_step", "s", [&](const RunStats& r) { return r.phases.count(k) ? r.phases.at(k) : kNone; });
}

void collective_rows(const Comparison& c, Writer& w) {
  std::set<std::string> labels;
  for (const auto& r : c.runs)
    for (const auto& col : r.collectives) labels.insert(col.label);
  for (const auto& l : labels) {
    auto get = [&](double CollectiveStats::*field) {
      return [&, field](const RunStats& r) {
        const CollectiveStats* x = r.collective(l);
        return x ? x->*field : kNone;
      };
    };
    w.each("collective", l, "bytes", "B", get(&CollectiveStats::bytes));
    w.each("collective", l, "time", "s", get(&CollectiveStats::mean_seconds));
    w.each("collective", l, "busbw", "B/s", get(&CollectiveStats::busbw));
  }
}

void rank_rows(const Comparison& c, Writer& w) {
  size_t world = 0;
  for (const auto& r : c.runs) world = std::max(world, r.ranks.size());
  for (size_t rank = 0; rank < world; ++rank) {
    auto get = [&](double RankStats::*field) {
      return [&, field](const RunStats& r) { return rank < r.ranks.size() ? r.ranks[rank].*field : kNone; };
    };
    const std::string item = std::to_string(rank);
    w.each("rank", item, "compute", "s", get(&RankStats::compute));
    w.each("rank", item, "exposed_communication", "s", get(&RankStats::exposed));
    w.each("rank", item, "waiting_for_peer", "s", get(&RankStats::peer_wait));
    w.each("rank", item, "pipeline_bubble", "s", get(&RankStats::bubble));
    w.each("rank", item, "idle", "s", get(&RankStats::idle));
  }
}

void route_and_link_rows(const Comparison& c, Writer& w) {
  std::set<std::string> routes;
  for (const auto& r : c.runs)
    for (const auto& rt : r.routes) routes.insert(rt.key);
  for (const auto& k : routes)
    w.each("route", k, "time_per_step", "s", [&](const RunStats& r) {
      const RouteStats* route = r.route(k);
      return route ? route->seconds : kNone;
    });
  if (c.runs.empty()) return;
  for (size_t l = 0; l < c.runs.front().links.size(); ++l) {
    const std::string& name = c.runs.front().links[l].name;
    auto get = [&](double LinkStats::*field) {
      return [&, field](const RunStats& r) { return l < r.links.size() ? r.links[l].*field : kNone; };
    };
    w.each("link", name, "bytes_per_step_ab", "B", get(&LinkStats::bytes_up));
    w.each("link", name, "bytes_per_step_ba", "B", get(&LinkStats::bytes_down));
    w.each("link", name, "utilisation", "1", get(&LinkStats::utilisation));
    w.each("link", name, "comm_time_per_step", "s", get(&LinkStats::comm_seconds));
  }
  for (size_t i = 0; i < c.runs.front().forwarders.size(); ++i) {
    const std::string& name = c.runs.front().forwarders[i].name;
    auto get = [&](double ForwarderStats::*field) {
      return [&, field](const RunStats& r) { return i < r.forwarders.size() ? r.forwarders[i].*field : kNone; };
    };
    w.each("forwarder", name, "bytes_per_step", "B", get(&ForwarderStats::bytes));
    w.each("forwarder", name, "bandwidth", "B/s", get(&ForwarderStats::bandwidth));
    w.each("forwarder", name, "utilisation", "1", get(&ForwarderStats::utilisation));
    w.each("forwarder", name, "comm_time_per_step", "s", get(&ForwarderStats::comm_seconds));
  }
}
}  // namespace

std::string summary_csv(const Comparison& c) {
  Writer w(c);
  run_rows(c, w);
  collective_rows(c, w);
  rank_rows(c, w);
  route_and_link_rows(c, w);
  return w.str();
}

}  // namespace clustertwin::reports
