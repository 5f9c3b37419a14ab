// Coordinator and workers in one process (workers as threads): a whole Program with compute,
// messages and collectives, the streamed records, and the failures a user meets first.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "exec/channel.h"
#include "exec/coordinator.h"
#include "exec/errors.h"
#include "exec/handshake.h"
#include "exec/worker.h"
#include "support.h"
#include "temp_dir.h"

namespace clustertwin::exec {
namespace {

using core::Op;
using core::OpKind;

Op compute(int step, std::string label, double seconds, std::vector<uint32_t> deps) {
  Op op;
  op.kind = OpKind::Compute;
  op.step = step;
  op.label = std::move(label);
  op.flops = seconds * 1e12;  // on the 1 TFLOP/s device of test::flat_topology
  op.deps = std::move(deps);
  return op;
}

// Per rank and step: fwd, [send/recv 0 -> 1], bwd, allreduce (tag = step), optimizer.
core::Program small_training(int world, int steps) {
  core::Program p;
  p.name = "small";
  p.steps = steps;
  p.groups = {{}};
  for (int r = 0; r < world; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < world; ++r) {
    auto& ops = p.ranks.emplace_back(core::RankProgram{r, {}}).ops;
    int last = -1;
    auto add = [&](Op op) {
      ops.push_back(std::move(op));
      return static_cast<uint32_t>(ops.size() - 1);
    };
    for (int s = 0; s < steps; ++s) {
      std::vector<uint32_t> after_last = last >= 0 ? std::vector<uint32_t>{static_cast<uint32_t>(last)} : std::vector<uint32_t>{};
      uint32_t fwd = add(compute(s, "fwd", 0.02, after_last));
      if (r < 2 && world > 1) {
        Op m;
        m.kind = r == 0 ? OpKind::Send : OpKind::Recv;
        m.step = s;
        m.label = r == 0 ? "act.send" : "act.recv";
        m.peer = 1 - r;
        m.tag = 100 + s;
        m.bytes = 1 << 20;
        m.deps = {fwd};
        add(m);
      }
      uint32_t bwd = add(compute(s, "bwd", 0.03, {fwd}));
      Op ar;
      ar.kind = OpKind::Collective;
      ar.step = s;
      ar.label = "grad.allreduce";
      ar.bytes = 4.0 * 100003;
      ar.group = 0;
      ar.tag = s;
      ar.deps = {bwd};
      uint32_t a = add(ar);
      last = static_cast<int>(add(compute(s, "optimizer", 0.005, {a})));
    }
  }
  return p;
}

struct ThreadRun {
  std::vector<core::OpRecord> records;
  std::vector<ClockEstimate> clocks;
  std::string coordinator_error;
  std::vector<std::string> worker_errors;
};

ThreadRun run_in_threads(const core::Program& p, detail::CoordinateOptions o, std::string worker_token = "",
                         double accept_timeout_s = 3, std::vector<int64_t> clock_shift_ns = {}) {
  const int n = p.world();
  auto l = test::listen_loopback(n);
  ThreadRun out;
  out.worker_errors.resize(n);
  std::vector<std::thread> workers;
  for (int r = 0; r < n; ++r)
    workers.emplace_back([&, r, fd = std::move(l.fds[r])]() mutable {
      try {
        int64_t shift = r < static_cast<int>(clock_shift_ns.size()) ? clock_shift_ns[r] : 0;
        detail::serve_one_run(std::move(fd), {worker_token.empty() ? o.token : worker_token, accept_timeout_s, shift});
      } catch (const RunError& e) {
        out.worker_errors[r] = e.what();
      }
    });
  try {
    auto run = detail::coordinate(p, l.addrs, detail::modelled_seconds(p, test::flat_topology(n)), o);
    out.records = std::move(run.records);
    out.clocks = std::move(run.clocks);
  } catch (const RunError& e) {
    out.coordinator_error = e.what();
  }
  for (auto& t : workers) t.join();
  return out;
}

TEST(Worker, RunsAProgramWithItsSemanticsAndStreamsSteps) {
  auto p = small_training(3, 2);
  detail::CoordinateOptions o;
  o.token = "t0k";
  ::test::TempDir tmp;
  o.settings.out_dir = tmp.out("steps");
  auto run = run_in_threads(p, o);
  ASSERT_EQ(run.coordinator_error, "");
  size_t total = 0;
  for (const auto& rp : p.ranks) total += rp.ops.size();
  ASSERT_EQ(run.records.size(), total);

  std::map<std::pair<int, uint32_t>, core::OpRecord> rec;
  for (const auto& r : run.records) rec[{r.rank, r.op}] = r;
  ASSERT_EQ(rec.size(), total);
  for (const auto& rp : p.ranks) {
    double last_compute_end = 0;
    for (uint32_t i = 0; i < rp.ops.size(); ++i) {
      const auto& r = rec.at({rp.rank, i});
      const Op& op = rp.ops[i];
      EXPECT_GE(r.start, 0);
      EXPECT_GE(r.end, r.start);
      for (uint32_t d : op.deps) EXPECT_GE(r.start, rec.at({rp.rank, d}).end) << "rank " << rp.rank << " op " << i;
      if (op.kind == OpKind::Compute) {
        double want = op.flops / 1e12;  // the modelled sleep
        EXPECT_GE(r.end - r.start, want * 0.99) << op.label;
        EXPECT_LT(r.end - r.start, want + 0.1) << op.label;
        EXPECT_GE(r.start, last_compute_end);  // one compute stream, in program order
        last_compute_end = r.end;
      }
    }
  }
  // Collectives start together on every rank only after the slowest rank's backward: the
  // all-reduce of a rank cannot end before every rank has started it.
  for (int s = 0; s < 2; ++s) {
    double latest_start = 0, earliest_end = 1e9;
    for (const auto& rp : p.ranks)
      for (uint32_t i = 0; i < rp.ops.size(); ++i)
        if (rp.ops[i].kind == OpKind::Collective && rp.ops[i].step == s) {
          latest_start = std::max(latest_start, rec.at({rp.rank, i}).start);
          earliest_end = std::min(earliest_end, rec.at({rp.rank, i}).end);
        }
    EXPECT_LE(latest_start, earliest_end + 1e-3);
  }

  std::ifstream in(o.settings.out_dir + "/steps.jsonl");
  std::string line;
  std::map<std::pair<int, int>, int> lines;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.rfind("{\"step\":", 0), 0u) << line;
    auto j = nlohmann::json::parse(line);
    lines[{j["step"].get<int>(), j["rank"].get<int>()}] += 1;
    EXPECT_FALSE(j["ops"].empty());
    EXPECT_EQ(j["ops"][0].size(), 3u);
  }
  EXPECT_EQ(lines.size(), 6u);
}

