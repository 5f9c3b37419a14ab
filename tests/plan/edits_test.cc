// plan/edits.cc: every edit applied to an example and read back by the ordinary loader; node and
// link counts checked by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/yaml_doc.h"
#include "plan/edits.h"
#include "topologies/check.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace {

namespace plan = clustertwin::plan;
namespace topo = clustertwin::topo;
const std::string kSrc = CLUSTERTWIN_SOURCE_DIR;

plan::Documents example(const std::string& topology, const std::string& workload = "ddp-gpt2.yaml") {
  return {YAML::Clone(clustertwin::core::YamlDoc::load(kSrc + "/topologies/examples/" + topology).root()),
          YAML::Clone(clustertwin::core::YamlDoc::load(kSrc + "/workloads/examples/" + workload).root())};
}

topo::Topology edited(const plan::Documents& base, const plan::Edit& e) {
  const plan::Documents d = plan::apply_edits(base, {&e});
  return topo::parse_topology(plan::emit(d.topology), "edited.yaml");
}

clustertwin::work::Workload edited_workload(const plan::Documents& base, std::vector<plan::Edit> edits) {
  std::vector<const plan::Edit*> ptrs;
  for (const auto& e : edits) ptrs.push_back(&e);
  return clustertwin::work::parse_workload(plan::emit(plan::apply_edits(base, ptrs).workload), "edited.yaml");
}

int degree(const topo::Topology& t, const std::string& node) {
  const int n = t.find(node);
  return static_cast<int>(std::count_if(t.links.begin(), t.links.end(), [&](const topo::Link& l) { return l.a == n || l.b == n; }));
}

bool linked(const topo::Topology& t, const std::string& a, const std::string& b) {
  const int x = t.find(a), y = t.find(b);
  return std::any_of(t.links.begin(), t.links.end(),
                     [&](const topo::Link& l) { return (l.a == x && l.b == y) || (l.a == y && l.b == x); });
}

int errors(const topo::Topology& t) {
  const auto f = topo::check(t);
  return static_cast<int>(std::count_if(f.begin(), f.end(), [](const topo::Finding& x) { return x.severity == topo::Severity::Error; }));
}

TEST(PlanEdits, WiringOfTheExamples) {
  EXPECT_EQ(plan::wiring_of(example("tb4-star-3minis.yaml").topology), plan::Wiring::Star);
  EXPECT_EQ(plan::wiring_of(example("two-minis-1gbe.yaml").topology), plan::Wiring::Switch);
  EXPECT_EQ(plan::wiring_of(example("mesh-4-studios-rdma.yaml").topology), plan::Wiring::Mesh);
  // pi5 - mini1 - mini2 - mini3 - pi4
  EXPECT_EQ(plan::wiring_of(example("smolcluster-hybrid.yaml").topology), plan::Wiring::Chain);
}

TEST(PlanEdits, AddedNodesJoinTheStarsHub) {
  const auto t = edited(example("tb4-star-3minis.yaml"), plan::AddNodes{2, ""});
  ASSERT_EQ(t.nodes.size(), 5u);
  ASSERT_EQ(t.links.size(), 4u);
  EXPECT_EQ(degree(t, "mini1"), 4);
  EXPECT_TRUE(linked(t, "mini1", "mini4"));
  EXPECT_TRUE(linked(t, "mini1", "mini5"));
  const auto& mini5 = t.nodes[t.find("mini5")];
  EXPECT_EQ(mini5.device->preset, "mac-mini-m4");
  EXPECT_EQ(mini5.address, "10.10.0.5");
  EXPECT_EQ(t.links.back().type.preset, "tb4");
  EXPECT_TRUE(t.nodes[t.find("mini1")].forwards);
  // The hub has 3 Thunderbolt ports: a 4th cable is what check refuses (T008).
  EXPECT_GE(errors(t), 1);
}

