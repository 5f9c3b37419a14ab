// exec::run on loopback, every launch but the emulated one (emulate_test.cc): local worker
// processes (exec_test_worker, built beside this test), workers attached after being started "by
// hand" (by the test), and workers started over a fake ssh that runs the remote command here — the
// real path minus sshd.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/diag.h"
#include "exec/executor.h"
#include "exec/spawn.h"
#include "support.h"
#include "workloads/ddp.h"
#include "temp_dir.h"

namespace clustertwin::exec {
namespace {

namespace fs = std::filesystem;

bool no_children_left() {
  int status;
  return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

// `n` nodes on 127.0.0.1 with ssh aliases n0, n1, ... (or the given ones).
topo::Topology ssh_topology(int n, std::vector<std::string> aliases = {}) {
  auto t = test::flat_topology(n);
  for (int r = 0; r < n; ++r) t.nodes[r].ssh = r < static_cast<int>(aliases.size()) ? aliases[r] : "n" + std::to_string(r);
  t.file = "test.yaml";
  return t;
}

class ClusterRun : public ::test::TempDirTest {
 protected:
  void SetUp() override {
    // A stand-in for ssh: drops the -o options, logs "ALIAS COMMAND", fails like ssh for aliases
    // named unreachable*, and runs the command with the local shell as sshd would on the node.
    ssh_ = (dir_ / "fake-ssh").string();
    std::ofstream(ssh_) << "#!/bin/sh\n"
                           "while [ \"$1\" = \"-o\" ]; do shift 2; done\n"
                           "alias=\"$1\"; shift\n"
                           "echo \"$alias $*\" >> '" << (dir_ / "ssh.log").string() << "'\n"
                           "case \"$alias\" in unreachable*) echo \"ssh: Could not resolve hostname $alias: Name or "
                           "service not known\" >&2; exit 255;; esac\n"
                           "exec /bin/sh -c \"$*\"\n";
    ::chmod(ssh_.c_str(), 0755);
  }

  RunSettings options() const {
    RunSettings o;
    o.op_timeout_s = 10;
    o.launch_timeout_s = 10;
    return o;
  }
  launch::Ssh ssh() const { return {.command = ssh_, .remote_binary = CLUSTERTWIN_TEST_WORKER}; }
  std::string ssh_log() const {
    std::ifstream in(dir_ / "ssh.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string ssh_;
};

TEST_F(ClusterRun, AttachesToWorkersStartedByHand) {
  // "By hand": three workers with the token in their environment, as a user would start them.
  const std::string token = "hand-token-1234";
  WorkerProcesses hand(std::vector<WorkerLaunch>(3, local_worker_launch(CLUSTERTWIN_TEST_WORKER)), local_worker_env(token));
  auto o = options();
  launch::Attach attach{.token = token};
  for (uint16_t port : hand.read_ports(10)) attach.workers.push_back("127.0.0.1:" + std::to_string(port));
  o.out_dir = (dir_ / "out").string();
  auto p = test::collective_program(3, core::CollectiveKind::AllReduce, 100003);
  auto run = exec::run(p, test::flat_topology(3), attach, o);
  hand.finish(5);
  EXPECT_EQ(run.records.size(), 3u);
  ASSERT_EQ(run.clocks.size(), 3u);
  for (const auto& c : run.clocks) {
    EXPECT_TRUE(c.applied);  // another machine's clock, as far as an attached run knows
    EXPECT_LE(std::abs(c.offset_s), c.error_s + 1e-9);
  }
  EXPECT_GT(run.clock_error_s(), 0);
  EXPECT_EQ(run.clock_text().rfind("clocks aligned by ping-pong to ±", 0), 0u) << run.clock_text();
  EXPECT_TRUE(fs::exists(dir_ / "out/steps.jsonl"));
  EXPECT_TRUE(no_children_left());
}

TEST_F(ClusterRun, AttachWithTheWrongTokenIsRefused) {
  WorkerProcesses hand(std::vector<WorkerLaunch>(1, local_worker_launch(CLUSTERTWIN_TEST_WORKER)), local_worker_env("right"));
  auto o = options();
  auto port = hand.read_ports(10)[0];
  launch::Attach attach{.workers = {"127.0.0.1:" + std::to_string(port)}, .token = "wrong"};
  o.connect_timeout_s = 2;
  try {
    run(test::collective_program(1, core::CollectiveKind::AllReduce, 10), test::flat_topology(1), attach, o);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 0 (n0, 127.0.0.1:" + std::to_string(port) +
                                         "): refused the connection: wrong run token — this worker serves another run "
                                         "(check --token / CLUSTERTWIN_TOKEN)");
  }
  hand.finish(0);
}

TEST_F(ClusterRun, StartsWorkersOverSshWithTheTokenOffTheCommandLine) {
  auto how = ssh();
  how.token = "secret-token-5678";
  auto p = test::collective_program(3, core::CollectiveKind::AllGather, 1000);
  auto run = exec::run(p, ssh_topology(3), how, options());
  EXPECT_EQ(run.records.size(), 3u);
  std::string log = ssh_log();
  for (int r = 0; r < 3; ++r)
    EXPECT_NE(log.find("n" + std::to_string(r) + " " + CLUSTERTWIN_TEST_WORKER + " worker --listen 127.0.0.1:0 --token-stdin"),
              std::string::npos)
        << log;
  EXPECT_EQ(log.find("secret-token"), std::string::npos) << log;
  EXPECT_TRUE(no_children_left());
}

TEST_F(ClusterRun, UnreachableSshAliasNamesNodeAndAlias) {
  try {
    run(test::collective_program(2, core::CollectiveKind::AllReduce, 10), ssh_topology(2, {"n0", "unreachable-pi"}), ssh(),
        options());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()),
              "exec: rank 1: the worker on node 'n1' (ssh alias 'unreachable-pi') exited with status 255 before "
              "announcing its port — ssh could not reach or log in to 'unreachable-pi' (see ssh's message above); check "
              "that `ssh -o BatchMode=yes unreachable-pi true` works without a password prompt (keys, Host "
              "unreachable-pi in ~/.ssh/config)");
  }
  EXPECT_TRUE(no_children_left());
}

TEST_F(ClusterRun, MissingRemoteBinaryIsExplained) {
  auto how = ssh();
  how.remote_binary = "/nonexistent/clustertwin";
  try {
    run(test::collective_program(1, core::CollectiveKind::AllReduce, 10), ssh_topology(1), how, options());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 127 before announcing its port — the node's shell found no "
                                          "'/nonexistent/clustertwin': install clustertwin there or pass --remote-binary PATH"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(no_children_left());
}

TEST_F(ClusterRun, NodesWithoutAliasOrAddressAreListed) {
  auto t = ssh_topology(3);
  t.nodes[0].ssh = "";
  t.nodes[2].address = "";
  try {
    run(test::collective_program(3, core::CollectiveKind::AllReduce, 10), t, ssh(), options());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()),
              "exec: cannot start the workers of topology 'flat' (test.yaml):\n"
              "  rank 0: node 'n0' has no ssh alias: add `ssh: ALIAS`, or start its worker by hand and use --attach\n"
              "  rank 2: node 'n2' has no address: its worker would not know where to listen");
  }
}

TEST_F(ClusterRun, AWorkerStopsWhenItsSessionEnds) {
  // A worker started over ssh whose coordinator disappears must not wait forever: its stdin closes.
  WorkerLaunch l;
  l.argv = {CLUSTERTWIN_TEST_WORKER, "worker", "--listen", "127.0.0.1:0", "--token-stdin"};
  l.what = "the worker";
  l.stdin_text = "tok\n";
  WorkerProcesses w({l}, {});
  w.read_ports(10);
  auto t0 = Clock::now();
  w.finish(5);  // closes its stdin, then waits
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
  EXPECT_EQ(w.abnormal_exits(), "");
}

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
  ::test::TempDir tmp;
  o.out_dir = tmp.out("ddp");
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
}

// Rank i runs on the Program's placement[i] (the workload's `placement:`), not on file order's
// node: with modelled compute, a rank sleeps for the time of the device it was placed on.
TEST(LocalRun, RanksRunOnTheProgramsPlacement) {
  core::Program p;
  p.name = "placed";
  for (int r = 0; r < 2; ++r) {
    core::Op op;
    op.kind = core::OpKind::Compute;
    op.label = "work";
    op.flops = 1e9;
    p.ranks.push_back({r, {op}});
  }
  auto t = test::flat_topology(2);  // 1 TFLOP/s: 1 ms for the op
  t.nodes[0].device->peak_fp32 = t.nodes[0].device->peak_fp16 = 1e10;  // n0: 100 ms
  auto seconds = [](const MeasuredRun& m, int rank) {
    for (const auto& r : m.records)
      if (r.rank == rank) return r.end - r.start;
    return -1.0;
  };
  const MeasuredRun file = exec::run(p, t, local(), options(ComputeMode::Modelled));
  EXPECT_GE(seconds(file, 0), 0.099);
  EXPECT_LT(seconds(file, 1), 0.05);
  p.placement = {"n1", "n0"};
  const MeasuredRun placed = exec::run(p, t, local(), options(ComputeMode::Modelled));
  EXPECT_LT(seconds(placed, 0), 0.05);
  EXPECT_GE(seconds(placed, 1), 0.099);
  EXPECT_TRUE(no_children_left());
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

// The launch is checked once, before anything starts: the messages name the flag and give a hint.
std::string launch_error(const Launch& how, int world) {
  try {
    check_launch(how, test::collective_program(world, core::CollectiveKind::AllReduce, 10), test::flat_topology(world));
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(CheckLaunch, CountsMustBeTheWorldAndAttachingNeedsAToken) {
  EXPECT_EQ(launch_error(launch::Local{.ranks = 2}, 3),
            "--local: error: 2 local workers requested, but topology 'flat' has 3 nodes that run ranks\n"
            "hint: use --local 3 (one worker process per node of the topology)");
  EXPECT_EQ(launch_error(launch::Attach{.workers = {"h:1", "h:2"}, .token = "t"}, 3),
            "--attach: error: 2 workers given, but topology 'flat' has 3 nodes that run ranks\n"
            "hint: list one HOST:PORT per node, in rank order (the workload's placement, else the topology's order of nodes)");
  EXPECT_EQ(launch_error(launch::Attach{.workers = {"h:1", "h:2", "h:3"}}, 3),
            "--attach: error: attaching needs the run token the workers were started with\n"
            "hint: export CLUSTERTWIN_TOKEN=... (the same value the workers got)");
  EXPECT_EQ(launch_error(launch::Local{}, 3), "");  // 0 ranks: the world
  EXPECT_EQ(launch_error(launch::Local{.ranks = 3}, 3), "");
  EXPECT_EQ(launch_error(launch::Ssh{}, 3), "");
  EXPECT_EQ(launch_error(launch::Emulated{.prefix = "ct-"}, 3), "");
}

TEST(CheckLaunch, RunRefusesBeforeStartingAnything) {
  try {
    run(test::collective_program(2, core::CollectiveKind::AllReduce, 10), test::flat_topology(2),
        launch::Attach{.workers = {"127.0.0.1:1", "127.0.0.1:2"}}, {});
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--attach: error: attaching needs the run token", 0), 0u) << e.what();
  }
}

TEST(CheckLaunch, TheTextSaysHowWorkersStarted) {
  EXPECT_EQ(launch_text(launch::Local{}, 3), "3 local worker processes over loopback TCP");
  EXPECT_EQ(launch_text(launch::Attach{.workers = {"a:1", "b:2"}}, 2), "2 attached workers over TCP");
  EXPECT_EQ(launch_text(launch::Ssh{}, 4), "4 workers started over ssh, TCP");
  EXPECT_EQ(launch_text(launch::Emulated{}, 5), "5 workers in an emulated cluster (network namespaces)");
}

}  // namespace
}  // namespace clustertwin::exec