// The latest start and earliest end of each step's all-reduce across ranks: on one clock, no rank
// can finish an all-reduce before every rank has started it.
void expect_collectives_overlap(const core::Program& p, const std::vector<core::OpRecord>& records, double slack) {
  std::map<std::pair<int, uint32_t>, core::OpRecord> rec;
  for (const auto& r : records) rec[{r.rank, r.op}] = r;
  for (int s = 0; s < p.steps; ++s) {
    double latest_start = -1e9, earliest_end = 1e9;
    for (const auto& rp : p.ranks)
      for (uint32_t i = 0; i < rp.ops.size(); ++i)
        if (rp.ops[i].kind == OpKind::Collective && rp.ops[i].step == s) {
          latest_start = std::max(latest_start, rec.at({rp.rank, i}).start);
          earliest_end = std::min(earliest_end, rec.at({rp.rank, i}).end);
        }
    EXPECT_LE(latest_start, earliest_end + slack) << "step " << s;
  }
}

TEST(Worker, ClockOffsetOnLoopbackIsZeroWithinTheReportedBound) {
  auto p = small_training(3, 1);
  detail::CoordinateOptions o;
  o.token = "t";
  ::test::TempDir tmp;
  o.settings.out_dir = tmp.out("clocks");
  auto run = run_in_threads(p, o);
  ASSERT_EQ(run.coordinator_error, "");
  ASSERT_EQ(run.clocks.size(), 3u);
  for (const auto& c : run.clocks) {
    // One steady_clock: the true offset is 0, and the worker's stamp lies inside the round trip.
    EXPECT_LE(std::abs(c.offset_s), c.error_s + 1e-9) << "rank " << c.rank;
    EXPECT_GT(c.error_s, 0);
    EXPECT_LT(c.error_s, 0.05);
    EXPECT_DOUBLE_EQ(c.error_s, c.rtt_s / 2);
    EXPECT_TRUE(c.applied);
  }
  auto j = nlohmann::json::parse(std::ifstream(o.settings.out_dir + "/clocks.json"));
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j[2]["rank"], 2);
}

