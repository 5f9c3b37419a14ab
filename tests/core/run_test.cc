#include "core/run.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace clustertwin::core {
namespace {

// One rank, one step: compute [0, 1] s, then communication [0.5, 2] s overlapping its tail.
Program overlap_program() {
  Program p;
  p.name = "overlap";
  p.samples_per_step = 8;
  p.tokens_per_step = 8192;
  Op c;
  c.label = "bwd";
  Op m;
  m.kind = OpKind::Collective;
  m.label = "grad.allreduce";
  m.group = 0;
  m.bytes = 1000;
  p.groups = {{0}};
  p.ranks = {{0, {c, m}}};
  return p;
}

TEST(Summary, BreakdownFromIntervals) {
  Program p = overlap_program();
  Summary s = summarize(p, {{0, 0, 0.0, 1.0}, {0, 1, 0.5, 2.0}});
  EXPECT_DOUBLE_EQ(s.step_mean, 2.0);
  EXPECT_DOUBLE_EQ(s.compute, 1.0);
  EXPECT_DOUBLE_EQ(s.communication, 1.5);
  EXPECT_DOUBLE_EQ(s.exposed_communication, 1.0);  // [1, 2]: communication with no compute
  EXPECT_DOUBLE_EQ(s.idle, 0.0);
  EXPECT_DOUBLE_EQ(s.samples_per_second, 4.0);
  ASSERT_EQ(s.collectives.size(), 1u);
  EXPECT_DOUBLE_EQ(s.collectives[0].mean_seconds, 1.5);
}

TEST(Summary, StepTimesAndPercentiles) {
  Program p = overlap_program();
  p.steps = 2;
  Op c2 = p.ranks[0].ops[0];
  c2.step = 1;
  Op m2 = p.ranks[0].ops[1];
  m2.step = 1;
  p.ranks[0].ops.push_back(c2);
  p.ranks[0].ops.push_back(m2);
  // Step 0 lasts 2 s, step 1 (starting at 10 s after a gap) lasts 4 s.
  Summary s = summarize(p, {{0, 0, 0, 1}, {0, 1, 1, 2}, {0, 2, 10, 12}, {0, 3, 12, 14}});
  EXPECT_EQ(s.step_seconds, (std::vector<double>{2, 4}));
  EXPECT_DOUBLE_EQ(s.step_mean, 3);
  EXPECT_DOUBLE_EQ(s.step_p50, 3);
  EXPECT_DOUBLE_EQ(s.step_p95, 3.9);
}

// A pipeline stage posts its receive for the next step as soon as it is free; the step begins
// when work begins. Rank 0 computes [5, 6] and sends [6, 7]; rank 1's receive was posted at 1 and
// ends at 7, then it computes [7, 9]: the step is [5, 9] = 4 s, and rank 1's wait before 5 is not
// part of it. Rank 1 waits for its sender until the send starts at 6 (bubble [5, 6]), then the
// bytes move [6, 7] (communication: rank 0 1 s, rank 1 1 s, both exposed).
TEST(Summary, AStepBeginsWithItsFirstWorkNotAnEarlyReceive) {
  Program p;
  p.name = "stages";
  Op work, send, recv;
  send.kind = OpKind::Send;
  send.peer = 1;
  send.bytes = 10;
  send.deps = {0};
  recv.kind = OpKind::Recv;
  recv.peer = 0;
  recv.bytes = 10;
  Op after = work;
  after.deps = {0};
  p.ranks = {{0, {work, send}}, {1, {recv, after}}};
  Summary s = summarize(p, {{0, 0, 5, 6}, {0, 1, 6, 7}, {1, 0, 1, 7}, {1, 1, 7, 9}});
  EXPECT_DOUBLE_EQ(s.step_mean, 4);
  EXPECT_DOUBLE_EQ(s.communication, (1 + 1) / 2.0);
  EXPECT_DOUBLE_EQ(s.compute, (1 + 2) / 2.0);
  EXPECT_DOUBLE_EQ(s.exposed_communication, (1 + 1) / 2.0);  // rank 0's send, rank 1's receiving [6, 7]
  EXPECT_DOUBLE_EQ(s.bubble, (0 + 1) / 2.0);                 // rank 1 waiting for rank 0 [5, 6]
  EXPECT_DOUBLE_EQ(s.idle, (2 + 0) / 2.0);                   // rank 0 after its send, rank 1 never
  EXPECT_DOUBLE_EQ(s.waiting, 0);
  EXPECT_DOUBLE_EQ(s.compute + s.exposed_communication + s.bubble + s.idle, s.step_mean);
  EXPECT_EQ(s.ranks[1].waited_for, 0);
  EXPECT_DOUBLE_EQ(s.ranks[1].waited, 1);
  // A step of receives only still has a span.
  Program only = p;
  only.ranks = {{0, {recv}}};
  only.ranks[0].ops[0].peer = 0;
  EXPECT_DOUBLE_EQ(summarize(only, {{0, 0, 2, 3}}).step_mean, 1);
}

TEST(Summary, MissingRecordsRejected) {
  EXPECT_THROW(summarize(overlap_program(), {{0, 0, 0, 1}}), std::invalid_argument);
}

// Energy is watts x seconds: 2 nodes at 42 W over a 2 s step is 168 J; 8,192 tokens per step at
// 4,096 tokens/s is 84 W / 4,096 = 0.0205 J per token.
TEST(Energy, WattsTimesStepAndPerToken) {
  Program p = overlap_program();
  Summary s = summarize(p, {{0, 0, 0.0, 1.0}, {0, 1, 0.5, 2.0}});
  RunInfo info{"predicted", "t", "w", "", "", 84};
  const Energy e = energy(info, s);
  EXPECT_DOUBLE_EQ(e.watts, 84);
  EXPECT_DOUBLE_EQ(e.joules_per_step, 168);
  EXPECT_DOUBLE_EQ(e.joules_per_token, 84.0 / 4096);
  const auto j = summary_to_json(info, p, s);
  EXPECT_DOUBLE_EQ(j.at("energy").at("joules_per_step").get<double>(), 168);
  EXPECT_NE(energy_text(info, s).find("84 W"), std::string::npos) << energy_text(info, s);
}

// Inference counts per decoded token; an unknown power (0) writes no energy at all.
TEST(Energy, PerDecodedTokenAndUnknownPower) {
  Program p = overlap_program();
  Summary s = summarize(p, {{0, 0, 0.0, 1.0}, {0, 1, 0.5, 2.0}});
  s.decode_tokens_per_second = 20;
  EXPECT_DOUBLE_EQ(energy({"predicted", "t", "w", "", "", 300}, s).joules_per_token, 15);
  EXPECT_NE(energy_text({"predicted", "t", "w", "", "", 300}, s).find("per decoded token"), std::string::npos);
  RunInfo unknown{"predicted", "t", "w"};
  EXPECT_FALSE(summary_to_json(unknown, p, s).contains("energy"));
  EXPECT_EQ(energy_text(unknown, s), "");
}

TEST(Trace, ChromeTraceEvents) {
  Program p = overlap_program();
  auto j = trace_to_json({"predicted", "t", "w", ""}, p, {{0, 0, 0.0, 1.0}, {0, 1, 0.5, 2.0}});
  int complete = 0;
  for (const auto& e : j.at("traceEvents"))
    if (e.at("ph") == "X") {
      ++complete;
      if (e.at("name") == "grad.allreduce") {
        EXPECT_DOUBLE_EQ(e.at("ts").get<double>(), 0.5e6);
        EXPECT_DOUBLE_EQ(e.at("dur").get<double>(), 1.5e6);
        EXPECT_EQ(e.at("tid"), 1);
      }
    }
  EXPECT_EQ(complete, 2);
}

}  // namespace
}  // namespace clustertwin::core
