#include "topologies/channels.h"

#include <algorithm>

namespace clustertwin::topo {

std::vector<int> parallel_links(const Topology& t, int l) {
  const auto& me = t.links[l];
  std::vector<int> out;
  for (size_t i = 0; i < t.links.size(); ++i) {
    const auto& o = t.links[i];
    if (std::minmax(o.a, o.b) == std::minmax(me.a, me.b) && o.type.transport == me.type.transport)
      out.push_back(static_cast<int>(i));
  }
  return out;
}

Route on_channel(const Topology& t, const Route& r, int channel) {
  if (channel == 0) return r;
  Route out = r;
  out.latency = 0;
  out.bottleneck = 0;
  for (Hop& h : out.hops) {
    const auto par = parallel_links(t, h.link);
    const auto at = std::find(par.begin(), par.end(), h.link) - par.begin();
    const int l = par[(at + channel) % par.size()];
    const int from = h.up ? t.links[h.link].a : t.links[h.link].b;
    h = {l, t.links[l].a == from};
    const double bw = t.links[l].bandwidth(h.up);
    out.latency += t.links[l].latency(h.up);
    out.bottleneck = out.bottleneck == 0 ? bw : std::min(out.bottleneck, bw);
  }
  return out;
}

}  // namespace clustertwin::topo
