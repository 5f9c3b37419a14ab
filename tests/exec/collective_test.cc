// Ring collectives over loopback TCP, ranks as threads, every result checked against sums the
// test computes itself (not through the executor's own pattern or verification code).
#include "exec/collective_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
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
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, std::vector<int>(peers.begin(), peers.end()), l.fds[r].get(), nullptr);
    CollectiveRunner runner(plane, r, p.groups, ops, false);
    runner.fill(ops[0]);
    runner.run(ops[0], 0);
    runner.verify(ops[0], 0);
    out[r] = runner.result(ops[0]);
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
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {(r + 1) % 3, (r + 2) % 3}, l.fds[r].get(), nullptr);
    CollectiveRunner runner(plane, r, p.groups, ops, r == 1);
    runner.fill(ops[0]);
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

// ---- every algorithm, every kind ------------------------------------------------------------
using core::Algorithm;
using core::DType;

struct Case {
  CollectiveKind kind;
  Algorithm algorithm;
  int n;
  int64_t count;
  int32_t local = 0;  // hierarchical block size
  int32_t stripes = 0;  // ring, bidirectional-ring: lanes per direction
};

core::Program program_for(const Case& c, DType dtype = DType::F32) {
  auto p = test::collective_program(c.n, c.kind, c.count);
  for (auto& rp : p.ranks)
    for (auto& op : rp.ops) {
      op.algorithm = c.algorithm;
      op.dtype = dtype;
      op.bytes = static_cast<double>(c.count) * core::size_of(dtype);
      op.local = c.local;
      op.stripes = c.stripes;
      // A root that is not the group's first member, so a plan that ignores it fails.
      if (c.kind == CollectiveKind::Broadcast || c.kind == CollectiveKind::Reduce) op.root = c.n > 1 ? 1 : 0;
    }
  return p;
}

// What rank r must hold at element i, or nullopt where the collective leaves partial sums.
std::optional<float> expected(const Case& c, int r, int64_t i) {
  const int n = c.n;
  std::vector<int32_t> group;
  for (int q = 0; q < n; ++q) group.push_back(q);
  float sum = 0;
  for (int q = 0; q < n; ++q) sum += value(q, i);
  const work::CollectiveSpec spec{c.kind, c.algorithm, -1, c.local, c.stripes};
  auto inside = [](work::Chunk ch, int64_t i) { return i >= ch.offset && i < ch.offset + ch.count; };
  switch (c.kind) {
    case CollectiveKind::AllReduce: return sum;
    case CollectiveKind::ReduceScatter:
      if (inside(work::owned_chunk(spec, group, r, c.count), i)) return sum;
      return std::nullopt;
    case CollectiveKind::AllGather:
      for (int q = 0; q < n; ++q)
        if (inside(work::owned_chunk(spec, group, q, c.count), i)) return value(q, i);
      return value(r, i);  // owned by nobody: untouched
    case CollectiveKind::Broadcast: return value(n > 1 ? 1 : 0, i);
    case CollectiveKind::Reduce:
      if (r == (n > 1 ? 1 : 0)) return sum;
      return std::nullopt;
    case CollectiveKind::AllToAll: {
      // Output block j holds rank j's input block r.
      const int64_t b = c.count / n, j = i / std::max<int64_t>(b, 1);
      if (b == 0 || j >= n) return std::nullopt;  // past the whole blocks: not exchanged
      return value(static_cast<int>(j), r * b + i % b);
    }
  }
  return std::nullopt;
}

class Algorithms : public ::testing::TestWithParam<Case> {};

TEST_P(Algorithms, EveryRankHoldsTheExpectedResult) {
  const Case c = GetParam();
  auto bufs = run_collective(program_for(c), c.n);  // runs verify() on every rank too
  for (int r = 0; r < c.n; ++r) {
    ASSERT_EQ(static_cast<int64_t>(bufs[r].size()), c.count) << "rank " << r;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < c.count; ++i) {
      auto want = expected(c, r, i);
      if (want && bufs[r][i] != *want && bad++ == 0) first = i;
    }
    EXPECT_EQ(bad, 0) << "rank " << r << " first wrong element " << first << " is " << bufs[r][first] << ", expected "
                      << *expected(c, r, first);
  }
}

