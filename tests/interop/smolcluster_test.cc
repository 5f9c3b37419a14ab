// smolcluster configs: fixtures in fixtures/smolcluster/ are written in the form of smolcluster's
// src/smolcluster/configs (early 2026), trimmed; each folder holds one cluster config and the
// model config. Expectations are read off those files.
#include "interop/smolcluster.h"

#include <gtest/gtest.h>

#include "core/diag.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::interop {
namespace {

const std::string kDir = std::string(CLUSTERTWIN_SOURCE_DIR) + "/tests/interop/fixtures/smolcluster/";

SmolclusterFiles import(const std::string& folder) {
  SmolclusterImport o;
  o.dir = kDir + folder;
  return import_smolcluster(o);
}

struct Loaded {
  topo::Topology topology;
  work::Workload workload;
};

Loaded load(const SmolclusterFiles& f) {
  return {topo::parse_topology(f.topology_yaml, "topology.yaml"), work::parse_workload(f.workload_yaml, "workload.yaml")};
}

std::string error_of(const SmolclusterImport& o) {
  try {
    import_smolcluster(o);
  } catch (const core::InputError& e) {
    std::string s = e.what();
    for (auto at = s.find(kDir); at != std::string::npos; at = s.find(kDir)) s.replace(at, kDir.size(), "");
    return s;
  }
  return "no error";
}

TEST(Smolcluster, ClassicDpIsDdpOverTheThunderboltChainOfItsWorkers) {
  const SmolclusterFiles f = import("classicdp");
  EXPECT_EQ(f.algorithm, "classicdp");
  const Loaded l = load(f);
  ASSERT_EQ(l.topology.nodes.size(), 3u);
  EXPECT_EQ(l.topology.nodes[1].name, "mini2");
  EXPECT_EQ(l.topology.nodes[1].address, "10.10.0.2");  // workers.regular[1].ip
  EXPECT_TRUE(l.topology.nodes[1].forwards);            // the middle of the bridge chain
  ASSERT_EQ(l.topology.links.size(), 2u);
  EXPECT_EQ(l.topology.links[0].type.preset, "tb4");  // Mac minis M4: Thunderbolt 4
  EXPECT_NE(f.workload_yaml.find("parallel: {strategy: ddp, allreduce: direct, bucket: all}"), std::string::npos) << f.workload_yaml;
  EXPECT_NE(f.workload_yaml.find("batch: {micro_batch: 4, seq_len: 128}"), std::string::npos);  // batch_size 12 over 3
  EXPECT_EQ(l.workload.steps, 5);
}

TEST(Smolcluster, EdpIsAnAsyncParameterServerWithEightBitPushes) {
  const SmolclusterFiles f = import("edp");
  load(f);
  EXPECT_NE(f.workload_yaml.find("parallel: {strategy: parameter-server, mode: async, staleness: 10, push: int8, server: 0}"),
            std::string::npos)
      << f.workload_yaml;
  EXPECT_NE(f.workload_yaml.find("micro_batch: 6"), std::string::npos);  // 12 over the 2 workers
  EXPECT_NE(f.topology_yaml.find("{name: mini1, device: mac-mini-m4, ssh: mini1, address: 10.10.0.1, role: coordinator}"),
            std::string::npos)
      << f.topology_yaml;
}

TEST(Smolcluster, FsdpStageIsTheZeroStageAndStalenessIsSaidNotModelled) {
  const SmolclusterFiles f = import("fsdp");
  load(f);
  EXPECT_NE(f.workload_yaml.find("parallel: {strategy: zero, stage: 1, allreduce: direct}"), std::string::npos) << f.workload_yaml;
  EXPECT_NE(f.workload_yaml.find("# staleness_bound 5: not modelled"), std::string::npos) << f.workload_yaml;
}

TEST(Smolcluster, PipelineIsGpipeWithTheModelConfigsMicroBatches) {
  const SmolclusterFiles f = import("pipeline");
  EXPECT_EQ(f.algorithm, "mp_pipeline");
  load(f);
  EXPECT_NE(f.workload_yaml.find("parallel: {strategy: pipeline, schedule: gpipe, micro_batches: 4}"), std::string::npos)
      << f.workload_yaml;
  EXPECT_NE(f.workload_yaml.find("batch: {micro_batch: 3, seq_len: 128}"), std::string::npos);  // 12 in 4 micro-batches
  EXPECT_NE(f.workload_yaml.find("layers: 6, hidden: 256, heads: 4, kv_heads: 4, head_dim: 64, ffn: 768, vocab: 50257"),
            std::string::npos);
}

TEST(Smolcluster, ErrorsNameTheFlagOrTheFolder) {
  SmolclusterImport o;
  o.dir = kDir + "classicdp";
  o.algorithm = "clasicdp";
  EXPECT_EQ(error_of(o), "--algorithm: error: no cluster_config_clasicdp.yaml in 'classicdp'\nhint: did you mean 'classicdp'?");
  o.dir = kDir;
  o.algorithm = "";
  const std::string none = error_of(o);  // the folder itself is kDir, replaced by ""
  EXPECT_EQ(none.substr(0, none.find('\n')), ": error: no cluster_config_*.yaml in the folder");
  o.dir = kDir + "edp";
  o.devices["mini2"] = "mac-mini-m5";
  const std::string e = error_of(o);
  EXPECT_EQ(e.substr(0, e.find('\n')), "--device: error: unknown device preset 'mac-mini-m5' (host 'mini2')");
}

}  // namespace
}  // namespace clustertwin::interop
