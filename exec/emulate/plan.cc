// plan_emulation(): the topology as a list of `ip` and `tc` commands. Pure data, so it is tested
// without root and printed by `emulate up --dry-run`.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/diag.h"
#include "exec/emulate/emulation.h"
#include "exec/emulate/frames.h"
#include "topologies/address.h"
#include "topologies/routing.h"

namespace clustertwin::exec::emulate {

namespace {
using Argv = std::vector<std::string>;

std::string clean(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ? c : '-';
  return out;
}

// A Linux interface name: at most 15 characters, no '/', ':' or spaces.
bool valid_ifname(const std::string& s) {
  return !s.empty() && s.size() <= 15 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

[[noreturn]] void fail(const topo::Topology& t, const core::SourcePos& pos, const std::string& msg, const std::string& hint) {
  std::string line = pos.line > 0 ? t.source_line(pos.line) : "";
  throw core::InputError(core::format_diagnostic(pos, line, msg, hint));
}

class Planner {
 public:
  Planner(const topo::Topology& t, const EmulateOptions& o) : t_(t), o_(o) {
    p_.topology = t.name;
    p_.prefix = o.prefix.empty() ? default_prefix(t) : o.prefix;
    p_.scale = o.scale;
    p_.node_namespace.assign(t.nodes.size(), "");
    p_.node_address.assign(t.nodes.size(), "");
    dev_a_.assign(t.links.size(), "");
    dev_b_.assign(t.links.size(), "");
  }

  EmulationPlan build() {
    namespaces();
    veths();
    if (t_.ip_mode)
      ip_mode();
    else
      host_routes();
    bring_up();
    forwarding();
    if (!o_.delay)
      p_.notes.push_back("link latency not emulated (pass --delay): only bandwidth is shaped");
    else
      delay_paths();
    for (const auto& l : t_.links)
      if (!l.type.full_duplex) {
        p_.notes.push_back("half-duplex links are emulated as full duplex (each direction shaped on its own)");
        break;
      }
    return std::move(p_);
  }

 private:
  void add(Argv argv) { p_.commands.push_back(std::move(argv)); }
  void in_ns(const std::string& ns, Argv argv) {
    Argv a = {"ip", "-n", ns};
    a.insert(a.end(), argv.begin(), argv.end());
    add(std::move(a));
  }
  const std::string& ns(int node) const { return p_.node_namespace[node]; }

  void namespaces() {
    std::set<int> used;
    for (const auto& l : t_.links) used.insert({l.a, l.b});
    for (int n : t_.compute_nodes()) used.insert(n);
    for (int n : used) {
      p_.node_namespace[n] = namespace_name(p_.prefix, t_.nodes[n].name);
      p_.namespaces.push_back(p_.node_namespace[n]);
      add({"ip", "netns", "add", p_.node_namespace[n]});
      in_ns(ns(n), {"link", "set", "lo", "up"});
    }
  }

  // The name of a link's device at one end: the interface's own name when the link is the only one
  // on it (IP mode), the port name when written, else l<index>.
  std::string device_name(int link, bool end_a) {
    const topo::Link& l = t_.links[link];
    int node = end_a ? l.a : l.b, iface = end_a ? l.iface_a : l.iface_b;
    const std::string& port = end_a ? l.port_a : l.port_b;
    if (iface >= 0 && links_on(node, iface) == 1 && valid_ifname(t_.nodes[node].interfaces[iface].name))
      return t_.nodes[node].interfaces[iface].name;
    // Several cables on one interface become ports of a bridge named after it: a port may not take
    // the bridge's name (a hybrid's `ports: [bridge0, bridge0]`).
    const bool bridge_name = iface >= 0 && port == t_.nodes[node].interfaces[iface].name;
    std::string name = valid_ifname(port) && !bridge_name ? port : fmt::format("l{}", link);
    if (!taken_[node].insert(name).second) name = fmt::format("l{}", link);
    taken_[node].insert(name);
    return name;
  }

  int links_on(int node, int iface) const {
    int n = 0;
    for (const auto& l : t_.links) n += (l.a == node && l.iface_a == iface) + (l.b == node && l.iface_b == iface);
    return n;
  }

  std::string rate(double bytes_per_s) const { return fmt::format("{:.0f}bit", bytes_per_s * 8 * o_.scale); }

  // Is this end of a link a port of a bridge (a switch, or one of several cables on one
  // interface in IP mode, like a Thunderbolt Bridge hub)? Frames it bridges skip iptables.
  bool bridged(int link, bool end_a) const {
    const topo::Link& l = t_.links[link];
    int node = end_a ? l.a : l.b, iface = end_a ? l.iface_a : l.iface_b;
    if (t_.nodes[node].is_switch) return true;
    return t_.ip_mode && iface >= 0 && links_on(node, iface) > 1;
  }

  // Shapes one direction of a link, leaving the `from_a` end, at the rate that carries the link's
  // goodput: each 1500-byte packet (the veth's MTU) counts with its 14-byte Ethernet header, so
  // that rate is goodput x 1514 / 1448 (a link written `rate: R, framing: tbf` is shaped at R
  // exactly, one with a measured goodput moves that goodput, as the simulator assumes). tbf does
  // it, with netem under it for the latency; where the kernel has no netem, --delay queues every
  // direction in user space, which paces it at that rate too (tbf only where it cannot: both ends
  // bridged).
  void shape(int link, bool from_a, double goodput, double latency) {
    const topo::Link& l = t_.links[link];
    const int node = from_a ? l.a : l.b;
    const std::string& dev = from_a ? dev_a_[link] : dev_b_[link];
    const bool delay = o_.delay && latency > 0;
    const double wire = goodput > 0 ? topo::wire_rate(goodput, topo::kDefaultMtu, topo::Framing::Tbf) : 0;
    if (o_.delay && !o_.netem && queue_delay(link, from_a, latency, wire)) return;
    if (goodput <= 0) return;
    const double bps = wire * o_.scale;  // bytes/s
    // Burst: two full frames, or 250 us of traffic at high rates (a timer that fires late then
    // loses no tokens). Small, because whatever fits the bucket passes at the veth's speed: a
    // 64 KiB bucket let 64 KiB messages cross a 50 Mbit/s link in no time. GSO packets larger
    // than the bucket are segmented by tbf, not dropped. Limit: 50 ms of queue.
    auto burst = static_cast<long long>(std::max(2.0 * (kVethMtu + kEthernetHeaderBytes), bps * 250e-6));
    std::string tbf_parent = "root";
    if (delay && o_.netem) {
      in_ns(ns(node), {"link", "set", dev, "up"});
      add({"tc", "-n", ns(node), "qdisc", "add", "dev", dev, "root", "handle", "1:", "netem", "delay",
           fmt::format("{:.0f}us", latency * 1e6)});
      tbf_parent = "parent";
    }
    Argv tc = {"tc", "-n", ns(node), "qdisc", "add", "dev", dev};
    if (tbf_parent == "root")
      tc.push_back("root");
    else
      tc.insert(tc.end(), {"parent", "1:1", "handle", "10:"});
    tc.insert(tc.end(), {"tbf", "rate", rate(wire), "burst", std::to_string(burst), "latency", "50ms"});
    add(std::move(tc));
  }

  // One direction of a link queued in user space, on the sender's way out (POSTROUTING -o its end).
  // Frames a bridge sends (a switch, a bridged hub) skip iptables, so when the sender's end is
  // bridged the queue is on the receiver's way in (PREROUTING -i its end) instead; between two
  // bridged ends it cannot be (a note says so; returns false).
  bool queue_delay(int link, bool from_a, double latency, double bandwidth) {
    const topo::Link& l = t_.links[link];
    int at = from_a ? l.a : l.b;
    std::string hook = "POSTROUTING", flag = "-o", on = from_a ? dev_a_[link] : dev_b_[link];
    if (bridged(link, from_a)) {
      if (bridged(link, !from_a)) {
        if (latency > 0)
          p_.notes.push_back(fmt::format("the delay from '{}' to '{}' is not emulated: both ends are bridged",
                                         t_.nodes[from_a ? l.a : l.b].name, t_.nodes[from_a ? l.b : l.a].name));
        return false;
      }
      at = from_a ? l.b : l.a, hook = "PREROUTING", flag = "-i", on = from_a ? dev_b_[link] : dev_a_[link];
    }
    auto it = std::find_if(p_.delay_processes.begin(), p_.delay_processes.end(),
                           [&](const NamespaceDelays& d) { return d.ns == ns(at); });
    if (it == p_.delay_processes.end()) it = p_.delay_processes.insert(it, NamespaceDelays{ns(at), {}});
    int queue = static_cast<int>(it->queues.size());
    it->queues.push_back({hook, on, queue, latency, bandwidth > 0 ? bandwidth * o_.scale : 0});
    add({"ip", "netns", "exec", ns(at), "iptables", "-w", "-t", "mangle", "-A", hook, flag, on, "-j", "NFQUEUE",
         "--queue-num", std::to_string(queue)});
    return true;
  }

  void veths() {
    for (size_t i = 0; i < t_.links.size(); ++i) {
      const topo::Link& l = t_.links[i];
      if (l.type.transport == topo::Transport::Rdma) {
        p_.notes.push_back(fmt::format("link {} ({} - {}) is RDMA: emulated as TCP over a veth at its bandwidth", i,
                                       t_.nodes[l.a].name, t_.nodes[l.b].name));
      }
      dev_a_[i] = device_name(static_cast<int>(i), true);
      dev_b_[i] = device_name(static_cast<int>(i), false);
      add({"ip", "link", "add", dev_a_[i], "netns", ns(l.a), "type", "veth", "peer", "name", dev_b_[i], "netns", ns(l.b)});
      shape(static_cast<int>(i), true, l.bandwidth(true), l.latency(true));
      shape(static_cast<int>(i), false, l.bandwidth(false), l.latency(false));
    }
    // A switch is a bridge joining all its links.
    for (size_t n = 0; n < t_.nodes.size(); ++n) {
      if (!t_.nodes[n].is_switch || ns(static_cast<int>(n)).empty()) continue;
      bridge(static_cast<int>(n), "br0", ends_of(static_cast<int>(n), -2));
    }
  }

  // Devices of the node's link ends on interface `iface` (-2: every end).
  std::vector<std::string> ends_of(int node, int iface) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < t_.links.size(); ++i) {
      const auto& l = t_.links[i];
      if (l.a == node && (iface == -2 || l.iface_a == iface)) out.push_back(dev_a_[i]);
      if (l.b == node && (iface == -2 || l.iface_b == iface)) out.push_back(dev_b_[i]);
    }
    return out;
  }

