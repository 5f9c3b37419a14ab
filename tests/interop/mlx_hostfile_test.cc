// MLX hostfiles in and out. Fixtures in fixtures/ are written by hand in the form MLX's
// python/mlx/_distributed_utils (2025) reads and mlx.distributed_config writes; the expected
// nodes, links and routes below are read off those files, not off an import.
#include "interop/mlx_hostfile.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "topologies/check.h"
#include "topologies/routing.h"

namespace clustertwin::interop {
namespace {

const std::string kDir = std::string(CLUSTERTWIN_SOURCE_DIR) + "/tests/interop/fixtures/";

MlxImportOptions options(const std::string& name, const std::string& device = "") {
  MlxImportOptions o;
  o.name = name;
  o.device = device;
  return o;
}

topo::Topology import(const std::string& fixture, const std::string& device) {
  const MlxImportOptions o = options("imported", device);
  return topo::parse_topology(mlx_topology_yaml(load_mlx_hostfile(kDir + fixture), o), "imported.yaml");
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const core::InputError& e) {
    std::string s = e.what();
    for (auto at = s.find(kDir); at != std::string::npos; at = s.find(kDir)) s.replace(at, kDir.size(), "");
    return s;
  }
  return "no error";
}

// Every ordered pair of rank nodes: the nodes crossed, and per hop the link type and the two ends
// (an interface's address, else the port name).
std::map<std::string, std::string> routes_of(const topo::Topology& t) {
  const topo::Routes routes(t);
  std::map<std::string, std::string> out;
  auto end = [&](const topo::Link& l, int node) {
    const int iface = node == l.a ? l.iface_a : l.iface_b;
    return iface >= 0 ? t.nodes[node].interfaces[iface].address : (node == l.a ? l.port_a : l.port_b);
  };
  for (int a : t.compute_nodes())
    for (int b : t.compute_nodes()) {
      if (a == b) continue;
      std::string& s = out[t.nodes[a].name + " > " + t.nodes[b].name];
      if (!routes.reachable(a, b)) {
        s = "unreachable";
        continue;
      }
      for (const auto& hop : routes.between(a, b).hops) {
        const topo::Link& l = t.links[hop.link];
        const int from = hop.up ? l.a : l.b, to = l.other(from);
        s += fmt::format("{}[{}] -{}- {}[{}]; ", t.nodes[from].name, end(l, from), l.type.preset, t.nodes[to].name, end(l, to));
      }
    }
  return out;
}

TEST(MlxHostfile, JacclMeshBecomesOneRdmaLinkPerCable) {
  const topo::Topology t = import("mlx-jaccl-4-studios.json", "mac-studio-m3-ultra");
  ASSERT_EQ(t.nodes.size(), 4u);
  EXPECT_EQ(t.nodes[0].name, "m3-ultra-1");
  EXPECT_EQ(t.nodes[0].ssh, "m3-ultra-1");
  EXPECT_EQ(t.nodes[2].address, "192.168.1.13");
  EXPECT_EQ(t.nodes[3].device->preset, "mac-studio-m3-ultra");
  ASSERT_EQ(t.links.size(), 6u);  // 4 hosts, every pair cabled once
  for (const auto& l : t.links) EXPECT_EQ(l.type.preset, "tb5-rdma");
  // hosts[0].rdma[1] = rdma_en5 and hosts[1].rdma[0] = rdma_en5: the first link, en5 at both ends.
  EXPECT_EQ(t.nodes[t.links[0].a].name, "m3-ultra-1");
  EXPECT_EQ(t.nodes[t.links[0].b].name, "m3-ultra-2");
  EXPECT_EQ(t.links[0].port_a, "en5");
  EXPECT_EQ(t.links[0].port_b, "en5");
  // hosts[2].rdma[3] = rdma_en5, hosts[3].rdma[2] = rdma_en5: the last link.
  EXPECT_EQ(t.nodes[t.links[5].a].name, "m3-ultra-3");
  EXPECT_EQ(t.nodes[t.links[5].b].name, "m3-ultra-4");
  const auto routes = routes_of(t);
  EXPECT_EQ(routes.at("m3-ultra-1 > m3-ultra-3"), "m3-ultra-1[en4] -tb5-rdma- m3-ultra-3[en4]; ");
  EXPECT_EQ(routes.at("m3-ultra-4 > m3-ultra-2"), "m3-ultra-4[en4] -tb5-rdma- m3-ultra-2[en4]; ");
  for (const auto& f : topo::check(t)) EXPECT_NE(f.severity, topo::Severity::Error) << topo::format_finding(t, f);
}

TEST(MlxHostfile, MissingRdmaPairIsImportedAndCheckNamesThePair) {
  const topo::Topology t = import("mlx-jaccl-missing-pair.json", "mac-studio-m3-ultra");
  EXPECT_EQ(t.links.size(), 5u);  // m3-ultra-1 - m3-ultra-3 is null on both sides
  std::vector<std::string> t003;
  for (const auto& f : topo::check(t))
    if (f.code == "T003") t003.push_back(f.message);
  ASSERT_EQ(t003.size(), 1u);
  EXPECT_NE(t003[0].find("'m3-ultra-1' and 'm3-ultra-3'"), std::string::npos) << t003[0];
  const std::string yaml = mlx_topology_yaml(load_mlx_hostfile(kDir + "mlx-jaccl-missing-pair.json"),
                                             options("x", "mac-studio-m3-ultra"));
  EXPECT_NE(yaml.find("# No RDMA cable in the hostfile between: m3-ultra-1 - m3-ultra-3"), std::string::npos) << yaml;
}

TEST(MlxHostfile, RingOverThunderboltPairsEachAddressWithTheOtherEndOfItsSlash30) {
  const topo::Topology t = import("mlx-ring-tb-3minis.json", "mac-mini-m4-pro");
  ASSERT_EQ(t.links.size(), 3u);
  for (const auto& l : t.links) EXPECT_EQ(l.type.preset, "tb5");  // the M4 Pro mini has Thunderbolt 5
  EXPECT_TRUE(t.ip_mode);
  const auto routes = routes_of(t);
  // mini2 lists 192.168.0.2, its end of the cable to mini1 (the host before it): mini1 is .1.
  EXPECT_EQ(routes.at("mini1 > mini2"), "mini1[192.168.0.1] -tb5- mini2[192.168.0.2]; ");
  EXPECT_EQ(routes.at("mini3 > mini2"), "mini3[192.168.0.6] -tb5- mini2[192.168.0.5]; ");
  EXPECT_EQ(routes.at("mini3 > mini1"), "mini3[192.168.0.9] -tb5- mini1[192.168.0.10]; ");
  EXPECT_EQ(t.nodes[0].address, "192.168.0.10");
}

TEST(MlxHostfile, EthernetFormIsAStarOnASwitch) {
  const topo::Topology t = import("mlx-ethernet.json", "raspberry-pi-5");
  ASSERT_EQ(t.nodes.size(), 4u);
  EXPECT_TRUE(t.nodes[3].is_switch);
  ASSERT_EQ(t.links.size(), 3u);
  EXPECT_EQ(t.links[1].type.preset, "eth-1g");
  EXPECT_EQ(routes_of(t).at("pi1 > pi3"), "pi1[] -eth-1g- switch[]; switch[] -eth-1g- pi3[]; ");
  EXPECT_EQ(t.nodes[2].address, "192.168.50.23");
}

TEST(MlxHostfile, RoundTripJacclMeshRoutesIdentically) {
  const topo::Topology original = topo::load_topology(std::string(CLUSTERTWIN_SOURCE_DIR) +
                                                      "/topologies/examples/mesh-4-studios-rdma.yaml");
  const MlxExport x = mlx_hostfile_json(original, MlxBackend::Jaccl);
  EXPECT_TRUE(x.warnings.empty());
  const auto j = nlohmann::json::parse(x.json);
  EXPECT_EQ(j["backend"], "jaccl");
  EXPECT_EQ(j["hosts"][0]["rdma"], nlohmann::json::parse(R"([null, "rdma_tb1", "rdma_tb2", "rdma_tb3"])"));
  const topo::Topology back = topo::parse_topology(
      mlx_topology_yaml(read_mlx_hostfile(x.json, "hosts.json"), options("back", "mac-studio-m3-ultra")), "back.yaml");
  EXPECT_EQ(routes_of(back), routes_of(original));
  EXPECT_EQ(routes_of(back).at("studio2 > studio4"), "studio2[tb3] -tb5-rdma- studio4[tb2]; ");
}

constexpr const char* kRing = R"(name: ring-3-minis
nodes:
  - name: mini1
    device: mac-mini-m4-pro
    ssh: mini1
    address: 192.168.0.1
    interfaces:
      - {name: tb0, address: 192.168.0.1/30}
      - {name: tb1, address: 192.168.0.10/30}
  - name: mini2
    device: mac-mini-m4-pro
    ssh: mini2
    interfaces:
      - {name: tb0, address: 192.168.0.2/30}
      - {name: tb1, address: 192.168.0.5/30}
  - name: mini3
    device: mac-mini-m4-pro
    ssh: mini3
    interfaces:
      - {name: tb0, address: 192.168.0.6/30}
      - {name: tb1, address: 192.168.0.9/30}
links:
  - {between: [mini1, mini2], ports: [tb0, tb0], type: tb5}
  - {between: [mini2, mini3], ports: [tb1, tb0], type: tb5}
  - {between: [mini3, mini1], ports: [tb1, tb1], type: tb5}
)";

