#include "topologies/check.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/format.h"
#include "topologies/routing.h"

namespace clustertwin::topo {

const std::vector<LintCode>& lint_codes() {
  static const std::vector<LintCode> codes = {
      {"T001", "tb-bridge-loop", Severity::Error, "a loop of Thunderbolt Bridge links among 3 or more nodes (broadcast storm)"},
      {"T002", "rdma-needs-tb5", Severity::Error, "an RDMA link on a device without Thunderbolt 5"},
      {"T003", "rdma-not-direct", Severity::Error, "RDMA between a pair without its own cable (RDMA is never forwarded)"},
      {"T004", "wifi-collective", Severity::Warning, "a collective runs over a Wi-Fi link"},
      {"T005", "worker-on-control", Severity::Error, "a worker's address is on the control network"},
      {"T006", "duplicate-address", Severity::Error, "two interfaces share one address"},
      {"T007", "missing-route", Severity::Error, "a node has no route to a peer it must reach (a Pi without its static route)"},
      {"T008", "ports-exceeded", Severity::Error, "a node has more cables of a kind than its device has ports"},
      {"T009", "subnet-mismatch", Severity::Error, "a link or a route's gateway sits across different subnets"},
      {"T010", "forwarding-off", Severity::Error, "a route crosses a node that does not forward"},
      {"T011", "unreachable", Severity::Error, "a pair that must talk has no path (no link, no address, a routing loop)"},
      {"T012", "tb-version", Severity::Warning, "a Thunderbolt 5 link on a Thunderbolt 4 device runs at Thunderbolt 4 speed"},
  };
  return codes;
}

const LintCode* find_lint_code(std::string_view code_or_name) {
  for (const auto& c : lint_codes())
    if (c.code == code_or_name || c.name == code_or_name) return &c;
  return nullptr;
}

namespace {
const LintCode& code_of(std::string_view code) {
  if (const LintCode* c = find_lint_code(code)) return *c;
  throw std::logic_error(fmt::format("unknown lint code {}", code));
}
}  // namespace

const LintCode& lint_code(Blocked why) {
  switch (why) {
    case Blocked::NoRoute: return code_of("T007");
    case Blocked::NotForwarding: return code_of("T010");
    case Blocked::SubnetMismatch: return code_of("T009");
    case Blocked::RdmaNotForwarded: return code_of("T003");
    default: return code_of("T011");
  }
}

namespace {

class Linter {
 public:
  Linter(const Topology& t, const CheckOptions& o) : t_(t), routes_(t), compute_(t.compute_nodes()), rank_node_(t.rank_nodes()) {
    int n = static_cast<int>(rank_node_.size());
    auto all = [n] {
      std::vector<std::pair<int, int>> pairs;
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
          if (a != b) pairs.push_back({a, b});
      return pairs;
    };
    talking_ = o.talking ? *o.talking : all();
    collective_ = o.collective ? *o.collective : o.talking ? std::vector<std::pair<int, int>>{} : all();
    // Data flows back too (TCP acknowledgements, RDMA completions): a pair talks both ways.
    std::set<std::pair<int, int>> both;
    for (auto [a, b] : talking_)
      if (a != b && a >= 0 && b >= 0 && a < n && b < n) both.insert({a, b}), both.insert({b, a});
    talking_.assign(both.begin(), both.end());
    coordinator_pairs();
    for (const auto& l : t.links) {
      if (l.type.transport != Transport::Rdma) continue;
      rdma_nodes_.insert(l.a);
      rdma_nodes_.insert(l.b);
      rdma_pairs_.insert(std::minmax(l.a, l.b));
    }
  }

  std::vector<Finding> run() {
    bridge_loops();
    thunderbolt_versions();
    rdma_pairs();
    wifi_collectives();
    control_addresses();
    duplicate_addresses();
    ports();
    subnets();
    components();
    unreachable_pairs();
    std::stable_sort(out_.begin(), out_.end(), [](const Finding& a, const Finding& b) {
      return std::tie(a.pos.line, a.pos.col, a.code) < std::tie(b.pos.line, b.pos.col, b.code);
    });
    return std::move(out_);
  }

