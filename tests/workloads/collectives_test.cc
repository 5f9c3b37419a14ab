// The shared decomposition, executed on in-memory buffers: every algorithm must leave the right
// result on every rank, its plans must be lockstep (a chunk sent at step s is received at step s,
// with the same size), and each rank must send the bytes of the algorithm's formula.
#include "workloads/collectives.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>

namespace clustertwin::work {
namespace {

using core::Algorithm;
using core::CollectiveKind;
using Buffers = std::vector<std::vector<double>>;

double pattern(int rank, int64_t i) { return static_cast<double>((i * 7 + rank * 13) % 17); }

struct Outcome {
  Buffers buf, out;           // input/result buffer and all-to-all output, indexed by rank
  std::vector<int64_t> sent;  // elements sent, by rank
  size_t steps = 0;
};

// A group whose ranks are not their positions (catches rank/position mix-ups): position i holds
// rank (i * 5 + 3) mod n when that is a permutation, else i.
std::vector<int32_t> shuffled_group(int n) {
  std::vector<int32_t> g(n);
  for (int i = 0; i < n; ++i) g[i] = n % 5 != 0 ? (i * 5 + 3) % n : i;
  return g;
}

// Runs the plans of every rank step by step. All sends of a step read the buffers as they were
// before the step; the plans must pair every receive with the peer's send at the same step.
Outcome execute(const CollectiveSpec& spec, const std::vector<int32_t>& group, int64_t count, Buffers buf) {
  const int n = static_cast<int>(group.size());
  Outcome o{std::move(buf), Buffers(n, std::vector<double>(count, -1)), std::vector<int64_t>(n, 0), 0};
  std::vector<std::vector<P2PStep>> plans(n);
  for (int r : group) plans[r] = plan_collective(spec, group, r, count);
  o.steps = plans[group[0]].size();
  for (int r : group) EXPECT_EQ(plans[r].size(), o.steps) << "plans must be lockstep (rank " << r << ")";
  const int lanes = lanes_of(spec);
  for (int r : group)
    for (size_t s = 0; s < plans[r].size(); ++s)
      EXPECT_EQ(plans[r][s].lane, static_cast<int>(s) % lanes) << "lanes interleave step by step (rank " << r << ")";
  if (spec.kind == CollectiveKind::AllToAll)
    for (int r : group) {
      int64_t b = count / n;
      int pos = static_cast<int>(std::find(group.begin(), group.end(), r) - group.begin());
      for (int64_t i = pos * b; i < (pos + 1) * b; ++i) o.out[r][i] = o.buf[r][i];  // the own block, locally
    }
  const bool one_shot = spec.algorithm == core::Algorithm::OneShot;
  if (one_shot)
    for (int r : group) o.out[r] = o.buf[r];  // the sum starts as the own input
  for (size_t s = 0; s < o.steps; ++s) {
    Buffers before = o.buf;
    for (int r : group) {
      const P2PStep& st = plans[r][s];
      if (st.send_to >= 0) {
        const P2PStep& peer = plans[st.send_to][s];
        EXPECT_EQ(peer.recv_from, r) << "step " << s << ": rank " << r << " sends to " << st.send_to << " which does not receive it";
        EXPECT_EQ(peer.recv.count, st.send.count) << "step " << s;
        o.sent[r] += st.send.count;
        if (st.recv_from >= 0 && !st.into_output) {
          bool disjoint = st.send.offset + st.send.count <= st.recv.offset || st.recv.offset + st.recv.count <= st.send.offset;
          EXPECT_TRUE(disjoint || st.send.count == 0 || st.recv.count == 0) << "step " << s << " rank " << r;
        }
      } else {
        EXPECT_EQ(st.send.count, 0);
      }
      if (st.recv_from < 0) {
        EXPECT_EQ(st.recv.count, 0);
        continue;
      }
      const P2PStep& peer = plans[st.recv_from][s];
      EXPECT_EQ(peer.send_to, r) << "step " << s << ": rank " << r << " receives from " << st.recv_from << " which does not send";
      if (peer.send_to != r || peer.send.count != st.recv.count) continue;
      auto& dst = st.into_output ? o.out[r] : o.buf[r];
      for (int64_t i = 0; i < st.recv.count; ++i) {
        double v = before[st.recv_from][peer.send.offset + i];
        double& d = dst[st.recv.offset + i];
        d = st.reduce ? d + v : v;
      }
    }
  }
  if (one_shot)
    for (int r : group) o.buf[r] = o.out[r];  // the result, in place
  return o;
}

Buffers patterned(int n, int64_t count) {
  Buffers b(n, std::vector<double>(count));
  for (int r = 0; r < n; ++r)
    for (int64_t i = 0; i < count; ++i) b[r][i] = pattern(r, i);
  return b;
}

double sum_at(const std::vector<int32_t>& g, int64_t i) {
  double s = 0;
  for (int r : g) s += pattern(r, i);
  return s;
}

// Checks the result of any supported collective.
void check_result(const CollectiveSpec& spec, const std::vector<int32_t>& g, int64_t count) {
  const int n = static_cast<int>(g.size());
  Buffers in = patterned(n, count);
  if (spec.kind == CollectiveKind::AllGather) {  // each rank starts with its own piece only
    for (int r : g) {
      Chunk own = owned_chunk(spec, g, r, count);
      for (int64_t i = 0; i < count; ++i)
        if (i < own.offset || i >= own.offset + own.count) in[r][i] = -1;
    }
  }
  Outcome o = execute(spec, g, count, in);
  const int root = spec.root < 0 ? g[0] : spec.root;
  for (int r : g) {
    switch (spec.kind) {
      case CollectiveKind::AllReduce:
        for (int64_t i = 0; i < count; ++i) ASSERT_EQ(o.buf[r][i], sum_at(g, i)) << "rank " << r << " element " << i;
        break;
      case CollectiveKind::ReduceScatter: {
        Chunk own = owned_chunk(spec, g, r, count);
        for (int64_t i = own.offset; i < own.offset + own.count; ++i) ASSERT_EQ(o.buf[r][i], sum_at(g, i)) << "rank " << r;
        break;
      }
      case CollectiveKind::AllGather:
        for (int q : g) {
          Chunk c = owned_chunk(spec, g, q, count);
          for (int64_t i = c.offset; i < c.offset + c.count; ++i) ASSERT_EQ(o.buf[r][i], pattern(q, i)) << "rank " << r;
        }
        break;
      case CollectiveKind::Broadcast:
        for (int64_t i = 0; i < count; ++i) ASSERT_EQ(o.buf[r][i], pattern(root, i)) << "rank " << r;
        break;
      case CollectiveKind::Reduce:
        if (r == root) {
          for (int64_t i = 0; i < count; ++i) ASSERT_EQ(o.buf[r][i], sum_at(g, i));
        }
        break;
      case CollectiveKind::AllToAll: {
        int64_t b = count / n;
        int pos = static_cast<int>(std::find(g.begin(), g.end(), r) - g.begin());
        for (int j = 0; j < n; ++j)  // output block j = member j's input block `pos`
          for (int64_t i = 0; i < b; ++i) ASSERT_EQ(o.out[r][j * b + i], pattern(g[j], pos * b + i)) << "rank " << r;
        break;
      }
    }
  }
  if (spec.kind == CollectiveKind::ReduceScatter || spec.kind == CollectiveKind::AllGather) {
    // the owned pieces tile the buffer
    std::vector<int> cover(count, 0);
    for (int r : g) {
      Chunk c = owned_chunk(spec, g, r, count);
      for (int64_t i = c.offset; i < c.offset + c.count; ++i) ++cover[i];
    }
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(cover[i], 1) << "element " << i;
  }
}

struct Case {
  CollectiveKind kind;
  Algorithm algorithm;
  int stripes = 0;
};

class EveryAlgorithm : public testing::TestWithParam<std::tuple<Case, int, int64_t>> {};

TEST_P(EveryAlgorithm, LeavesTheRightResultOnEveryRank) {
  auto [c, n, count] = GetParam();
  auto g = shuffled_group(n);
  CollectiveSpec spec{c.kind, c.algorithm, -1, 0, c.stripes};
  if (c.algorithm == Algorithm::Hierarchical) {
    for (int local : {1, 2, 3, n})
      if (n % local == 0) {
        spec.local = local;
        SCOPED_TRACE("local " + std::to_string(local));
        check_result(spec, g, count);
      }
    return;
  }
  check_result(spec, g, count);
  if (c.kind == CollectiveKind::Broadcast || c.kind == CollectiveKind::Reduce) {
    spec.root = g[n / 2];  // a root that is not the first member
    check_result(spec, g, count);
  }
}

const Case kCases[] = {
    {CollectiveKind::AllReduce, Algorithm::Ring},
    {CollectiveKind::ReduceScatter, Algorithm::Ring},
    {CollectiveKind::AllGather, Algorithm::Ring},
    {CollectiveKind::AllReduce, Algorithm::Direct},
    {CollectiveKind::ReduceScatter, Algorithm::Direct},
    {CollectiveKind::AllGather, Algorithm::Direct},
    {CollectiveKind::Broadcast, Algorithm::Direct},
    {CollectiveKind::Reduce, Algorithm::Direct},
    {CollectiveKind::AllToAll, Algorithm::Direct},
    {CollectiveKind::AllReduce, Algorithm::Tree},
    {CollectiveKind::Broadcast, Algorithm::Tree},
    {CollectiveKind::Reduce, Algorithm::Tree},
    {CollectiveKind::AllReduce, Algorithm::HalvingDoubling},
    {CollectiveKind::ReduceScatter, Algorithm::HalvingDoubling},
    {CollectiveKind::AllGather, Algorithm::HalvingDoubling},
    {CollectiveKind::AllReduce, Algorithm::Hierarchical},
    {CollectiveKind::ReduceScatter, Algorithm::Hierarchical},
    {CollectiveKind::AllGather, Algorithm::Hierarchical},
    {CollectiveKind::AllReduce, Algorithm::BidirectionalRing},
    {CollectiveKind::AllReduce, Algorithm::BidirectionalRing, 3},
    {CollectiveKind::AllReduce, Algorithm::Ring, 2},
    {CollectiveKind::AllReduce, Algorithm::OneShot},
};

INSTANTIATE_TEST_SUITE_P(Shapes, EveryAlgorithm,
                         testing::Combine(testing::ValuesIn(kCases), testing::Values(1, 2, 3, 4, 5, 6, 7, 8, 12, 13),
                                          testing::Values<int64_t>(0, 1, 7, 24, 1001)));

// Elements each rank sends, by rank.
std::vector<int64_t> sent(const CollectiveSpec& spec, int n, int64_t count) {
  auto g = shuffled_group(n);
  return execute(spec, g, count, patterned(n, count)).sent;
}

// One-shot: every rank sends its whole buffer to each of the n - 1 others, in n - 1 steps (one for
// two ranks, where a ring takes two).
TEST(BytesSent, OneShotSendsTheWholeBufferToEveryOtherMember) {
  for (int n : {2, 3, 5}) {
    const int64_t s = 840 * n;
    for (int64_t e : sent({CollectiveKind::AllReduce, Algorithm::OneShot}, n, s)) EXPECT_EQ(e, (n - 1) * s) << n;
    auto g = shuffled_group(n);
    EXPECT_EQ(plan_collective(CollectiveKind::AllReduce, Algorithm::OneShot, g, g[0], s).size(), static_cast<size_t>(n - 1));
  }
}

TEST(BytesSent, RingAllReduceIsTwoNMinus1OverNOfTheBuffer) {
  for (int n : {2, 3, 4, 5, 8}) {
    const int64_t s = 840 * n;
    for (int64_t e : sent({CollectiveKind::AllReduce, Algorithm::Ring}, n, s)) EXPECT_EQ(e, 2 * (n - 1) * s / n) << n;
    for (int64_t e : sent({CollectiveKind::ReduceScatter, Algorithm::Ring}, n, s)) EXPECT_EQ(e, (n - 1) * s / n);
    for (int64_t e : sent({CollectiveKind::AllGather, Algorithm::Ring}, n, s)) EXPECT_EQ(e, (n - 1) * s / n);
  }
}

// Each direction's ring carries half the buffer: a rank sends (n-1)/n·S to each neighbour (2(n-1)/n·S
// in all, as one ring), so on full-duplex cables each direction of each cable carries half of what
// a one-way ring puts on it. With n = 2 both neighbours are one peer.
TEST(BytesSent, BidirectionalRingSendsHalfARingToEachNeighbour) {
  for (int n : {2, 3, 4, 5, 8}) {
    const int64_t s = 840 * n;
    auto g = shuffled_group(n);
    CollectiveSpec spec{CollectiveKind::AllReduce, Algorithm::BidirectionalRing};
    for (int i = 0; i < n; ++i) {
      std::map<int32_t, int64_t> to;
      for (const auto& st : plan_collective(spec, g, g[i], s)) to[st.send_to] += st.send.count;
      const int32_t right = g[(i + 1) % n], left = g[(i + n - 1) % n];
      if (n == 2) {
        EXPECT_EQ(to.size(), 1u);
        EXPECT_EQ(to[right], 2 * (n - 1) * s / n);
        continue;
      }
      EXPECT_EQ(to.size(), 2u) << n;
      EXPECT_EQ(to[right], (n - 1) * s / n) << n;
      EXPECT_EQ(to[left], (n - 1) * s / n) << n;
    }
  }
}

// Lane 2c goes clockwise and 2c+1 counter-clockwise, both on channel c; a striped one-way ring
// puts lane c on channel c. Every lane has 2(n-1) steps.
TEST(Lanes, StripesAndDirectionsMapToLanesAndChannels) {
  auto g = shuffled_group(5);
  const int32_t right = g[1], left = g[4];
  CollectiveSpec both{CollectiveKind::AllReduce, Algorithm::BidirectionalRing, -1, 0, 3};
  EXPECT_EQ(lanes_of(both), 6);
  auto plan = plan_collective(both, g, g[0], 6000);
  ASSERT_EQ(plan.size(), 6u * 2 * 4);
  for (size_t s = 0; s < plan.size(); ++s) {
    const int lane = static_cast<int>(s % 6);
    EXPECT_EQ(plan[s].lane, lane);
    EXPECT_EQ(plan[s].channel, lane / 2);
    EXPECT_EQ(plan[s].send_to, lane % 2 == 0 ? right : left) << s;
    EXPECT_EQ(plan[s].recv_from, lane % 2 == 0 ? left : right) << s;
  }
  CollectiveSpec striped{CollectiveKind::AllReduce, Algorithm::Ring, -1, 0, 2};
  EXPECT_EQ(lanes_of(striped), 2);
  for (const auto& st : plan_collective(striped, g, g[0], 6000)) {
    EXPECT_EQ(st.channel, st.lane);
    EXPECT_EQ(st.send_to, right);
  }
  EXPECT_EQ(lanes_of({CollectiveKind::AllReduce, Algorithm::Ring}), 1);
  EXPECT_EQ(lanes_of({CollectiveKind::AllReduce, Algorithm::Tree}), 1);
}

TEST(Lanes, StripesOnlyForRingAllReduce) {
  EXPECT_THROW(plan_collective({CollectiveKind::AllReduce, Algorithm::Tree, -1, 0, 2}, {0, 1, 2}, 0, 10),
               std::invalid_argument);
  EXPECT_THROW(plan_collective({CollectiveKind::ReduceScatter, Algorithm::Ring, -1, 0, 2}, {0, 1, 2}, 0, 10),
               std::invalid_argument);
  EXPECT_THROW(plan_collective(CollectiveKind::AllGather, Algorithm::BidirectionalRing, {0, 1, 2}, 0, 10),
               std::invalid_argument);
  EXPECT_EQ(unsupported(CollectiveKind::AllReduce, Algorithm::BidirectionalRing), "");
}

TEST(BytesSent, DirectMatchesRingBytes) {
  const int n = 6;
  const int64_t s = 600;
  for (int64_t e : sent({CollectiveKind::AllReduce, Algorithm::Direct}, n, s)) EXPECT_EQ(e, 2 * (n - 1) * s / n);
  for (int64_t e : sent({CollectiveKind::ReduceScatter, Algorithm::Direct}, n, s)) EXPECT_EQ(e, (n - 1) * s / n);
  for (int64_t e : sent({CollectiveKind::AllToAll, Algorithm::Direct}, n, s)) EXPECT_EQ(e, (n - 1) * s / n);
  auto b = sent({CollectiveKind::Broadcast, Algorithm::Direct}, n, s);  // the root sends n-1 copies
  EXPECT_EQ(b[shuffled_group(n)[0]], (n - 1) * s);
}

TEST(BytesSent, HalvingDoublingPowerOfTwoIsRingBytesInLogSteps) {
  for (int n : {2, 4, 8, 16}) {
    const int64_t s = 64 * n;
    auto g = shuffled_group(n);
    Outcome o = execute({CollectiveKind::AllReduce, Algorithm::HalvingDoubling}, g, s, patterned(n, s));
    for (int64_t e : o.sent) EXPECT_EQ(e, 2 * (n - 1) * s / n);
    EXPECT_EQ(o.steps, 2u * std::countr_zero(static_cast<unsigned>(n)));
  }
}

TEST(BytesSent, HalvingDoublingNonPowerOfTwoFoldsTheExtraRanks) {
  // n = 6: p = 4, r = 2. Positions 0 and 2 hand their buffer to 1 and 3 and get the result back:
  // they send S. Positions 1 and 3 send 2(p-1)/p·S in the core plus S back; 4 and 5 only the core.
  const int n = 6;
  const int64_t s = 480;
  auto g = shuffled_group(n);
  Outcome o = execute({CollectiveKind::AllReduce, Algorithm::HalvingDoubling}, g, s, patterned(n, s));
  const int64_t core = 2 * 3 * s / 4;
  std::vector<int64_t> expected{s, core + s, s, core + s, core, core};
  for (int pos = 0; pos < n; ++pos) EXPECT_EQ(o.sent[g[pos]], expected[pos]) << "position " << pos;
  EXPECT_EQ(o.steps, 2u + 2 * 2);
}

TEST(BytesSent, TreeLeavesSendOnceInnerNodesThrice) {
  // 7 ranks: a complete binary tree of depth 2. Reduce up (each non-root sends S to its parent),
  // broadcast down (each node with children sends S to each).
  const int n = 7;
  const int64_t s = 7000;
  auto g = shuffled_group(n);
  Outcome o = execute({CollectiveKind::AllReduce, Algorithm::Tree}, g, s, patterned(n, s));
  EXPECT_EQ(o.sent[g[0]], 2 * s);
  EXPECT_EQ(o.sent[g[1]], 3 * s);
  EXPECT_EQ(o.sent[g[2]], 3 * s);
  for (int pos = 3; pos < 7; ++pos) EXPECT_EQ(o.sent[g[pos]], s);
  const int k = tree_pipeline_chunks(s), depth = 2;
  EXPECT_EQ(o.steps, 4u * (k + depth - 1));  // 2 phases x (K + D - 1) rounds x 2 half-steps
}

TEST(BytesSent, TreePipelinesLargeBuffers) {
  EXPECT_EQ(tree_pipeline_chunks(1000), 1);
  EXPECT_EQ(tree_pipeline_chunks(4 * 256 * 1024), 4);
  EXPECT_EQ(tree_pipeline_chunks(int64_t{1} << 40), 32);
  // 1024 ranks: depth 10, 32 chunks: 4 x 41 steps, not 2 x 1023.
  std::vector<int32_t> g(1024);
  std::iota(g.begin(), g.end(), 0);
  EXPECT_EQ(plan_collective(CollectiveKind::AllReduce, Algorithm::Tree, g, 517, int64_t{1} << 30).size(), 4u * 41);
}

TEST(BytesSent, HierarchicalInsideThenAcrossBlocks) {
  // 12 ranks in 3 blocks of 4: 2(L-1)/L·S inside, 2(G-1)/G·S/L across.
  const int n = 12, l = 4, blocks = 3;
  const int64_t s = 1200;
  CollectiveSpec spec{CollectiveKind::AllReduce, Algorithm::Hierarchical, -1, l};
  for (int64_t e : sent(spec, n, s)) EXPECT_EQ(e, 2 * (l - 1) * s / l + 2 * (blocks - 1) * (s / l) / blocks);
  // Only the block-position peers cross blocks: rank at position 5 (block 1, position 1) talks to
  // positions 4, 6 (ring inside) and 1, 9 (across).
  auto g = shuffled_group(n);
  auto peers = peers_of(plan_collective(spec, g, g[5], s));
  std::vector<int32_t> expected{g[4], g[6], g[1], g[9]};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(peers, expected);
}

TEST(Collectives, RankOutsideGroupRejected) {
  EXPECT_THROW(plan_collective(CollectiveKind::AllReduce, Algorithm::Ring, {0, 1}, 2, 10), std::invalid_argument);
}

TEST(Collectives, UnsupportedPairsAreExplained) {
  EXPECT_EQ(unsupported(CollectiveKind::AllReduce, Algorithm::Tree), "");
  EXPECT_NE(unsupported(CollectiveKind::ReduceScatter, Algorithm::Tree).find("'tree' does not implement reducescatter"),
            std::string::npos);
  EXPECT_THROW(plan_collective(CollectiveKind::Broadcast, Algorithm::Ring, {0, 1}, 0, 10), std::invalid_argument);
  try {
    plan_collective(CollectiveKind::AllReduce, Algorithm::Hierarchical, {0, 1, 2}, 0, 10);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'local'"), std::string::npos) << e.what();
  }
}

TEST(Collectives, OpOverloadUsesRootAndLocal) {
  core::Op op;
  op.kind = core::OpKind::Collective;
  op.collective = CollectiveKind::Broadcast;
  op.algorithm = Algorithm::Direct;
  op.root = 2;
  auto plan = plan_collective(op, {0, 1, 2}, 2, 10);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].send_to, 0);
  EXPECT_EQ(plan[1].send_to, 1);
}

}  // namespace
}  // namespace clustertwin::work