TEST(MlxHostfile, RoundTripRingRoutesIdentically) {
  const topo::Topology original = topo::parse_topology(kRing, "ring.yaml");
  const MlxExport x = mlx_hostfile_json(original, MlxBackend::Ring);
  // Host i's end of its cable to host i-1, as distributed_config writes the ring: the fixture.
  const auto j = nlohmann::json::parse(x.json);
  const auto fixture = nlohmann::json::parse(R"([{"ssh": "mini1", "ips": ["192.168.0.10"]},
      {"ssh": "mini2", "ips": ["192.168.0.2"]}, {"ssh": "mini3", "ips": ["192.168.0.6"]}])");
  EXPECT_EQ(j["backend"], "ring");
  EXPECT_EQ(j["hosts"], fixture);
  const topo::Topology back = topo::parse_topology(
      mlx_topology_yaml(read_mlx_hostfile(x.json, "hosts.json"), options("back", "mac-mini-m4-pro")), "back.yaml");
  EXPECT_EQ(routes_of(back), routes_of(original));
}

TEST(MlxHostfile, ExportRefusesWhatJacclCannotRun) {
  const std::string ex = std::string(CLUSTERTWIN_SOURCE_DIR) + "/topologies/examples/";
  EXPECT_EQ(error_of([&] { mlx_hostfile_json(topo::load_topology(ex + "tb4-star-3minis.yaml"), MlxBackend::Jaccl); }),
            ex + "tb4-star-3minis.yaml: error: JACCL needs an RDMA cable between every pair; 'mini1' and 'mini2' have a "
                 "'tb4' link (TCP, not RDMA)\nhint: cable them with Thunderbolt 5 and make the link `type: tb5-rdma` (RDMA "
                 "is never forwarded), or export --backend ring");
  // A mesh with one cable missing: the lint's T003, said as `check` says it.
  const topo::Topology holed = import("mlx-jaccl-missing-pair.json", "mac-studio-m3-ultra");
  const std::string e = error_of([&] { mlx_hostfile_json(holed, MlxBackend::Jaccl); });
  EXPECT_NE(e.find("[T003 rdma-not-direct] 'm3-ultra-1' and 'm3-ultra-3'"), std::string::npos) << e;
  EXPECT_NE(e.find("error: JACCL cannot run on 'imported' (the findings above)"), std::string::npos) << e;
}

