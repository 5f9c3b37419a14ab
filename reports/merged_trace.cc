#include "reports/merged_trace.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace clustertwin::reports {

std::string merged_trace(const Comparison& c) {
  nlohmann::json events = nlohmann::json::array();
  for (size_t i = 0; i < c.runs.size(); ++i) {
    const RunView& run = *c.runs[i].run;
    const int pid = static_cast<int>(i) + 1;
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"args", {{"name", c.runs[i].name}}}});
    events.push_back({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid}, {"args", {{"sort_index", pid}}}});
    for (int r = 0; r < run.world; ++r)
      for (int stream = 0; stream < 2; ++stream) {
        int tid = 2 * r + stream;
        events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", tid},
                          {"args", {{"name", fmt::format("rank {} {}", r, stream ? "communication" : "compute")}}}});
        events.push_back({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", pid}, {"tid", tid}, {"args", {{"sort_index", tid}}}});
      }
    double t0 = INFINITY;
    for (const auto& e : run.events) t0 = std::min(t0, e.start);
    for (const auto& e : run.events)
      events.push_back({{"name", run.labels[e.label]},
                        {"cat", run.phases[e.phase]},
                        {"ph", "X"},
                        {"ts", (e.start - t0) * 1e6},
                        {"dur", e.seconds() * 1e6},
                        {"pid", pid},
                        {"tid", 2 * e.rank + (e.kind == core::OpKind::Compute ? 0 : 1)},
                        {"args", {{"op", e.op}, {"step", e.step}, {"kind", core::name(e.kind)}, {"bytes", e.bytes}}}});
  }
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : c.runs) runs.push_back({{"name", r.name}, {"dir", r.run->dir}, {"backend", r.run->info.backend}});
  nlohmann::json j{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}, {"otherData", {{"runs", runs}}}};
  return j.dump();
}

}  // namespace clustertwin::reports
