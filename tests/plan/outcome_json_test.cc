// plan/outcome_json.cc: what an MPI rank sends rank 0 comes back field for field.
#include "plan/outcome_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace clustertwin::plan {
namespace {

TEST(OutcomeJson, RoundTripKeepsWhatTheRankingReads) {
  Outcome o;
  o.status = Status::Rejected;
  o.refused_by = "memory";
  o.reason = "needs 21.47 GB of 10.67 GB";
  o.summary.step_seconds = {1.5, 2.5};
  o.summary.step_mean = 2, o.summary.tokens_per_second = 4096, o.summary.exposed_communication = 0.25;
  o.summary.decode_tokens_per_second = 12.5, o.summary.bubble = 0.125;
  o.world = 4, o.micro_batches = 3, o.inference = true, o.tokens_per_step = 8192, o.memory_peak = 0.75;
  o.power = 168, o.price = 2396, o.bound = "bound by compute";
  o.forwarders = {"mini1"}, o.warnings = {"T012 tb-version"};
  o.program_hash = "abc", o.cached = true, o.topology_yaml = "name: t\n", o.workload_yaml = "name: w\n";
  const Outcome back = outcome_from_json(nlohmann::json::parse(outcome_to_json(o).dump()));
  EXPECT_EQ(back.status, Status::Rejected);
  EXPECT_EQ(back.reason, o.reason);
  EXPECT_EQ(back.summary.step_seconds, o.summary.step_seconds);
  EXPECT_EQ(back.summary.tokens_per_second, 4096);
  EXPECT_EQ(back.summary.exposed_communication, 0.25);
  EXPECT_EQ(back.summary.decode_tokens_per_second, 12.5);
  EXPECT_EQ(back.summary.bubble, 0.125);
  EXPECT_EQ(back.micro_batches, 3);
  EXPECT_TRUE(back.inference);
  EXPECT_EQ(back.power, 168);
  EXPECT_EQ(back.price, 2396);
  EXPECT_EQ(back.forwarders, o.forwarders);
  EXPECT_EQ(back.warnings, o.warnings);
  EXPECT_EQ(back.workload_yaml, o.workload_yaml);
  EXPECT_THROW(outcome_from_json(nlohmann::json::object()), nlohmann::json::exception);
}

}  // namespace
}  // namespace clustertwin::plan