 private:
  const Node& node(int n) const { return t_.nodes[n]; }
  std::string link_name(const Link& l) const { return fmt::format("{} - {}", node(l.a).name, node(l.b).name); }
  std::string device_name(int n) const { return node(n).device ? node(n).device->description : node(n).name; }

  void add(std::string_view code, const core::SourcePos& pos, std::string message, std::string hint) {
    auto key = std::make_tuple(std::string(code), pos.line, pos.col, hint);
    if (!seen_.insert(key).second) return;
    const LintCode& c = code_of(code);
    out_.push_back(Finding{std::string(c.code), std::string(c.name), c.severity, pos, std::move(message), std::move(hint)});
  }

  // T001: the macOS Thunderbolt Bridge joins every Thunderbolt port of a Mac into one L2 bridge
  // without spanning tree. Links on one bridge that close a cycle through 3+ nodes loop broadcasts
  // forever. Two cables between one pair are fine (exo PR#1222). A cable whose ends sit on their
  // own interfaces (the bridge off, a subnet per cable) bridges nothing.
  void bridge_loops() {
    // Vertices: one bridge per (node, interface); a switch (TB hub or dock) is one bridge.
    std::map<std::pair<int, int>, int> vertex;
    auto vid = [&](int n, int iface) {
      auto key = std::make_pair(n, node(n).is_switch ? -1 : iface);
      return vertex.emplace(key, static_cast<int>(vertex.size())).first->second;
    };
    std::map<std::pair<int, int>, int> edge_link;  // unique bridge pairs -> first link joining them
    for (size_t i = 0; i < t_.links.size(); ++i) {
      const Link& l = t_.links[i];
      if (l.type.port != PortKind::Thunderbolt || l.type.transport != Transport::Tcp) continue;
      int u = vid(l.a, l.iface_a), v = vid(l.b, l.iface_b);
      edge_link.emplace(std::minmax(u, v), static_cast<int>(i));
    }
    std::vector<std::pair<int, int>> nodes_of(vertex.size());
    for (const auto& [key, id] : vertex) nodes_of[id] = key;
    std::vector<std::vector<std::pair<int, int>>> adj(vertex.size());  // (neighbour, link)
    for (const auto& [uv, link] : edge_link) {
      adj[uv.first].push_back({uv.second, link});
      adj[uv.second].push_back({uv.first, link});
    }
    // DFS: a non-tree edge to a visited vertex closes a cycle of 3+ bridges (no parallel edges).
    std::vector<int> parent(vertex.size(), -2), parent_link(vertex.size(), -1);
    std::set<int> reported;
    for (size_t root = 0; root < vertex.size(); ++root) {
      if (parent[root] != -2) continue;
      std::vector<int> stack{static_cast<int>(root)};
      parent[root] = -1;
      std::vector<int> order;
      while (!stack.empty()) {
        int u = stack.back();
        stack.pop_back();
        for (auto [v, link] : adj[u]) {
          if (v == parent[u] && link == parent_link[u]) continue;
          if (parent[v] == -2) {
            parent[v] = u;
            parent_link[v] = link;
            stack.push_back(v);
          } else if (parent[u] != v && !reported.count(link) && parent_link[v] != link) {
            reported.insert(link);
            report_loop(u, v, link, parent, nodes_of);
          }
        }
      }
    }
  }

  void report_loop(int u, int v, int closing, const std::vector<int>& parent,
                   const std::vector<std::pair<int, int>>& nodes_of) {
    // The cycle: u up to the common ancestor, down to v.
    std::vector<int> up_u{u}, up_v{v};
    for (int x = u; parent[x] >= 0; x = parent[x]) up_u.push_back(parent[x]);
    for (int x = v; parent[x] >= 0; x = parent[x]) up_v.push_back(parent[x]);
    while (up_u.size() > 1 && up_v.size() > 1 && up_u[up_u.size() - 2] == up_v[up_v.size() - 2]) {
      up_u.pop_back();
      up_v.pop_back();
    }
    std::vector<int> cycle(up_u.begin(), up_u.end());
    for (auto it = up_v.rbegin() + 1; it != up_v.rend(); ++it) cycle.push_back(*it);
    std::string names;
    for (int x : cycle) names += node(nodes_of[x].first).name + " - ";
    names += node(nodes_of[cycle.front()].first).name;
    add("T001", t_.links[closing].pos,
        fmt::format("Thunderbolt Bridge loop {}: the macOS bridge has no spanning tree, so broadcast frames circle "
                    "forever (a broadcast storm pegs the CPUs and floods the network)",
                    names),
        "remove one cable (a chain or a star on one bridge is fine), or take the Thunderbolt ports out of the bridge "
        "and give each cable its own subnet");
  }