TEST(MlxHostfile, BadInputNamesFileLineAndWhatWasExpected) {
  EXPECT_EQ(error_of([] { load_mlx_hostfile(kDir + "mlx-not-json.json"); }).substr(0, 60),
            "mlx-not-json.json:3:21: error: not JSON (syntax error while ");
  EXPECT_EQ(error_of([] { load_mlx_hostfile(kDir + "mlx-rdma-short-row.json"); }),
            "mlx-rdma-short-row.json:3:37: error: 'b' has 2 \"rdma\" entries; expected 3, one per host (null toward "
            "itself and toward a host it has no cable to)\n"
            "      {\"ssh\": \"b\", \"ips\": [], \"rdma\": [\"rdma_en2\", null]},\n"
            "                                      ^\n"
            "hint: write the host's row of the RDMA matrix in hosts order, as mlx.distributed_config --backend jaccl does");
  const std::string asym = error_of([] {
    mlx_topology_yaml(load_mlx_hostfile(kDir + "mlx-rdma-asymmetric.json"), options("x", "mac-studio-m3-ultra"));
  });
  EXPECT_NE(asym.find("'a' names 1 RDMA device toward 'b' (entry 1), but 'b' names 0 toward 'a' (entry 0)"), std::string::npos)
      << asym;
  const std::string no_device =
      error_of([] { mlx_topology_yaml(load_mlx_hostfile(kDir + "mlx-ethernet.json"), options("x")); });
  EXPECT_EQ(no_device.substr(0, no_device.find("\nhint")),
            "--device: error: no device for host 'pi1': an MLX hostfile does not say what each machine is");
  EXPECT_EQ(error_of([] {
              mlx_topology_yaml(load_mlx_hostfile(kDir + "mlx-ethernet.json"), options("x", "raspberry-pi5"));
            }),
            "--device: error: unknown device preset 'raspberry-pi5' (host 'pi1')\nhint: did you mean 'raspberry-pi-5'?");
}

}  // namespace
}  // namespace clustertwin::interop