TEST(PlanEdits, AddedNodesJoinTheSwitch) {
  const auto t = edited(example("two-minis-1gbe.yaml"), plan::AddNodes{1, "mac-mini-m4-pro"});
  ASSERT_EQ(t.nodes.size(), 4u);  // 3 minis and the switch
  ASSERT_EQ(t.links.size(), 3u);
  EXPECT_TRUE(linked(t, "mini3", "switch"));
  EXPECT_EQ(t.nodes[t.find("mini3")].device->preset, "mac-mini-m4-pro");
  EXPECT_EQ(t.nodes[t.find("mini3")].address, "10.0.0.3");
  EXPECT_EQ(t.links.back().type.preset, "eth-1g");
  EXPECT_EQ(errors(t), 0);
}

TEST(PlanEdits, OneCableTakesAnotherType) {
  const auto t = edited(example("laptop-wifi-worker.yaml"), plan::SetLinkType{"eth-1g", {"ap", "macbook"}, {}});
  int wifi = 0, eth = 0;
  for (const auto& l : t.links) {
    wifi += l.type.preset == "wifi-6";
    eth += l.type.preset == "eth-1g";
  }
  EXPECT_EQ(eth, 1);
  EXPECT_EQ(wifi, 2);
  EXPECT_DOUBLE_EQ(t.links[3].type.latency, topo::find_link_type("eth-1g")->latency);  // its 1.875ms override dropped
}

TEST(PlanEdits, RemovedNodesTakeTheirLinks) {
  const auto t = edited(example("laptop-wifi-worker.yaml"), plan::RemoveNodes{{"macbook"}, {}});
  ASSERT_EQ(t.nodes.size(), 3u);  // mini1, mini2 and the access point
  EXPECT_EQ(t.find("macbook"), -1);
  EXPECT_EQ(t.links.size(), 3u);  // the TB4 cable and the minis' Wi-Fi legs
  EXPECT_EQ(t.compute_nodes().size(), 2u);
}

TEST(PlanEdits, AddedLoopbackRanksShareTheAddress) {
  const auto t = edited(example("local-3.yaml"), plan::AddNodes{1, ""});
  ASSERT_EQ(t.compute_nodes().size(), 4u);
  EXPECT_EQ(t.nodes[t.find("rank3")].address, "127.0.0.1");
  EXPECT_TRUE(linked(t, "rank3", "lo"));
  EXPECT_EQ(t.links.back().type.preset, "loopback");
}

TEST(PlanEdits, AddedNodesExtendAMesh) {
  const auto t = edited(example("mesh-4-studios-rdma.yaml"), plan::AddNodes{1, ""});
  ASSERT_EQ(t.nodes.size(), 5u);
  EXPECT_EQ(t.links.size(), 10u);  // 5 * 4 / 2
  EXPECT_EQ(t.nodes[t.find("studio5")].device->memory, t.nodes[t.find("studio1")].device->memory);  // 512GB kept
}