  // T002, T012: RDMA needs Thunderbolt 5 at both ends; a TB5 link on a TB4 port runs at TB4 speed.
  void thunderbolt_versions() {
    for (const auto& l : t_.links) {
      if (l.type.thunderbolt == 0) continue;
      for (int end : {l.a, l.b}) {
        const auto& d = node(end).device;
        if (!d || d->thunderbolt == 0 || d->thunderbolt >= l.type.thunderbolt) continue;
        if (l.type.transport == Transport::Rdma)
          add("T002", l.pos,
              fmt::format("link {} is {} (RDMA), but '{}' ({}) has Thunderbolt {} ports: RDMA over Thunderbolt needs "
                          "Thunderbolt 5 at both ends",
                          link_name(l), l.type.preset, node(end).name, d->description, d->thunderbolt),
              fmt::format("use type: tb{} (TCP over the Thunderbolt Bridge), or Macs with Thunderbolt 5 (M4 Pro, M4 Max, "
                          "M3 Ultra)",
                          d->thunderbolt));
        else
          add("T012", l.pos,
              fmt::format("link {} is {}, but '{}' ({}) has Thunderbolt {} ports: the cable runs at Thunderbolt {} "
                          "speed, and the model uses tb{}'s figures ({:.3g} Gb/s)",
                          link_name(l), l.type.preset, node(end).name, d->description, d->thunderbolt, d->thunderbolt,
                          d->thunderbolt, find_link_type(fmt::format("tb{}", d->thunderbolt))->bandwidth * 8 / 1e9),
              fmt::format("write type: tb{} to say so in the file", d->thunderbolt));
      }
    }
  }

  bool has_rdma(int n) const { return rdma_nodes_.count(n) > 0; }
  bool rdma_cable(int a, int b) const { return rdma_pairs_.count(std::minmax(a, b)) > 0; }

  // T003: RDMA is never forwarded: two RDMA nodes that talk need a cable of their own.
  void rdma_pairs() {
    for (const auto& l : t_.links)
      if (l.type.transport == Transport::Rdma && (node(l.a).is_switch || node(l.b).is_switch))
        add("T003", l.pos,
            fmt::format("link {} is {}, but '{}' is a switch: RDMA needs a direct cable between two Macs", link_name(l),
                        l.type.preset, node(l.a).is_switch ? node(l.a).name : node(l.b).name),
            "cable the Macs to each other (a full mesh, or a ring where only neighbours talk)");
    for (auto [ra, rb] : talking_) {
      int a = rank_node_[ra], b = rank_node_[rb];
      if (a >= b || !has_rdma(a) || !has_rdma(b) || rdma_cable(a, b)) continue;
      std::string fallback = routes_.reachable(a, b)
                                 ? fmt::format("; their traffic falls back to TCP over {}", describe(t_, routes_.between(a, b)))
                                 : "";
      add("T003", node(a).pos,
          fmt::format("'{}' and '{}' (ranks {} and {}) exchange data but have no RDMA cable of their own, and RDMA is "
                      "never forwarded{}",
                      node(a).name, node(b).name, ra, rb, fallback),
          fmt::format("add a cable {} - {} (JACCL needs a full mesh), or order the ranks so that only cabled "
                      "neighbours talk (a ring): 'placement: auto' in the workload",
                      node(a).name, node(b).name));
    }
  }

