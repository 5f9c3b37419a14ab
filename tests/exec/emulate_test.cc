// Emulated clusters. The plan is checked everywhere; bringing it up needs Linux and root, and those
// tests skip otherwise. Every namespace they make carries a prefix unique to this test process and
// is removed in TearDown even when an assertion failed.
#include "exec/emulate/emulation.h"
#include "exec/emulate/delay.h"
#include "exec/emulate/frames.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/diag.h"
#include "core/process.h"
#include "exec/errors.h"
#include "exec/executor.h"
#include "exec/probe.h"
#include "exec/socket.h"
#include "temp_dir.h"

namespace clustertwin::exec::emulate {
namespace {

// a -- b -- c, b forwarding, tbf at 100 Mbit/s: the guide's star hub, in a line. `rate` with tbf
// framing is what the shaper counts, so the plan shapes at exactly that rate.
const char* kChain = R"(name: chain
nodes:
  - {name: a, device: mac-mini-m4, address: 10.99.0.1}
  - {name: b, device: mac-mini-m4, address: 10.99.0.2, forwards: true}
  - {name: c, device: mac-mini-m4, address: 10.99.0.3}
links:
  - {between: [a, b], type: eth-1g, rate: 100Mbps, framing: tbf}
  - {between: [b, c], type: eth-1g, rate: [100Mbps, 50Mbps], framing: tbf}
)";

// Two nodes on a switch with subnets: the IP-mode path (addresses as written, a bridge).
const char* kSwitch = R"(name: sw
nodes:
  - {name: m1, device: mac-mini-m4, address: 10.98.0.1/24}
  - {name: m2, device: mac-mini-m4, address: 10.98.0.2/24}
  - {name: s, kind: switch}
links:
  - {between: [m1, s], type: eth-1g}
  - {between: [m2, s], type: eth-1g}
)";

bool has(const EmulationPlan& p, const std::string& line) {
  return p.text().find(line + "\n") != std::string::npos;
}

// IPv4 + TCP headers as the delay process sees them (its first 64 bytes of a packet).
std::vector<unsigned char> tcp_packet(size_t total, int tcp_header = 32) {
  std::vector<unsigned char> p(64, 0);
  p[0] = 0x45;  // IPv4, 20-byte header
  p[2] = static_cast<unsigned char>(total >> 8);
  p[3] = static_cast<unsigned char>(total & 0xff);
  p[9] = 6;  // TCP
  p[20 + 12] = static_cast<unsigned char>((tcp_header / 4) << 4);
  return p;
}

TEST(Frames, AGsoPacketCostsEverySegmentsHeaders) {
  // Three full segments of 1448 B (MTU 1500 - 20 IP - 32 TCP with timestamps): 4344 B of payload,
  // each segment 52 B of headers + 14 B of Ethernet header on the wire.
  auto gso = tcp_packet(52 + 3 * 1448);
  EXPECT_EQ(wire_bytes(gso.data(), gso.size()), 4344u + 3 * 66);
  // One more byte is a fourth segment.
  auto more = tcp_packet(52 + 3 * 1448 + 1);
  EXPECT_EQ(wire_bytes(more.data(), more.size()), 4345u + 4 * 66);
  auto full = tcp_packet(1500);
  EXPECT_EQ(wire_bytes(full.data(), full.size()), 1514u);
  auto ack = tcp_packet(52);
  EXPECT_EQ(wire_bytes(ack.data(), ack.size()), 66u);
  const unsigned char not_ip[4] = {0x60, 0, 0, 0};
  EXPECT_EQ(wire_bytes(not_ip, sizeof not_ip), 18u);
}