  void bridge(int node, const std::string& name, const std::vector<std::string>& ports) {
    in_ns(ns(node), {"link", "add", name, "type", "bridge"});
    // Bridged frames skip iptables (br_netfilter would otherwise pass them through it here, and
    // frames queued at a bridge's hooks were seen lost): user-space delay is held at the nodes.
    if (o_.delay && !o_.netem)
      add({"ip", "netns", "exec", ns(node), "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0"});
    for (const auto& d : ports) in_ns(ns(node), {"link", "set", d, "master", name});
    devices_[node].push_back(name);
  }

  void check_address(int n, uint32_t ip, const std::string& text) {
    const auto& node = t_.nodes[n];
    if (topo::is_loopback(ip))
      fail(t_, node.pos, fmt::format("node '{}' has the loopback address {}: an emulated node needs its own address",
                                     node.name, text),
           "give every node a distinct private address, like 10.99.0.1");
    auto [it, fresh] = owner_.try_emplace(ip, n);
    if (!fresh && it->second != n)
      fail(t_, node.pos, fmt::format("nodes '{}' and '{}' share the address {}", t_.nodes[it->second].name, node.name, text),
           "give every node a distinct address to emulate the topology");
  }

  // Addresses, bridges and static routes exactly as the file writes them.
  void ip_mode() {
    for (size_t n = 0; n < t_.nodes.size(); ++n) {
      const auto& node = t_.nodes[n];
      if (ns(static_cast<int>(n)).empty() || node.is_switch) continue;
      for (size_t k = 0; k < node.interfaces.size(); ++k) {
        const auto& iface = node.interfaces[k];
        auto ends = ends_of(static_cast<int>(n), static_cast<int>(k));
        if (ends.empty() || !iface.has_subnet()) continue;
        check_address(static_cast<int>(n), iface.ip, iface.address);
        std::string dev = ends.front();
        if (ends.size() > 1) {
          dev = valid_ifname(iface.name) ? iface.name : fmt::format("br{}", k);
          bridge(static_cast<int>(n), dev, ends);
        }
        in_ns(ns(static_cast<int>(n)), {"addr", "add", fmt::format("{}/{}", iface.address, iface.prefix), "dev", dev});
      }
      if (node.runs_rank()) p_.node_address[n] = node.address;
    }
    for (size_t n = 0; n < t_.nodes.size(); ++n)
      for (const auto& r : t_.nodes[n].routes)
        routes_.push_back({ns(static_cast<int>(n)), {"route", "replace", topo::subnet_str(r.to), "via", topo::ipv4_str(r.via)}});
  }

