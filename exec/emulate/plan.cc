// plan_emulation(): the topology as a list of `ip` and `tc` commands. Pure data, so it is tested
// without root and printed by `emulate up --dry-run`.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/diag.h"
#include "exec/emulate/emulation.h"
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
    std::string name = valid_ifname(port) ? port : fmt::format("l{}", link);
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

  // Shapes node -> peer on `dev` (the peer's end: `peer_dev`): tbf at the rate that carries the
  // link's goodput, and the latency with netem under it, or with an NFQUEUE rule where the kernel
  // has no netem. tbf counts each 1500-byte packet (the veth's MTU) with its 14-byte Ethernet header,
  // so that rate is goodput x 1514 / 1448: a link written `rate: R, framing: tbf` is shaped at R
  // exactly, and one with a measured goodput moves that goodput, as the simulator assumes.
  void shape(int node, const std::string& dev, int peer, const std::string& peer_dev, double goodput, double latency) {
    const bool delay = o_.delay && latency > 0;
    if (delay && !o_.netem) queue_delay(node, dev, peer, peer_dev, latency);
    if (goodput <= 0) return;
    const double wire = topo::wire_rate(goodput, topo::kDefaultMtu, topo::Framing::Tbf);
    const double bps = wire * o_.scale;  // bytes/s
    // Burst: 2 ms of traffic and at least one 64 KiB GSO segment, so tbf never drops a packet for
    // being larger than its bucket; limit: 50 ms of queue.
    auto burst = static_cast<long long>(std::max(65536.0 + 1514, bps * 0.002));
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

  // The delay of node -> peer on the sender's way out; a switch (a bridge: its frames skip
  // iptables) sends it, so it is held on the receiver's way in instead.
  void queue_delay(int node, const std::string& dev, int peer, const std::string& peer_dev, double latency) {
    int at = node;
    std::string hook = "POSTROUTING", flag = "-o", on = dev;
    if (t_.nodes[node].is_switch) {
      if (t_.nodes[peer].is_switch) {
        p_.notes.push_back(fmt::format("the delay between switches '{}' and '{}' is not emulated", t_.nodes[node].name,
                                       t_.nodes[peer].name));
        return;
      }
      at = peer, hook = "PREROUTING", flag = "-i", on = peer_dev;
    }
    auto it = std::find_if(p_.delay_processes.begin(), p_.delay_processes.end(),
                           [&](const NamespaceDelays& d) { return d.ns == ns(at); });
    if (it == p_.delay_processes.end()) it = p_.delay_processes.insert(it, NamespaceDelays{ns(at), {}});
    int queue = static_cast<int>(it->queues.size());
    it->queues.push_back({hook, on, queue, latency});
    add({"ip", "netns", "exec", ns(at), "iptables", "-w", "-t", "mangle", "-A", hook, flag, on, "-j", "NFQUEUE",
         "--queue-num", std::to_string(queue)});
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
      shape(l.a, dev_a_[i], l.b, dev_b_[i], l.bandwidth(true), l.latency(true));
      shape(l.b, dev_b_[i], l.a, dev_a_[i], l.bandwidth(false), l.latency(false));
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
        p_.delay_paths.push_back({t_.nodes[a].name, t_.nodes[b].name, ns(ia), ns(ib), p_.node_address[a],
                                  p_.node_address[b], routes.between(ia, ib).latency, routes.between(ib, ia).latency});
      }
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