TEST(EmulatePlan, ChainWithHostRoutesAndShaping) {
  auto t = topo::parse_topology(kChain, "chain.yaml");
  auto p = plan_emulation(t, {0.5, "ct-x-", false});
  EXPECT_EQ(p.namespaces, (std::vector<std::string>{"ct-x-a", "ct-x-b", "ct-x-c"}));
  EXPECT_TRUE(has(p, "ip netns add ct-x-a")) << p.text();
  EXPECT_TRUE(has(p, "ip link add l0 netns ct-x-a type veth peer name l0 netns ct-x-b")) << p.text();
  // Each direction shaped on the sending side, scaled by 0.5: 100 Mbit/s -> 50, 50 -> 25.
  EXPECT_TRUE(has(p, "tc -n ct-x-a qdisc add dev l0 root tbf rate 50000000bit burst 3028 latency 50ms")) << p.text();
  EXPECT_TRUE(has(p, "tc -n ct-x-c qdisc add dev l1 root tbf rate 25000000bit burst 3028 latency 50ms")) << p.text();
  EXPECT_TRUE(has(p, "ip -n ct-x-a addr add 10.99.0.1/32 peer 10.99.0.2/32 dev l0")) << p.text();
  EXPECT_TRUE(has(p, "ip -n ct-x-a route replace 10.99.0.3/32 via 10.99.0.2 dev l0 onlink")) << p.text();
  EXPECT_TRUE(has(p, "ip -n ct-x-c route replace 10.99.0.1/32 via 10.99.0.2 dev l1 onlink")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-x-b sysctl -qw net.ipv4.ip_forward=1")) << p.text();
  EXPECT_EQ(p.node_address, (std::vector<std::string>{"10.99.0.1", "10.99.0.2", "10.99.0.3"}));
  ASSERT_FALSE(p.notes.empty());
  EXPECT_EQ(p.notes[0].rfind("link latency not emulated", 0), 0u);
  EXPECT_TRUE(p.delay_processes.empty());
}

// Two nodes, 500 us one way a -> b and 300 us back, 100 Mbit/s.
const char* kDelayPair = R"(name: delay-pair
nodes:
  - {name: a, device: mac-mini-m4, address: 10.95.0.1}
  - {name: b, device: mac-mini-m4, address: 10.95.0.2}
links:
  - {between: [a, b], type: eth-1g, rate: 100Mbps, framing: tbf, latency: [500us, 300us]}
)";

TEST(EmulatePlan, DelayWithNetemSitsUnderTbf) {
  auto p = plan_emulation(topo::parse_topology(kDelayPair, "pair.yaml"), {1, "ct-d-", true, true});
  EXPECT_TRUE(has(p, "tc -n ct-d-a qdisc add dev l0 root handle 1: netem delay 500us")) << p.text();
  EXPECT_TRUE(has(p, "tc -n ct-d-b qdisc add dev l0 root handle 1: netem delay 300us")) << p.text();
  EXPECT_TRUE(has(p, "tc -n ct-d-a qdisc add dev l0 parent 1:1 handle 10: tbf rate 100000000bit burst 3125 latency 50ms"))
      << p.text();
  EXPECT_TRUE(p.delay_processes.empty());
  ASSERT_EQ(p.delay_paths.size(), 1u);
  EXPECT_DOUBLE_EQ(p.delay_paths[0].a_to_b, 500e-6);
  EXPECT_DOUBLE_EQ(p.delay_paths[0].b_to_a, 300e-6);
}

