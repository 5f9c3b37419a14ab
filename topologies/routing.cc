#include "topologies/routing.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <variant>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/filtered_graph.hpp>
#include <fmt/format.h>

#include "topologies/check.h"

namespace clustertwin::topo {

std::string_view name(Blocked b) {
  switch (b) {
    case Blocked::None: return "none";
    case Blocked::NoPath: return "no-path";
    case Blocked::NotForwarding: return "not-forwarding";
    case Blocked::NoRoute: return "no-route";
    case Blocked::SubnetMismatch: return "subnet-mismatch";
    case Blocked::NoAddress: return "no-address";
    case Blocked::RdmaNotForwarded: return "rdma-not-forwarded";
    case Blocked::RoutingLoop: return "routing-loop";
  }
  return "?";
}

std::string Unreachable::diagnostic() const {
  const LintCode& c = lint_code(why);
  return core::format_diagnostic(pos, {}, fmt::format("[{} {}] {}", c.code, c.name, message), hint);
}

std::string describe(const Topology& t, const Route& r) {
  std::string out;
  for (size_t i = 0; i < r.nodes.size(); ++i) out += (i ? " -> " : "") + t.nodes[r.nodes[i]].name;
  return out;
}

bool forwards_in_software(const Topology& t, int node) {
  const Node& n = t.nodes.at(node);
  return n.forwards && !n.is_switch && t.forwarding_of(node).bandwidth > 0;
}

std::vector<int> transit_forwarders(const Topology& t, const Route& r) {
  std::vector<int> out;
  for (size_t i = 1; i + 1 < r.nodes.size(); ++i)
    if (forwards_in_software(t, r.nodes[i])) out.push_back(r.nodes[i]);
  return out;
}

double route_latency(const Topology& t, const Route& r) {
  double latency = r.latency;
  for (int n : transit_forwarders(t, r)) latency += t.forwarding_of(n).latency;
  return latency;
}

namespace {
struct EdgeInfo {
  int link = -1;
  bool up = true;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, EdgeInfo>;
using Edge = boost::graph_traits<Graph>::edge_descriptor;

// Which links a search may cross. Traffic may leave the source and any node that forwards; other
// nodes only receive. RDMA is never forwarded, so a search crosses RDMA links only when asked
// (explaining why a pair is unreachable). In IP mode a search stays inside one subnet.
struct EdgeRule {
  const Graph* g = nullptr;
  const Topology* t = nullptr;
  const std::vector<std::optional<Subnet>>* link_subnet = nullptr;
  int source = -1;
  bool ignore_forwarding = false;
  bool allow_rdma = false;
  std::optional<Subnet> subnet;
  bool operator()(const Edge& e) const {
    const Link& l = t->links[(*g)[e].link];
    if (!allow_rdma && l.type.transport == Transport::Rdma) return false;
    if (subnet && !((*link_subnet)[(*g)[e].link] == subnet)) return false;
    int from = static_cast<int>(boost::source(e, *g));
    return ignore_forwarding || from == source || t->nodes[from].forwards;
  }
};

struct RecordTreeEdges : boost::default_bfs_visitor {
  std::vector<Edge>* pred;
  std::vector<bool>* reached;
  template <typename G>
  void tree_edge(const Edge& e, const G& g) const {
    auto v = boost::target(e, g);
    (*pred)[v] = e;
    (*reached)[v] = true;
  }
};

struct Search {
  std::vector<Edge> pred;
  std::vector<bool> reached;
};

}  // namespace

namespace detail {
using Result = std::variant<Route, Unreachable>;

class Router {
 public:
  explicit Router(const Topology& t) : t_(t), g_(t.nodes.size()) {
    for (size_t i = 0; i < t.links.size(); ++i) {
      boost::add_edge(t.links[i].a, t.links[i].b, EdgeInfo{static_cast<int>(i), true}, g_);
      boost::add_edge(t.links[i].b, t.links[i].a, EdgeInfo{static_cast<int>(i), false}, g_);
      link_subnet_.push_back(t.ip_mode ? t.links[i].subnet(t) : std::nullopt);
      const Link& l = t.links[i];
      if (l.type.transport != Transport::Rdma) continue;
      auto [it, fresh] = rdma_.emplace(std::minmax(l.a, l.b), static_cast<int>(i));
      if (!fresh && l.type.bandwidth > t.links[it->second].type.bandwidth) it->second = static_cast<int>(i);
    }
  }

