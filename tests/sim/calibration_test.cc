// A calibration overlay changes what the simulator charges a message exactly as its figures say:
// overheads at both ends + latency + bytes / goodput, per direction.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/run.h"
#include "sim/simulator.h"
#include "topologies/calibration.h"
#include "topologies/topology.h"

namespace clustertwin::sim {
namespace {

// Two machines, one tb4 cable whose preset figures (16.4 Gbps, 210 us, 45 us overhead) the
// overlay replaces.
topo::Topology pair() {
  return topo::parse_topology("name: pair\nnodes:\n  - {name: a, device: this-machine}\n"
                              "  - {name: b, device: this-machine}\nlinks:\n  - {between: [a, b], type: tb4}\n",
                              "pair.yaml");
}

// The time of one message of `bytes` from rank `from` to the other, as simulated.
double message_time(const topo::Topology& t, int from, double bytes) {
  core::Program p;
  p.name = "p2p";
  core::Op send, recv;
  send.kind = core::OpKind::Send;
  send.peer = 1 - from;
  send.bytes = bytes;
  recv = send;
  recv.kind = core::OpKind::Recv;
  recv.peer = from;
  p.ranks = {{0, {from == 0 ? send : recv}}, {1, {from == 0 ? recv : send}}};
  double end = 0;
  for (const auto& r : simulate(p, t)) end = std::max(end, r.end);
  return end;
}

TEST(Calibration, OverlayFiguresSetTheMessageTime) {
  const auto c = topo::parse_calibration(R"(calibration: 1
measured: 2026-12-03T14:05:00Z
links:
  - {from: a, to: b, goodput: 500MB/s, latency: 100us, overhead: 20us}
  - {from: b, to: a, goodput: 250MB/s, latency: 300us, overhead: 20us}
)",
                                         "cal.yaml");
  topo::Topology t = pair();
  // Before: the preset. 10 MB at 16.4 Gb/s = 4.878 ms, + 210 us + 2 x 45 us.
  EXPECT_NEAR(message_time(t, 0, 10e6), 10e6 / (16.4e9 / 8) + 210e-6 + 90e-6, 0.01 * 5.2e-3);
  topo::apply_calibration(t, c);
  // a -> b: 2 x 20 us + 100 us + 10 MB / 500 MB/s = 20.14 ms.
  EXPECT_NEAR(message_time(t, 0, 10e6), 40e-6 + 100e-6 + 20e-3, 0.01 * 20.14e-3);
  // b -> a: 2 x 20 us + 300 us + 10 MB / 250 MB/s = 40.34 ms.
  EXPECT_NEAR(message_time(t, 1, 10e6), 40e-6 + 300e-6 + 40e-3, 0.01 * 40.34e-3);
  // 8 bytes: the fixed cost alone, 140 us one way.
  EXPECT_NEAR(message_time(t, 0, 8), 140e-6, 0.01 * 140e-6);
}

}  // namespace
}  // namespace clustertwin::sim
