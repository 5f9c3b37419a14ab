// RunSettings: what travels from the CLI to every worker's data plane, unchanged.
#include "exec/settings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exec/assignment.h"
#include "exec/executor.h"

namespace clustertwin::exec {
namespace {

RunSettings unusual() {
  return {.compute = ComputeMode::Real, .out_dir = "/tmp/x", .op_timeout_s = 7.5, .connect_timeout_s = 0.25,
          .launch_timeout_s = 3, .heartbeat_timeout_s = 1.5, .corrupt_rank = 2};
}

void expect_same(const RunSettings& a, const RunSettings& b) {
  EXPECT_EQ(a.compute, b.compute);
  EXPECT_EQ(a.out_dir, b.out_dir);
  EXPECT_EQ(a.op_timeout_s, b.op_timeout_s);
  EXPECT_EQ(a.connect_timeout_s, b.connect_timeout_s);
  EXPECT_EQ(a.launch_timeout_s, b.launch_timeout_s);
  EXPECT_EQ(a.heartbeat_timeout_s, b.heartbeat_timeout_s);
  EXPECT_EQ(a.corrupt_rank, b.corrupt_rank);
}

TEST(RunSettings, EveryFieldSurvivesJson) {
  nlohmann::json j = unusual();
  EXPECT_EQ(j.at("compute"), "real");
  EXPECT_EQ(j.at("op_timeout_s"), 7.5);
  EXPECT_EQ(j.size(), 7u);  // one key per field: a new field without a line in settings.cc fails here
  expect_same(j.get<RunSettings>(), unusual());
}

TEST(RunSettings, AMissingKeyKeepsItsDefault) {
  auto s = nlohmann::json{{"op_timeout_s", 3}}.get<RunSettings>();
  RunSettings d;
  d.op_timeout_s = 3;
  expect_same(s, d);
}

TEST(RunSettings, AnUnknownComputeModeIsRefused) {
  try {
    (void)nlohmann::json{{"compute", "fast"}}.get<RunSettings>();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown compute mode 'fast'");
  }
}

TEST(RunSettings, TheAssignmentCarriesThemAndOnlyTheNamedRankCorrupts) {
  Assignment a;
  a.world = 3;
  a.addresses = {{"127.0.0.1", 1}, {"127.0.0.1", 2}, {"127.0.0.1", 3}};
  a.settings = unusual();
  for (int32_t r = 0; r < 3; ++r) {
    a.rank = r;
    Assignment back = assignment_from_json(to_json_text(a));
    expect_same(back.settings, unusual());
    EXPECT_EQ(back.corrupt(), r == 2);
  }
}

TEST(RunSettings, AMalformedAssignmentNamesTheComputeMode) {
  Assignment a;
  a.world = 1;
  a.addresses = {{"127.0.0.1", 1}};
  auto j = nlohmann::json::parse(to_json_text(a));
  j["settings"]["compute"] = "fast";
  try {
    assignment_from_json(j.dump());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_STREQ(e.what(), "exec: malformed assignment from the coordinator: unknown compute mode 'fast'");
  }
}

}  // namespace
}  // namespace clustertwin::exec
