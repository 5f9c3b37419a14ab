// compile()'s feasibility checks before the whole Program is built (issue 17, item 3): memory on a
// probe of one step, the op count extrapolated from one step to all, and the op budget for a single
// step too large by itself. Each refusal is quick and builds next to nothing.
#include "workloads/compile.h"

#include <gtest/gtest.h>

#include <ctime>
#include <functional>

#include <fmt/format.h>

#include "support.h"
#include "workloads/builder.h"

namespace clustertwin::work {
namespace {

const char* kTiny = "name: tiny\nmodel: gpt2-124m\ntask: train\nbatch: {micro_batch: 1, seq_len: 128}\n"
                    "parallel: {strategy: ddp}\n";

std::string compile_error(const Workload& w, const Cluster& c) {
  try {
    compile(w, c);
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// CPU seconds, not wall time: the suite runs in parallel on a shared machine.
double seconds_of(const std::function<void()>& f) {
  const std::clock_t start = std::clock();
  f();
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

size_t ops_of(const core::Program& p) {
  size_t n = 0;
  for (const auto& r : p.ranks) n += r.ops.size();
  return n;
}

TEST(Compile, AStepCountBeyondTheBudgetIsRefusedWithTheMostThatFit) {
  Workload w = support::parse(std::string(kTiny) + "steps: 1000000\n");
  const Cluster c = support::cluster(4);
  // The ops of one step, counted independently: a Program of 1 and of 2 steps.
  Workload one = w, two = w;
  one.steps = 1;
  two.steps = 2;
  const size_t first = ops_of(compile(one, c)), per_step = ops_of(compile(two, c)) - first;
  ASSERT_GT(per_step, 0u);
  const long long most = 1 + static_cast<long long>((kMaxProgramOps - first) / per_step);
  std::string e;
  EXPECT_LT(seconds_of([&] { e = compile_error(w, c); }), 2.0);
  EXPECT_EQ(e.substr(0, e.find('\n')),
            fmt::format("w.yaml:6:8: error: 1000000 steps make a Program of about {:.3g} ops ({} a step over 4 ranks), "
                        "more than the 2000000 clustertwin builds",
                        static_cast<double>(first + per_step * 999999), per_step));
  EXPECT_NE(e.find(fmt::format("hint: use steps: {} or fewer", most)), std::string::npos) << e;
  // ... and that many are built.
  w.steps = static_cast<int32_t>(std::min<long long>(most, 1000));
  EXPECT_NO_THROW(compile(w, c));
}

TEST(Compile, MemoryIsCheckedBeforeTheWholeProgramIsBuilt) {
  // A million steps of a plan that cannot fit: the memory error, not the size error, and at once.
  Workload w = support::parse(std::string(kTiny) + "steps: 1000000\n");
  std::string e;
  EXPECT_LT(seconds_of([&] { e = compile_error(w, support::cluster(4, 1e6)); }), 2.0);
  EXPECT_NE(e.find("w.yaml:5:11: error: the plan does not fit in memory: rank 0"), std::string::npos) << e;
}

TEST(Compile, InferenceTokensBeyondTheBudgetAreRefusedAtGenerate) {
  Workload w = support::parse("name: gen\nmodel: {name: long, layers: 4, hidden: 64, heads: 4, ffn: 256, vocab: 1000, "
                              "context: 2000000}\ntask: infer\nbatch: {size: 1, prompt: 16, generate: 1000000}\n"
                              "parallel: {strategy: replicas}\n");
  std::string e;
  EXPECT_LT(seconds_of([&] { e = compile_error(w, support::cluster(2)); }), 2.0);
  EXPECT_NE(e.find("w.yaml:4:40: error: 1000000 generated tokens make a Program of about"), std::string::npos) << e;
  EXPECT_NE(e.find("hint: use generate: "), std::string::npos) << e;
}

TEST(Compile, OneStepAboveTheLimitStopsAtTheLimit) {
  // The backstop for a shape too large in one step, exercised with a low limit: the build stops at
  // the limit's op instead of finishing the step.
  const Workload w = support::parse(kTiny);
  const Cluster c = support::cluster(4);
  const size_t one_step = ops_of(compile(w, c));
  ASSERT_GT(one_step, 50u);
  std::string e;
  try {
    compile(w, c, 50);
  } catch (const core::InputError& x) {
    e = x.what();
  }
  EXPECT_EQ(e.substr(0, e.find('\n')),
            "w.yaml:2:8: error: one step of 'gpt2-124m' on 4 ranks is more than 50 ops, the most clustertwin builds into a "
            "Program");
  EXPECT_NO_THROW(compile(w, c, one_step));  // exactly the step's ops fit
}

TEST(Compile, TheOpBudgetCountsAndNests) {
  core::RankProgram rp;
  RankBuilder b{rp};
  {
    OpBudget budget(2);
    b.add({});
    b.add({});
    EXPECT_THROW(b.add({}), ProgramTooLarge);
    {
      OpBudget inner(1);
      EXPECT_NO_THROW(b.add({}));
    }
    EXPECT_THROW(b.add({}), ProgramTooLarge);  // the outer one again
  }
  EXPECT_NO_THROW(b.add({}));  // no budget: unbounded, as before
  EXPECT_EQ(rp.ops.size(), 4u);
}

}  // namespace
}  // namespace clustertwin::work