TEST(EmulatePlan, DelayWithoutNetemQueuesEachSendersWayOut) {
  auto p = plan_emulation(topo::parse_topology(kDelayPair, "pair.yaml"), {1, "ct-d-", true, false});
  EXPECT_TRUE(has(p, "ip netns exec ct-d-a iptables -w -t mangle -A POSTROUTING -o l0 -j NFQUEUE --queue-num 0")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-d-b iptables -w -t mangle -A POSTROUTING -o l0 -j NFQUEUE --queue-num 0")) << p.text();
  // The queue paces the link at its rate (100 Mbit/s: 12.5 MB/s of frames): no tbf.
  EXPECT_EQ(p.text().find("tbf"), std::string::npos) << p.text();
  EXPECT_EQ(p.text().find("netem"), std::string::npos) << p.text();
  ASSERT_EQ(p.delay_processes.size(), 2u);
  EXPECT_EQ(p.delay_processes[0].ns, "ct-d-a");
  ASSERT_EQ(p.delay_processes[0].queues.size(), 1u);
  EXPECT_DOUBLE_EQ(p.delay_processes[0].queues[0].delay_s, 500e-6);
  EXPECT_DOUBLE_EQ(p.delay_processes[1].queues[0].delay_s, 300e-6);
  EXPECT_NEAR(p.delay_processes[0].queues[0].rate, 12.5e6, 1e-3);
  // --verify's probe: the latency and its 66-byte frame at 12.5 MB/s.
  ASSERT_EQ(p.delay_paths.size(), 1u);
  EXPECT_NEAR(p.delay_paths[0].a_to_b, 500e-6 + 66 / 12.5e6, 1e-11);
  EXPECT_EQ(p.delay_paths[0].queues_a_to_b, 1);
}

// Frames a switch bridges skip iptables: its side's delay is held on the node's way in.
TEST(EmulatePlan, DelayFromASwitchIsHeldOnTheWayIn) {
  std::string sw = kSwitch;
  sw.replace(sw.find("type: eth-1g}"), 13, "type: eth-1g, latency: 40us}");
  auto p = plan_emulation(topo::parse_topology(sw, "sw.yaml"), {1, "ct-s-", true, false});
  EXPECT_TRUE(has(p, "ip netns exec ct-s-m1 iptables -w -t mangle -A POSTROUTING -o l0 -j NFQUEUE --queue-num 0")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-s-m1 iptables -w -t mangle -A PREROUTING -i l0 -j NFQUEUE --queue-num 1")) << p.text();
  ASSERT_EQ(p.delay_processes.size(), 2u);  // m2's link has eth-1g's 100 us
  EXPECT_DOUBLE_EQ(p.delay_processes[0].queues[1].delay_s, 40e-6);
  ASSERT_EQ(p.delay_paths.size(), 1u);  // m1 -> s -> m2: 40 + 100 us, and back, each hop pacing the probe
  const double frame = 66 / (940e6 / 8 * 1514 / 1448);  // eth-1g's goodput on the wire tbf counts
  EXPECT_NEAR(p.delay_paths[0].a_to_b, 140e-6 + 2 * frame, 1e-12);
  EXPECT_NEAR(p.delay_paths[0].b_to_a, 140e-6 + 2 * frame, 1e-12);
  EXPECT_EQ(p.delay_paths[0].queues_a_to_b, 2);
}

// A hub whose two cables share one interface (a Thunderbolt Bridge, smolcluster-hybrid's mini2)
// bridges them: what it sends, and what it passes from one leaf to the other, skips iptables, so
// the hub's side of each cable is queued where the cable arrives.
TEST(EmulatePlan, ABridgedHubsSideIsQueuedWhereItsCablesArrive) {
  const char* hub = R"(name: hub
nodes:
  - {name: a, device: mac-mini-m4, interfaces: [{name: en0, address: 10.97.0.1/24}]}
  - {name: h, device: mac-mini-m4, forwards: true, interfaces: [{name: bridge0, address: 10.97.0.2/24}]}
  - {name: c, device: mac-mini-m4, interfaces: [{name: en0, address: 10.97.0.3/24}]}
links:
  - {between: [a, h], ports: [en0, bridge0], type: eth-1g, bandwidth: 100Mbps, latency: [300us, 200us]}
  - {between: [h, c], ports: [bridge0, en0], type: eth-1g, bandwidth: 100Mbps, latency: [400us, 100us]}
)";
  auto p = plan_emulation(topo::parse_topology(hub, "hub.yaml"), {1, "ct-h-", true, false});
  EXPECT_TRUE(has(p, "ip -n ct-h-h link add bridge0 type bridge")) << p.text();
  // Its cables' ends are ports of that bridge, not devices of its name.
  EXPECT_TRUE(has(p, "ip -n ct-h-h link set l0 master bridge0")) << p.text();
  EXPECT_TRUE(has(p, "ip -n ct-h-h link set l1 master bridge0")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-h-a iptables -w -t mangle -A POSTROUTING -o en0 -j NFQUEUE --queue-num 0")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-h-a iptables -w -t mangle -A PREROUTING -i en0 -j NFQUEUE --queue-num 1")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-h-c iptables -w -t mangle -A PREROUTING -i en0 -j NFQUEUE --queue-num 0")) << p.text();
  EXPECT_TRUE(has(p, "ip netns exec ct-h-c iptables -w -t mangle -A POSTROUTING -o en0 -j NFQUEUE --queue-num 1")) << p.text();
  EXPECT_EQ(p.text().find("ct-h-h iptables"), std::string::npos) << p.text();
  ASSERT_EQ(p.delay_processes.size(), 2u);  // a and c; the hub holds nothing
  EXPECT_DOUBLE_EQ(p.delay_processes[0].queues[1].delay_s, 200e-6);  // h -> a, at a
  EXPECT_DOUBLE_EQ(p.delay_processes[1].queues[0].delay_s, 400e-6);  // h -> c, at c
}

TEST(EmulatePlan, SwitchBecomesABridgeAndSubnetsAreKept) {
  auto p = plan_emulation(topo::parse_topology(kSwitch, "sw.yaml"), {1, "ct-y-", false});
  EXPECT_TRUE(has(p, "ip -n ct-y-s link add br0 type bridge")) << p.text();
  EXPECT_TRUE(has(p, "ip -n ct-y-s link set l0 master br0")) << p.text();
  EXPECT_TRUE(has(p, "ip -n ct-y-m1 addr add 10.98.0.1/24 dev l0")) << p.text();
  // eth-1g is 940 Mbit/s of TCP goodput in the presets: tbf carries it at 940 x 1514 / 1448 Mbit/s
  // (1448 B of payload per 1514 B frame it counts) = 982.845 Mbit/s; burst 250 us of that in bytes.
  EXPECT_TRUE(has(p, "tc -n ct-y-m1 qdisc add dev l0 root tbf rate 982845304bit burst 30713 latency 50ms")) << p.text();
}

TEST(EmulatePlan, DefaultPrefixNamesTheTopology) {
  auto p = plan_emulation(topo::parse_topology(kChain, "chain.yaml"), {});
  EXPECT_EQ(p.prefix, "ct-chain-");
}

TEST(EmulatePlan, SharedOrLoopbackAddressesAreInputErrors) {
  std::string shared = kChain;
  shared.replace(shared.find("10.99.0.3"), 9, "10.99.0.1");
  try {
    plan_emulation(topo::parse_topology(shared, "chain.yaml"), {});
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("chain.yaml:5:5: error: nodes 'a' and 'c' share the address 10.99.0.1"),
              std::string::npos)
        << e.what();
  }
  std::string loop = kChain;
  loop.replace(loop.find("10.99.0.1"), 9, "127.0.0.1");
  EXPECT_THROW(plan_emulation(topo::parse_topology(loop, "chain.yaml"), {}), core::InputError);
  EXPECT_THROW(plan_emulation(topo::parse_topology(kChain, "chain.yaml"), {0, "", false}), core::InputError);
}

