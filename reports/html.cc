// report.html: the page. Its charts come from charts.h and topology_chart.h; this file holds the
// layout, the tables, the header with the likely causes, and the page's style and script.
#include "reports/html.h"

#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/format.h"
#include "core/run.h"
#include "reports/charts.h"
#include "reports/svg.h"
#include "reports/topology_chart.h"

namespace clustertwin::reports {

namespace {
using svg::esc;

std::string seconds(double s) { return std::isnan(s) ? "-" : core::format_seconds(s, core::Zero::Bare); }
constexpr double kNone = NAN;  // a figure this run does not have

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                   const std::string& id) {
  std::string out = fmt::format("<table id=\"{}\"><thead><tr>", id);
  for (const auto& h : head) out += "<th>" + esc(h) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const auto& cell : r) out += "<td>" + esc(cell) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

std::vector<std::string> run_head(const Comparison& c, const std::string& first) {
  std::vector<std::string> h{first};
  for (const auto& r : c.runs) h.push_back(r.name);
  if (c.paired()) h.push_back("error");
  return h;
}

// One time per run, then the predicted run's error against the reference when there is a pair.
void add_times(std::vector<std::string>& row, const Comparison& c, const std::vector<double>& v) {
  for (double x : v) row.push_back(seconds(x));
  if (c.paired()) row.push_back(format_error(error_cell(c, c.predicted, v[c.predicted], v[c.reference])));
}

// Links and forwarding nodes of the first run's topology, each with its bytes per step and every
// run's utilisation: the resources a step's communication shares.
std::string resource_table(const Comparison& c) {
  const RunStats& first = c.runs.front();
  if (first.links.empty() && first.forwarders.empty()) return {};
  std::vector<std::string> head{"resource", "capacity", "bytes per step"};
  for (const auto& r : c.runs) head.push_back("utilisation " + r.name);
  std::vector<std::vector<std::string>> rows;
  for (size_t l = 0; l < first.links.size(); ++l) {
    const auto& L = first.links[l];
    std::vector<std::string> row{"link " + L.name, core::format_bit_rate(L.bandwidth),
                                 core::format_bytes(L.bytes_up) + " / " + core::format_bytes(L.bytes_down)};
    for (const auto& r : c.runs)
      row.push_back(l < r.links.size() ? core::format_percent(r.links[l].utilisation * 100) : "-");
    rows.push_back(std::move(row));
  }
  for (size_t i = 0; i < first.forwarders.size(); ++i) {
    const auto& f = first.forwarders[i];
    std::vector<std::string> row{"forwarding node " + f.name,
                                 core::format_bit_rate(f.bandwidth) + ", +" + core::format_seconds(f.latency) + " a crossing",
                                 core::format_bytes(f.bytes)};
    for (const auto& r : c.runs)
      row.push_back(i < r.forwarders.size() ? core::format_percent(r.forwarders[i].utilisation * 100) : "-");
    rows.push_back(std::move(row));
  }
  return table(head, rows, "table-resources") +
         "<p class=\"note\">Links: bytes a→b / b→a, utilisation in the busier direction. A forwarding node passes on "
         "every message whose route crosses it, on its own CPU and in both directions together: utilisation = bytes "
         "through it / (forward bandwidth × mean step time).</p>";
}

std::string collective_table(const Comparison& c) {
  const RunStats& base = c.runs[c.paired() ? c.predicted : 0];
  if (base.collectives.empty()) return {};
  std::vector<std::string> head = run_head(c, "collective");
  head.insert(head.begin() + 1, {"kind / algorithm", "ranks", "size"});
  for (const auto& r : c.runs) head.push_back("busbw " + r.name);
  std::vector<std::vector<std::string>> rows;
  for (const auto& col : base.collectives) {
    std::vector<std::string> row{col.label, col.kind.empty() ? "-" : col.kind + " / " + col.algorithm,
                                 col.group_size ? std::to_string(col.group_size) : "-", core::format_bytes(col.bytes)};
    std::vector<double> t, bw;
    for (const auto& r : c.runs) {
      const CollectiveStats* x = r.collective(col.label);
      t.push_back(x ? x->mean_seconds : kNone);
      bw.push_back(x ? x->busbw : 0);
    }
    add_times(row, c, t);
    for (double b : bw) row.push_back(core::format_rate(b));
    rows.push_back(std::move(row));
    if (rows.size() == 30) break;
  }
  return "<h2>Collectives (one occurrence)</h2>" + table(head, rows, "table-collectives");
}

// Compute per rank and run, the slowest ranks of the reference run flagged.
std::string rank_table(const Comparison& c) {
  const RunStats& ref = c.runs[c.reference >= 0 ? c.reference : 0];
  if (ref.ranks.empty()) return {};
  std::vector<std::string> head{"rank"};
  for (const auto& r : c.runs) head.push_back("compute " + r.name);
  if (c.paired()) head.push_back("error");
  for (const auto& r : c.runs) head.push_back("waiting " + r.name);
  head.push_back("note");
  std::vector<std::vector<std::string>> rows;
  const auto shown = ranks_to_show(ref, 64);
  for (size_t rank : shown) {
    std::vector<std::string> row{std::to_string(rank)};
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(rank < r.ranks.size() ? r.ranks[rank].compute : kNone);
    add_times(row, c, v);
    for (const auto& r : c.runs) row.push_back(rank < r.ranks.size() ? seconds(r.ranks[rank].not_computing()) : "-");
    auto over = compute_over_median(ref, rank);
    row.push_back(over ? fmt::format("slowest: compute {} over the median", core::format_error_percent(*over)) : "");
    rows.push_back(std::move(row));
  }
  std::string note = "waiting = exposed communication + pipeline bubble + idle.";
  if (shown.size() < ref.ranks.size())
    note += fmt::format(" The {} of {} ranks with the most compute; every rank is in summary.csv.", shown.size(),
                        ref.ranks.size());
  return "<h2>Ranks (seconds per step)</h2>" + table(head, rows, "table-ranks") + "<p class=\"note\">" + note + "</p>";
}

std::string worst_table(const Comparison& c) {
  if (!c.paired() || c.worst_labels.empty()) return {};
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : c.worst_labels)
    rows.push_back({d.label, seconds(d.predicted), seconds(d.measured),
                    format_error(error_cell(c, c.predicted, d.predicted, d.measured)), fmt::format("{:g}", d.per_step)});
  const std::string& pn = c.runs[c.predicted].name;
  const std::string& mn = c.runs[c.reference].name;
  return "<h2>Worst offenders</h2>" +
         table({"op", pn + " (one occurrence)", mn, "error", "× per step"}, rows, "table-worst") +
         fmt::format("<p class=\"note\">Matched by (rank, op id): {} op executions; {} only in {}, {} only in {}. Every "
                     "figure is in report.md and summary.csv.</p>",
                     c.matched, c.only_predicted, esc(pn), c.only_measured, esc(mn));
}

