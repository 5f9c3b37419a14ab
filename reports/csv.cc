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

class Writer {
 public:
  explicit Writer(const Comparison& c) : c_(c) {
    out_ = "section,item,metric,unit";
    for (const auto& r : c.runs) out_ += "," + quoted(r.name);
    if (pair()) {
      out_ += ",abs_error,error_pct";
    } else if (c.reference >= 0) {
      for (size_t i = 0; i < c.runs.size(); ++i)
        if (static_cast<int>(i) != c.reference) out_ += "," + quoted("error_pct " + c.runs[i].name);
    }
    out_ += "\n";
  }
  void row(const std::string& section, const std::string& item, const std::string& metric, const std::string& unit,
           const std::vector<double>& v) {
    out_ += fmt::format("{},{},{},{}", section, quoted(item), metric, unit);
    for (double x : v) out_ += "," + value(x);
    if (pair()) {
      double p = v[c_.predicted], m = v[c_.reference];
      out_ += "," + value(p - m) + "," + value(error_percent(p, m));
    } else if (c_.reference >= 0) {
      for (size_t i = 0; i < v.size(); ++i)
        if (static_cast<int>(i) != c_.reference) out_ += "," + value(error_percent(v[i], v[c_.reference]));
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

template <typename T, typename K>
const T* find(const std::vector<T>& v, const K& key) {
  auto it = std::find_if(v.begin(), v.end(), [&](const T& x) { return x.label == key; });
  return it == v.end() ? nullptr : &*it;
}
}  // namespace

std::string summary_csv(const Comparison& c) {
  Writer w(c);
  w.each("run", "all", "step_mean", "s", [](const RunStats& r) { return r.step_mean; });
  w.each("run", "all", "step_p50", "s", [](const RunStats& r) { return r.step_p50; });
  w.each("run", "all", "step_p95", "s", [](const RunStats& r) { return r.step_p95; });
  w.each("run", "all", "samples_per_s", "1/s", [](const RunStats& r) { return r.run->summary.samples_per_second; });
  w.each("run", "all", "tokens_per_s", "1/s", [](const RunStats& r) { return r.run->summary.tokens_per_second; });
  size_t steps = 0, world = 0;
  std::set<std::string> phases, labels, routes;
  for (const auto& r : c.runs) {
    steps = std::max(steps, r.step_seconds.size());
    world = std::max(world, r.ranks.size());
    for (const auto& [k, v] : r.phases) phases.insert(k);
    for (const auto& col : r.collectives) labels.insert(col.label);
    for (const auto& rt : r.routes) routes.insert(rt.key);
  }
  for (size_t s = 0; s < steps; ++s)
    w.each("step", std::to_string(s), "time", "s",
           [&](const RunStats& r) { return s < r.step_seconds.size() ? r.step_seconds[s] : static_cast<double>(NAN); });
  for (const auto& k : phases)
    w.each("phase", k, "time_per_step", "s", [&](const RunStats& r) { return r.phases.count(k) ? r.phases.at(k) : 0.0; });
  for (const auto& l : labels) {
    auto get = [&](auto field) {
      return [&, field](const RunStats& r) {
        const CollectiveStats* x = find(r.collectives, l);
        return x ? field(*x) : static_cast<double>(NAN);
      };
    };
    w.each("collective", l, "bytes", "B", get([](const CollectiveStats& x) { return x.bytes; }));
    w.each("collective", l, "time", "s", get([](const CollectiveStats& x) { return x.mean_seconds; }));
    w.each("collective", l, "busbw", "B/s", get([](const CollectiveStats& x) { return x.busbw; }));
  }
  for (size_t rank = 0; rank < world; ++rank) {
    auto get = [&](double RankStats::*field) {
      return [&, field](const RunStats& r) { return rank < r.ranks.size() ? r.ranks[rank].*field : static_cast<double>(NAN); };
    };
    const std::string item = std::to_string(rank);
    w.each("rank", item, "compute", "s", get(&RankStats::compute));
    w.each("rank", item, "exposed_communication", "s", get(&RankStats::exposed));
    w.each("rank", item, "pipeline_bubble", "s", get(&RankStats::bubble));
    w.each("rank", item, "idle", "s", get(&RankStats::idle));
  }
  for (const auto& k : routes)
    w.each("route", k, "time_per_step", "s", [&](const RunStats& r) {
      for (const auto& rt : r.routes)
        if (rt.key == k) return rt.seconds;
      return static_cast<double>(NAN);
    });
  if (!c.runs.empty())
    for (size_t l = 0; l < c.runs.front().links.size(); ++l) {
      const std::string& name = c.runs.front().links[l].name;
      auto get = [&](double LinkStats::*field) {
        return [&, field](const RunStats& r) { return l < r.links.size() ? r.links[l].*field : static_cast<double>(NAN); };
      };
      w.each("link", name, "bytes_per_step_ab", "B", get(&LinkStats::bytes_up));
      w.each("link", name, "bytes_per_step_ba", "B", get(&LinkStats::bytes_down));
      w.each("link", name, "utilisation", "1", get(&LinkStats::utilisation));
      w.each("link", name, "comm_time_per_step", "s", get(&LinkStats::comm_seconds));
    }
  return w.str();
}

}  // namespace clustertwin::reports