class Emulated : public testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!supported(&why)) GTEST_SKIP() << why;
    prefix_ = "ct-t" + std::to_string(::getpid()) + "-";
    sweep_killed_tests();
  }
  // Emulations of test processes that were killed before their TearDown: ct-t<pid>- of a pid gone.
  static void sweep_killed_tests() {
    for (const auto& ns : list("ct-t")) {
      auto dash = ns.find('-', 4);
      if (dash == std::string::npos) continue;
      std::string pid = ns.substr(4, dash - 4);
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (!std::filesystem::exists("/proc/" + pid)) down(ns.substr(0, dash + 1));
    }
  }
  void TearDown() override {
    if (prefix_.empty()) return;
    try {
      down(prefix_);
    } catch (const RunError& e) {
      ADD_FAILURE() << e.what();
    }
    EXPECT_TRUE(list(prefix_).empty());
  }
  std::string prefix_;
};

// Bytes per second of one TCP stream from `from` to `to_addr`, both inside namespaces: the steady
// rate over the last 3/4 of the bytes, after slow start and the buckets' first burst.
double tcp_rate(const std::string& from, const std::string& to_ns, const std::string& to_addr, size_t bytes) {
  Fd listener;
  {
    InNamespace in(to_ns);
    listener = listen_on({to_addr, 0});
  }
  Endpoint ep{to_addr, local_port(listener.get())};
  double seconds = -1;
  std::thread server([&] {
    Fd c = accept_until(listener.get(), deadline_after(10));
    if (!c.valid()) return;
    std::vector<char> buf(1 << 16);
    size_t got = 0;
    Clock::time_point first{};
    while (got < bytes) {
      size_t n = recv_some(c.get(), buf.data(), buf.size(), "sender");
      if (got < bytes / 4 && got + n >= bytes / 4) first = Clock::now();
      got += n;
      if (n == 0 && !wait_fd(c.get(), POLLIN, deadline_after(10))) return;
    }
    seconds = std::chrono::duration<double>(Clock::now() - first).count();
  });
  {
    InNamespace in(from);
    Fd c = connect_until(ep, deadline_after(5), "receiver");
    std::vector<char> data(bytes, 'x');
    write_all(c.get(), data.data(), data.size(), deadline_after(30), "receiver");
    server.join();
  }
  return seconds > 0 ? static_cast<double>(bytes - bytes / 4) / seconds : 0;
}