  // Without subnets: each node's address as a /32, point-to-point links numbered with the peer's
  // address, and one host route per pair of ranks along the topology's own route.
  void host_routes() {
    std::vector<uint32_t> ip(t_.nodes.size(), 0);
    for (int n : t_.compute_nodes()) {
      const auto& node = t_.nodes[n];
      auto parsed = topo::parse_ipv4(node.address);
      if (!parsed)
        fail(t_, node.pos,
             fmt::format("node '{}' has no IPv4 address ({}): an emulated node listens on its address",
                         node.name, node.address.empty() ? "none" : "'" + node.address + "'"),
             "write an address like 10.99.0.1 on every node");
      check_address(n, *parsed, node.address);
      ip[n] = *parsed;
      p_.node_address[n] = node.address;
    }
    for (size_t i = 0; i < t_.links.size(); ++i) {
      const auto& l = t_.links[i];
      number(l.a, dev_a_[i], ip[l.a], t_.nodes[l.b].is_switch ? 0 : ip[l.b]);
      number(l.b, dev_b_[i], ip[l.b], t_.nodes[l.a].is_switch ? 0 : ip[l.a]);
    }
    topo::Routes routes(t_);
    for (int s : t_.compute_nodes())
      for (int d : t_.compute_nodes()) {
        if (s == d || !routes.reachable(s, d)) continue;
        const topo::Route& r = routes.between(s, d);
        if (r.hops.empty()) continue;
        const auto& first = r.hops.front();
        const std::string& dev = first.up ? dev_a_[first.link] : dev_b_[first.link];
        int next = -1;
        for (size_t k = 1; k < r.nodes.size() && next < 0; ++k)
          if (!t_.nodes[r.nodes[k]].is_switch) next = r.nodes[k];
        bool via_switch = t_.nodes[r.nodes[1]].is_switch;
        if (next == d && !via_switch) continue;  // the peer address of the link routes it already
        Argv a = {"route", "replace", topo::ipv4_str(ip[d]) + "/32"};
        if (next == d)  // on the same switch: on-link, found by ARP across the bridge
          a.insert(a.end(), {"dev", dev});
        else  // through a forwarding node, itself on-link
          a.insert(a.end(), {"via", topo::ipv4_str(ip[next]), "dev", dev, "onlink"});
        routes_.push_back({ns(s), a});
      }
  }