TEST(PlanEdits, Shapes) {
  const auto base = example("tb4-star-4minis.yaml");
  const auto chain = edited(base, plan::Reshape{plan::Shape::Chain});
  EXPECT_EQ(chain.links.size(), 3u);
  EXPECT_TRUE(chain.nodes[1].forwards && chain.nodes[2].forwards);
  EXPECT_FALSE(chain.nodes[0].forwards || chain.nodes[3].forwards);
  EXPECT_EQ(errors(chain), 0);

  const auto ring = edited(base, plan::Reshape{plan::Shape::Ring});
  EXPECT_EQ(ring.links.size(), 4u);
  for (const auto& n : ring.nodes) EXPECT_EQ(degree(ring, n.name), 2) << n.name;
  EXPECT_TRUE(linked(ring, "mini4", "mini1"));

  const auto mesh = edited(base, plan::Reshape{plan::Shape::Mesh});
  EXPECT_EQ(mesh.links.size(), 6u);
  for (const auto& n : mesh.nodes) EXPECT_EQ(n.interfaces.size(), 3u) << n.name;  // a /30 per cable
  EXPECT_EQ(errors(mesh), 0);  // 3 Thunderbolt ports each, no bridge loop

  const auto sw = edited(base, plan::Reshape{plan::Shape::Switch});
  ASSERT_EQ(sw.nodes.size(), 5u);
  EXPECT_TRUE(sw.nodes.back().is_switch);
  EXPECT_EQ(sw.links.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(degree(sw, sw.nodes[i].name), 1);

  const auto star = edited(example("smolcluster-hybrid.yaml"), plan::Reshape{plan::Shape::Star});
  EXPECT_EQ(star.links.size(), 4u);
  EXPECT_EQ(degree(star, star.nodes[star.compute_nodes()[0]].name), 4);
}

TEST(PlanEdits, DeviceAndLinkTypeEverywhereDropTheOldFigures) {
  const auto base = example("mesh-4-studios-rdma.yaml");  // memory: 512GB on every node
  const auto dev = edited(base, plan::ReplaceDevice{"mac-studio-m4-max"});
  for (const auto& n : dev.nodes) {
    EXPECT_EQ(n.device->preset, "mac-studio-m4-max");
    EXPECT_EQ(n.device->memory, topo::find_device("mac-studio-m4-max")->memory);
  }
  const auto link = edited(example("two-minis-1gbe.yaml"), plan::SetLinkType{"eth-10g"});
  for (const auto& l : link.links) {
    EXPECT_EQ(l.type.preset, "eth-10g");
    EXPECT_DOUBLE_EQ(l.type.bandwidth, topo::find_link_type("eth-10g")->bandwidth);
  }
}

TEST(PlanEdits, StrategyKeepsTheBasesSettingsButNotItsDegrees) {
  const auto base = example("tb4-star-3minis.yaml", "ddp-gpt2.yaml");  // ddp, allreduce: ring, bucket: all
  YAML::Node zero = YAML::Load("{strategy: zero, stage: 2}");
  auto w = edited_workload(base, {plan::SetParallel{zero}, plan::SetKey{"parallel.allreduce", YAML::Node("halving-doubling")}});
  auto z = clustertwin::work::data_parallel_plan(w.parallel);
  EXPECT_EQ(z.stage, 2);
  EXPECT_EQ(z.bucket_bytes, 0);  // bucket: all, carried over
  EXPECT_EQ(z.gradients.algorithm, clustertwin::core::Algorithm::HalvingDoubling);
  // A pipeline takes no bucket: the key is dropped, not an error.
  auto p = edited_workload(base, {plan::SetParallel{YAML::Load("{strategy: pipeline}")},
                                  plan::SetKey{"parallel.bucket", YAML::Node("25MB")}});
  EXPECT_EQ(p.parallel.strategy(), clustertwin::work::Strategy::Pipeline);
  auto mb = edited_workload(base, {plan::SetKey{"batch.micro_batch", YAML::Node(3)},
                                   plan::SetKey{"memory.activation_checkpointing", YAML::Node(true)}});
  EXPECT_EQ(mb.micro_batch, 3);
  EXPECT_TRUE(mb.memory.activation_checkpointing);
}

TEST(PlanEdits, InferenceKeys) {
  const auto base = example("mesh-4-studios-rdma.yaml", "infer-tensor-llama-3.1-70b.yaml");
  auto w = edited_workload(base, {plan::SetKey{"batch.size", YAML::Node(4)}, plan::SetKey{"batch.prompt", YAML::Node(8192)},
                                  plan::SetKey{"precision.weights", YAML::Node("q4_k_m")},
                                  plan::SetParallel{YAML::Load("{strategy: hybrid, tp: 2, pp: 2}")}});
  EXPECT_EQ(w.micro_batch, 4);
  EXPECT_EQ(w.prompt, 8192);
  EXPECT_EQ(w.precision.weights.name, "q4_k_m");
  const auto h = clustertwin::work::model_parallel_plan(w.parallel);
  EXPECT_EQ(h.tp, 2);
  EXPECT_EQ(h.pp, 2);
  EXPECT_EQ(h.tensor.allreduce.algorithm, clustertwin::core::Algorithm::Ring);  // tp_allreduce: ring, carried over
}

}  // namespace