  Result route(int src, int dst) {
    if (int l = direct_rdma(src, dst); l >= 0) return build({{l, t_.links[l].a == src}}, src);
    if (t_.ip_mode) return ip_route(src, dst);
    auto it = per_source_.find(src);
    if (it == per_source_.end()) it = per_source_.emplace(src, bfs(rule(src))).first;
    if (it->second.reached[dst]) return build(walk_back(it->second, src, dst), src);
    return explain_graph(src, dst);
  }

 private:
  EdgeRule rule(int source) const {
    EdgeRule r;
    r.g = &g_;
    r.t = &t_;
    r.link_subnet = &link_subnet_;
    r.source = source;
    return r;
  }

  Search bfs(const EdgeRule& r) const {
    Search s{std::vector<Edge>(boost::num_vertices(g_)), std::vector<bool>(boost::num_vertices(g_), false)};
    s.reached[r.source] = true;
    boost::filtered_graph<Graph, EdgeRule> fg(g_, r);
    boost::breadth_first_search(fg, boost::vertex(r.source, g_), boost::visitor(RecordTreeEdges{{}, &s.pred, &s.reached}));
    return s;
  }

  std::vector<Hop> walk_back(const Search& s, int source, int dst) const {
    std::vector<Hop> hops;
    for (int v = dst; v != source; v = static_cast<int>(boost::source(s.pred[v], g_)))
      hops.push_back({g_[s.pred[v]].link, g_[s.pred[v]].up});
    std::reverse(hops.begin(), hops.end());
    return hops;
  }

  Route build(std::vector<Hop> hops, int src) const {
    Route r;
    r.nodes.push_back(src);
    r.bottleneck = std::numeric_limits<double>::infinity();
    for (const Hop& h : hops) {
      const Link& l = t_.links[h.link];
      r.bottleneck = std::min(r.bottleneck, l.bandwidth(h.up));
      r.latency += l.latency(h.up);
      r.nodes.push_back(h.up ? l.b : l.a);
    }
    r.hops = std::move(hops);
    return r;
  }

  // The fastest RDMA cable joining the pair directly, -1 when none.
  int direct_rdma(int a, int b) const {
    auto it = rdma_.find(std::minmax(a, b));
    return it == rdma_.end() ? -1 : it->second;
  }

  const Node& node(int n) const { return t_.nodes[n]; }

  Unreachable fail(Blocked why, int at, core::SourcePos pos, std::string message, std::string hint) const {
    return Unreachable{why, at, -1, std::move(pos), std::move(message), std::move(hint)};
  }

  std::string cannot(int src, int dst) const {
    return fmt::format("node '{}' cannot reach node '{}'", node(src).name, node(dst).name);
  }

  // --- without addresses: paths through forwarding nodes --------------------------------------

  Unreachable explain_graph(int src, int dst) const {
    EdgeRule any = rule(src);
    any.ignore_forwarding = true;
    Search s = bfs(any);
    if (!s.reached[dst]) {
      any.allow_rdma = true;
      if (bfs(any).reached[dst])
        return fail(Blocked::RdmaNotForwarded, src, node(src).pos,
                    fmt::format("{}: only RDMA links join them, through other nodes, and RDMA is never forwarded",
                                cannot(src, dst)),
                    fmt::format("add a cable between '{}' and '{}' (RDMA needs a full mesh, or a ring where only "
                                "neighbours talk), or a TCP path through nodes that forward",
                                node(src).name, node(dst).name));
      return no_link_path(src, dst);
    }
    if (auto blocked = first_blocker(s, src, dst)) return *blocked;
    return fail(Blocked::NoPath, src, {t_.file, 0, 0}, fmt::format("no route from '{}' to '{}'", node(src).name, node(dst).name), "");
  }

  Unreachable no_link_path(int src, int dst) const {
    return fail(Blocked::NoPath, src, node(src).pos,
                fmt::format("no link path connects node '{}' to node '{}'", node(src).name, node(dst).name),
                "add a link between them, or to a node that forwards and is linked to both");
  }