std::string tables(const Comparison& c) {
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const std::string& first, auto get) {
    std::vector<std::string> row{first};
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(get(r));
    add_times(row, c, v);
    rows.push_back(std::move(row));
  };
  add("step time (mean)", [](const RunStats& r) { return r.step_mean; });
  add("step time (p95)", [](const RunStats& r) { return r.step_p95; });
  for (const auto& p : phases_drawn(c))
    add(p, [&](const RunStats& r) { return r.phases.count(p) ? r.phases.at(p) : kNone; });
  std::string note = c.paired() ? "<p class=\"note\">" + esc(error_floor_note(c)) + "</p>" : "";
  return "<h2>Figures per step</h2>" + table(run_head(c, "per step"), rows, "table-steps") + note + collective_table(c) +
         rank_table(c) + worst_table(c);
}

// The figures a step-level comparison (a run imported from another tool) has: step time,
// throughput, time to first token and memory, each with its error against the reference.
std::string step_level_tables(const Comparison& c) {
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const std::string& first, auto get, auto show, Figure f) {
    std::vector<std::string> row{first};
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(get(r));
    for (double x : v) row.push_back(std::isnan(x) || x <= 0 ? "-" : show(x));
    if (c.paired()) row.push_back(format_error(error_cell(c, c.predicted, v[c.predicted], v[c.reference], f), f));
    rows.push_back(std::move(row));
  };
  auto secs = [](double x) { return seconds(x); };
  auto rate = [](double x) { return fmt::format("{:.2f}", x); };
  add("step time (mean)", [](const RunStats& r) { return r.step_mean; }, secs, Figure::Time);
  add("decode tokens/s", [](const RunStats& r) { return r.run->summary.decode_tokens_per_second; }, rate, Figure::Other);
  add("prefill tokens/s", [](const RunStats& r) { return r.run->summary.prefill_tokens_per_second; }, rate, Figure::Other);
  add("time to first token", [](const RunStats& r) { return r.run->summary.time_to_first_token; }, secs, Figure::Time);
  add("memory (peak, largest rank)", [](const RunStats& r) { return r.run->peak_memory > 0 ? r.run->peak_memory : kNone; },
      [](double b) { return core::format_bytes(b); }, Figure::Other);
  return "<h2>Figures per step</h2>" + table(run_head(c, "per step"), rows, "table-steps") + "<h2>Not compared</h2><p>" +
         esc(not_compared_note(c)) + "</p>";
}

