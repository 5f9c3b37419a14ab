// The coordinator's checks before any worker starts, and the modelled compute time it hands out.
// (Whole runs driven by the coordinator are in worker_test.cc: ranks as threads.)
#include "exec/coordinator.h"

#include <gtest/gtest.h>

#include "support.h"

namespace clustertwin::exec::detail {
namespace {

core::Program compute_program(int world) {
  core::Program p;
  p.name = "compute";
  p.steps = 1;
  for (int r = 0; r < world; ++r) {
    core::RankProgram rp{r, {}};
    core::Op gemm;
    gemm.kind = core::OpKind::Compute;
    gemm.label = "gemm";
    gemm.flops = 4e12;  // 4 s at 1 TFLOP/s
    gemm.bytes = 1e11;  // 1 s at 100 GB/s
    rp.ops.push_back(gemm);
    core::Op gemv = gemm;
    gemv.label = "gemv";
    gemv.flops = 1e9;   // 1 ms
    gemv.bytes = 5e11;  // 5 s: memory-bound
    gemv.deps = {0};
    rp.ops.push_back(gemv);
    p.ranks.push_back(rp);
  }
  return p;
}

TEST(Coordinator, ModelledSecondsAreTheRooflineOfEachNodesDevice) {
  auto t = test::flat_topology(2);  // 1 TFLOP/s, 100 GB/s
  t.nodes[1].device->peak_fp32 = 2e12;
  auto s = modelled_seconds(compute_program(2), t);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0][0], 4.0);  // max(4e12 / 1e12, 1e11 / 1e11)
  EXPECT_DOUBLE_EQ(s[0][1], 5.0);  // max(1e9 / 1e12, 5e11 / 1e11)
  EXPECT_DOUBLE_EQ(s[1][0], 2.0);  // twice the FLOP/s
  EXPECT_DOUBLE_EQ(s[1][1], 5.0);  // the same memory bandwidth
}

TEST(Coordinator, PrepareRefusesAProgramOfAnotherWorld) {
  try {
    prepare(compute_program(2), test::flat_topology(3), {});
    FAIL();
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "exec: the program has 2 ranks but topology 'flat' has 3 compute nodes — compile the "
                           "workload for this topology");
  }
}

TEST(Coordinator, PrepareRefusesSeveralRanksOnANode) {
  auto t = test::flat_topology(2);
  t.nodes[1].ranks = 2;
  try {
    prepare(compute_program(3), t, {});
    FAIL();
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "exec: node 'n1' of topology 'flat' runs 2 ranks ('ranks: 2'), and the executor runs one rank "
                           "per node — remove 'ranks' to run on it ('predict' models several ranks per node)");
  }
}

TEST(Coordinator, PrepareRefusesACorruptRankThatIsNotARank) {
  try {
    prepare(compute_program(2), test::flat_topology(2), {.corrupt_rank = 2});
    FAIL();
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "exec: corrupt_rank 2 is not a rank (the program has 2)");
  }
}

TEST(Coordinator, ANodeWithoutADeviceIsNamed) {
  auto t = test::flat_topology(2);
  t.nodes[0].device.reset();
  try {
    modelled_seconds(compute_program(2), t);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "exec: node 'n0' (rank 0) has no device in topology 'flat'");
  }
}

TEST(Coordinator, OneAddressPerRank) {
  auto p = compute_program(2);
  try {
    coordinate(p, {{"127.0.0.1", 1}}, modelled_seconds(p, test::flat_topology(2)), {});
    FAIL();
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "exec: 1 worker addresses for a program of 2 ranks");
  }
}

}  // namespace
}  // namespace clustertwin::exec::detail