  // T004: a collective step waits for its slowest transfer; over Wi-Fi that is milliseconds.
  void wifi_collectives() {
    std::map<int, std::vector<std::pair<int, int>>> pairs_on;  // wifi link -> rank pairs crossing it
    for (auto [ra, rb] : collective_) {
      if (ra < 0 || rb < 0 || ra >= int(rank_node_.size()) || rb >= int(rank_node_.size()) || ra == rb) continue;
      int a = rank_node_[ra], b = rank_node_[rb];
      if (a == b) continue;  // ranks sharing a node
      if (!routes_.reachable(a, b)) continue;
      for (const Hop& h : routes_.between(a, b).hops)
        if (t_.links[h.link].type.port == PortKind::Wifi) pairs_on[h.link].push_back({ra, rb});
    }
    for (const auto& [link, pairs] : pairs_on) {
      const Link& l = t_.links[link];
      auto [ra, rb] = pairs.front();
      std::string more = pairs.size() > 1 ? fmt::format(" (and {} more rank pairs)", pairs.size() - 1) : "";
      add("T004", l.pos,
          fmt::format("ranks {} ('{}') and {} ('{}'){} run collectives over the Wi-Fi link {} ({} {}-duplex, "
                      "{} one way): every step of the collective waits on it",
                      ra, node(rank_node_[ra]).name, rb, node(rank_node_[rb]).name, more, link_name(l),
                      core::format_bit_rate(l.type.bandwidth),
                      l.type.full_duplex ? "full" : "half", core::format_seconds(l.type.latency)),
          "wire this node (Ethernet or Thunderbolt), or leave it out of the collectives");
    }
  }

  // T005: a worker listening on its control (Wi-Fi / management) address drags training traffic
  // off the fabric: the mistake of copying the SSH address into the topology.
  void control_addresses() {
    if (!t_.control_subnet) return;
    for (int n : compute_) {
      const Node& me = node(n);
      auto ip = parse_ipv4(me.address);
      if (!ip || !t_.control_subnet->contains(*ip)) continue;
      bool wired = false;
      for (const auto& l : t_.links)
        wired = wired || ((l.a == n || l.b == n) && l.type.port != PortKind::Wifi && l.type.port != PortKind::None);
      if (!wired) continue;  // its only network is the control one: T004 says what that costs
      std::string better;
      for (const auto& i : me.interfaces)
        if (i.ipv4 && !t_.control_subnet->contains(i.ip)) better = i.address;
      int at = me.interface_of(*ip);
      add("T005", at >= 0 ? me.interfaces[at].pos : me.pos,
          fmt::format("worker '{}' listens on {}, an address on the control network {}: its training traffic would "
                      "leave the fabric it is cabled to",
                      me.name, me.address, subnet_str(*t_.control_subnet)),
          better.empty() ? fmt::format("give '{}' an address on its cabled link and make that its address", me.name)
                         : fmt::format("make its fabric address the worker's: address: {}", better));
    }
  }

  // T006
  void duplicate_addresses() {
    std::map<uint32_t, int> first;
    for (size_t n = 0; n < t_.nodes.size(); ++n) {
      for (const auto& i : node(n).interfaces) {
        if (!i.ipv4 || is_loopback(i.ip)) continue;  // loopback: processes of one machine
        auto [it, fresh] = first.emplace(i.ip, static_cast<int>(n));
        if (fresh) continue;
        add("T006", i.pos,
            it->second == int(n) ? fmt::format("address {} is given twice to '{}'", i.address, node(n).name)
                                 : fmt::format("address {} is given to both '{}' and '{}'", i.address,
                                               node(it->second).name, node(n).name),
            "every interface needs an address of its own: ARP answers for one of them at random");
      }
    }
  }

  // T008: cables per port kind against the device's ports, and one cable per named port.
  void ports() {
    for (size_t n = 0; n < t_.nodes.size(); ++n) {
      const auto& d = node(n).device;
      if (node(n).is_switch || !d || !d->ports.known) continue;
      std::map<PortKind, std::vector<int>> by_kind;
      std::vector<int> rdma;
      std::map<std::string, int> port_used;
      for (size_t i = 0; i < t_.links.size(); ++i) {
        const Link& l = t_.links[i];
        if (l.a != int(n) && l.b != int(n)) continue;
        by_kind[l.type.port].push_back(static_cast<int>(i));
        if (l.type.transport == Transport::Rdma) rdma.push_back(static_cast<int>(i));
        const std::string& port = l.a == int(n) ? l.port_a : l.port_b;
        if (port.empty() || l.type.port == PortKind::Wifi) continue;
        auto [it, fresh] = port_used.emplace(port, static_cast<int>(i));
        if (!fresh)
          add("T008", l.pos,
              fmt::format("port '{}' of '{}' carries two cables: {} and {}", port, node(n).name,
                          link_name(t_.links[it->second]), link_name(l)),
              "one cable per port: name the port each cable really uses");
      }
      const Ports& p = d->ports;
      exceed(static_cast<int>(n), by_kind[PortKind::Thunderbolt], p.thunderbolt, "Thunderbolt");
      exceed(static_cast<int>(n), rdma, p.rdma, "RDMA-capable Thunderbolt");
      exceed(static_cast<int>(n), by_kind[PortKind::Ethernet], p.ethernet, "Ethernet");
      exceed(static_cast<int>(n), by_kind[PortKind::Wifi], p.wifi, "Wi-Fi");
    }
  }