// The goodput the model gives the first link of a topology (what the emulation is to carry).
double plan_goodput(const char* yaml) { return topo::parse_topology(yaml, "t.yaml").links[0].type.bandwidth; }

TEST_F(Emulated, ChainIsShapedToItsTbfRateAndTornDown) {
  auto plan = plan_emulation(topo::parse_topology(kChain, "chain.yaml"), {1, prefix_, false});
  {
    Emulation emu(plan);
    EXPECT_EQ(list(prefix_).size(), 3u);
    // a -> c crosses b: the bottleneck is tbf at 100 Mbit/s, 11.95 MB/s of TCP goodput (x 1448/1514).
    const double goodput = 100e6 / 8 * 1448 / 1514;
    EXPECT_DOUBLE_EQ(plan_goodput(kChain), goodput);
    double rate = tcp_rate(prefix_ + "a", prefix_ + "c", "10.99.0.3", 4 << 20);
    EXPECT_GT(rate, 0.9 * goodput) << rate;
    EXPECT_LT(rate, 1.05 * goodput) << rate;
    // c -> b is the 50 Mbit/s direction.
    double back = tcp_rate(prefix_ + "c", prefix_ + "b", "10.99.0.2", 2 << 20);
    EXPECT_GT(back, 0.9 * goodput / 2) << back;
    EXPECT_LT(back, 1.05 * goodput / 2) << back;
  }
  EXPECT_TRUE(list(prefix_).empty());  // the destructor removed everything
}

TEST_F(Emulated, AnAddressWithoutARouteIsExplained) {
  Emulation emu(plan_emulation(topo::parse_topology(kChain, "chain.yaml"), {1, prefix_, false}));
  InNamespace in(prefix_ + "a");
  try {
    connect_until({"10.99.0.9", 7000}, deadline_after(2), "rank 9 (10.99.0.9:7000)");
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()).find("exec: rank 9 (10.99.0.9:7000): cannot connect: Network is unreachable — on macOS "
                                         "usually the pf firewall"),
              0u)
        << e.what();
  }
}

TEST_F(Emulated, SwitchedSubnetCarriesTcp) {
  Emulation emu(plan_emulation(topo::parse_topology(kSwitch, "sw.yaml"), {0.1, prefix_, false}));
  double rate = tcp_rate(prefix_ + "m1", prefix_ + "m2", "10.98.0.2", 4 << 20);
  EXPECT_GT(rate, 0.9 * 11.75e6) << rate;  // 940 Mbit/s scaled by 0.1
  EXPECT_LT(rate, 1.05 * 11.75e6) << rate;
}