std::vector<Case> algorithm_cases() {
  std::vector<Case> out;
  const std::vector<std::pair<CollectiveKind, Algorithm>> pairs = {
      {CollectiveKind::AllReduce, Algorithm::Tree},           {CollectiveKind::AllReduce, Algorithm::Direct},
      {CollectiveKind::AllReduce, Algorithm::HalvingDoubling}, {CollectiveKind::ReduceScatter, Algorithm::Direct},
      {CollectiveKind::ReduceScatter, Algorithm::HalvingDoubling}, {CollectiveKind::AllGather, Algorithm::Direct},
      {CollectiveKind::AllGather, Algorithm::HalvingDoubling}, {CollectiveKind::Broadcast, Algorithm::Direct},
      {CollectiveKind::Broadcast, Algorithm::Tree},           {CollectiveKind::Reduce, Algorithm::Direct},
      {CollectiveKind::Reduce, Algorithm::Tree},              {CollectiveKind::AllToAll, Algorithm::Direct},
  };
  for (auto [kind, algo] : pairs)
    for (int n : {1, 2, 3, 5})
      for (int64_t count : {int64_t{0}, int64_t{7}, int64_t{1001}}) out.push_back({kind, algo, n, count});
  // Tree all-reduce with several pipeline chunks (one per 256 Ki elements).
  out.push_back({CollectiveKind::AllReduce, Algorithm::Tree, 4, 3 * 256 * 1024 + 5});
  for (auto kind : {CollectiveKind::AllReduce, CollectiveKind::ReduceScatter, CollectiveKind::AllGather})
    for (int64_t count : {int64_t{7}, int64_t{1001}}) {
      out.push_back({kind, Algorithm::Hierarchical, 4, count, 2});
      out.push_back({kind, Algorithm::Hierarchical, 6, count, 3});
    }
  // Lanes run at once: bidirectional rings (two lanes; with n = 2 both go to the one peer, sharing
  // its connection) and striped rings (several lanes to one neighbour on one connection).
  for (int n : {1, 2, 3, 5})
    for (int64_t count : {int64_t{0}, int64_t{7}, int64_t{1001}}) {
      out.push_back({CollectiveKind::AllReduce, Algorithm::BidirectionalRing, n, count});
      out.push_back({CollectiveKind::AllReduce, Algorithm::BidirectionalRing, n, count, 0, 2});
      out.push_back({CollectiveKind::AllReduce, Algorithm::Ring, n, count, 0, 3});
    }
  // One-shot: out of place, the whole buffer to every other member.
  for (int n : {2, 3, 4})
    for (int64_t count : {int64_t{0}, int64_t{7}, int64_t{1001}}) out.push_back({CollectiveKind::AllReduce, Algorithm::OneShot, n, count});
  // Chunks of several frames, reduced as they land, from two neighbours at once.
  out.push_back({CollectiveKind::AllReduce, Algorithm::BidirectionalRing, 4, 3 * 1048576 + 5, 0, 2});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Loopback, Algorithms, ::testing::ValuesIn(algorithm_cases()), [](const auto& info) {
  const Case& c = info.param;
  std::string algo(core::name(c.algorithm));
  std::replace(algo.begin(), algo.end(), '-', '_');
  return std::string(core::name(c.kind)) + "_" + algo + "_n" + std::to_string(c.n) + "_count" + std::to_string(c.count) +
         (c.local ? "_local" + std::to_string(c.local) : "") + (c.stripes ? "_stripes" + std::to_string(c.stripes) : "") +
         "_" + std::to_string(info.index);
});