  void exceed(int n, const std::vector<int>& links, int have, std::string_view kind) {
    if (int(links.size()) <= have) return;
    const Link& extra = t_.links[links[have]];
    add("T008", extra.pos,
        fmt::format("'{}' has {} {} link{} but a {} has {} {} port{}", node(n).name, links.size(), kind,
                    links.size() == 1 ? "" : "s", device_name(n), have == 0 ? "no" : std::to_string(have), kind,
                    have == 1 ? "" : "s"),
        have == 0 ? fmt::format("connect '{}' with a port it has (or set its 'ports' if it has an adapter)", node(n).name)
                  : fmt::format("a full mesh of n nodes takes n-1 ports per node: use a ring (2 ports), a switch, or fewer "
                                "cables on '{}'",
                                node(n).name));
  }

  // T009: a link between different subnets carries no IP; a gateway must be on a subnet of its node.
  void subnets() {
    if (!t_.ip_mode) return;
    for (const auto& l : t_.links) {
      if (l.type.transport == Transport::Rdma) continue;
      if (l.subnet_mismatch(t_)) {
        const Interface& ia = node(l.a).interfaces[l.iface_a];
        const Interface& ib = node(l.b).interfaces[l.iface_b];
        add("T009", l.pos,
            fmt::format("link {} joins different subnets: '{}' is {}/{}, '{}' is {}/{}, so no IP packet crosses it",
                        link_name(l), node(l.a).name, ia.address, ia.prefix, node(l.b).name, ib.address, ib.prefix),
            fmt::format("put both ends in one subnet (both in {}, say)", subnet_str(ib.subnet())));
        continue;
      }
      for (int end : {l.a, l.b}) {
        int iface = end == l.a ? l.iface_a : l.iface_b;
        if (node(end).is_switch || iface >= 0 || node(end).interfaces.empty()) continue;
        add("T009", l.pos,
            fmt::format("link {}: no interface of '{}' is on the subnet of the other end", link_name(l), node(end).name),
            "give that end an address in the link's subnet, or name its interface: ports: [en0, eth0]");
      }
    }
    for (const auto& n : t_.nodes) {
      for (const auto& r : n.routes) {
        bool on = false;
        for (const auto& i : n.interfaces) on = on || (i.has_subnet() && i.subnet().contains(r.via));
        if (!on)
          add("T009", r.pos,
              fmt::format("'{}' routes {} via {}, which is on none of its subnets", n.name, subnet_str(r.to),
                          ipv4_str(r.via)),
              "a gateway must sit on a subnet the node is cabled to: use the address of its neighbour that forwards");
        else if (t_.owner_of(r.via).first < 0)
          add("T007", r.pos, fmt::format("'{}' routes {} via {}, but no node has that address", n.name, subnet_str(r.to),
                                         ipv4_str(r.via)),
              "point 'via' at the address of the node that forwards for it");
      }
    }
  }

  // The coordinator (the `role: coordinator` node, else rank 0's, where `run` starts) opens a
  // control connection to every worker's address and hears back on it: those pairs must route too.
  void coordinator_pairs() {
    if (rank_node_.empty()) return;
    coordinator_ = rank_node_.front();
    for (int n : compute_)
      if (node(n).role == "coordinator") coordinator_ = n;
    int c = static_cast<int>(std::find(rank_node_.begin(), rank_node_.end(), coordinator_) - rank_node_.begin());
    for (int n : compute_) {
      if (n == coordinator_) continue;
      int r = static_cast<int>(std::find(rank_node_.begin(), rank_node_.end(), n) - rank_node_.begin());
      control_.push_back({c, r});
      control_.push_back({r, c});
    }
  }