  // On a path found ignoring forwarding from `from`, the first node after `from` that does not
  // forward but would have to.
  std::optional<Unreachable> first_blocker(const Search& s, int from, int to, int src = -1, int dst = -1) const {
    if (src < 0) src = from, dst = to;
    for (const Hop& h : walk_back(s, from, to)) {
      const Link& l = t_.links[h.link];
      int at = h.up ? l.a : l.b;
      if (at == from || node(at).forwards) continue;
      return fail(Blocked::NotForwarding, at, node(at).pos,
                  fmt::format("{}: the only path passes through '{}', which does not forward", cannot(src, dst), node(at).name),
                  fmt::format("set 'forwards: true' on '{}' (IP forwarding or a Thunderbolt Bridge), or add a direct link",
                              node(at).name));
    }
    return std::nullopt;
  }

  // --- with addresses: IP forwarding along static routes ---------------------------------------

  const Search& l2(int from, const Subnet& s) {
    auto key = std::make_pair(from, s);
    auto it = l2_.find(key);
    if (it != l2_.end()) return it->second;
    EdgeRule r = rule(from);
    r.subnet = s;
    return l2_.emplace(key, bfs(r)).first->second;
  }

  // The interface of `n` whose subnet holds ip, -1 when none.
  int connected(int n, uint32_t ip) const {
    const auto& ifs = node(n).interfaces;
    for (size_t i = 0; i < ifs.size(); ++i)
      if (ifs[i].has_subnet() && ifs[i].subnet().contains(ip)) return static_cast<int>(i);
    return -1;
  }

  const StaticRoute* best_route(int n, uint32_t ip) const {
    const StaticRoute* best = nullptr;
    for (const auto& r : node(n).routes)
      if (r.to.contains(ip) && (!best || r.to.prefix > best->to.prefix)) best = &r;
    return best;
  }

  Result ip_route(int src, int dst) {
    const Node& d = node(dst);
    std::vector<int> targets;
    for (size_t i = 0; i < d.interfaces.size(); ++i)
      if (d.interfaces[i].ipv4) targets.insert(d.interfaces[i].address == d.address ? targets.begin() : targets.end(), static_cast<int>(i));
    if (targets.empty())
      return fail(Blocked::NoAddress, dst, d.pos, fmt::format("{}: '{}' has no address", cannot(src, dst), d.name),
                  fmt::format("give '{}' an address on a subnet the others can reach, like address: 10.10.0.9/24", d.name));
    // A peer is reached at its address on a subnet the two share when there is one (a worker
    // listens on each data interface; a mesh with a subnet per cable needs it), else at its
    // cluster address (where its worker listens) through static routes.
    for (int i : targets) {
      int mine = connected(src, d.interfaces[i].ip);
      if (mine < 0) continue;
      const Search& s = l2(src, node(src).interfaces[mine].subnet());
      if (s.reached[dst]) return build(walk_back(s, src, dst), src);
    }
    return forward_walk(src, dst, d.interfaces[targets.front()]);
  }

  Result forward_walk(int src, int dst, const Interface& target) {
    const uint32_t a = target.ip;
    int x = src;
    std::vector<Hop> hops;
    std::set<int> visited{src};
    for (;;) {
      if (int mine = connected(x, a); mine >= 0) {
        Subnet n = node(x).interfaces[mine].subnet();
        const Search& s = l2(x, n);
        if (!s.reached[dst]) return explain_l2(src, dst, x, dst, n);
        for (const Hop& h : walk_back(s, x, dst)) hops.push_back(h);
        return build(std::move(hops), src);
      }
      const StaticRoute* r = best_route(x, a);
      if (!r) return no_route(src, dst, x, target);
      int gw = connected(x, r->via);
      if (gw < 0) return gateway_off_subnet(src, dst, x, *r, target);
      int y = t_.owner_of(r->via).first;
      if (y < 0 || y == x)
        return fail(Blocked::NoRoute, x, r->pos,
                    fmt::format("{} ({}): '{}' routes {} via {}, but {}", cannot(src, dst), target.address, node(x).name,
                                subnet_str(r->to), ipv4_str(r->via), y < 0 ? "no node has that address" : "that is its own address"),
                    "point 'via' at the address of the node that forwards for it");
      Subnet n = node(x).interfaces[gw].subnet();
      const Search& s = l2(x, n);
      if (!s.reached[y]) return explain_l2(src, dst, x, y, n);
      for (const Hop& h : walk_back(s, x, y)) hops.push_back(h);
      if (y == dst) return build(std::move(hops), src);
      if (!node(y).forwards)
        return fail(Blocked::NotForwarding, y, node(y).pos,
                    fmt::format("{} ({}): the route goes through '{}' ({}), which does not forward", cannot(src, dst),
                                target.address, node(y).name, ipv4_str(r->via)),
                    fmt::format("set 'forwards: true' on '{}' (macOS: sudo sysctl -w net.inet.ip.forwarding=1; Linux: "
                                "sudo sysctl -w net.ipv4.ip_forward=1)",
                                node(y).name));
      if (!visited.insert(y).second)
        return fail(Blocked::RoutingLoop, y, node(y).pos,
                    fmt::format("{} ({}): static routes send the packet around a loop back to '{}'", cannot(src, dst),
                                target.address, node(y).name),
                    "check the 'routes' of the nodes on the way: each gateway must be closer to the destination");
      x = y;
    }
  }

