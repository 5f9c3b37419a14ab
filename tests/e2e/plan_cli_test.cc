// `clustertwin plan` as a user runs it: the table, the files it writes, the winner's YAMLs accepted
// by `predict`, and flag errors naming the flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "browser.h"
#include "run_cli.h"
#include "temp_dir.h"

namespace {

using clustertwin::cli_test::has;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;
using clustertwin::cli_test::src;

class PlanCli : public test::TempDirTest {
 protected:
  void SetUp() override {
    if (!CLUSTERTWIN_HAS_SIM) GTEST_SKIP() << "built without SimGrid (-DCLUSTERTWIN_SIM=OFF): nothing to simulate";
  }
};

TEST_F(PlanCli, FlagsOnlyRankWriteAndTheWinnerPredicts) {
  Result r = run(fmt::format("plan -t {} -w {} --link eth-1g,eth-10g --micro-batch 1,2 -o {}",
                             src("topologies/examples/two-minis-1gbe.yaml"), src("workloads/examples/ddp-gpt2.yaml"),
                             out("plan")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "plan: 4 candidates, 4 evaluated, 0 rejected, 0 duplicates; objective tokens/s")) << r.output;
  EXPECT_TRUE(has(r, "   1  eth-10g, mb=2")) << r.output;
  EXPECT_FALSE(has(r, "ETA")) << "progress is for a terminal only:\n" << r.output;
  for (const char* f : {"plan/plan.csv", "plan/plan.json", "plan/best/topology.yaml", "plan/best/workload.yaml"})
    EXPECT_TRUE(std::filesystem::exists(dir_ / f)) << f;
  std::ifstream in(dir_ / "plan/plan.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("candidates").size(), 4u);
  EXPECT_EQ(j.at("best"), 3);
  Result p = run(fmt::format("predict -t {0}/best/topology.yaml -w {0}/best/workload.yaml --steps 1 -o {1}", out("plan"),
                             out("pred")));
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "pred/summary.json"));
}

// plan.html in headless Chromium: one point per evaluated candidate on the throughput-against-price
// chart, the frontier's points marked, and no console message. Two minis M4 cost $1198 and two M4
// Pro minis $2798 (presets.yaml), so the cheapest candidate is on the frontier whatever its speed.
TEST_F(PlanCli, PlanHtmlChartsTheParetoFront) {
  Result r = run(fmt::format("plan -t {} -w {} --device mac-mini-m4,mac-mini-m4-pro --link eth-1g,eth-10g -o {}",
                             src("topologies/examples/two-minis-1gbe.yaml"), src("workloads/examples/ddp-gpt2.yaml"),
                             out("plan")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "plan.html")) << r.output;
  ASSERT_FALSE(test::chromium().empty()) << "chromium is missing: scripts/setup.sh installs it";
  const test::Page page = test::render(dir_ / "plan/plan.html", dir_);
  ASSERT_EQ(page.code, 0) << page.log;
  EXPECT_EQ(test::console_lines(page.log), "");
  EXPECT_EQ(test::marks(page.dom, "pareto"), 4) << page.dom.substr(0, 3000);
  size_t front = 0;
  for (size_t at = 0; (at = page.dom.find("class=\"mark front-mark\"", at)) != std::string::npos; ++at) ++front;
  EXPECT_GE(front, 1u);
  EXPECT_LE(front, 4u);
  EXPECT_NE(page.dom.find(fmt::format("data-front=\"{}\"", front)), std::string::npos);
  EXPECT_NE(page.dom.find("list price of the devices and Thunderbolt cables (US$)"), std::string::npos);
  EXPECT_NE(page.dom.find("<table id=\"ranked\">"), std::string::npos);
}

// plan --mpi under `mpirun -np 2` on this machine: two ranks take alternate candidates and rank 0
// merges; the ranking and every candidate's figures equal the single-process sweep's.
TEST_F(PlanCli, MpiSweepRanksAsTheLocalOne) {
  if (!CLUSTERTWIN_HAS_MPI) GTEST_SKIP() << "built without MPI (Debian: libopenmpi-dev; scripts/setup.sh installs it)";
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/mpirun")) << "openmpi-bin is missing: scripts/setup.sh installs it";
  const std::string plan = src("plans/3minis-llama-1b.yaml");
  Result local = run(fmt::format("plan {} -o {}", plan, out("local")));
  ASSERT_EQ(local.code, 0) << local.output;
  Result mpi = run(fmt::format("plan {} --mpi -o {}", plan, out("mpi")), "mpirun --allow-run-as-root --oversubscribe -np 2");
  ASSERT_EQ(mpi.code, 0) << mpi.output;
  EXPECT_TRUE(has(mpi, "plan: 30 candidates, 18 evaluated, 12 rejected")) << mpi.output;
  std::ifstream a(dir_ / "local/plan.json"), b(dir_ / "mpi/plan.json");
  const auto ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b);
  EXPECT_EQ(ja.at("ranking"), jb.at("ranking"));
  ASSERT_EQ(ja.at("candidates").size(), jb.at("candidates").size());
  for (size_t i = 0; i < ja.at("candidates").size(); ++i) {
    auto x = ja["candidates"][i], y = jb["candidates"][i];
    x.erase("cached"), y.erase("cached");  // each rank has its own cache
    EXPECT_EQ(x, y) << i;
  }
}

// The winner on this machine's loopback cluster runs for real: 3 workers, modelled compute, 1 step.
TEST_F(PlanCli, TheWinnerRunsLocally) {
  Result r = run(fmt::format("plan -t {} -w {} --micro-batch 1,2 --allreduce ring,tree -o {}",
                             src("topologies/examples/local-3.yaml"), src("tests/e2e/corpus/tiny-ddp.yaml"), out("plan")));
  ASSERT_EQ(r.code, 0) << r.output;
  Result m = run(fmt::format("run --local 3 -t {0}/best/topology.yaml -w {0}/best/workload.yaml --compute modelled "
                             "--steps 1 -o {1}",
                             out("plan"), out("run")));
  ASSERT_EQ(m.code, 0) << m.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/summary.json"));
}

TEST_F(PlanCli, TheExamplePlanAnswersTheThreeMiniQuestion) {
  Result r = run(fmt::format("plan {} -o {}", src("plans/3minis-llama-1b.yaml"), out("plan")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "memory: rank 0 on mini1 (mac-mini-m4) needs")) << r.output;  // DDP does not fit
  EXPECT_TRUE(has(r, "+1 node, ")) << r.output;
}

TEST_F(PlanCli, AMisspeltFlagValueNamesTheFlag) {
  Result r = run(fmt::format("plan -t {} -w {} --link tb4,tb-5", src("topologies/examples/two-minis-1gbe.yaml"),
                             src("workloads/examples/ddp-gpt2.yaml")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, "--link:1:12: error: unknown link type preset 'tb-5'\n"
                     "  link: [tb4,tb-5]\n"
                     "             ^\n"
                     "hint: did you mean 'tb5'?"))
      << r.output;
}

TEST_F(PlanCli, ABaseIsRequired) {
  Result r = run("plan --link tb4");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, "plan: error: a plan needs a base topology and a base workload")) << r.output;
  EXPECT_TRUE(has(r, "hint: give a PLAN file with 'topology:' and 'workload:', or -t and -w")) << r.output;
}

}  // namespace