  // T007, T010, T011 (and T003, T009 when routing finds them): pairs that must talk and cannot.
  void unreachable_pairs() {
    for (auto [ra, rb] : talking_) unreachable(ra, rb, "");
    if (coordinator_ < 0) return;
    const std::string control = fmt::format(
        " (the coordinator's control connection: `run` drives every worker from '{}')", node(coordinator_).name);
    for (auto [ra, rb] : control_) unreachable(ra, rb, control);
  }

  void unreachable(int ra, int rb, const std::string& context) {
    int a = rank_node_[ra], b = rank_node_[rb];
    const Unreachable& u = routes_.why(a, b);
    if (u.why == Blocked::None) return;
    std::string_view code = lint_code(u.why).code;
    if (u.why == Blocked::RdmaNotForwarded) {
      if (has_rdma(a) && has_rdma(b)) return;  // T003 reports it
      code = "T011";
    }
    if (code == "T009" && u.link >= 0) {
      // Already reported on the link by subnets(); the pair adds nothing new.
      bool known = false;
      for (const auto& f : out_) known = known || (f.code == "T009" && f.pos.line == u.pos.line && f.pos.col == u.pos.col);
      if (known) return;
    }
    if (u.why == Blocked::NoPath && component_[a] != component_[b]) {
      // Once per group of nodes cut off from the rest, at the first node of the group.
      int iso = component_[b] == component_[compute_.front()] ? a : b;
      if (!cut_off_.insert(component_[iso]).second) return;
      int first = iso;
      for (int n : compute_) {
        if (component_[n] == component_[iso]) {
          first = n;
          break;
        }
      }
      add(code, node(first).pos, u.message + context, u.hint);
      return;
    }
    add(code, u.pos, u.message + context, u.hint);
  }

  // Connected components over every link, ignoring forwarding.
  void components() {
    std::vector<std::vector<int>> adj(t_.nodes.size());
    for (const auto& l : t_.links) {
      adj[l.a].push_back(l.b);
      adj[l.b].push_back(l.a);
    }
    component_.assign(t_.nodes.size(), -1);
    for (size_t s = 0; s < t_.nodes.size(); ++s) {
      if (component_[s] >= 0) continue;
      std::vector<int> stack{static_cast<int>(s)};
      component_[s] = static_cast<int>(s);
      while (!stack.empty()) {
        int u = stack.back();
        stack.pop_back();
        for (int v : adj[u]) {
          if (component_[v] >= 0) continue;
          component_[v] = static_cast<int>(s);
          stack.push_back(v);
        }
      }
    }
  }

  const Topology& t_;
  Routes routes_;
  std::vector<int> compute_;    // nodes that run ranks, once each
  std::vector<int> rank_node_;  // the node of each rank
  std::vector<std::pair<int, int>> talking_, collective_;
  std::vector<std::pair<int, int>> control_;  // the coordinator to every other node's rank, both ways
  int coordinator_ = -1;                      // its node
  std::vector<Finding> out_;
  std::set<std::tuple<std::string, int, int, std::string>> seen_;
  std::vector<int> component_;
  std::set<int> cut_off_;
  std::set<int> rdma_nodes_;
  std::set<std::pair<int, int>> rdma_pairs_;
};
}  // namespace

std::vector<Finding> check(const Topology& t, const CheckOptions& options) { return Linter(t, options).run(); }

std::string format_finding(const Topology& t, const Finding& f) {
  std::string out = f.pos.file.empty() ? t.file : f.pos.file;
  if (f.pos.line > 0) out += fmt::format(":{}:{}", f.pos.line, f.pos.col);
  out += fmt::format(": {}: [{} {}] {}", f.severity == Severity::Error ? "error" : "warning", f.code, f.name, f.message);
  std::string line = t.source_line(f.pos.line);
  if (f.pos.line > 0 && !line.empty()) out += fmt::format("\n  {}\n  {}^", line, std::string(std::max(f.pos.col - 1, 0), ' '));
  if (!f.hint.empty()) out += fmt::format("\nhint: {}", f.hint);
  return out;
}

}  // namespace clustertwin::topo
