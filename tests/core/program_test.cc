#include "core/program.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace clustertwin::core {
namespace {

Program two_rank_program() {
  Program p;
  p.name = "t";
  p.steps = 1;
  p.groups = {{0, 1}};
  Op fwd;
  fwd.label = "fwd";
  fwd.flops = 1e9;
  fwd.bytes = 1e6;
  fwd.gemm = {256, 512, 768, 2};
  Op send;
  send.kind = OpKind::Send;
  send.peer = 1;
  send.tag = 7;
  send.bytes = 100;
  send.deps = {0};
  Op ar;
  ar.kind = OpKind::Collective;
  ar.group = 0;
  ar.bytes = 4096;
  ar.deps = {0};
  Op recv = send;
  recv.kind = OpKind::Recv;
  recv.peer = 0;
  recv.deps = {};
  Op ar1 = ar;
  ar1.deps = {};
  p.ranks = {{0, {fwd, send, ar}}, {1, {recv, ar1}}};
  return p;
}

TEST(Program, JsonRoundTripKeepsEverything) {
  Program p = two_rank_program();
  Program q = program_from_json(nlohmann::json::parse(to_json(p).dump()));
  EXPECT_EQ(to_json(q), to_json(p));
  EXPECT_EQ(program_hash(q), program_hash(p));
  EXPECT_EQ(q.ranks[0].ops[0].gemm.count, 2);
  EXPECT_EQ(q.ranks[0].ops[1].tag, 7);
}

// A runtime's overhead travels in the JSON only when set: Programs without one keep their hash.
TEST(Program, OverheadRoundTripsAndIsWrittenOnlyWhenSet) {
  Program p = two_rank_program();
  const std::string before = program_hash(p);
  EXPECT_FALSE(to_json(p)["ranks"][0]["ops"][0].contains("overhead"));
  p.ranks[0].ops[0].overhead = 8e-6;
  Program q = program_from_json(nlohmann::json::parse(to_json(p).dump()));
  EXPECT_DOUBLE_EQ(q.ranks[0].ops[0].overhead, 8e-6);
  EXPECT_NE(program_hash(p), before);
  p.ranks[0].ops[0].overhead = -1;
  EXPECT_THROW(validate(p), std::invalid_argument);
}

TEST(Program, HashChangesWithContent) {
  Program p = two_rank_program(), q = two_rank_program();
  q.ranks[0].ops[0].flops = 2e9;
  EXPECT_NE(program_hash(p), program_hash(q));
}

// A bidirectional, striped ring travels in the JSON; an unstriped collective writes no "stripes",
// so Programs without it keep their hash.
TEST(Program, StripesAndBidirectionalRingRoundTrip) {
  Program p = two_rank_program();
  const std::string before = program_hash(p);
  EXPECT_FALSE(to_json(p)["ranks"][0]["ops"][2].contains("stripes"));
  p.ranks[0].ops[2].stripes = 1;
  EXPECT_EQ(program_hash(p), before);
  for (int r : {0, 1}) {
    Op& ar = p.ranks[r].ops.back();
    ar.algorithm = Algorithm::BidirectionalRing;
    ar.stripes = 3;
  }
  Program q = program_from_json(nlohmann::json::parse(to_json(p).dump()));
  EXPECT_EQ(q.ranks[1].ops[1].algorithm, Algorithm::BidirectionalRing);
  EXPECT_EQ(q.ranks[1].ops[1].stripes, 3);
  EXPECT_EQ(to_json(p)["ranks"][0]["ops"][2]["algorithm"], "bidirectional-ring");
  EXPECT_NE(program_hash(q), before);
  p.ranks[0].ops[2].stripes = 65;
  EXPECT_THROW(validate(p), std::invalid_argument);
}

TEST(Program, ValidAccepted) { EXPECT_NO_THROW(validate(two_rank_program())); }

TEST(Program, UnmatchedSendRejected) {
  Program p = two_rank_program();
  p.ranks[1].ops.erase(p.ranks[1].ops.begin());
  EXPECT_THROW(validate(p), std::invalid_argument);
}

TEST(Program, ForwardDepRejected) {
  Program p = two_rank_program();
  p.ranks[0].ops[0].deps = {2};
  EXPECT_THROW(validate(p), std::invalid_argument);
}

TEST(Program, CollectiveMissingOnAGroupMemberRejected) {
  Program p = two_rank_program();
  p.ranks[1].ops.pop_back();
  EXPECT_THROW(validate(p), std::invalid_argument);
}

TEST(Program, MalformedJsonRejected) {
  EXPECT_THROW(program_from_json(nlohmann::json::parse(R"({"name": "x"})")), std::invalid_argument);
}

}  // namespace
}  // namespace clustertwin::core
