// exec::run of local workers: real worker processes (exec_test_worker, built beside this test).
#include "exec/executor.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "support.h"
#include "workloads/ddp.h"

namespace clustertwin::exec {
namespace {

// A model small enough that real GEMMs take milliseconds.
core::Program tiny_ddp(int world, int steps) {
  work::Workload w;
  w.name = "tiny";
  w.model = {.name = "tiny", .layers = 2, .hidden = 64, .heads = 2, .ffn = 256, .vocab = 1000, .context = 64};
  w.micro_batch = 1;
  w.seq_len = 16;
  w.steps = steps;
  return work::compile_ddp(w, world);
}

bool no_children_left() {
  int status;
  return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

std::string temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("clustertwin-local-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

RunSettings options(ComputeMode mode) {
  RunSettings o;
  o.compute = mode;
  o.op_timeout_s = 10;
  return o;
}

launch::Local local(std::string exe = CLUSTERTWIN_TEST_WORKER) { return {.self_exe = exe}; }

TEST(LocalRun, RealComputeDdpOnThreeProcesses) {
  auto p = tiny_ddp(3, 2);
  auto o = options(ComputeMode::Real);
  o.out_dir = temp_dir("ddp");
  auto run = exec::run(p, test::flat_topology(3), local(), o);
  const auto& records = run.records;
  ASSERT_EQ(run.clocks.size(), 3u);
  for (const auto& c : run.clocks) EXPECT_FALSE(c.applied);  // one machine, one clock
  EXPECT_EQ(run.clock_error_s(), 0);
  EXPECT_EQ(run.clock_text().rfind("one clock (workers on this machine; ping-pong agrees to ±", 0), 0u) << run.clock_text();
  size_t total = 0;
  for (const auto& rp : p.ranks) total += rp.ops.size();
  EXPECT_EQ(records.size(), total);
  for (const auto& r : records) EXPECT_GE(r.end, r.start);
  std::ifstream in(o.out_dir + "/steps.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, 6);  // 2 steps x 3 ranks
  EXPECT_TRUE(no_children_left());
  std::filesystem::remove_all(o.out_dir);
}

TEST(LocalRun, CorruptRankThrowsNamingIt) {
  auto p = tiny_ddp(3, 1);
  auto o = options(ComputeMode::Modelled);
  o.corrupt_rank = 1;
  try {
    run(p, test::flat_topology(3), local(), o);
    FAIL() << "the corrupted all-reduce passed";
  } catch (const RunError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'grad.allreduce'"), std::string::npos) << m;
    EXPECT_NE(m.find("gave a wrong result: element 0 is"), std::string::npos) << m;
    EXPECT_NE(m.find("rank 1 was asked to corrupt"), std::string::npos) << m;
  }
  EXPECT_TRUE(no_children_left());
}

TEST(LocalRun, WorldMustMatchTheTopology) {
  auto p = tiny_ddp(2, 1);
  try {
    run(p, test::flat_topology(3), local(), options(ComputeMode::Modelled));
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: the program has 2 ranks but topology 'flat' has 3 compute nodes — compile the "
                                     "workload for this topology");
  }
}

TEST(LocalRun, MissingBinaryIsNamed) {
  try {
    run(tiny_ddp(2, 1), test::flat_topology(2), local("/nonexistent/clustertwin"), options(ComputeMode::Modelled));
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: cannot start the worker of rank 0 ('/nonexistent/clustertwin worker'): No such "
                                     "file or directory — pass the clustertwin binary's path");
  }
  EXPECT_TRUE(no_children_left());
}

TEST(LocalRun, WorkerThatExitsEarlyIsReported) {
  try {
    run(tiny_ddp(2, 1), test::flat_topology(2), local("/bin/false"), options(ComputeMode::Modelled));
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("('/bin/false worker') exited with status 1 before announcing its port"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(no_children_left());
}

}  // namespace
}  // namespace clustertwin::exec