  // Pairs of addressed nodes joined by a link or across switches only (no forwarding node, whose
  // own cost the emulation leaves out), with the sum of the hops' delays each way.
  void delay_paths() {
    topo::Routes routes(t_);
    auto direct = [&](int s, int d) {
      if (!routes.reachable(s, d)) return false;
      const auto& nodes = routes.between(s, d).nodes;
      return std::all_of(nodes.begin() + 1, nodes.end() - 1, [&](int n) { return t_.nodes[n].is_switch; });
    };
    for (size_t a = 0; a < t_.nodes.size(); ++a)
      for (size_t b = a + 1; b < t_.nodes.size(); ++b) {
        int ia = static_cast<int>(a), ib = static_cast<int>(b);
        if (p_.node_address[a].empty() || p_.node_address[b].empty() || !direct(ia, ib) || !direct(ib, ia)) continue;
        DelayPath path{t_.nodes[a].name, t_.nodes[b].name, ns(ia), ns(ib), p_.node_address[a], p_.node_address[b]};
        std::tie(path.a_to_b, path.queues_a_to_b) = probe_delay(routes.between(ia, ib));
        std::tie(path.b_to_a, path.queues_b_to_a) = probe_delay(routes.between(ib, ia));
        p_.delay_paths.push_back(path);
      }
  }

