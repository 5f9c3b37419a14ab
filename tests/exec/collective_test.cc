// Ring collectives over loopback TCP, ranks as threads, every result checked against sums the
// test computes itself (not through the executor's own pattern or verification code).
#include "exec/collective_runner.h"

#include <gtest/gtest.h>

#include <tuple>

#include "exec/data_plane.h"
#include "exec/executor.h"
#include "support.h"

namespace clustertwin::exec {
namespace {

using core::CollectiveKind;

float value(int r, int64_t i) { return static_cast<float>((7 * i + 13 * r) % 17); }

// Every rank's final buffer, run through DataPlane + CollectiveRunner on threads.
std::vector<std::vector<float>> run_collective(const core::Program& p, int world) {
  auto l = test::listen_loopback(world);
  std::vector<std::vector<float>> out(world);
  test::run_ranks(world, [&](int r) {
    const auto& ops = p.ranks[r].ops;
    if (ops.empty()) return;
    auto peers = work::peers_of(plan_for(ops[0], p.groups[0], r));
    DataPlane plane({r, l.addrs, "tok", 5, 5}, std::vector<int>(peers.begin(), peers.end()), l.fds[r].get(), nullptr);
    CollectiveRunner runner(plane, r, p.groups, ops, false);
    runner.fill(element_count(ops[0]));
    runner.run(ops[0], 0);
    runner.verify(ops[0], 0);
    out[r].assign(runner.buffer().begin(), runner.buffer().end());
  });
  return out;
}

// Chunk c of n over count elements, as the ring cuts them: [count*c/n, count*(c+1)/n).
std::pair<int64_t, int64_t> chunk(int64_t count, int n, int c) { return {count * c / n, count * (c + 1) / n}; }

class Ring : public ::testing::TestWithParam<std::tuple<CollectiveKind, int, int64_t>> {};

TEST_P(Ring, EveryRankHoldsTheExpectedResult) {
  auto [kind, n, count] = GetParam();
  auto p = test::collective_program(n, kind, count);
  auto bufs = run_collective(p, n);
  for (int r = 0; r < n; ++r) {
    ASSERT_EQ(static_cast<int64_t>(bufs[r].size()), count) << "rank " << r;
    int64_t lo = 0, hi = count;
    if (kind == CollectiveKind::ReduceScatter && n > 1) std::tie(lo, hi) = chunk(count, n, (r + 1) % n);
    int64_t bad = 0, first = -1;
    for (int64_t i = lo; i < hi; ++i) {
      float want = 0;
      if (kind == CollectiveKind::AllGather) {
        int owner = 0;
        while (owner + 1 < n && i >= chunk(count, n, owner + 1).first) ++owner;
        want = value(owner, i);
      } else {
        for (int q = 0; q < n; ++q) want += value(q, i);
      }
      if (bufs[r][i] != want && bad++ == 0) first = i;
    }
    EXPECT_EQ(bad, 0) << "rank " << r << " first wrong element " << first;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Loopback, Ring,
    ::testing::Combine(::testing::Values(CollectiveKind::AllReduce, CollectiveKind::ReduceScatter, CollectiveKind::AllGather),
                       ::testing::Values(1, 2, 3, 5), ::testing::Values(int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000003})),
    [](const auto& info) {
      return std::string(core::name(std::get<0>(info.param))) + "_n" + std::to_string(std::get<1>(info.param)) + "_count" +
             std::to_string(std::get<2>(info.param));
    });

TEST(Ring, SubgroupLeavesOtherRanksOut) {
  auto p = test::collective_program(5, CollectiveKind::AllReduce, 1001, {1, 3, 4});
  auto bufs = run_collective(p, 5);
  EXPECT_TRUE(bufs[0].empty());
  EXPECT_TRUE(bufs[2].empty());
  for (int r : {1, 3, 4})
    for (int64_t i = 0; i < 1001; ++i) ASSERT_EQ(bufs[r][i], value(1, i) + value(3, i) + value(4, i)) << r << " " << i;
}

TEST(Ring, CorruptContributionFailsVerificationNamingTheElement) {
  auto p = test::collective_program(3, CollectiveKind::AllReduce, 100);
  auto l = test::listen_loopback(3);
  std::vector<std::string> errors(3);
  test::run_ranks(3, [&](int r) {
    const auto& ops = p.ranks[r].ops;
    DataPlane plane({r, l.addrs, "tok", 5, 5}, {(r + 1) % 3, (r + 2) % 3}, l.fds[r].get(), nullptr);
    CollectiveRunner runner(plane, r, p.groups, ops, r == 1);
    runner.fill(100);
    runner.run(ops[0], 0);
    try {
      runner.verify(ops[0], 0);
    } catch (const RunError& e) {
      errors[r] = e.what();
    }
  });
  for (int r = 0; r < 3; ++r) {
    // Element 0 sums to 0 + 13 + 9 = 22 without the extra 1.
    EXPECT_NE(errors[r].find("rank " + std::to_string(r) + ": op 0 'test.collective'"), std::string::npos) << errors[r];
    EXPECT_NE(errors[r].find("element 0 is 23 but should be 22 (1 of 100 elements wrong)"), std::string::npos) << errors[r];
  }
}

}  // namespace
}  // namespace clustertwin::exec
