#include "topologies/routing.h"

#include <algorithm>
#include <limits>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/filtered_graph.hpp>
#include <fmt/format.h>

namespace clustertwin::topo {

namespace {
struct EdgeInfo {
  int link = -1;
  bool up = true;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, EdgeInfo>;
using Edge = boost::graph_traits<Graph>::edge_descriptor;

// Traffic may leave the source and any node that forwards; other nodes only receive.
struct LeavesOnlyThroughForwarders {
  const Graph* g = nullptr;
  const Topology* t = nullptr;
  int source = -1;
  bool ignore_forwarding = false;
  bool operator()(const Edge& e) const {
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

Search bfs(const Graph& g, const Topology& t, int source, bool ignore_forwarding) {
  Search s{std::vector<Edge>(boost::num_vertices(g)), std::vector<bool>(boost::num_vertices(g), false)};
  s.reached[source] = true;
  boost::filtered_graph<Graph, LeavesOnlyThroughForwarders> fg(g, LeavesOnlyThroughForwarders{&g, &t, source, ignore_forwarding});
  boost::breadth_first_search(fg, boost::vertex(source, g), boost::visitor(RecordTreeEdges{{}, &s.pred, &s.reached}));
  return s;
}

std::vector<Hop> walk_back(const Graph& g, const Search& s, int source, int dst) {
  std::vector<Hop> hops;
  for (int v = dst; v != source; v = static_cast<int>(boost::source(s.pred[v], g))) hops.push_back({g[s.pred[v]].link, g[s.pred[v]].up});
  std::reverse(hops.begin(), hops.end());
  return hops;
}

std::string unreachable(const Graph& g, const Topology& t, int src, int dst) {
  const Node& a = t.nodes[src];
  const Node& b = t.nodes[dst];
  Search any = bfs(g, t, src, /*ignore_forwarding=*/true);
  if (!any.reached[dst]) {
    return core::format_diagnostic(
        {t.file, a.pos.line, a.pos.col}, {},
        fmt::format("no link path connects node '{}' to node '{}'", a.name, b.name),
        "add a link between them, or to a node that forwards and is linked to both");
  }
  for (const Hop& h : walk_back(g, any, src, dst)) {
    const Link& l = t.links[h.link];
    int from = h.up ? l.a : l.b;
    if (from != src && !t.nodes[from].forwards) {
      const Node& blocker = t.nodes[from];
      return core::format_diagnostic(
          {t.file, blocker.pos.line, blocker.pos.col}, {},
          fmt::format("node '{}' cannot reach node '{}': the only path passes through '{}', which does not forward",
                      a.name, b.name, blocker.name),
          fmt::format("set 'forwards: true' on '{}' (IP forwarding or a Thunderbolt Bridge), or add a direct link",
                      blocker.name));
    }
  }
  return fmt::format("{}: error: no route from '{}' to '{}'", t.file, a.name, b.name);
}
}  // namespace

Routes::Routes(const Topology& t) : n_(static_cast<int>(t.nodes.size())), routes_(n_ * n_), errors_(n_ * n_) {
  Graph g(n_);
  for (size_t i = 0; i < t.links.size(); ++i) {
    boost::add_edge(t.links[i].a, t.links[i].b, EdgeInfo{static_cast<int>(i), true}, g);
    boost::add_edge(t.links[i].b, t.links[i].a, EdgeInfo{static_cast<int>(i), false}, g);
  }
  auto compute = t.compute_nodes();
  for (int src : compute) {
    Search s = bfs(g, t, src, false);
    for (int dst : compute) {
      if (dst == src) continue;
      if (!s.reached[dst]) {
        errors_[src * n_ + dst] = unreachable(g, t, src, dst);
        continue;
      }
      Route r;
      r.hops = walk_back(g, s, src, dst);
      r.bottleneck = std::numeric_limits<double>::infinity();
      for (const Hop& h : r.hops) {
        r.bottleneck = std::min(r.bottleneck, t.links[h.link].type.bandwidth);
        r.latency += t.links[h.link].type.latency;
      }
      routes_[src * n_ + dst] = std::move(r);
    }
  }
}

bool Routes::reachable(int src_node, int dst_node) const { return errors_.at(src_node * n_ + dst_node).empty(); }

const Route& Routes::between(int src_node, int dst_node) const {
  const std::string& why = errors_.at(src_node * n_ + dst_node);
  if (!why.empty()) throw core::InputError(why);
  return routes_[src_node * n_ + dst_node];
}

}  // namespace clustertwin::topo
