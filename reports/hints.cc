#include "reports/hints.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/format.h"
#include "reports/bottleneck.h"
#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::reports {

namespace {
using core::format_error_percent;
using core::format_percent;
using core::format_rate;
using core::format_seconds;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const topo::Topology* topology_of(const RunStats& p, const RunStats& m) {
  if (p.run && p.run->topology) return p.run->topology.get();
  if (m.run && m.run->topology) return m.run->topology.get();
  return nullptr;
}

std::string device_names(const topo::Topology* t) {
  if (!t) return "";
  std::set<std::string> names;
  for (int i : t->compute_nodes())
    if (t->nodes[i].device) names.insert(t->nodes[i].device->preset);
  std::string out;
  for (const auto& n : names) out += fmt::format("{}'{}'", out.empty() ? "" : ", ", n);
  return out;
}

bool compute_everywhere(const RunStats& p, const RunStats& m, std::vector<Hint>& out) {
  std::vector<double> errs;
  double sp = 0, sm = 0;
  for (size_t r = 0; r < p.ranks.size() && r < m.ranks.size(); ++r) {
    if (m.ranks[r].compute <= 0) continue;
    errs.push_back(error_percent(p.ranks[r].compute, m.ranks[r].compute));
    sp += p.ranks[r].compute, sm += m.ranks[r].compute;
  }
  if (errs.empty()) return false;
  auto [lo, hi] = std::minmax_element(errs.begin(), errs.end());
  double med = median(errs);
  bool all_off = std::all_of(errs.begin(), errs.end(), [&](double e) { return std::abs(e) >= 10 && (e > 0) == (med > 0); });
  if (!all_off || *hi - *lo > std::max(10.0, std::abs(med) / 2)) return false;
  const double n = static_cast<double>(errs.size());
  std::string devices = device_names(topology_of(p, m));
  out.push_back({"compute is off on every rank: the device figures",
                 fmt::format("compute per step and rank: predicted {}, measured {} ({}); every rank between {} and {}",
                             format_seconds(sp / n), format_seconds(sm / n), format_error_percent(error_percent(sp, sm)),
                             format_error_percent(*lo), format_error_percent(*hi)),
                 fmt::format("the device preset{} does not match this hardware: override the sustained figures "
                             "(peak_fp32 and compute_efficiency, or memory_bandwidth for memory-bound ops) on the "
                             "nodes in the topology; scaling them by {:.2f} matches this run",
                             devices.empty() ? "" : " (" + devices + ")", sp / sm),
                 std::abs(sm - sp) / n});
  return true;
}

bool one_rank_slow(const RunStats& p, const RunStats& m, std::vector<Hint>& out) {
  const size_t n = std::min(p.ranks.size(), m.ranks.size());
  if (n < 2) return false;
  std::vector<double> ratio(n, 0);
  for (size_t r = 0; r < n; ++r)
    if (p.ranks[r].compute > 0) ratio[r] = m.ranks[r].compute / p.ranks[r].compute;
  std::vector<size_t> slow;
  std::vector<double> others_error(n);  // median error of the other ranks' compute
  for (size_t r = 0; r < n; ++r) {
    std::vector<double> others, errors;
    for (size_t o = 0; o < n; ++o)
      if (o != r) others.push_back(ratio[o]), errors.push_back(error_percent(p.ranks[o].compute, m.ranks[o].compute));
    others_error[r] = median(errors);
    double others_ratio = median(others);
    if (ratio[r] > 1.1 && others_ratio > 0 && ratio[r] > 1.2 * others_ratio) slow.push_back(r);
  }
  if (slow.empty() || slow.size() > std::max<size_t>(1, n / 4)) return false;
  const auto* t = topology_of(p, m);
  for (size_t r : slow) {
    double p_c = p.ranks[r].compute, m_c = m.ranks[r].compute;
    out.push_back({fmt::format("one rank is slow: {}", rank_name(t, static_cast<int>(r))),
                   fmt::format("rank {} compute per step: predicted {}, measured {} ({}); the other ranks' compute error "
                               "is {} (median)",
                               r, format_seconds(p_c), format_seconds(m_c), format_error_percent(error_percent(p_c, m_c)),
                               format_error_percent(others_error[r])),
                   "a straggler (background load, thermal throttling, a slower device than the topology says, such "
                   "as a Pi in the ring): every collective waits for it, so the other ranks' exposed communication "
                   "grows; check the node's device in the topology, or take it out of the ring",
                   m_c - p_c});
  }
  return true;
}

struct RouteErr {
  const RouteStats* p;
  const RouteStats* m;
  double err;
};

std::string link_names(const RunStats& s, const RouteStats& r) {
  std::string out;
  for (int l : r.links)
    if (l < static_cast<int>(s.links.size())) out += fmt::format("{}{}", out.empty() ? "" : ", ", s.links[l].name);
  return out;
}

// Several routes off and others right: the links every off route crosses and no right route
// does are the suspects.
bool routes_over_a_link_off(const RunStats& p, const RunStats& m, const std::vector<RouteErr>& errs,
                            std::vector<Hint>& out) {
  std::vector<const RouteErr*> off, ok;
  for (const auto& e : errs) {
    if (std::abs(e.err) >= 25) off.push_back(&e);
    else if (std::abs(e.err) <= 10) ok.push_back(&e);
  }
  if (off.size() < 2 || ok.empty() || off.size() + ok.size() != errs.size()) return false;
  std::set<int> suspects(off[0]->p->links.begin(), off[0]->p->links.end());
  for (const auto* e : off) {
    std::set<int> mine(e->p->links.begin(), e->p->links.end()), both;
    std::set_intersection(suspects.begin(), suspects.end(), mine.begin(), mine.end(), std::inserter(both, both.end()));
    suspects = both;
  }
  for (const auto* e : ok)
    for (int l : e->p->links) suspects.erase(l);
  if (suspects.empty()) return false;
  std::string names;
  for (int l : suspects) names += fmt::format("{}{}", names.empty() ? "" : ", ", p.links[l].name);
  double lo = INFINITY, hi = -INFINITY, within = 0, dp = 0, dm = 0;
  for (const auto* e : off) lo = std::min(lo, e->err), hi = std::max(hi, e->err), dp += e->p->seconds, dm += e->m->seconds;
  for (const auto* e : ok) within = std::max(within, std::abs(e->err));
  out.push_back({fmt::format("the routes over {} are off: that link's figures", names),
                 fmt::format("{} routes crossing it are off by {} to {} (predicted {}, measured {} per step); the {} route{} not "
                             "cross it within {}",
                             off.size(), format_error_percent(lo), format_error_percent(hi), format_seconds(dp),
                             format_seconds(dm), ok.size(), ok.size() > 1 ? "s that do" : " that does", format_percent(within)),
                 "the link's figures (bandwidth, latency, per-message overhead) are wrong, or the cable is: measure it "
                 "with `clustertwin probe -t TOPO -o calibration.yaml`, then predict again with `clustertwin predict "
                 "--calibration calibration.yaml` (or write the figures into the link's entry in the topology)",
                 std::abs(dm - dp) / std::max(1, static_cast<int>(m.ranks.size()))});
  return true;
}

bool one_route_off(const RunStats& p, const RunStats& m, std::vector<Hint>& out) {
  std::map<std::string, const RouteStats*> pred;
  for (const auto& r : p.routes) pred[r.key] = &r;
  std::vector<RouteErr> errs;
  for (const auto& r : m.routes) {
    auto it = pred.find(r.key);
    if (it != pred.end() && r.seconds > 0) errs.push_back({it->second, &r, error_percent(it->second->seconds, r.seconds)});
  }
  if (errs.size() < 2) return false;
  std::sort(errs.begin(), errs.end(), [](const RouteErr& a, const RouteErr& b) { return std::abs(a.err) > std::abs(b.err); });
  double others = 0;
  for (size_t i = 1; i < errs.size(); ++i) others = std::max(others, std::abs(errs[i].err));
  const RouteErr& w = errs[0];
  if (std::abs(w.err) < 25) return false;
  if (others > std::max(10.0, std::abs(w.err) / 3)) return routes_over_a_link_off(p, m, errs, out);
  std::string links = link_names(p, *w.p);
  out.push_back({fmt::format("one route is off: {}", w.m->key),
                 fmt::format("{}: communication per step predicted {}, measured {} ({}){}; the other {} route{} within {}",
                             w.m->key, format_seconds(w.p->seconds), format_seconds(w.m->seconds), format_error_percent(w.err),
                             links.empty() ? "" : ", over " + links, errs.size() - 1, errs.size() > 2 ? "s" : "",
                             format_percent(others)),
                 "that route's link figures (bandwidth, latency, per-message overhead) are wrong: measure the pair "
                 "with `clustertwin probe -t TOPO -o calibration.yaml`, then predict again with `clustertwin predict "
                 "--calibration calibration.yaml`",
                 std::abs(w.m->seconds - w.p->seconds) / std::max(1, static_cast<int>(m.ranks.size()))});
  return true;
}

bool small_vs_large(const RunStats& p, const RunStats& m, std::vector<Hint>& out) {
  if (!p.run || !m.run) return false;
  std::map<uint64_t, const OpEvent*> pred;
  for (const auto& e : p.run->events)
    if (e.kind == core::OpKind::Collective || e.kind == core::OpKind::Send) pred[(uint64_t(e.rank) << 32) | e.op] = &e;
  double sp = 0, sm = 0, lp = 0, lm = 0;
  int ns = 0, nl = 0;
  for (const auto& e : m.run->events) {
    auto it = pred.find((uint64_t(e.rank) << 32) | e.op);
    if (it == pred.end()) continue;
    if (e.bytes < kSmallMessage) sp += it->second->seconds(), sm += e.seconds(), ++ns;
    else if (e.bytes >= kLargeMessage) lp += it->second->seconds(), lm += e.seconds(), ++nl;
  }
  if (ns == 0 || nl == 0) return false;
  double es = error_percent(sp, sm), el = error_percent(lp, lm);
  if (std::abs(es) < 25 || std::abs(el) > 10) return false;
  out.push_back({"small messages are off, large ones right: the per-message overhead",
                 fmt::format("{} transfers under 256 KiB: predicted {}, measured {} each on average ({}); {} of 4 MiB "
                             "or more: {}",
                             ns, format_seconds(sp / ns), format_seconds(sm / ns), format_error_percent(es), nl,
                             format_error_percent(el)),
                 fmt::format("a fixed cost per message is off, not the bandwidth: the link type's `overhead` "
                             "(software cost per message at each endpoint) or its latency; measured minus predicted "
                             "is {} per small transfer",
                             format_seconds((sm - sp) / ns)),
                 std::abs(sm - sp) / std::max(1, m.run->steps) / std::max<size_t>(1, m.ranks.size())});
  return true;
}

// Collectives measured at Wi-Fi rates where the cables were predicted.
std::string slow_collectives(const RunStats& p, const RunStats& m, const topo::Topology& t, double bw) {
  std::map<std::string, const CollectiveStats*> pred;
  for (const auto& c : p.collectives) pred[c.label] = &c;
  for (const auto& c : m.collectives) {
    auto it = pred.find(c.label);
    if (it == pred.end() || c.busbw <= 0) continue;
    double pb = it->second->busbw;
    if (c.busbw > 1.5 * bw || pb < 3 * bw) continue;
    return fmt::format("{}: bus bandwidth measured {}, predicted {}; the control network ({}) carries {}", c.label,
                       format_rate(c.busbw), format_rate(pb), t.control_network, format_rate(bw));
  }
  return {};
}

// The coordinator's clock ping-pong goes to each rank's address: a round trip near the control
// network's, far above the data route's, says the address (or the OS's route to it) is on Wi-Fi.
std::string slow_round_trips(const RunView& run, const topo::Topology& t, double control_latency) {
  auto nodes = t.rank_nodes();
  if (run.clock_rtt.empty() || nodes.size() != run.clock_rtt.size()) return {};
  int coord = nodes[0];
  for (int n : nodes)
    if (t.nodes[n].role == "coordinator") coord = n;
  topo::Routes routes(t);
  std::vector<std::string> found;
  for (size_t r = 0; r < nodes.size(); ++r) {
    if (nodes[r] == coord || !routes.reachable(coord, nodes[r])) continue;
    const double data =
        topo::route_latency(t, routes.between(coord, nodes[r])) + topo::route_latency(t, routes.between(nodes[r], coord));
    double rtt = run.clock_rtt[r];
    if (rtt < 0.5 * 2 * control_latency || rtt < 4 * data) continue;
    found.push_back(fmt::format("rank {} (node {}) {} where the data route takes {}", r, t.nodes[nodes[r]].name,
                                format_seconds(rtt), format_seconds(data)));
  }
  if (found.empty()) return {};
  std::string list;
  for (size_t i = 0; i < found.size() && i < 3; ++i) list += (i ? "; " : "") + found[i];
  if (found.size() > 3) list += fmt::format("; and {} more ranks", found.size() - 3);
  return fmt::format("the coordinator's ping-pong round trip from node {}: {}; the control network ({}) takes {}",
                     t.nodes[coord].name, list, t.control_network, format_seconds(2 * control_latency));
}

bool wrong_interface(const RunStats& p, const RunStats& m, std::vector<Hint>& out) {
  const auto* t = topology_of(p, m);
  if (!t || t->control_network.empty()) return false;
  const topo::LinkType* control = topo::find_link_type(t->control_network);
  if (!control || control->bandwidth <= 0) return false;
  std::string evidence = slow_collectives(p, m, *t, control->bandwidth);
  std::string rtt = m.run ? slow_round_trips(*m.run, *t, control->latency) : "";
  if (evidence.empty() && rtt.empty()) return false;
  if (!rtt.empty()) evidence += (evidence.empty() ? "" : "; ") + rtt;
  out.push_back({"traffic on the Wi-Fi / control network: the wrong interface", evidence,
                 "the workers' traffic likely left the data cables: check that every node's `address:` is its "
                 "Thunderbolt / Ethernet address and that the OS routes the peers over that cable (`route get "
                 "PEER` on macOS, `ip route get PEER` on Linux)",
                 std::abs(m.phase("exposed communication") - p.phase("exposed communication"))});
  return true;
}

void communication_off(const RunStats& p, const RunStats& m, std::vector<Hint>& out) {
  double pc = 0, mc = 0;
  for (const auto& r : p.routes) pc += r.seconds;
  for (const auto& r : m.routes) mc += r.seconds;
  if (mc <= 0 || std::abs(error_percent(pc, mc)) < 25) return;
  const double n = std::max<size_t>(1, m.ranks.size());
  out.push_back({"communication is off on every route: the link figures",
                 fmt::format("time in collectives and sends per step and rank: predicted {}, measured {} ({})",
                             format_seconds(pc / n), format_seconds(mc / n), format_error_percent(error_percent(pc, mc))),
                 "the links' bandwidth, latency or per-message overhead do not match this network: measure them "
                 "with `clustertwin probe -t TOPO -o calibration.yaml`, then predict again with `clustertwin predict "
                 "--calibration calibration.yaml`",
                 std::abs(mc - pc) / n});
}
}  // namespace

std::vector<Hint> likely_causes(const RunStats& p, const RunStats& m) {
  std::vector<Hint> out;
  // A straggler makes the others wait inside collectives: that is its effect, not a link's.
  bool explained = !compute_everywhere(p, m, out) && one_rank_slow(p, m, out);
  bool comm = wrong_interface(p, m, out);
  comm |= one_route_off(p, m, out);
  comm |= small_vs_large(p, m, out);
  if (!comm && !explained) communication_off(p, m, out);
  std::stable_sort(out.begin(), out.end(), [](const Hint& a, const Hint& b) { return std::abs(a.weight) > std::abs(b.weight); });
  return out;
}

}  // namespace clustertwin::reports
