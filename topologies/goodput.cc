#include "topologies/goodput.h"

#include <stdexcept>
#include <string>

namespace clustertwin::topo {

int frame_overhead(Framing f) {
  switch (f) {
    case Framing::Ethernet: return 14 + 4 + 8 + 12;  // header, FCS, preamble + start delimiter, inter-frame gap
    case Framing::Tbf: return 14;                    // tbf counts skb->len: the Ethernet header, no FCS or gap
    case Framing::None: return 0;
  }
  return 0;
}

std::string_view name(Framing f) {
  switch (f) {
    case Framing::Ethernet: return "ethernet";
    case Framing::Tbf: return "tbf";
    case Framing::None: return "none";
  }
  return "?";
}

const std::vector<std::string>& framing_names() {
  static const std::vector<std::string> names = {"ethernet", "tbf", "none"};
  return names;
}

Framing framing_named(std::string_view n) {
  for (Framing f : {Framing::Ethernet, Framing::Tbf, Framing::None})
    if (name(f) == n) return f;
  throw std::invalid_argument("unknown framing '" + std::string(n) + "'");
}

double tcp_efficiency(int mtu, Framing f) {
  const double m = mtu > 0 ? mtu : kDefaultMtu;
  return (m - kTcpIpHeaderBytes) / (m + frame_overhead(f));
}

double tcp_goodput(double rate, int mtu, Framing f) { return rate * tcp_efficiency(mtu, f); }

double wire_rate(double goodput, int mtu, Framing f) { return goodput / tcp_efficiency(mtu, f); }

}  // namespace clustertwin::topo
