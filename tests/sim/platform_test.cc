// The SimGrid platform built from a topology, read back through SimGrid's own API: host speeds,
// the links of each route in order with their bandwidths, the forwarding and loopback resources,
// and the per-pair message costs, all against figures written in the topology by hand.
#include "sim/platform.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Link.hpp>

#include "core/diag.h"
#include "core/fd.h"

namespace clustertwin::sim {
namespace {

namespace sg4 = simgrid::s4u;

// SimGrid allows one engine per process: each test builds its platform in a forked child, which
// answers with text that the test compares.
std::string in_engine(const std::function<std::string()>& question) {
  core::Fd from_child, to_parent;
  core::make_pipe(from_child, to_parent);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    from_child.reset();
    std::string answer;
    try {
      int argc = 1;
      char arg0[] = "platform_test";
      char* argv[] = {arg0, nullptr};
      sg4::Engine engine(&argc, argv);
      answer = question();
    } catch (const std::exception& e) {
      answer = std::string("threw: ") + e.what();
    }
    core::write_full(to_parent.get(), answer.data(), answer.size());
    ::_exit(0);
  }
  to_parent.reset();
  std::string answer;
  char buf[4096];
  for (size_t n; (n = core::read_full(from_child.get(), buf, sizeof buf)) > 0;) answer.append(buf, n);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child failed: " << answer;
  return answer;
}

// "name@bandwidth name@bandwidth ...": the links of the route from rank a to rank b, in order.
std::string route(const Platform& p, int a, int b) {
  std::vector<sg4::Link*> links;
  double latency = 0;
  p.rank_hosts[a]->route_to(p.rank_hosts[b], links, &latency);
  std::string out;
  for (auto* l : links) out += fmt::format("{}{}@{:g}", out.empty() ? "" : " ", l->get_name(), l->get_bandwidth());
  return out;
}

std::string cost(const Platform& p, int a, int b) {
  const PairCost& c = p.costs.at({a, b});
  return fmt::format("overhead {:.0f} us, latency {:.0f} us", c.overhead * 1e6, c.latency * 1e6);
}

//   pi5 (rank 0) ──eth, 100/50 MB/s── mini1 (ranks 1, 2; forwards) ──tb4, 2 GB/s── mini2 (rank 3)
const char* kChain = R"(name: chain
nodes:
  - {name: pi5, device: this-machine, peak_fp32: 3TFLOPS, compute_efficiency: 0.5}
  - {name: mini1, device: this-machine, peak_fp32: 8TFLOPS, compute_efficiency: 0.25,
     memory_bandwidth: 100GB/s, memory_efficiency: 0.5, ranks: 2,
     forwards: true, forward_bandwidth: 500MB/s, forward_latency: 30us}
  - {name: mini2, device: this-machine, peak_fp32: 1TFLOPS, compute_efficiency: 1}
links:
  - {between: [pi5, mini1], type: eth-1g, bandwidth: [100MB/s, 50MB/s], latency: [10us, 20us], overhead: 5us}
  - {between: [mini1, mini2], type: tb4, bandwidth: 2GB/s, latency: 3us, overhead: 7us}
)";

TEST(Platform, HostsRunAtTheSustainedRateOfTheirNode) {
  auto t = topo::parse_topology(kChain, "chain.yaml");
  std::string answer = in_engine([&] {
    Platform p = build_platform(t, {{0, 3}});
    std::string out;
    for (auto* h : p.rank_hosts) out += fmt::format("{}@{:g} ", h->get_name(), h->get_speed());
    return out;
  });
  // peak x efficiency: 3e12 x 0.5, 8e12 x 0.25 (both of mini1's ranks on one host), 1e12 x 1.
  EXPECT_EQ(answer, "pi5@1.5e+12 mini1@2e+12 mini1@2e+12 mini2@1e+12 ");
}

