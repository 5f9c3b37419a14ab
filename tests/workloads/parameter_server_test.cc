// The parameter server as smolcluster runs it: sync and async with a staleness bound, 8-bit pushes.
#include "workloads/parameter_server.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "support.h"
#include "workloads/compile.h"

namespace clustertwin::work {
namespace {

Workload ps(const std::string& extra) {
  return support::parse(fmt::format("name: ps\nmodel: gpt2-124m\ntask: train\nbatch: {{micro_batch: 4, seq_len: 256}}\n"
                                    "parallel: {{strategy: parameter-server{}}}\nsteps: 3\n",
                                    extra));
}

TEST(ParameterServer, SyncWorkersPushGradientsAndPullParameters) {
  core::Program p = compile(ps(""), support::cluster(4));
  ASSERT_TRUE(support::runnable(p));
  const double grads = 124439808.0 * 4;
  for (int r = 1; r < 4; ++r) {
    int sends = 0;
    for (const auto& op : p.ranks[r].ops)
      if (op.kind == core::OpKind::Send) {
        ++sends;
        EXPECT_EQ(op.peer, 0);
        EXPECT_DOUBLE_EQ(op.bytes, grads);
      }
    EXPECT_EQ(sends, 3);
  }
  EXPECT_DOUBLE_EQ(p.samples_per_step, 4 * 3);  // the server does not train
  // the server holds the optimizer, the workers do not
  EXPECT_GT(p.memory[0].optimizer, 0);
  EXPECT_EQ(p.memory[1].optimizer, 0);
}

TEST(ParameterServer, EightBitPushesAQuarterOfTheBytes) {
  core::Program p = compile(ps(", push: int8"), support::cluster(3));
  ASSERT_TRUE(support::runnable(p));
  for (const auto& op : p.ranks[1].ops) {
    if (op.kind == core::OpKind::Send) {
      EXPECT_DOUBLE_EQ(op.bytes, 124439808.0 * (1 + 4.0 / 256));
    }
  }
  EXPECT_DOUBLE_EQ(push_bytes(256, core::DType::I8), 260);
}

// When each worker ends on an ideal machine where every compute op takes 1, worker 1's three.
std::vector<double> finish_times(const core::Program& p) {
  std::vector<const core::Op*> slow;
  for (const auto& op : p.ranks[1].ops) slow.push_back(&op);
  auto t = support::time_program(p, [&](const core::Op& op) {
    if (op.kind != core::OpKind::Compute) return 0.0;
    return std::find(slow.begin(), slow.end(), &op) != slow.end() ? 3.0 : 1.0;
  });
  EXPECT_EQ(t.stuck, "");
  return t.finish;
}

TEST(ParameterServer, AsyncLetsFastWorkersRunAheadWithinTheStalenessBound) {
  core::Program sync = compile(ps(""), support::cluster(3));
  core::Program async0 = compile(ps(", mode: async, staleness: 0"), support::cluster(3));
  core::Program async2 = compile(ps(", mode: async, staleness: 2"), support::cluster(3));
  ASSERT_TRUE(support::runnable(async0));
  ASSERT_TRUE(support::runnable(async2));
  // 3 steps of 28 compute ops: worker 1 takes 84 per step, worker 2 28.
  auto s = finish_times(sync), a0 = finish_times(async0), a2 = finish_times(async2);
  EXPECT_GE(s[2], 3 * 84);    // sync: the fast worker waits for the slow one every step
  EXPECT_GE(a0[2], 2 * 84);   // staleness 0: it still waits for step s's slowest update
  EXPECT_LT(a2[2], 3 * 28 + 10);  // staleness 2 covers the 3 steps: it never waits
  EXPECT_LT(a2[2], a2[1]);
  // the parameters sent after step 2 wait for both workers' updates of step 0, after step 1 only
  // for the worker's own
  for (const auto& op : async2.ranks[0].ops) {
    if (op.kind != core::OpKind::Send || op.peer != 2) continue;
    EXPECT_EQ(op.deps.size(), op.step == 2 ? 3u : 1u) << "step " << op.step;
  }
}

TEST(ParameterServer, StalenessNeedsAsync) {
  std::string e = support::error_of("name: ps\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 4, seq_len: 256}\n"
                                    "parallel: {strategy: parameter-server, staleness: 2}\n");
  EXPECT_NE(e.find("error: a staleness bound applies to 'mode: async' only"), std::string::npos) << e;
}

}  // namespace
}  // namespace clustertwin::work