std::string header(const Comparison& c) {
  const RunView& first = *c.runs.front().run;
  std::string title = c.runs.size() == 1 ? fmt::format("{} run", c.runs[0].name)
                      : c.runs.size() == 2 && c.paired() ? std::string("predicted vs measured")
                                                          : fmt::format("{} runs", c.runs.size());
  std::string out = fmt::format("<h1>clustertwin: {}</h1><p class=\"meta\">workload <b>{}</b>, {}{} steps</p><ul class=\"runs\">",
                                esc(title), esc(first.info.workload),
                                first.world > 0 ? fmt::format("{} ranks, ", first.world) : "", first.steps);
  for (const auto& r : c.runs)
    out += fmt::format("<li><b>{}</b>: {} on topology <b>{}</b> ({}{}): step {}</li>", esc(r.name), esc(r.run->dir),
                       esc(r.run->info.topology), esc(r.run->info.detail),
                       esc(r.run->info.calibration.empty() ? "" : "; " + r.run->info.calibration), esc(seconds(r.step_mean)));
  out += "</ul>";
  for (const auto& r : c.runs)
    for (const auto& n : r.run->notes) out += fmt::format("<p class=\"warn\">{}: {}</p>", esc(r.name), esc(n));
  if (!c.same_program && !c.step_level) out += "<p class=\"warn\">The runs executed different Programs: the comparison mixes a model error with a workload difference.</p>";
  if (!c.verdict.empty()) out += "<p class=\"verdict\">" + esc(c.verdict) + "</p>";
  for (const auto& r : c.runs)
    if (!r.bound.empty()) out += fmt::format("<p class=\"bound\"><b>{}</b>: {}</p>", esc(r.name), esc(r.bound));
  for (const auto& r : c.runs)
    if (auto e = core::energy_text(r.run->info, r.run->summary); !e.empty())
      out += fmt::format("<p class=\"energy\"><b>{}</b> energy: {}</p>", esc(r.name), esc(e));
  if (c.paired()) {
    out += "<h2>Likely causes</h2><ol id=\"hints\">";
    for (const auto& h : c.hints)
      out += fmt::format("<li class=\"hint\"><b>{}</b><br>{}.<br><i>What to do:</i> {}.</li>", esc(h.cause),
                         esc(h.evidence), esc(h.action));
    out += "</ol>";
    if (c.step_level) out += "<p>Not read: the measured figures are step-level only, and the causes rest on per-op residuals.</p>";
    else if (!c.same_program) out += "<p>Not read: the runs executed different Programs.</p>";
    else if (c.hints.empty()) out += "<p>No rule fired: every residual is under its threshold.</p>";
  }
  return out;
}

