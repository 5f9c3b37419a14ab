// Waiting versus transfer, and the critical path, on hand-built runs whose answers follow from
// the timings by hand.
#include "core/attribution.h"

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

Op compute(std::vector<uint32_t> deps = {}) {
  Op op;
  op.deps = std::move(deps);
  return op;
}

Op collective(int tag, std::vector<uint32_t> deps) {
  Op op;
  op.kind = OpKind::Collective;
  op.group = 0;
  op.tag = tag;
  op.bytes = 100;
  op.deps = std::move(deps);
  return op;
}

// Data-parallel, 3 ranks, 2 steps: each computes, then all-reduces. Rank 2 is a straggler: it
// computes 5 s where the others take 1 s, so ranks 0 and 1 wait 4 s in each all-reduce, which
// then moves bytes for 1 s.
struct Straggler {
  Program p;
  std::vector<OpRecord> records;
  Straggler() {
    p.name = "ddp";
    p.steps = 2;
    p.groups = {{0, 1, 2}};
    for (int r = 0; r < 3; ++r) {
      RankProgram rp{r, {compute(), collective(0, {0}), compute({1}), collective(1, {2})}};
      rp.ops[2].step = rp.ops[3].step = 1;
      p.ranks.push_back(rp);
    }
    // step 0: [0, c] compute, [c, 6] all-reduce (transfer [5, 6]); step 1 the same from 6.
    for (int r = 0; r < 3; ++r) {
      const double c = r == 2 ? 5 : 1;
      records.push_back({r, 0, 0, c});
      records.push_back({r, 1, c, 6});
      records.push_back({r, 2, 6, 6 + c});
      records.push_back({r, 3, 6 + c, 12});
    }
  }
};

TEST(Waits, ACollectiveWaitsForItsLastMember) {
  Straggler s;
  auto w = waits(s.p, s.records);
  ASSERT_EQ(w.size(), s.records.size());
  for (size_t i = 0; i < s.records.size(); ++i) {
    const OpRecord& rec = s.records[i];
    const bool coll = rec.op % 2 == 1;
    if (coll && rec.rank != 2) {
      EXPECT_EQ(w[i].peer, 2) << "rank " << rec.rank << " op " << rec.op;
      EXPECT_EQ(w[i].peer_op, rec.op);
      EXPECT_DOUBLE_EQ(w[i].until, rec.op == 1 ? 5 : 11);
    } else {
      EXPECT_EQ(w[i].peer, -1) << "rank " << rec.rank << " op " << rec.op;
      EXPECT_DOUBLE_EQ(w[i].until, rec.start);
    }
  }
}

TEST(Waits, AReceiveWaitsForItsSenderToSend) {
  Program p;
  p.name = "pair";
  Op send = compute({0});
  send.kind = OpKind::Send;
  send.peer = 1;
  send.tag = 7;
  Op recv;
  recv.kind = OpKind::Recv;
  recv.peer = 0;
  recv.tag = 7;
  p.ranks = {{0, {compute(), send, send}}, {1, {recv, recv}}};
  p.ranks[0].ops[2].deps = {1};
  // Rank 0 computes [0, 3] and sends twice ([3, 4], [4, 5]); rank 1 posted both receives at 0.
  // The first waits for the first send (until 3); the second is matched with the second send and
  // waits until 4. A receive posted after its send started waits for nobody.
  std::vector<OpRecord> recs{{0, 0, 0, 3}, {0, 1, 3, 4}, {0, 2, 4, 5}, {1, 0, 0, 4}, {1, 1, 0, 5}};
  auto w = waits(p, recs);
  EXPECT_EQ(w[3].peer, 0);
  EXPECT_EQ(w[3].peer_op, 1u);
  EXPECT_DOUBLE_EQ(w[3].until, 3);
  EXPECT_EQ(w[4].peer_op, 2u);
  EXPECT_DOUBLE_EQ(w[4].until, 4);
  EXPECT_EQ(w[1].peer, -1);  // sends are eager
  recs[4].start = 4.5;
  EXPECT_EQ(waits(p, recs)[4].peer, -1);
}

TEST(CriticalPath, RunsThroughTheStragglersCompute) {
  Straggler s;
  auto path = critical_path(s.p, s.records, waits(s.p, s.records), {0, 6}, {6, 12});
  // Each 6 s step: rank 2 computes 5 s, then its all-reduce transfers 1 s: nothing of ranks 0 or 1.
  ASSERT_EQ(path.size(), 1u);
  EXPECT_EQ(path[0].rank, 2);
  EXPECT_DOUBLE_EQ(path[0].compute, 5);
  EXPECT_DOUBLE_EQ(path[0].communication, 1);
  EXPECT_DOUBLE_EQ(path[0].idle, 0);
}

TEST(CriticalPath, CrossesAPipelineFromStageToStage) {
  // Stage 0 computes [0, 2] and sends [2, 3]; stage 1 computes [3, 7]. One step of 7 s: 2 s of
  // compute and 1 s of sending on rank 0, 4 s of compute on rank 1.
  Program p;
  p.name = "pipe";
  Op send = compute({0});
  send.kind = OpKind::Send;
  send.peer = 1;
  Op recv;
  recv.kind = OpKind::Recv;
  recv.peer = 0;
  p.ranks = {{0, {compute(), send}}, {1, {recv, compute({0})}}};
  std::vector<OpRecord> recs{{0, 0, 0, 2}, {0, 1, 2, 3}, {1, 0, 0, 3}, {1, 1, 3, 7}};
  auto path = critical_path(p, recs, waits(p, recs), {0}, {7});
  ASSERT_EQ(path.size(), 2u);
  EXPECT_EQ(path[0].rank, 1);
  EXPECT_DOUBLE_EQ(path[0].compute, 4);
  EXPECT_DOUBLE_EQ(path[0].communication, 0);
  EXPECT_EQ(path[1].rank, 0);
  EXPECT_DOUBLE_EQ(path[1].compute, 2);
  EXPECT_DOUBLE_EQ(path[1].communication, 1);
  double total = 0;
  for (const auto& part : path) total += part.total();
  EXPECT_DOUBLE_EQ(total, 7);
}

TEST(Summary, WaitingForAStragglerIsNotCommunication) {
  Straggler s;
  Summary sum = summarize(s.p, s.records);
  // Per rank and step: ranks 0 and 1 compute 1, wait 4, transfer 1; rank 2 computes 5, transfers 1.
  EXPECT_DOUBLE_EQ(sum.step_mean, 6);
  EXPECT_DOUBLE_EQ(sum.communication, 1);
  EXPECT_DOUBLE_EQ(sum.exposed_communication, 1);
  EXPECT_DOUBLE_EQ(sum.waiting, (4 + 4 + 0) / 3.0);
  EXPECT_DOUBLE_EQ(sum.compute, (1 + 1 + 5) / 3.0);
  EXPECT_DOUBLE_EQ(sum.compute + sum.exposed_communication + sum.waiting + sum.bubble + sum.idle, sum.step_mean);
  ASSERT_EQ(sum.ranks.size(), 3u);
  EXPECT_EQ(sum.ranks[0].waited_for, 2);
  EXPECT_DOUBLE_EQ(sum.ranks[0].waited, 4);
  EXPECT_EQ(sum.ranks[2].waited_for, -1);
  ASSERT_FALSE(sum.critical_path.empty());
  EXPECT_EQ(sum.critical_path[0].rank, 2);
}

}  // namespace
}  // namespace clustertwin::core
