// What one queued packet costs on the emulated wire: the bytes of the frames it becomes. A TCP
// packet the stack built larger than the MTU (GSO) leaves as several segments, each with its own
// IP and TCP headers; every frame also carries the 14-byte Ethernet header that tbf counts on a
// veth. Portable: the delay process uses it, tests check it without root.
#pragma once

#include <cstddef>
#include <cstdint>

namespace clustertwin::exec::emulate {

inline constexpr int kVethMtu = 1500;          // the veths' MTU (the default; the plan sets none)
inline constexpr int kEthernetHeaderBytes = 14;  // per frame, as tbf and netem count a veth's packets
// The frame of one `emulate up --verify` probe: 24 B of UDP payload + UDP 8 + IPv4 20 + 14.
inline constexpr int kDelayProbeFrameBytes = 66;

// Bytes on the wire of the IPv4 packet whose first `n` bytes are `ip` (at least its IP header,
// and the TCP header's first 13 bytes for TCP): payload + per segment (IP + TCP headers + 14).
// Not IPv4 or too short: n + 14 (one frame of what was seen).
uint64_t wire_bytes(const unsigned char* ip, size_t n, int mtu = kVethMtu);

}  // namespace clustertwin::exec::emulate
