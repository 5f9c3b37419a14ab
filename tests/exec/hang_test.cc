// Hang detection with real worker processes (exec_test_worker, attached by hand so the test holds
// their pids): a SIGSTOPped worker is reported from its missed heartbeats within seconds, naming
// rank and host, while a worker whose op takes long (a long compute, a large transfer) is not.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/process.h"
#include "exec/executor.h"
#include "support.h"
#include "temp_dir.h"

namespace clustertwin::exec {
namespace {

namespace fs = std::filesystem;

// Worker processes started by hand; whatever the test does, they are continued and killed at the end.
class HandWorkers {
 public:
  HandWorkers(int n, const std::string& token) {
    for (int r = 0; r < n; ++r) {
      core::SpawnOptions so;
      so.argv = {CLUSTERTWIN_TEST_WORKER, "worker", "--listen", "127.0.0.1:0"};
      so.env = {"CLUSTERTWIN_TOKEN=" + token, "OPENBLAS_NUM_THREADS=1"};
      so.pipe_stdout = true;
      procs_.emplace_back(so);
    }
  }
  ~HandWorkers() {
    for (auto& p : procs_) {
      p.signal(SIGCONT);
      p.signal(SIGKILL);
      p.wait();
    }
  }
  // "127.0.0.1:PORT" per worker, from the line each prints (bounded: 10 s in all).
  std::vector<std::string> addresses() {
    std::vector<std::string> out;
    const auto end = deadline_after(10);
    for (auto& p : procs_) {
      std::string line;
      while (line.find('\n') == std::string::npos && Clock::now() < end) {
        pollfd f{p.out().get(), POLLIN, 0};
        if (::poll(&f, 1, poll_timeout_ms(end)) <= 0) continue;
        char buf[256];
        ssize_t n = ::read(p.out().get(), buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
      }
      const std::string head = "clustertwin-worker listening on ";
      EXPECT_EQ(line.rfind(head, 0), 0u) << line;
      out.push_back("127.0.0.1:" + line.substr(head.size(), line.find('\n') - head.size()));
    }
    return out;
  }
  core::Process& operator[](int r) { return procs_.at(r); }

 private:
  std::vector<core::Process> procs_;
};

core::Op compute_op(int step, double seconds, std::vector<uint32_t> deps) {
  core::Op op;
  op.kind = core::OpKind::Compute;
  op.step = step;
  op.label = "work";
  op.flops = seconds * 1e12;  // on the 1 TFLOP/s device of test::flat_topology
  op.deps = std::move(deps);
  return op;
}

// `steps` steps of a compute of `seconds` and an all-reduce of 1000 floats per rank, in a chain.
core::Program chain(int world, int steps, double seconds) {
  core::Program p;
  p.name = "chain";
  p.steps = steps;
  p.groups = {{}};
  for (int r = 0; r < world; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < world; ++r) {
    auto& ops = p.ranks.emplace_back(core::RankProgram{r, {}}).ops;
    for (int s = 0; s < steps; ++s) {
      ops.push_back(compute_op(s, seconds, s ? std::vector<uint32_t>{static_cast<uint32_t>(ops.size() - 1)}
                                             : std::vector<uint32_t>{}));
      core::Op ar;
      ar.kind = core::OpKind::Collective;
      ar.collective = core::CollectiveKind::AllReduce;
      ar.step = s;
      ar.label = "grad.allreduce";
      ar.bytes = 4000;
      ar.group = 0;
      ar.tag = s;
      ar.deps = {static_cast<uint32_t>(ops.size() - 1)};
      ops.push_back(ar);
    }
  }
  return p;
}

size_t lines_in(const fs::path& file) {
  std::ifstream in(file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

class Hang : public ::test::TempDirTest {};

TEST_F(Hang, AStoppedWorkerIsReportedWithinFiveSecondsNamingRankAndHost) {
  HandWorkers hand(2, "hang-token");
  launch::Attach attach{.workers = hand.addresses(), .token = "hang-token"};
  RunSettings s;  // the default heartbeat timeout: what a user gets
  s.out_dir = (dir_ / "out").string();
  auto p = chain(2, 100, 0.1);  // ~10 s when nothing goes wrong
  auto run = std::async(std::launch::async, [&] { return exec::run(p, test::flat_topology(2), attach, s); });
  // Stop rank 1 once the run is under way (a step was recorded): bounded by 10 s.
  const auto end = deadline_after(10);
  while (lines_in(dir_ / "out/steps.jsonl") == 0 && Clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GT(lines_in(dir_ / "out/steps.jsonl"), 0u);
  hand[1].signal(SIGSTOP);
  const auto stopped = Clock::now();
  ASSERT_EQ(run.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "no report within 20 s";
  std::string error;
  try {
    run.get();
  } catch (const RunError& e) {
    error = e.what();
  }
  const double took = std::chrono::duration<double>(Clock::now() - stopped).count();
  std::printf("[ measured ] reported %.2f s after the SIGSTOP\n", took);
  EXPECT_LT(took, 5.0);
  EXPECT_EQ(error.rfind("exec: rank 1 (n1, " + attach.workers[1] + "): no heartbeat from the worker for ", 0), 0u) << error;
  EXPECT_NE(error.find("it hung"), std::string::npos) << error;
  EXPECT_EQ(error.find("rank 0 ("), std::string::npos) << "rank 0 only lost its peer: " << error;
}

// Heartbeats come from the worker's own thread: an op longer than the heartbeat timeout, a compute
// or a transfer that keeps moving bytes, is not a hang.
TEST_F(Hang, LongOpsThatProgressAreNotAHang) {
  HandWorkers hand(2, "slow-token");
  launch::Attach attach{.workers = hand.addresses(), .token = "slow-token"};
  RunSettings s;
  s.heartbeat_timeout_s = 0.4;
  s.op_timeout_s = 30;
  core::Program p;
  p.name = "slow";
  p.steps = 1;
  p.ranks = {{0, {compute_op(0, 1.2, {})}}, {1, {compute_op(0, 1.2, {})}}};
  core::Op send, recv;
  send.kind = core::OpKind::Send;
  recv.kind = core::OpKind::Recv;
  send.label = recv.label = "big";
  send.peer = 1;
  recv.peer = 0;
  send.tag = recv.tag = 7;
  send.bytes = recv.bytes = 6e9;  // zeros, never held in memory: only the time it takes counts
  send.deps = recv.deps = {0};
  p.ranks[0].ops.push_back(send);
  p.ranks[1].ops.push_back(recv);
  auto run = exec::run(p, test::flat_topology(2), attach, s);
  ASSERT_EQ(run.records.size(), 4u);
  for (const auto& r : run.records) {
    std::printf("[ measured ] rank %d op %u took %.2f s\n", r.rank, r.op, r.end - r.start);
    // Both ops outlast the heartbeat timeout several times over (else this test proves nothing).
    EXPECT_GT(r.end - r.start, 2 * s.heartbeat_timeout_s) << "rank " << r.rank << " op " << r.op;
  }
}

}  // namespace
}  // namespace clustertwin::exec