TEST(Algorithms, AllToAllWithACorruptRankFailsWhereItsBlockLands) {
  auto p = program_for({CollectiveKind::AllToAll, Algorithm::Direct, 3, 30});
  auto l = test::listen_loopback(3);
  std::vector<std::string> errors(3);
  test::run_ranks(3, [&](int r) {
    const auto& ops = p.ranks[r].ops;
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {(r + 1) % 3, (r + 2) % 3}, l.fds[r].get(), nullptr);
    CollectiveRunner runner(plane, r, p.groups, ops, r == 2);
    runner.fill(ops[0]);
    runner.run(ops[0], 0);
    try {
      runner.verify(ops[0], 0);
    } catch (const RunError& e) {
      errors[r] = e.what();
    }
  });
  // Rank 2's element 0 (26 mod 17 = 9, plus the corruption's 1) is in its block 0, which goes to
  // rank 0's output block 2: element 20.
  EXPECT_NE(errors[0].find("element 20 is 10 but should be 9 (1 of 30 elements wrong)"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(errors[2], "");
}

// ---- 16-bit elements, added in fp32 -----------------------------------------------------------
class HalfPrecision : public ::testing::TestWithParam<std::tuple<DType, CollectiveKind, Algorithm, int>> {};

TEST_P(HalfPrecision, SumsMatchTheHandComputedOnes) {
  auto [dtype, kind, algo, n] = GetParam();
  const Case c{kind, algo, n, 1001};
  auto bufs = run_collective(program_for(c, dtype), n);
  for (int r = 0; r < n; ++r) {
    ASSERT_EQ(bufs[r].size(), 1001u);
    for (int64_t i = 0; i < 1001; ++i) {
      auto want = expected(c, r, i);
      if (want) {
        ASSERT_EQ(bufs[r][i], *want) << "rank " << r << " element " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Loopback, HalfPrecision,
    ::testing::Values(std::tuple{DType::BF16, CollectiveKind::AllReduce, Algorithm::Ring, 3},
                      std::tuple{DType::F16, CollectiveKind::AllReduce, Algorithm::Ring, 4},
                      std::tuple{DType::BF16, CollectiveKind::AllReduce, Algorithm::Tree, 5},
                      std::tuple{DType::F16, CollectiveKind::ReduceScatter, Algorithm::HalvingDoubling, 3},
                      std::tuple{DType::BF16, CollectiveKind::AllGather, Algorithm::Ring, 3},
                      std::tuple{DType::F16, CollectiveKind::AllToAll, Algorithm::Direct, 3},
                      std::tuple{DType::BF16, CollectiveKind::AllReduce, Algorithm::BidirectionalRing, 4}),
    [](const auto& info) {
      std::string algo(core::name(std::get<2>(info.param)));
      std::replace(algo.begin(), algo.end(), '-', '_');
      return std::string(core::name(std::get<0>(info.param))) + "_" + std::string(core::name(std::get<1>(info.param))) +
             "_" + algo + "_n" + std::to_string(std::get<3>(info.param));
    });

TEST(HalfPrecision, TwoRanksOfBf16HoldTheHandComputedSum) {
  // Element 5: rank 0 holds (35 + 0) mod 17 = 1, rank 1 (35 + 13) mod 17 = 14; the sum 15 is
  // exact in bf16 (0x4170).
  auto bufs = run_collective(program_for({CollectiveKind::AllReduce, Algorithm::Ring, 2, 6}, DType::BF16), 2);
  EXPECT_EQ(bufs[0][5], 15.0f);
  EXPECT_EQ(bufs[1][5], 15.0f);
}

TEST(HalfPrecision, PatternStaysExactForLargeGroups) {
  EXPECT_EQ(pattern_modulus(DType::F32, 1024), 17);
  EXPECT_EQ(pattern_modulus(DType::BF16, 16), 17);   // 16 x 16 = 256: exact in bf16
  EXPECT_EQ(pattern_modulus(DType::BF16, 17), 16);   // 17 x 15 = 255
  EXPECT_EQ(pattern_modulus(DType::F16, 200), 11);   // 200 x 10 = 2000 <= 2048
  EXPECT_EQ(pattern_modulus(DType::BF16, 1000), 1);  // all zeros: only a corrupted byte shows
  EXPECT_EQ(pattern_value(3, 5, DType::F16, 200), static_cast<float>((35 + 39) % 17 % 11));
}

TEST(HalfPrecision, QuantizedCollectivesAreRefusedNamingTheType) {
  auto p = test::collective_program(2, CollectiveKind::AllReduce, 8);
  core::Op op = p.ranks[0].ops[0];
  op.dtype = DType::I8;
  try {
    plan_for(op, p.groups[0], 0);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("collective 'test.collective' is int8: the executor runs fp32, fp16 and bf16"),
              std::string::npos)
        << e.what();
  }
}

// A wrong contribution on one rank reaches every rank through both directions' rings.
TEST(Algorithms, BidirectionalRingWithACorruptRankFailsOnEveryRank) {
  auto p = program_for({CollectiveKind::AllReduce, Algorithm::BidirectionalRing, 4, 1000, 0, 2});
  auto l = test::listen_loopback(4);
  std::vector<std::string> errors(4);
  test::run_ranks(4, [&](int r) {
    const auto& ops = p.ranks[r].ops;
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {(r + 1) % 4, (r + 3) % 4},
                    l.fds[r].get(), nullptr);
    CollectiveRunner runner(plane, r, p.groups, ops, r == 3);
    runner.fill(ops[0]);
    runner.run(ops[0], 0);
    try {
      runner.verify(ops[0], 0);
    } catch (const RunError& e) {
      errors[r] = e.what();
    }
  });
  // Element 0 sums to 0 + 13 + 9 + 5 = 27 without the extra 1.
  for (int r = 0; r < 4; ++r)
    EXPECT_NE(errors[r].find("element 0 is 28 but should be 27 (1 of 1000 elements wrong)"), std::string::npos)
        << errors[r];
}

TEST(Algorithms, PlanHonoursTheRootAndTheBlockSize) {
  auto p = program_for({CollectiveKind::AllReduce, Algorithm::Hierarchical, 4, 16, 2});
  // Blocks {0,1} {2,3}: rank 0 talks to 1 inside its block and to 2 across.
  EXPECT_EQ(work::peers_of(plan_for(p.ranks[0].ops[0], p.groups[0], 0)), (std::vector<int32_t>{1, 2}));
  auto b = program_for({CollectiveKind::Broadcast, Algorithm::Direct, 3, 16});
  // Root 1: rank 0 only hears from 1.
  EXPECT_EQ(work::peers_of(plan_for(b.ranks[0].ops[0], b.groups[0], 0)), (std::vector<int32_t>{1}));
}

}  // namespace
}  // namespace clustertwin::exec