  // What --verify's probe should take along a route, and how many user-space queues it passes:
  // the hops' latencies, plus, where user space paces a hop, the probe's frame at its rate.
  std::pair<double, int> probe_delay(const topo::Route& r) const {
    double seconds = 0;
    int queues = 0;
    for (const topo::Hop& h : r.hops) {
      const topo::Link& l = t_.links[h.link];
      seconds += l.latency(h.up);
      if (o_.netem || (bridged(h.link, true) && bridged(h.link, false))) continue;
      ++queues;
      if (l.bandwidth(h.up) > 0)
        seconds += kDelayProbeFrameBytes /
                   (topo::wire_rate(l.bandwidth(h.up), topo::kDefaultMtu, topo::Framing::Tbf) * o_.scale);
    }
    return {seconds, queues};
  }

  void number(int node, const std::string& dev, uint32_t mine, uint32_t peer) {
    if (t_.nodes[node].is_switch || mine == 0) return;
    if (peer)
      in_ns(ns(node), {"addr", "add", topo::ipv4_str(mine) + "/32", "peer", topo::ipv4_str(peer) + "/32", "dev", dev});
    else
      in_ns(ns(node), {"addr", "add", topo::ipv4_str(mine) + "/32", "dev", dev});
  }

  void bring_up() {
    for (size_t i = 0; i < t_.links.size(); ++i) {
      in_ns(ns(t_.links[i].a), {"link", "set", dev_a_[i], "up"});
      in_ns(ns(t_.links[i].b), {"link", "set", dev_b_[i], "up"});
    }
    for (const auto& [node, devs] : devices_)
      for (const auto& d : devs) in_ns(ns(node), {"link", "set", d, "up"});
    for (const auto& [n, argv] : routes_) in_ns(n, argv);
  }

  void forwarding() {
    for (size_t n = 0; n < t_.nodes.size(); ++n)
      if (t_.nodes[n].forwards && !t_.nodes[n].is_switch && !ns(static_cast<int>(n)).empty())
        add({"ip", "netns", "exec", ns(static_cast<int>(n)), "sysctl", "-qw", "net.ipv4.ip_forward=1"});
  }

  const topo::Topology& t_;
  const EmulateOptions& o_;
  EmulationPlan p_;
  std::vector<std::string> dev_a_, dev_b_;
  std::map<int, std::set<std::string>> taken_;
  std::map<int, std::vector<std::string>> devices_;  // bridges to bring up
  std::map<uint32_t, int> owner_;
  std::vector<std::pair<std::string, Argv>> routes_;
};
}  // namespace

std::string default_prefix(const topo::Topology& t) { return "ct-" + clean(t.name) + "-"; }

std::string namespace_name(const std::string& prefix, const std::string& node_name) { return prefix + clean(node_name); }

EmulationPlan plan_emulation(const topo::Topology& t, const EmulateOptions& o) {
  if (!(o.scale > 0) || !std::isfinite(o.scale))
    throw core::InputError(fmt::format("--scale: error: expected a positive factor, got {}", o.scale));
  return Planner(t, o).build();
}

topo::Topology scaled_topology(topo::Topology t, double scale) {
  for (auto& l : t.links) {
    l.type.bandwidth *= scale;
    l.back_bandwidth *= scale;
    l.type.rate *= scale;
    l.back_rate *= scale;
    l.type.forward_bandwidth *= scale;
  }
  for (auto& n : t.nodes)
    if (n.forward_bandwidth) *n.forward_bandwidth *= scale;
  return t;
}

std::string EmulationPlan::text() const {
  std::string out;
  for (const auto& c : commands) {
    std::string line;
    for (const auto& w : c) line += (line.empty() ? "" : " ") + w;
    out += line + "\n";
  }
  return out;
}

}  // namespace clustertwin::exec::emulate