constexpr const char* kHead = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clustertwin report</title>
<script>
// Any script error, or anything the page tries to load, is written into the page, where the
// report's tests (and a reader) find it.
(function () {
  function mark(what) {
    var d = document.documentElement;
    d.setAttribute('data-js-error', (d.getAttribute('data-js-error') || '') + what + '; ');
  }
  window.addEventListener('error', function (e) { mark(e.message || 'resource failed to load'); }, true);
  window.addEventListener('unhandledrejection', function (e) { mark(String(e.reason)); });
  document.addEventListener('securitypolicyviolation', function (e) { mark('blocked ' + e.blockedURI); });
})();
</script>
<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 960px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta, .note { color: #555; } .note { font-size: 12px; } .warn { color: #a00; font-weight: bold; }
.verdict { font-weight: bold; background: #f4f6f9; padding: 8px 12px; border-left: 4px solid #4e79a7; }
.bound { background: #f9f6f0; padding: 6px 12px; border-left: 4px solid #f28e2b; }
.hint { margin-bottom: 8px; } .missing { color: #777; font-style: italic; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { font-size: 11px; fill: #333; } .tick { fill: #666; font-size: 10px; } .lanelabel { font-size: 8px; fill: #555; }
.grid { stroke: #eee; } .axis { stroke: #999; } .value { font-weight: bold; } .nodename { font-weight: bold; }
.linklabel { fill: #333; font-size: 10px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; } .legend i { display: inline-block; width: 11px; height: 11px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; } td, th { border-bottom: 1px solid #e5e5e5; padding: 3px 10px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
</style></head><body>
)";

constexpr const char* kTail = R"(<script>
// What the browser made of the charts, for the tests that open the page in Chromium: the number
// of marks each chart holds and whether it has a size on screen.
(function () {
  var marks = {'chart-breakdown': 'g.bar', 'chart-steps': 'circle.pt', 'chart-collectives': 'g.row',
               'chart-timelines': 'g.lane', 'chart-topology': 'g.node'};
  for (var id in marks) {
    var e = document.getElementById(id);
    if (!e) continue;
    e.setAttribute('data-marks', String(e.querySelectorAll(marks[id]).length));
    var box = e.getBoundingClientRect();
    e.setAttribute('data-visible', box.width > 0 && box.height > 0 ? '1' : '0');
  }
})();
document.documentElement.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
void document.body.getBoundingClientRect();  // layout included in the time
document.documentElement.setAttribute('data-render-ms', String(Math.round(performance.now())));
document.documentElement.setAttribute('data-rendered', 'ok');
</script>
</body></html>
)";
}  // namespace

std::string report_html(const Comparison& c) {
  if (c.runs.empty()) return std::string(kHead) + "<p>No runs.</p>" + kTail;
  std::string out = kHead;
  out += header(c);
  if (c.step_level) return out + step_level_tables(c) + kTail;
  out += "<h2>Step time breakdown</h2><p class=\"note\">Seconds per step, mean over ranks; the phases add up to the "
         "step time.</p>" + breakdown_chart(c);
  out += "<h2>Step time over steps</h2>" + steps_chart(c);
  out += std::string("<h2>Per collective</h2>") + collectives_chart(c);
  out += "<h2>Per-rank timelines</h2>" + timelines_chart(c);
  out += "<h2>Topology and link utilisation</h2>" + topology_chart(c) + resource_table(c);
  out += tables(c);
  out += "<p class=\"note\">Written by clustertwin; report.md has every table, summary.csv every figure, trace.json "
         "every op (open it in https://ui.perfetto.dev).</p>";
  return out + kTail;
}

}  // namespace clustertwin::reports