  // A link of node `n` whose two ends sit in different subnets (or whose far end has no interface
  // on the near end's subnet): the likely reason `n` cannot reach a neighbour.
  std::optional<Unreachable> mismatch_at(int src, int dst, int n) const {
    for (size_t i = 0; i < t_.links.size(); ++i) {
      const Link& l = t_.links[i];
      if ((l.a != n && l.b != n) || l.type.transport == Transport::Rdma) continue;
      if (node(l.a).is_switch || node(l.b).is_switch || node(l.a).interfaces.empty() || node(l.b).interfaces.empty()) continue;
      auto side = [&](int end, int iface, const Interface* other) {
        if (iface >= 0) {
          const Interface& in = node(end).interfaces[iface];
          return fmt::format("'{}' is {}/{}", node(end).name, in.address, in.prefix);
        }
        return fmt::format("'{}' has no address in {}", node(end).name, other ? subnet_str(other->subnet()) : "it");
      };
      const Interface* ia = l.iface_a >= 0 ? &node(l.a).interfaces[l.iface_a] : nullptr;
      const Interface* ib = l.iface_b >= 0 ? &node(l.b).interfaces[l.iface_b] : nullptr;
      if (!l.subnet_mismatch(t_) && !((ia == nullptr) != (ib == nullptr))) continue;
      const Interface* known = ib ? ib : ia;
      Unreachable u = fail(Blocked::SubnetMismatch, n, l.pos,
                           fmt::format("{}: the link {} - {} joins different subnets ({}, {})", cannot(src, dst),
                                       node(l.a).name, node(l.b).name, side(l.a, l.iface_a, ib), side(l.b, l.iface_b, ia)),
                           fmt::format("put both ends of the link in one subnet (addresses in {} on both, say)",
                                       subnet_str(known->subnet())));
      u.link = static_cast<int>(i);
      return u;
    }
    return std::nullopt;
  }

  Unreachable explain_l2(int src, int dst, int from, int to, const Subnet& n) {
    EdgeRule any = rule(from);
    any.ignore_forwarding = true;
    any.subnet = n;
    Search s = bfs(any);
    if (s.reached[to]) {
      if (auto blocked = first_blocker(s, from, to, src, dst)) return *blocked;
    }
    for (int at : {from, to})
      if (auto m = mismatch_at(src, dst, at)) return *m;
    EdgeRule anything = rule(src);
    anything.ignore_forwarding = anything.allow_rdma = true;
    if (!bfs(anything).reached[dst]) return no_link_path(src, dst);
    return fail(Blocked::NoPath, from, node(from).pos,
                fmt::format("{}: '{}' and '{}' are both on {}, but no link of that subnet joins them", cannot(src, dst),
                            node(from).name, node(to).name, subnet_str(n)),
                "add a cable between them, or check the addresses at each end of the links on the way");
  }

  Unreachable no_route(int src, int dst, int x, const Interface& target) {
    if (auto m = mismatch_at(src, dst, x)) return *m;
    Subnet want = target.subnet();
    std::string where = x == src ? fmt::format("'{}' has no route to {}", node(x).name, subnet_str(want))
                                 : fmt::format("the route reaches '{}', which has no route to {}", node(x).name, subnet_str(want));
    return fail(Blocked::NoRoute, x, node(x).pos, fmt::format("{} ({}): {}", cannot(src, dst), target.address, where),
                route_hint(x, want));
  }

