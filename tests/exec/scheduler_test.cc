// One rank's op DAG on the scheduler's two streams: deps are honoured across streams, compute and
// communication overlap where the deps allow, steps are reported once whole, and the first failure
// stops the rank with its reason and kind.
#include "exec/scheduler.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "exec/errors.h"

namespace clustertwin::exec {
namespace {

core::Op op(core::OpKind kind, int32_t step, std::vector<uint32_t> deps = {}) {
  core::Op o;
  o.kind = kind;
  o.step = step;
  o.deps = std::move(deps);
  return o;
}
const auto kCompute = core::OpKind::Compute;
const auto kSend = core::OpKind::Send;

// Hooks that log "c0", "m1", "a1", "s0" (compute, comm, after_comm, step done) in order.
struct Log {
  std::mutex mu;
  std::vector<std::string> events;
  void add(std::string e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
  size_t at(const std::string& e) {
    std::lock_guard lock(mu);
    return std::find(events.begin(), events.end(), e) - events.begin();
  }
  Scheduler::Hooks hooks() {
    return {[this](const core::Op&, uint32_t i) { add("c" + std::to_string(i)); },
            [this](const core::Op&, uint32_t i) { add("m" + std::to_string(i)); },
            [this](const core::Op&, uint32_t i) { add("a" + std::to_string(i)); },
            [this](int32_t s) { add("s" + std::to_string(s)); }};
  }
};

bool run(const std::vector<core::Op>& ops, Scheduler::Hooks hooks, Cancel& cancel, std::vector<OpTimes>* times = nullptr) {
  Scheduler s(ops, Clock::now(), std::move(hooks), cancel);
  s.start();
  s.join();
  if (times) *times = s.times();
  return s.finished_ok();
}

TEST(Scheduler, DepsAcrossStreamsAreHonoured) {
  // compute 0 -> send 1 -> compute 2 -> send 3: a strict chain alternating streams.
  std::vector<core::Op> ops = {op(kCompute, 0), op(kSend, 0, {0}), op(kCompute, 0, {1}), op(kSend, 0, {2})};
  Log log;
  Cancel cancel;
  std::vector<OpTimes> t;
  ASSERT_TRUE(run(ops, log.hooks(), cancel, &t));
  EXPECT_LT(log.at("c0"), log.at("m1"));
  EXPECT_LT(log.at("m1"), log.at("c2"));
  EXPECT_LT(log.at("c2"), log.at("m3"));
  for (uint32_t i = 1; i < ops.size(); ++i) EXPECT_GE(t[i].start, t[i - 1].end) << i;
  for (const auto& x : t) EXPECT_LE(x.start, x.end);
}

TEST(Scheduler, IndependentComputeAndCommunicationOverlap) {
  // Each hook waits until the other stream's op has started: this finishes only if both run at once.
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  bool overlapped = true;
  auto meet = [&](const core::Op&, uint32_t) {
    std::unique_lock lock(mu);
    ++started;
    cv.notify_all();
    overlapped = cv.wait_for(lock, std::chrono::seconds(10), [&] { return started == 2; }) && overlapped;
  };
  Cancel cancel;
  ASSERT_TRUE(run({op(kCompute, 0), op(kSend, 0)}, {meet, meet, nullptr, nullptr}, cancel));
  EXPECT_TRUE(overlapped);
}

TEST(Scheduler, EachStreamKeepsProgramOrder) {
  std::vector<core::Op> ops = {op(kSend, 0), op(kCompute, 0), op(kSend, 0), op(kCompute, 0), op(kSend, 0)};
  Log log;
  Cancel cancel;
  ASSERT_TRUE(run(ops, log.hooks(), cancel));
  EXPECT_LT(log.at("m0"), log.at("m2"));
  EXPECT_LT(log.at("m2"), log.at("m4"));
  EXPECT_LT(log.at("c1"), log.at("c3"));
}

TEST(Scheduler, AStepIsDoneOnceAfterItsChecks) {
  std::vector<core::Op> ops = {op(kCompute, 0), op(kSend, 0, {0}), op(kCompute, 1, {1}), op(kSend, 1, {2})};
  Log log;
  Cancel cancel;
  std::vector<OpTimes> t;
  Scheduler s(ops, Clock::now(), log.hooks(), cancel);
  EXPECT_EQ(s.ops_of_step(0), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(s.ops_of_step(1), (std::vector<uint32_t>{2, 3}));
  EXPECT_TRUE(s.ops_of_step(2).empty());
  EXPECT_TRUE(s.ops_of_step(-1).empty());
  s.start();
  s.join();
  ASSERT_TRUE(s.finished_ok());
  EXPECT_EQ(std::count(log.events.begin(), log.events.end(), "s0"), 1);
  EXPECT_EQ(std::count(log.events.begin(), log.events.end(), "s1"), 1);
  EXPECT_LT(log.at("a1"), log.at("s0"));  // the result check belongs to the step
  EXPECT_LT(log.at("a3"), log.at("s1"));
  EXPECT_LT(log.at("s0"), log.at("s1"));
}

TEST(Scheduler, AFailureStopsTheRankWithItsReasonAndKind) {
  std::vector<core::Op> ops = {op(kCompute, 0), op(kSend, 0, {0}), op(kCompute, 0, {1})};
  Log log;
  Scheduler::Hooks h = log.hooks();
  h.comm = [](const core::Op&, uint32_t) { throw Timeout("exec: rank 1 (h): no answer in time"); };
  Cancel cancel;
  EXPECT_FALSE(run(ops, h, cancel));
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_EQ(cancel.reason(), "exec: rank 1 (h): no answer in time");
  EXPECT_EQ(cancel.kind(), "timeout");
  EXPECT_EQ(log.at("c2"), log.events.size());  // never ran: its dep failed
}

TEST(Scheduler, AnUnexpectedExceptionIsAnError) {
  Scheduler::Hooks h;
  h.compute = [](const core::Op&, uint32_t) { throw std::runtime_error("boom"); };
  Cancel cancel;
  EXPECT_FALSE(run({op(kCompute, 0)}, h, cancel));
  EXPECT_EQ(cancel.reason(), "exec: boom");
  EXPECT_EQ(cancel.kind(), "error");
}

TEST(Scheduler, CancellingFromOutsideStopsWaitingOps) {
  // Op 1 waits on op 0, whose hook blocks until the run is cancelled from another thread.
  std::vector<core::Op> ops = {op(kSend, 0), op(kCompute, 0, {0})};
  Cancel cancel;
  Log log;
  Scheduler::Hooks h = log.hooks();
  h.comm = [&](const core::Op&, uint32_t) { cancel.sleep_for(10); };
  Scheduler s(ops, Clock::now(), h, cancel);
  s.start();
  cancel.cancel("exec: rank 0 failed", "cancelled");
  s.join();
  EXPECT_FALSE(s.finished_ok());
  EXPECT_EQ(log.at("c1"), log.events.size());
  EXPECT_EQ(cancel.reason(), "exec: rank 0 failed");
}

}  // namespace
}  // namespace clustertwin::exec