TEST(Worker, ClockOffsetsAreEstimatedAndAppliedToRecords) {
  // Ranks 1 and 2 pretend their clocks run 5 s ahead and 3 s behind: the coordinator must find
  // that and put every record back on its own clock.
  auto p = small_training(3, 2);
  detail::CoordinateOptions o;
  o.token = "t";
  auto run = run_in_threads(p, o, "", 3, {0, 5'000'000'000, -3'000'000'000});
  ASSERT_EQ(run.coordinator_error, "");
  const double want[] = {0, 5, -3};
  for (const auto& c : run.clocks) EXPECT_NEAR(c.offset_s, want[c.rank], c.error_s + 1e-9) << "rank " << c.rank;
  for (const auto& r : run.records) {
    EXPECT_GE(r.start, -0.01) << "rank " << r.rank << " op " << r.op;
    EXPECT_LT(r.end, 3) << "rank " << r.rank << " op " << r.op;
  }
  expect_collectives_overlap(p, run.records, 1e-3);
}

TEST(Worker, CorruptRankFailsTheRunNamingRankAndCollective) {
  auto p = small_training(3, 2);
  detail::CoordinateOptions o;
  o.token = "t0k";
  o.settings.corrupt_rank = 2;
  ::test::TempDir tmp;
  o.settings.out_dir = tmp.out("corrupt");
  auto run = run_in_threads(p, o);
  const std::string& e = run.coordinator_error;
  EXPECT_NE(e.find("'grad.allreduce' (allreduce of "), std::string::npos) << e;
  EXPECT_NE(e.find(", step 0, tag 0) over ranks [0, 1, 2] gave a wrong result: element 0 is"), std::string::npos) << e;
  EXPECT_NE(e.find("note: rank 2 was asked to corrupt"), std::string::npos) << e;
  EXPECT_NE(e.find("steps.jsonl"), std::string::npos) << e;
  for (const auto& w : run.worker_errors) EXPECT_NE(w, "");
  // Step 0 never finishes (its all-reduce is wrong), so nothing was streamed.
  std::ifstream in(o.settings.out_dir + "/steps.jsonl");
  EXPECT_TRUE(in.good());
  EXPECT_EQ(in.peek(), std::ifstream::traits_type::eof());
}

TEST(Worker, WrongTokenIsRefusedWithAClearError) {
  auto p = test::collective_program(1, core::CollectiveKind::AllReduce, 10);
  detail::CoordinateOptions o;
  o.token = "guess";
  auto run = run_in_threads(p, o, "secret", 0.5);
  EXPECT_NE(run.coordinator_error.find("exec: rank 0 (127.0.0.1:"), std::string::npos) << run.coordinator_error;
  EXPECT_NE(run.coordinator_error.find("refused the connection: wrong run token"), std::string::npos) << run.coordinator_error;
  EXPECT_NE(run.worker_errors[0].find("no coordinator connected within 0.5 s"), std::string::npos) << run.worker_errors[0];
}

// Reads the error frame a worker answers with: {message, kind}.
std::string refusal(const Endpoint& worker, const std::string& bytes) {
  Fd fd = connect_until(worker, deadline_after(5), "worker");
  write_all(fd.get(), bytes.data(), bytes.size(), deadline_after(5), "worker");
  Channel c(std::move(fd), "worker");
  Frame f = c.recv(deadline_after(5));
  EXPECT_EQ(f.type, wire::FrameType::Error);
  return f.json().value("message", "");
}