  Unreachable gateway_off_subnet(int src, int dst, int x, const StaticRoute& r, const Interface& target) {
    if (auto m = mismatch_at(src, dst, x)) return *m;
    std::string mine;
    for (const auto& i : node(x).interfaces) mine += (mine.empty() ? "" : ", ") + fmt::format("{}/{}", i.address, i.prefix);
    return fail(Blocked::SubnetMismatch, x, r.pos,
                fmt::format("{} ({}): '{}' routes {} via {}, which is on none of its subnets ({})", cannot(src, dst),
                            target.address, node(x).name, subnet_str(r.to), ipv4_str(r.via), mine),
                route_hint(x, r.to));
  }

  // "add to 'pi4': routes: [{to: 10.10.0.0/24, via: 192.168.51.2}]", with the gateway a node that
  // forwards on one of its subnets (preferring one already on the destination subnet).
  std::string route_hint(int x, const Subnet& want) {
    std::string via;
    for (const auto& mine : node(x).interfaces) {
      if (!mine.has_subnet()) continue;
      const Search& s = l2(x, mine.subnet());
      for (size_t y = 0; y < t_.nodes.size(); ++y) {
        if (int(y) == x || !s.reached[y] || !node(y).forwards) continue;
        int on = connected(static_cast<int>(y), mine.ip);
        if (on < 0) continue;
        bool direct = connected(static_cast<int>(y), want.net) >= 0;
        if (via.empty() || direct) via = node(y).interfaces[on].address;
        if (direct) break;
      }
    }
    if (via.empty())
      return fmt::format("add a static route on '{}' to {} via a node that forwards, or a link into that subnet",
                         node(x).name, subnet_str(want));
    const std::string& preset = node(x).device ? node(x).device->preset : "";
    std::string os = preset.starts_with("mac") ? fmt::format("; on macOS: sudo route -n add -net {} {}", subnet_str(want), via)
                     : preset.empty()          ? ""
                                               : fmt::format("; on Linux: sudo ip route add {} via {}", subnet_str(want), via);
    return fmt::format("add to '{}': routes: [{{to: {}, via: {}}}]{}", node(x).name, subnet_str(want), via, os);
  }

  const Topology& t_;
  Graph g_;
  std::vector<std::optional<Subnet>> link_subnet_;
  std::map<std::pair<int, int>, int> rdma_;  // node pair (low, high) -> its fastest RDMA cable
  std::map<int, Search> per_source_;
  std::map<std::pair<int, Subnet>, Search> l2_;
};
}  // namespace detail

Routes::Routes(const Topology& t) : n_(static_cast<int>(t.nodes.size())), router_(std::make_unique<detail::Router>(t)) {}
Routes::~Routes() = default;
Routes::Routes(Routes&&) noexcept = default;
Routes& Routes::operator=(Routes&&) noexcept = default;

const Routes::Result& Routes::find(int src_node, int dst_node) const {
  if (src_node < 0 || dst_node < 0 || src_node >= n_ || dst_node >= n_)
    throw std::out_of_range(fmt::format("topo::Routes: nodes {} -> {} outside the topology's {}", src_node, dst_node, n_));
  int64_t key = int64_t{src_node} * n_ + dst_node;
  auto it = found_.find(key);
  if (it != found_.end()) return it->second;
  if (src_node == dst_node) {  // ranks on one node: no link crossed
    Route self;
    self.nodes = {src_node};
    self.bottleneck = std::numeric_limits<double>::infinity();
    return found_.emplace(key, std::move(self)).first->second;
  }
  it = found_.emplace(key, router_->route(src_node, dst_node)).first;
  return it->second;
}

bool Routes::reachable(int src_node, int dst_node) const { return std::holds_alternative<Route>(find(src_node, dst_node)); }

const Unreachable& Routes::why(int src_node, int dst_node) const {
  static const Unreachable reachable_pair;
  const Result& r = find(src_node, dst_node);
  return std::holds_alternative<Unreachable>(r) ? std::get<Unreachable>(r) : reachable_pair;
}

const Route& Routes::between(int src_node, int dst_node) const {
  const Result& r = find(src_node, dst_node);
  if (auto* u = std::get_if<Unreachable>(&r)) throw core::InputError(u->diagnostic());
  return std::get<Route>(r);
}

}  // namespace clustertwin::topo
