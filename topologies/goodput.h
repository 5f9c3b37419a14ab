// Link rate vs goodput: a link figure is either a wire rate (what a NIC's line rate or a Linux tbf
// shaper counts, headers and framing included) or a goodput (TCP payload bytes one flow moves, what
// iperf3 and the simulator mean). When only the rate is known, the goodput follows from the MTU and
// the bytes each frame carries besides the payload:
//   goodput = rate * (mtu - 20 IPv4 - 20 TCP - 12 TCP timestamps) / (mtu + per-frame overhead)
// The per-frame overhead depends on what the rate counts (Framing).
#pragma once

#include <string_view>
#include <vector>

namespace clustertwin::topo {

// What a wire rate counts besides the IP packet, per frame.
enum class Framing {
  Ethernet,  // real Ethernet on the wire: 14 header + 4 FCS + 8 preamble + 12 inter-frame gap = 38 B
  Tbf,       // Linux tbf on a veth (the emulation): the L2 frame, 14 B of header only
  None,      // an IP-level rate: nothing beyond the IP packet
};

inline constexpr int kDefaultMtu = 1500;      // bytes of IP packet, when a link does not state its MTU
inline constexpr int kTcpIpHeaderBytes = 52;  // IPv4 20 + TCP 20 + the timestamp option 12 (Linux and macOS send it)

int frame_overhead(Framing f);  // bytes per frame besides the IP packet: 38, 14, 0
std::string_view name(Framing f);
const std::vector<std::string>& framing_names();  // "ethernet", "tbf", "none": the YAML spellings
Framing framing_named(std::string_view name);      // one of framing_names()

// Payload bytes per wire byte: (mtu - 52) / (mtu + frame_overhead(f)). mtu 0 = kDefaultMtu.
double tcp_efficiency(int mtu, Framing f);
// The TCP goodput of a wire rate (both in the same unit, bytes/s in the model).
double tcp_goodput(double rate, int mtu, Framing f);
// The wire rate that carries `goodput` (the inverse of tcp_goodput).
double wire_rate(double goodput, int mtu, Framing f);

}  // namespace clustertwin::topo