TEST(Worker, MalformedConnectionsAreRefusedAndTheWorkerServesOn) {
  auto p = test::collective_program(1, core::CollectiveKind::AllReduce, 10);
  auto l = test::listen_loopback(1);
  std::string worker_error;
  std::thread worker([&, fd = std::move(l.fds[0])]() mutable {
    try {
      detail::serve_one_run(std::move(fd), {"t", 5});
    } catch (const RunError& e) {
      worker_error = e.what();
    }
  });
  EXPECT_EQ(refusal(l.addrs[0], "GET / HTTP/1.0\r\n\r\n").rfind("malformed frame: bad magic 0x47455420", 0), 0u);
  std::string v3 = wire::encode_frame(wire::FrameType::Hello, "{}");
  v3[5] = 3;
  EXPECT_EQ(refusal(l.addrs[0], v3).rfind("protocol version 3 refused: this worker speaks version 2", 0), 0u);
  // Before authentication a frame may not exceed the handshake bound: nothing allocates 64 MiB for a stranger.
  auto big = wire::encode_header(wire::FrameType::Hello, 5000);
  EXPECT_EQ(refusal(l.addrs[0], std::string(big.begin(), big.end())),
            "'hello' frame of 5000 bytes refused: a handshake frame holds at most 4096 bytes");
  std::string v1_hello = wire::encode_frame(wire::FrameType::Hello, R"({"role":"control","token":"t","rank":0})");
  EXPECT_EQ(refusal(l.addrs[0], v1_hello), "malformed hello: no string 'version'");
  auto data_role = nlohmann::json{{"role", "data"}, {"rank", 0}, {"nonce", std::string(32, 'a')}, {"version", software_version()}};
  EXPECT_EQ(refusal(l.addrs[0], wire::encode_frame(wire::FrameType::Hello, data_role.dump())),
            "expected a 'control' connection, got 'data'");
  detail::CoordinateOptions o;
  o.token = "t";
  auto run = detail::coordinate(p, l.addrs, {{0.0}}, o);
  worker.join();
  EXPECT_EQ(worker_error, "");
  EXPECT_EQ(run.records.size(), 1u);
}

// Issue 17: one silent connection used to hold the accept loop for its 10 s handshake timeout, and
// 200 of them for ~2,000 s.
TEST(Worker, TwoHundredIdleConnectionsDoNotDelayTheCoordinator) {
  auto p = test::collective_program(1, core::CollectiveKind::AllReduce, 10);
  auto l = test::listen_loopback(1);
  std::mutex mu;
  std::vector<std::string> log;
  std::string worker_error;
  std::thread worker([&, fd = std::move(l.fds[0])]() mutable {
    detail::ServeOptions so{"t", 20};
    so.log = [&](const std::string& line) {
      std::lock_guard lock(mu);
      log.push_back(line);
    };
    try {
      detail::serve_one_run(std::move(fd), so);
    } catch (const RunError& e) {
      worker_error = e.what();
    }
  });
  std::vector<Fd> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(test::idle_connection(l.addrs[0]));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // they are all there before the coordinator
  detail::CoordinateOptions o;
  o.token = "t";
  const auto t0 = Clock::now();
  std::string error;
  try {
    auto run = detail::coordinate(p, l.addrs, {{0.0}}, o);
    EXPECT_EQ(run.records.size(), 1u);
  } catch (const RunError& e) {
    error = e.what();
  }
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  idle.clear();  // unblocks a worker still stuck on one of them (the failing case)
  worker.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(worker_error, "");
  std::printf("[ measured ] the one-op run took %.3f s behind 200 idle connections\n", took);
  EXPECT_LT(took, 2.0) << "the whole one-op run, from the coordinator's connect";
  std::lock_guard lock(mu);
  ASSERT_FALSE(log.empty());
  for (const auto& line : log) {
    EXPECT_EQ(line.rfind("clustertwin-worker: dropped a connection from 127.0.0.1:", 0), 0u) << line;
    EXPECT_EQ(line.find("coordinator"), std::string::npos) << line;
  }
}

