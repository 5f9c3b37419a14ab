// report.md: the comparison as Markdown tables, every figure per run with its absolute and
// relative error against the reference (measured) run.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "core/format.h"
#include "core/run.h"
#include "reports/compare.h"
#include "topologies/topology.h"

namespace clustertwin::reports {

namespace {
using core::format_error_percent;
using core::format_seconds;
using core::format_signed_seconds;
using Fmt = std::function<std::string(double)>;

// Cells are seconds unless a row says otherwise (a lambda: format_seconds' default argument does
// not travel in a Fmt).
const Fmt kSeconds = [](double s) { return format_seconds(s); };
std::string num(double v) { return fmt::format("{:.2f}", v); }
constexpr double kNone = NAN;  // a figure this run does not have

bool two(const Comparison& c) { return c.runs.size() == 2 && c.paired(); }

// Header cells for one value per run, then the error columns, and their alignment row.
struct Head {
  std::string cells, align;
};

Head head(const Comparison& c) {
  Head h;
  for (const auto& r : c.runs) h.cells += fmt::format(" {} |", r.name), h.align += "---:|";
  if (two(c)) {
    h.cells += " Δ | error |", h.align += "---:|---:|";
  } else if (c.reference >= 0) {
    for (size_t i = 0; i < c.runs.size(); ++i)
      if (static_cast<int>(i) != c.reference) h.cells += fmt::format(" error {} |", c.runs[i].name), h.align += "---:|";
  }
  return h;
}

// The cells of one row: each run's value, then Δ and error against the reference. A NaN is a
// figure the run does not have: "-", and "not in run X" for its error.
std::string cells(const Comparison& c, const std::vector<double>& v, const Fmt& f = kSeconds,
                  const Fmt& delta = format_signed_seconds, Figure figure = Figure::Time) {
  auto shown = [](const Fmt& g, double x) { return std::isnan(x) ? std::string("-") : g(x); };
  std::string out;
  for (double x : v) out += fmt::format(" {} |", shown(f, x));
  if (two(c)) {
    double p = v[c.predicted], m = v[c.reference];
    out += fmt::format(" {} | {} |", shown(delta, p - m), format_error(error_cell(c, c.predicted, p, m, figure), figure));
  } else if (c.reference >= 0) {
    for (size_t i = 0; i < v.size(); ++i)
      if (static_cast<int>(i) != c.reference)
        out += fmt::format(" {} |", format_error(error_cell(c, static_cast<int>(i), v[i], v[c.reference], figure), figure));
  }
  return out;
}

std::string table_start(const Comparison& c, const std::string& first) {
  Head h = head(c);
  return fmt::format("| {} |{}\n|---|{}\n", first, h.cells, h.align);
}

// Each name (a collective's label, a route's key) that some run has, once, in the order first seen.
template <typename T>
std::vector<std::string> names(const Comparison& c, std::vector<T> RunStats::*items, std::string T::*name) {
  std::vector<std::string> out;
  for (const auto& r : c.runs)
    for (const auto& x : r.*items)
      if (std::find(out.begin(), out.end(), x.*name) == out.end()) out.push_back(x.*name);
  return out;
}

// The phases some run has: with time, or the waiting kinds every traced run has even at zero.
std::vector<std::string> phases_present(const Comparison& c) {
  std::vector<std::string> out;
  for (const auto& k : phase_order(c.runs)) {
    bool any = false;
    for (const auto& r : c.runs) any |= r.phases.count(k) && (r.phases.at(k) > 0 || k == "idle" || k == "exposed communication");
    if (any) out.push_back(k);
  }
  return out;
}

std::string header(const Comparison& c) {
  const RunView& first = *c.runs.front().run;
  std::string title = c.runs.size() == 1 ? fmt::format("# clustertwin: {} run", c.runs[0].name)
                      : two(c)            ? std::string("# clustertwin: predicted vs measured")
                                          : fmt::format("# clustertwin: {} runs", c.runs.size());
  // An imported run (interop/measured.h) states no rank count: world 0.
  std::string out = fmt::format("{}\n\n- workload: `{}`, {}{} steps\n", title, first.info.workload,
                                first.world > 0 ? fmt::format("{} ranks, ", first.world) : "", first.steps);
  for (const auto& r : c.runs)
    out += fmt::format("- {}: `{}` on topology `{}` ({}{})\n", r.name, r.run->dir, r.run->info.topology, r.run->info.detail,
                       r.run->info.calibration.empty() ? "" : "; " + r.run->info.calibration);
  for (const auto& r : c.runs)
    for (const auto& n : r.run->notes) out += fmt::format("- note ({}): {}\n", r.name, n);
  if (!c.same_program && !c.step_level)
    out += "\n> **Warning:** the runs executed different Programs (their program hashes differ): the comparison mixes "
           "a model error with a workload difference.\n";
  if (!c.verdict.empty()) out += fmt::format("\n**{}**\n", c.verdict);
  out += "\n";
  for (const auto& r : c.runs)
    if (!r.bound.empty()) out += fmt::format("- {}: {}\n", r.name, r.bound);
  for (const auto& r : c.runs)
    if (auto e = core::energy_text(r.run->info, r.run->summary); !e.empty()) out += fmt::format("- {} energy: {}\n", r.name, e);
  return out + "\n";
}

std::string hints(const Comparison& c) {
  if (!c.paired()) return {};
  std::string out = "## Likely causes\n\n";
  if (c.step_level) return out + "Not read: they rest on per-op residuals, and one run has step-level figures only.\n\n";
  if (!c.same_program)
    out += "Not read: the runs executed different Programs, so their differences are not only the model's.\n";
  else if (c.hints.empty())
    out += "No rule fired: compute, routes, message sizes and ranks are all off by less than the thresholds "
           "(reports/hints.h).\n";
  int i = 0;
  for (const auto& h : c.hints)
    out += fmt::format("{}. **{}** — {}.\n   *What to do:* {}.\n", ++i, h.cause, h.evidence, h.action);
  return out + "\n";
}

bool inference(const Comparison& c) {
  return std::any_of(c.runs.begin(), c.runs.end(), [](const RunStats& r) { return r.run->summary.time_to_first_token > 0; });
}

std::string step_table(const Comparison& c) {
  auto values = [&](auto get) {
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(get(r));
    return v;
  };
  std::string out = "## Step time\n\n" + table_start(c, "per step");
  out += fmt::format("| step time (mean) |{}\n", cells(c, values([](const RunStats& r) { return r.step_mean; })));
  out += fmt::format("| step time (p50) |{}\n", cells(c, values([](const RunStats& r) { return r.step_p50; })));
  out += fmt::format("| step time (p95) |{}\n", cells(c, values([](const RunStats& r) { return r.step_p95; })));
  auto signed_num = [](double d) { return fmt::format("{:+.2f}", d); };
  out += fmt::format("| samples/s |{}\n", cells(c, values([](const RunStats& r) {
                                                  return r.run->step_level() ? kNone : r.run->summary.samples_per_second;
                                                }),
                                                num, signed_num, Figure::Other));
  out += fmt::format("| tokens/s |{}\n", cells(c, values([](const RunStats& r) { return r.run->summary.tokens_per_second; }),
                                               num, signed_num, Figure::Other));
  if (inference(c)) {  // the mean over all steps mixes the prefill into the decode rate: show them apart
    out += fmt::format("| decode tokens/s |{}\n",
                       cells(c, values([](const RunStats& r) { return r.run->summary.decode_tokens_per_second; }), num,
                             signed_num, Figure::Other));
    out += fmt::format("| prefill tokens/s |{}\n",
                       cells(c, values([](const RunStats& r) { return r.run->summary.prefill_tokens_per_second; }), num,
                             signed_num, Figure::Other));
    out += fmt::format("| time to first token |{}\n",
                       cells(c, values([](const RunStats& r) { return r.run->summary.time_to_first_token; }), kSeconds));
  }
  if (c.step_level)  // the tools state a peak; a prediction its largest rank's requirement
    out += fmt::format("| memory (peak, largest rank) |{}\n",
                       cells(c, values([](const RunStats& r) { return r.run->peak_memory > 0 ? r.run->peak_memory : kNone; }),
                             [](double b) { return core::format_bytes(b); },
                             [](double d) { return (d < 0 ? "-" : "+") + core::format_bytes(std::abs(d)); }, Figure::Other));
  size_t steps = 0;
  for (const auto& r : c.runs) steps = std::max(steps, r.step_seconds.size());
  if (steps > 1 && !c.step_level) {
    out += "\n" + table_start(c, "step");
    const size_t shown = std::min<size_t>(steps, 30);
    for (size_t s = 0; s < shown; ++s)
      out += fmt::format("| {} |{}\n", s, cells(c, values([&](const RunStats& r) {
                                                  return s < r.step_seconds.size() ? r.step_seconds[s] : kNone;
                                                })));
    if (shown < steps) out += fmt::format("\n({} more steps in summary.csv.)\n", steps - shown);
  }
  return out + "\n";
}

std::string phase_table(const Comparison& c) {
  std::string out = "## Per phase (seconds per step, mean over ranks)\n\n" + table_start(c, "phase");
  for (const auto& k : phases_present(c)) {
    std::vector<double> v;
    for (const auto& r : c.runs) v.push_back(r.phases.count(k) ? r.phases.at(k) : kNone);
    out += fmt::format("| {} |{}\n", k, cells(c, v));
  }
  return out + "\n";
}

std::string collective_table(const Comparison& c) {
  auto labels = names(c, &RunStats::collectives, &CollectiveStats::label);
  if (labels.empty()) return {};
  Head h = head(c);
  std::string out = fmt::format("## Per collective (one occurrence, mean over ranks and steps)\n\n"
                                "| collective | kind / algorithm | ranks | size | × per step |{}",
                                h.cells);
  std::string align = "|---|---|---:|---:|---:|" + h.align;
  for (const auto& r : c.runs) out += fmt::format(" busbw {} |", r.name), align += "---:|";
  out += "\n" + align + "\n";
  for (const auto& label : labels) {
    std::vector<double> t, bw;
    const CollectiveStats* any = nullptr;
    for (const auto& r : c.runs) {
      const CollectiveStats* x = r.collective(label);
      t.push_back(x ? x->mean_seconds : kNone);
      bw.push_back(x ? x->busbw : 0);
      if (!any) any = x;
    }
    std::string kind = any->kind.empty() ? "-" : any->kind + " / " + any->algorithm;
    out += fmt::format("| {} | {} | {} | {} | {:g} |{}", label, kind, any->group_size ? fmt::format("{}", any->group_size) : "-",
                       core::format_bytes(any->bytes), any->per_step, cells(c, t));
    for (double b : bw) out += fmt::format(" {} |", core::format_rate(b));
    out += "\n";
  }
  return out + "\nbusbw = size / time × the nccl-tests factor of the kind (all-reduce 2(n−1)/n, all-gather and "
               "reduce-scatter (n−1)/n).\n\n";
}

std::string node_of(const RunStats& s, int rank) {
  const auto& t = s.run->topology;
  if (!t) return "-";
  auto nodes = t->rank_nodes();
  return rank < static_cast<int>(nodes.size()) ? t->nodes[nodes[rank]].name : "-";
}

std::string rank_table(const Comparison& c) {
  size_t world = 0;
  for (const auto& r : c.runs) world = std::max(world, r.ranks.size());
  if (world == 0) return {};
  const RunStats& ref = c.runs[c.reference >= 0 ? c.reference : 0];
  Head h = head(c);
  std::string out = fmt::format("## Per rank (seconds per step)\n\n| rank | node | compute:{}", h.cells);
  std::string align = "|---:|---|" + h.align;
  for (const auto& r : c.runs) out += fmt::format(" waiting {} |", r.name), align += "---:|";
  out += " note |\n" + align + "---|\n";
  const auto shown = ranks_to_show(ref, 64);
  for (size_t rank : shown) {
    std::vector<double> v, wait;
    for (const auto& r : c.runs) {
      const RankStats* rs = rank < r.ranks.size() ? &r.ranks[rank] : nullptr;
      v.push_back(rs ? rs->compute : kNone);
      wait.push_back(rs ? rs->not_computing() : kNone);
    }
    std::string note;
    if (auto over = compute_over_median(ref, rank))
      note = fmt::format("slowest: compute {} over the median ({})", format_error_percent(*over), ref.name);
    else if (rank < ref.ranks.size() && ref.ranks[rank].waited_for >= 0)
      note = fmt::format("waits {} for rank {} ({})", format_seconds(ref.ranks[rank].waited), ref.ranks[rank].waited_for,
                         ref.name);
    out += fmt::format("| {} | {} |{}", rank, node_of(c.runs.front(), static_cast<int>(rank)), cells(c, v));
    for (double w : wait) out += fmt::format(" {} |", std::isnan(w) ? "-" : format_seconds(w));
    out += fmt::format(" {} |\n", note);
  }
  if (shown.size() < world)
    out += fmt::format("\nThe {} of {} ranks with the most compute ({}); every rank is in summary.csv.\n", shown.size(),
                       world, ref.name);
  return out + "\nwaiting = exposed communication + waiting for a peer + pipeline bubble + idle.\n\n";
}

// The nodes of the first run's topology that forward in software: a resource beside the links,
// which every route through the node shares (a star's hub carries every spoke-to-spoke message).
std::string forwarder_table(const Comparison& c) {
  const RunStats& first = c.runs.front();
  if (first.forwarders.empty()) return {};
  Head h = head(c);
  std::string out = "\n| forwarding node | forward bandwidth | latency added | bytes per step through it |";
  std::string align = "|---|---:|---:|---:|";
  for (const auto& r : c.runs) out += fmt::format(" utilisation {} |", r.name), align += "---:|";
  out += " comm through it:" + h.cells + "\n" + align + h.align + "\n";
  for (size_t i = 0; i < first.forwarders.size(); ++i) {
    const auto& f = first.forwarders[i];
    out += fmt::format("| {} | {} | {} | {} |", f.name, core::format_bit_rate(f.bandwidth), format_seconds(f.latency),
                       core::format_bytes(f.bytes));
    std::vector<double> v;
    for (const auto& r : c.runs) {
      const bool has = i < r.forwarders.size();
      out += fmt::format(" {} |", has ? core::format_percent(r.forwarders[i].utilisation * 100) : "-");
      v.push_back(has ? r.forwarders[i].comm_seconds : kNone);
    }
    out += cells(c, v) + "\n";
  }
  return out + "\nA forwarding node passes on every message whose route crosses it (neither source nor destination) "
               "on its own CPU, both directions together: utilisation = bytes per step through it / (forward bandwidth "
               "× mean step time); each crossing adds its latency.\n";
}

// The links of the first run's topology: bytes, every run's utilisation, and the time of the routes over them.
std::string link_table(const Comparison& c) {
  const RunStats& first = c.runs.front();
  if (first.links.empty()) return {};
  Head h = head(c);
  std::string out = "\n| link | bytes per step a→b | b→a |";
  std::string align = "|---|---:|---:|";
  for (const auto& r : c.runs) out += fmt::format(" utilisation {} |", r.name), align += "---:|";
  out += " comm over it:" + h.cells + "\n" + align + h.align + "\n";
  for (size_t l = 0; l < first.links.size(); ++l) {
    const auto& L = first.links[l];
    out += fmt::format("| {} | {} | {} |", L.name, core::format_bytes(L.bytes_up), core::format_bytes(L.bytes_down));
    std::vector<double> v;
    for (const auto& r : c.runs) {
      double u = l < r.links.size() ? r.links[l].utilisation : 0;
      out += fmt::format(" {} |", core::format_percent(u * 100));
      v.push_back(l < r.links.size() ? r.links[l].comm_seconds : kNone);
    }
    out += cells(c, v) + "\n";
  }
  return out + "\nutilisation = bytes per step / (bandwidth × mean step time), busier direction; comm over it = time in "
               "the collectives and sends whose traffic crosses the link.\n" + forwarder_table(c);
}

std::string route_table(const Comparison& c) {
  auto keys = names(c, &RunStats::routes, &RouteStats::key);
  if (keys.empty()) return {};
  Head h = head(c);
  std::string out = "## Per route (time in its collectives and sends per step, summed over ranks)\n\n| route |" + h.cells +
                    " links |\n|---|" + h.align + "---|\n";
  for (const auto& k : keys) {
    std::vector<double> v;
    std::string links;
    for (const auto& r : c.runs) {
      const RouteStats* route = r.route(k);
      v.push_back(route ? route->seconds : kNone);
      if (links.empty() && route)
        for (int l : route->links) links += fmt::format("{}{}", links.empty() ? "" : ", ", r.links[l].name);
    }
    out += fmt::format("| {} |{} {} |\n", k, cells(c, v), links.empty() ? "-" : links);
  }
  return out + link_table(c) + "\n";
}

std::string worst_table(const Comparison& c) {
  if (!c.paired() || c.worst_labels.empty()) return {};
  const std::string& pn = c.runs[c.predicted].name;
  const std::string& mn = c.runs[c.reference].name;
  std::string out = fmt::format("## Worst offenders\n\n| op | per occurrence, {} | {} | Δ | error | × per step | Δ per step and "
                                "rank |\n|---|---:|---:|---:|---:|---:|---:|\n",
                                pn, mn);
  for (const auto& d : c.worst_labels)
    out += fmt::format("| {} | {} | {} | {} | {} | {:g} | {} |\n", d.label, format_seconds(d.predicted),
                       format_seconds(d.measured), format_signed_seconds(d.predicted - d.measured),
                       format_error(error_cell(c, c.predicted, d.predicted, d.measured)), d.per_step,
                       format_signed_seconds((d.predicted - d.measured) * d.per_step));
  out += fmt::format("\n| single op (rank, op id, step) | {} | {} | Δ | error |\n|---|---:|---:|---:|---:|\n", pn, mn);
  for (const auto& d : c.worst_ops)
    out += fmt::format("| {} (rank {}, op {}, step {}) | {} | {} | {} | {} |\n", d.label, d.rank, d.op, d.step,
                       format_seconds(d.predicted), format_seconds(d.measured),
                       format_signed_seconds(d.predicted - d.measured),
                       format_error(error_cell(c, c.predicted, d.predicted, d.measured)));
  out += fmt::format("\nMatched by (rank, op id): {} op executions; {} only in the {} run, {} only in the {} run.\n\n",
                     c.matched, c.only_predicted, pn, c.only_measured, mn);
  return out;
}
}  // namespace

std::string report_markdown(const Comparison& c) {
  if (c.runs.empty()) return "# clustertwin: no runs\n";
  if (c.step_level)
    return header(c) + hints(c) + step_table(c) + "## Not compared\n\n" + not_compared_note(c) + "\n\n" +
           (c.reference >= 0 ? error_floor_note(c) + "\n" : "");
  std::string out = header(c) + hints(c) + step_table(c) + phase_table(c) + collective_table(c) + rank_table(c) +
                    route_table(c) + worst_table(c);
  out += "Δ = predicted − measured; error = (predicted − measured) / measured. Phases are seconds per step averaged "
         "over ranks: compute by op phase, exposed communication (transfers with no compute running), waiting for a peer "
         "(in a collective before its last member arrives, nothing else running), pipeline bubble (in a recv before "
         "its sender sends, nothing else running) and idle add up to the step time.";
  if (c.reference >= 0 && c.runs.size() > 1) out += " " + error_floor_note(c);
  return out + "\n";
}

}  // namespace clustertwin::reports
