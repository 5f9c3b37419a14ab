// The shared decomposition, executed on in-memory buffers: every rank must end with the
// elementwise sum, and each rank must send 2(n-1)/n of the buffer.
#include "workloads/collectives.h"

#include <gtest/gtest.h>

#include <numeric>

namespace clustertwin::work {
namespace {

using Buffers = std::vector<std::vector<double>>;

// Runs the plans step by step, as a synchronous ring would: all sends of a step read the
// buffers as they were before any receive of that step.
void execute(core::CollectiveKind kind, int n, int64_t count, Buffers& buf, int64_t* sent_by_rank0) {
  std::vector<int32_t> group(n);
  std::iota(group.begin(), group.end(), 0);
  std::vector<std::vector<P2PStep>> plans;
  for (int r = 0; r < n; ++r) plans.push_back(plan_collective(kind, core::Algorithm::Ring, group, r, count));
  *sent_by_rank0 = 0;
  for (size_t s = 0; s < plans[0].size(); ++s) {
    Buffers before = buf;
    for (int r = 0; r < n; ++r) {
      const P2PStep& st = plans[r][s];
      const P2PStep& peer = plans[st.recv_from][s];
      ASSERT_EQ(peer.send_to, r);
      ASSERT_EQ(peer.send.offset, st.recv.offset);
      ASSERT_EQ(peer.send.count, st.recv.count);
      for (int64_t i = 0; i < st.recv.count; ++i) {
        double v = before[st.recv_from][st.recv.offset + i];
        buf[r][st.recv.offset + i] = st.reduce ? buf[r][st.recv.offset + i] + v : v;
      }
      if (r == 0) *sent_by_rank0 += st.send.count;
    }
  }
}

class RingAllReduce : public testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(RingAllReduce, EveryRankEndsWithTheSum) {
  auto [n, count] = GetParam();
  Buffers buf(n, std::vector<double>(count));
  for (int r = 0; r < n; ++r)
    for (int64_t i = 0; i < count; ++i) buf[r][i] = (i * 7 + r * 13) % 17;
  int64_t sent = 0;
  execute(core::CollectiveKind::AllReduce, n, count, buf, &sent);
  for (int r = 0; r < n; ++r)
    for (int64_t i = 0; i < count; ++i) {
      double expected = 0;
      for (int q = 0; q < n; ++q) expected += (i * 7 + q * 13) % 17;
      ASSERT_EQ(buf[r][i], expected) << "rank " << r << " element " << i;
    }
  if (count % n == 0) {
    EXPECT_EQ(sent, 2 * (n - 1) * count / n);  // 2(n-1)/n of the buffer
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, RingAllReduce,
                         testing::Combine(testing::Values(1, 2, 3, 5, 8), testing::Values<int64_t>(0, 1, 7, 24, 1001)));

TEST(RingReduceScatter, EachRankOwnsOneReducedChunkAndSendsNMinus1OverN) {
  const int n = 4;
  const int64_t count = 16;
  Buffers buf(n, std::vector<double>(count, 1.0));
  int64_t sent = 0;
  execute(core::CollectiveKind::ReduceScatter, n, count, buf, &sent);
  EXPECT_EQ(sent, (n - 1) * count / n);
  for (int r = 0; r < n; ++r) {
    int owned = (r + 1) % n;  // ring reduce-scatter leaves chunk (i+1) mod n on position i
    for (int64_t i = owned * 4; i < owned * 4 + 4; ++i) EXPECT_EQ(buf[r][i], n);
  }
}

TEST(RingAllGather, EveryRankEndsWithEveryChunk) {
  const int n = 3;
  const int64_t count = 9;
  Buffers buf(n, std::vector<double>(count, -1));
  for (int r = 0; r < n; ++r)
    for (int64_t i = r * 3; i < r * 3 + 3; ++i) buf[r][i] = 100 * r + i;  // rank r owns chunk r
  int64_t sent = 0;
  execute(core::CollectiveKind::AllGather, n, count, buf, &sent);
  EXPECT_EQ(sent, (n - 1) * count / n);
  for (int r = 0; r < n; ++r)
    for (int64_t i = 0; i < count; ++i) EXPECT_EQ(buf[r][i], 100 * (i / 3) + i);
}

TEST(Collectives, RankOutsideGroupRejected) {
  EXPECT_THROW(plan_collective(core::CollectiveKind::AllReduce, core::Algorithm::Ring, {0, 1}, 2, 10), std::invalid_argument);
}

}  // namespace
}  // namespace clustertwin::work