TEST(Worker, ConnectionRefusedNamesRankAndCause) {
  Endpoint free_port;
  {
    Fd l = listen_on({"127.0.0.1", 0});
    free_port = {"127.0.0.1", local_port(l.get())};
  }
  auto p = test::collective_program(1, core::CollectiveKind::AllReduce, 10);
  detail::CoordinateOptions o;
  o.token = "t";
  o.settings.connect_timeout_s = 0.3;
  try {
    detail::coordinate(p, {free_port}, {{0.0}}, o);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 0 (" + free_port.str() +
                                         "): cannot connect: Connection refused — worker not running or port blocked");
  }
}

TEST(Worker, WorkerThatDiesIsReported) {
  auto p = test::collective_program(2, core::CollectiveKind::AllReduce, 10);
  auto l = test::listen_loopback(2);
  // Rank 1 is a fake that takes its assignment and hangs up.
  std::thread fake([fd = std::move(l.fds[1])]() mutable {
    Channel c(accept_until(fd.get(), deadline_after(5)), "coordinator");
    std::string why;
    ASSERT_TRUE(accept_hello(c, "control", "t", deadline_after(5), why)) << why;
    c.recv(deadline_after(5));
  });
  std::string worker_error;
  std::thread real([&, fd = std::move(l.fds[0])]() mutable {
    try {
      detail::serve_one_run(std::move(fd), {"t", 5});
    } catch (const RunError& e) {
      worker_error = e.what();
    }
  });
  detail::CoordinateOptions o;
  o.token = "t";
  o.settings.connect_timeout_s = 0.5;
  try {
    detail::coordinate(p, l.addrs, {{0.0}, {0.0}}, o);
    ADD_FAILURE() << "no error";
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()).find("exec: rank 1 (" + l.addrs[1].str() +
                                         "): the worker closed its control connection without reporting"),
              0u)
        << e.what();
  }
  fake.join();
  real.join();
  EXPECT_NE(worker_error, "");
}

TEST(Worker, AWorkerWithAnotherCopyOfTheProgramIsRefusedBeforeTheStart) {
  auto p = test::collective_program(1, core::CollectiveKind::AllReduce, 10);
  auto l = test::listen_loopback(1);
  // A worker that parsed its assignment differently (another build) reports another hash.
  std::thread fake([fd = std::move(l.fds[0])]() mutable {
    Channel c(accept_until(fd.get(), deadline_after(5)), "coordinator");
    std::string why;
    ASSERT_TRUE(accept_hello(c, "control", "t", deadline_after(5), why)) << why;
    c.recv(deadline_after(5));
    c.send(wire::FrameType::Ready, nlohmann::json{{"version", software_version()}, {"rank_hash", "0123456789abcdef"}},
           deadline_after(5));
    try {
      c.recv(deadline_after(5));
    } catch (const RunError&) {
    }
  });
  detail::CoordinateOptions o;
  o.token = "t";
  try {
    detail::coordinate(p, l.addrs, {{0.0}}, o);
    ADD_FAILURE() << "no error";
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()).find("exec: rank 0 (" + l.addrs[0].str() +
                                         "): its copy of the program has hash 0123456789abcdef, the coordinator sent "),
              0u)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("install the same build on every node"), std::string::npos);
  }
  fake.join();
}

TEST(Worker, PortInUseIsAClearError) {
  Fd taken = listen_on({"127.0.0.1", 0});
  std::string addr = "127.0.0.1:" + std::to_string(local_port(taken.get()));
  try {
    run_worker({addr, "tok", false});
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: cannot listen on " + addr +
                                         ": Address already in use — another worker or program holds this port; pick "
                                         "another port or 0");
  }
}

TEST(Worker, NeedsAToken) {
  EXPECT_THROW(run_worker({"127.0.0.1:0", "", false}), RunError);
}

TEST(Worker, BadListenAddressNamesTheFlag) {
  try {
    run_worker({"localhost", "tok", false});
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: --listen 'localhost': no port (expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:7000)");
  }
}

}  // namespace
}  // namespace clustertwin::exec