TEST(Platform, ARouteCrossesEachLinkInItsDirectionAndTheForwardersOwnResource) {
  auto t = topo::parse_topology(kChain, "chain.yaml");
  std::string answer = in_engine([&] {
    Platform p = build_platform(t, {{0, 3}, {3, 0}, {0, 1}});
    return route(p, 0, 3) + "\n" + route(p, 3, 0) + "\n" + route(p, 0, 1);
  });
  EXPECT_EQ(answer,
            "pi5-mini1#0>@1e+08 fwd:mini1@5e+08 mini1-mini2#1>@2e+09\n"
            "mini1-mini2#1<@2e+09 fwd:mini1@5e+08 pi5-mini1#0<@5e+07\n"
            "pi5-mini1#0>@1e+08");  // the forwarder's resource only when it passes traffic on
}

TEST(Platform, PairCostsAddTheEndpointOverheadsAndEveryLatencyOnTheWay) {
  auto t = topo::parse_topology(kChain, "chain.yaml");
  std::string answer = in_engine([&] {
    Platform p = build_platform(t, {{0, 3}, {3, 0}, {0, 1}, {1, 2}});
    return cost(p, 0, 3) + "\n" + cost(p, 3, 0) + "\n" + cost(p, 0, 1) + "\n" + cost(p, 1, 2);
  });
  EXPECT_EQ(answer,
            "overhead 12 us, latency 43 us\n"  // 5 + 7; 10 + 30 (forwarding) + 3
            "overhead 12 us, latency 53 us\n"  // 3 + 30 + 20: the way back has its own latency
            "overhead 10 us, latency 10 us\n"  // both ends on the Ethernet link
            "overhead 0 us, latency 0 us");    // two ranks of one node
}

TEST(Platform, RanksOfOneNodeShareItsMemoryAtHalfTheSustainedBandwidth) {
  auto t = topo::parse_topology(kChain, "chain.yaml");
  std::string answer = in_engine([&] {
    Platform p = build_platform(t, {{1, 2}, {2, 1}});
    return route(p, 1, 2) + "\n" + route(p, 2, 1);
  });
  // 100 GB/s x 0.5 efficiency / 2 (a copy reads and writes every byte); one resource both ways.
  EXPECT_EQ(answer, "lo:mini1@2.5e+10\nlo:mini1@2.5e+10");
}

TEST(Platform, AHalfDuplexLinkIsOneResourceForBothDirectionsAndASwitchAddsNone) {
  auto t = topo::parse_topology(R"(name: half
nodes:
  - {name: a, device: this-machine}
  - {name: sw, kind: switch}
  - {name: b, device: this-machine}
links:
  - {between: [a, sw], type: eth-1g, bandwidth: 40MB/s, duplex: half}
  - {between: [sw, b], type: eth-1g, bandwidth: 60MB/s}
)",
                                "half.yaml");
  std::string answer = in_engine([&] {
    Platform p = build_platform(t, {{0, 1}, {1, 0}});
    return route(p, 0, 1) + "\n" + route(p, 1, 0);
  });
  EXPECT_EQ(answer, "a-sw#0@4e+07 sw-b#1>@6e+07\nsw-b#1<@6e+07 a-sw#0@4e+07");
}

TEST(Platform, APairTheTopologyCannotRouteIsAnInputErrorNamingTheNodes) {
  auto t = topo::parse_topology(R"(name: apart
nodes:
  - {name: a, device: this-machine}
  - {name: b, device: this-machine}
  - {name: c, device: this-machine}
links:
  - {between: [a, b], type: eth-1g}
)",
                                "apart.yaml");
  std::string answer = in_engine([&] {
    try {
      build_platform(t, {{0, 2}});
    } catch (const core::InputError& e) {
      return std::string("input error: ") + e.what();
    }
    return std::string("built");
  });
  EXPECT_EQ(answer.rfind("input error: ", 0), 0u) << answer;
  EXPECT_NE(answer.find("'a'"), std::string::npos) << answer;
  EXPECT_NE(answer.find("'c'"), std::string::npos) << answer;
}

}  // namespace
}  // namespace clustertwin::sim