TEST_F(Emulated, AFailedStepRemovesWhatWasMade) {
  auto plan = plan_emulation(topo::parse_topology(kChain, "chain.yaml"), {1, prefix_, false});
  plan.commands.insert(plan.commands.begin() + 4, {"ip", "link", "add", "x", "type", "no-such-kind"});
  try {
    up(plan);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("exec: emulate: `ip link add x type no-such-kind` failed: "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("(everything made so far was removed)"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(list(prefix_).empty());
}

// A ring of 3 at 200 Mbit/s per link and direction.
const char* kRing = R"(name: ring
nodes:
  - {name: r0, device: mac-mini-m4, address: 10.96.0.1}
  - {name: r1, device: mac-mini-m4, address: 10.96.0.2}
  - {name: r2, device: mac-mini-m4, address: 10.96.0.3}
links:
  - {between: [r0, r1], type: eth-1g, rate: 200Mbps, framing: tbf}
  - {between: [r1, r2], type: eth-1g, rate: 200Mbps, framing: tbf}
  - {between: [r2, r0], type: eth-1g, rate: 200Mbps, framing: tbf}
)";

core::Program allreduces(int world, double bytes, int steps) {
  core::Program p;
  p.name = "allreduces";
  p.steps = steps;
  p.groups = {{}};
  for (int r = 0; r < world; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < world; ++r) {
    auto& ops = p.ranks.emplace_back(core::RankProgram{r, {}}).ops;
    for (int s = 0; s < steps; ++s) {
      core::Op op;
      op.kind = core::OpKind::Collective;
      op.phase = core::Phase::Comm;
      op.label = "allreduce";
      op.step = s;
      op.tag = s;
      op.bytes = bytes;
      op.group = 0;
      if (s > 0) op.deps = {static_cast<uint32_t>(s - 1)};
      ops.push_back(op);
    }
  }
  return p;
}

RunSettings emulated_options() {
  RunSettings o;
  o.op_timeout_s = 5;
  o.launch_timeout_s = 10;
  return o;
}

TEST_F(Emulated, RunInsideTheEmulationReachesTheLinkRate) {
  auto t = topo::parse_topology(kRing, "ring.yaml");
  Emulation emu(plan_emulation(t, {1, prefix_, false}));
  const double bytes = 6 << 20;
  auto run = exec::run(allreduces(3, bytes, 3), t, launch::Emulated{prefix_, CLUSTERTWIN_TEST_WORKER}, emulated_options());
  ASSERT_EQ(run.records.size(), 9u);
  for (const auto& c : run.clocks) EXPECT_FALSE(c.applied);  // one machine
  // Ring all-reduce moves 2(n-1)/n of the buffer over each link: busbw against the 25 MB/s link.
  double best = 1e9;
  for (int s = 1; s < 3; ++s) {
    double start = 0, end = 0;
    for (const auto& r : run.records)
      if (static_cast<int>(r.op) == s) {
        start = std::max(start, r.start);
        end = std::max(end, r.end);
      }
    best = std::min(best, end - start);
  }
  double busbw = bytes / best * 4.0 / 3.0;
  EXPECT_GT(busbw, 0.85 * 25e6) << busbw;
  EXPECT_LT(busbw, 1.05 * 25e6) << busbw;
}

TEST_F(Emulated, AKilledWorkerEndsTheRunNamingRankAndHost) {
  auto t = topo::parse_topology(kRing, "ring.yaml");
  Emulation emu(plan_emulation(t, {1, prefix_, false}));
  auto o = emulated_options();
  ::test::TempDir tmp;
  o.out_dir = tmp.out("out");
  o.op_timeout_s = 2;
  // 30 steps of 2 MB all-reduces: ~0.1 s each at 25 MB/s; rank 1 is killed after a few.
  Clock::time_point killed{};
  std::thread killer([&] {
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(o.out_dir + "/steps.jsonl");
      int lines = 0;
      for (std::string l; std::getline(in, l);) ++lines;
      if (lines >= 6) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    killed = Clock::now();
    std::string cmd = "kill -9 $(ip netns pids " + prefix_ + "r1)";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  });
  std::string error;
  try {
    run(allreduces(3, 2 << 20, 30), t, launch::Emulated{prefix_, CLUSTERTWIN_TEST_WORKER}, o);
  } catch (const RunError& e) {
    error = e.what();
  }
  auto ended = Clock::now();
  killer.join();
  EXPECT_NE(error.find("rank 1 (r1, 10.96.0.2:"), std::string::npos) << error;
  EXPECT_NE(error.find("crashed, ran out of memory or was killed"), std::string::npos) << error;
  EXPECT_LE(std::chrono::duration<double>(ended - killed).count(), 2 * o.op_timeout_s) << error;
  // Every step that finished before the kill is on disk.
  std::ifstream in(o.out_dir + "/steps.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_GE(lines, 6);
}

}  // namespace
}  // namespace clustertwin::exec::emulate

namespace clustertwin::exec::emulate {
namespace {

// probe on an emulated pair shaped with tbf at 200 Mbit/s one way, 100 Mbit/s back (16 MiB
// streams: the scout finds room for them): one flow
// moves TCP payload at the rate times MSS / (MSS + headers): 1448 B of payload (MTU 1500 less
// IPv4 20, TCP 20 and the timestamp option 12) per 1514 B frame tbf counts (the 14 B Ethernet
// header included).
TEST_F(Emulated, ProbeRecoversTheShapedRateLessTcpFraming) {
  auto t = topo::parse_topology(R"(name: probe-pair
nodes:
  - {name: a, device: this-machine, address: 10.96.0.1}
  - {name: b, device: this-machine, address: 10.96.0.2}
links:
  - {between: [a, b], type: eth-1g, rate: [200Mbps, 100Mbps], framing: tbf}
)", "pair.yaml");
  Emulation emu(plan_emulation(t, {1, prefix_, false}));
  ProbeOptions o;
  o.sizes = {8, 64 << 10, 1 << 20};
  o.rounds = 2;
  o.stream_bytes = 16 << 20;  // 0.7 s up, 1.4 s down: slow start and the ack are a small part
  o.stream_messages = 4;
  o.stream_rounds = 2;
  o.stream_s = 1;
  o.gemm_n = 64;
  o.gemm_count = 1;
  o.memory_bytes = 1 << 20;
  o.device_rounds = 1;
  RunSettings s = emulated_options();
  s.op_timeout_s = 20;
  ProbeResult r = run_probe(t, o, probe_runner(launch::Emulated{prefix_, CLUSTERTWIN_TEST_WORKER}, s, t), {});
  ASSERT_EQ(r.pairs.size(), 1u);
  ASSERT_EQ(r.pairs[0].error, "");
  const double framing = 1448.0 / 1514.0;
  const double up = 200e6 / 8 * framing, down = 100e6 / 8 * framing;  // 23.91 and 11.95 MB/s
  // The topology's own goodput, derived from the tbf rate, is what the probe is to find.
  EXPECT_NEAR(t.links[0].type.bandwidth, up, 1e-6 * up);
  EXPECT_NEAR(t.links[0].back_bandwidth, down, 1e-6 * down);
  // Within 4 %: the rate is the shaper's, but ctest runs other tests on the same 2 cores meanwhile.
  EXPECT_NEAR(r.pairs[0].stream_ab.median, up, 0.04 * up);
  EXPECT_NEAR(r.pairs[0].stream_ba.median, down, 0.04 * down);
  // Full duplex: the slower direction moves as fast with the other flowing as alone, less the
  // room the other flow's ACKs take on it (a 66-byte frame per two 1514-byte ones: 2.2 % of the
  // 200 Mbit/s, 4.4 % of this direction's 100). (The faster one reads no faster than it:
  // exec/probe.h, PairResult::both_ab.)
  const double acks = 200e6 / 8 * 66 / (2 * 1514);
  const double down_both = (100e6 / 8 - acks) * framing;
  EXPECT_NEAR(r.pairs[0].both_ba.median, down_both, 0.05 * down_both);
  EXPECT_GE(r.pairs[0].both_ab.median, 0.95 * down_both);
  topo::Calibration c = to_calibration(t, r, {utc_now(), "test"});
  ASSERT_EQ(c.links.size(), 2u);
  topo::apply_calibration(t, c);
  EXPECT_NEAR(t.links[0].type.bandwidth, up, 0.04 * up);
  EXPECT_NEAR(t.links[0].back_bandwidth, down, 0.04 * down);
}

}  // namespace
}  // namespace clustertwin::exec::emulate

namespace clustertwin::exec::emulate {
namespace {

bool process_gone(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;
  return stat.find(") Z ") != std::string::npos;  // a zombie waiting for whoever reaps orphans
}

// 500 us one way each way: the round trip is 1 ms (+ the stack's few tens of us), with netem
// where the kernel has it, else held in user space; `down` leaves no namespace, rule or process.
TEST_F(Emulated, OneWayDelayMakesTheRoundTripAndDownRemovesAll) {
  std::string pair = kDelayPair;
  pair.replace(pair.find("[500us, 300us]"), 14, "500us");
  bool netem = netem_available();
  auto plan = plan_emulation(topo::parse_topology(pair, "pair.yaml"), {1, prefix_, true, netem});
  std::vector<int> pids;
  {
    Emulation emu(plan);
    pids = delay_processes(prefix_);
    EXPECT_EQ(pids.size(), netem ? 0u : 2u);
    auto m = measure_delays(plan, 100);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_NEAR(m[0].round_trip, 1e-3, 0.1e-3 + 40e-6) << "netem: " << netem;
    EXPECT_NEAR(m[0].a_to_b, 500e-6, 0.1 * 500e-6 + 20e-6);
    EXPECT_NEAR(m[0].b_to_a, 500e-6, 0.1 * 500e-6 + 20e-6);
    // The held packets still move at the shaped rate: tbf at 100 Mbit/s, 11.95 MB/s of goodput.
    const double goodput = 100e6 / 8 * 1448 / 1514;
    double rate = tcp_rate(prefix_ + "a", prefix_ + "b", "10.95.0.2", 4 << 20);
    EXPECT_GT(rate, 0.9 * goodput) << rate;
    EXPECT_LT(rate, 1.05 * goodput) << rate;
  }
  EXPECT_TRUE(list(prefix_).empty());
  for (int pid : pids) {
    for (int i = 0; i < 100 && !process_gone(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(process_gone(pid)) << pid;
  }
  // The rules lived in the namespaces; none was put in this one.
  auto rules = core::run_captured({"iptables", "-w", "-t", "mangle", "-S"}, 10);
  EXPECT_EQ(rules.out.find(prefix_), std::string::npos);
  EXPECT_EQ(rules.out.find("NFQUEUE"), std::string::npos) << rules.out;
}

// A test killed before `down`: its namespaces are deleted by a later sweep (plain `ip netns del`
// here), and the delay processes notice and exit instead of keeping the namespaces alive.
TEST_F(Emulated, DelayProcessesExitWhenTheirNamespaceIsDeleted) {
  if (!user_space_delay_available()) GTEST_SKIP() << "built without libnetfilter-queue";
  auto plan = plan_emulation(topo::parse_topology(kDelayPair, "pair.yaml"), {1, prefix_, true, false});
  up(plan);
  auto pids = delay_processes(prefix_);
  EXPECT_EQ(pids.size(), 2u);
  for (const auto& ns : plan.namespaces) core::run_captured({"ip", "netns", "del", ns}, 10);
  for (int pid : pids) {
    for (int i = 0; i < 300 && !process_gone(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(process_gone(pid)) << pid;
  }
}

}  // namespace
}  // namespace clustertwin::exec::emulate
