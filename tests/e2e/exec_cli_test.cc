// End-to-end tests of the executor's command line: bench (nccl-tests table, JSON, FAILED),
// run over a stand-in ssh and with --attach, and worker -t/--node.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;

using clustertwin::cli_test::src;

class ExecCli : public test::TempDirTest {
 protected:

  // Three nodes on 127.0.0.1 with ssh aliases; the third alias given. Compute is made negligible
  // (as in fixtures/local-3-fast.yaml): the tests spend their time on the real all-reduce.
  std::string topology(const std::string& third_alias = "c") const {
    std::string path = out("ssh-3.yaml");
    const char* fast = "peak_fp32: 1PFLOPS, memory_bandwidth: 1PB/s, ";
    std::ofstream(path) << "name: ssh-3\n"
                           "nodes:\n"
                           "  - {name: a, device: this-machine, " << fast << "address: 127.0.0.1, ssh: a}\n"
                           "  - {name: b, device: this-machine, " << fast << "address: 127.0.0.1, ssh: b}\n"
                           "  - {name: c, device: this-machine, " << fast << "address: 127.0.0.1, ssh: " << third_alias << "}\n"
                           "  - {name: lo, kind: switch}\n"
                           "links:\n"
                           "  - {between: [a, lo], type: loopback}\n"
                           "  - {between: [b, lo], type: loopback}\n"
                           "  - {between: [c, lo], type: loopback}\n";
    return path;
  }

  // Runs the remote command here, as sshd would on the node; aliases unreachable* fail like ssh.
  std::string fake_ssh() const {
    std::string path = out("fake-ssh");
    std::ofstream(path) << "#!/bin/sh\n"
                           "while [ \"$1\" = \"-o\" ]; do shift 2; done\n"
                           "alias=\"$1\"; shift\n"
                           "case \"$alias\" in unreachable*) echo \"ssh: Could not resolve hostname $alias\" >&2; exit 255;; esac\n"
                           "exec /bin/sh -c \"$*\"\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }

};

TEST_F(ExecCli, BenchPrintsTheNcclTestsTableAndJson) {
  Result r = run(fmt::format("bench allreduce --local 3 -b 8 -e 4K -f 8 -n 3 -w 1 --json {}", out("b.json")));
  ASSERT_EQ(r.code, 0) << r.output;
  std::istringstream lines(r.output);
  std::vector<std::string> data, comments;
  for (std::string l; std::getline(lines, l);) (l.rfind("#", 0) == 0 ? comments : data).push_back(l);
  EXPECT_NE(r.output.find("#         size        count   type       time    algbw    busbw  #wrong\n"
                          "#          (B)   (elements)              (us)   (GB/s)   (GB/s)        \n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("busbw = algbw x 1.3333 (2(n-1)/n)"), std::string::npos) << r.output;
  ASSERT_EQ(data.size(), 4u) << r.output;  // 8, 64, 512, 4096
  const std::regex row(R"(\s+(\d+)\s+(\d+)\s+float\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+0)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(data[3], m, row)) << data[3];
  EXPECT_EQ(m[1], "4096");
  EXPECT_EQ(m[2], "1024");
  EXPECT_EQ(comments.back(), "# OK");
  auto j = nlohmann::json::parse(std::ifstream(out("b.json")));
  EXPECT_EQ(j["benchmark"], "allreduce");
  EXPECT_EQ(j["ok"], true);
  ASSERT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["rows"][0]["size_bytes"], 8);
  EXPECT_GT(j["rows"][3]["time_us"].get<double>(), 0);
  EXPECT_NEAR(j["rows"][3]["busbw_gbps"].get<double>(), j["rows"][3]["algbw_gbps"].get<double>() * 4 / 3, 1e-9);
}

TEST_F(ExecCli, BenchEveryKindRuns) {
  for (const char* kind : {"allgather", "reducescatter", "sendrecv"}) {
    Result r = run(fmt::format("bench {} --local 3 -b 1K -e 64K -f 64 -n 2 -w 1", kind));
    EXPECT_EQ(r.code, 0) << kind << "\n" << r.output;
    EXPECT_NE(r.output.find("# OK"), std::string::npos) << r.output;
  }
}

TEST_F(ExecCli, BenchTakesTheAlgorithmAndTheElementType) {
  Result r = run(fmt::format("bench allreduce --local 3 --algorithm tree --dtype bf16 -b 6 -e 6K -f 1024 -n 2 -w 1 "
                             "--json {}",
                             out("t.json")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("# algorithm tree; busbw"), std::string::npos) << r.output;
  // 6 and 6144 bytes: 3 and 3072 bf16 elements.
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(\n\s+6\s+3\s+bfloat16\s)"))) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(\n\s+6144\s+3072\s+bfloat16\s)"))) << r.output;
  auto j = nlohmann::json::parse(std::ifstream(out("t.json")));
  EXPECT_EQ(j["algorithm"], "tree");
  EXPECT_EQ(j["type"], "bfloat16");

  r = run("bench reducescatter --local 3 --algorithm halving-doubling --dtype fp16 -b 1K -e 1K -n 1 -w 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(" half "), std::string::npos) << r.output;

  r = run("bench allgather --local 2 --algorithm tree");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output.rfind("--algorithm: error: algorithm 'tree' does not implement allgather", 0), 0u) << r.output;
}

// --local with --predict: the workers run on this machine and the simulator prices the same
// Program on the topology given (here local-3-fast: three ranks, each on its own 6.9 Gb/s loopback
// link to the kernel's switch, 10 us per link, reductions free). A 6 MiB ring all-reduce of 3:
// 2(n-1)/n S / B + 2(n-1) x 2 x 10 us = 4/3 x 6291456 x 8 / 6.9e9 s + 80 us = 9805.4 us.
TEST_F(ExecCli, BenchLocalWithPredictAddsTheSimulatorsColumn) {
  std::string topo = src("tests/e2e/fixtures/local-3-fast.yaml");
  Result r = run(fmt::format("bench allreduce --local 3 -t {} --predict -b 6M -e 6M -n 2 -w 1", topo));
  // The executor-only build (-DCLUSTERTWIN_SIM=OFF, for Macs and Pis) has no simulator to predict with.
  if (r.output.find("built without the simulator") != std::string::npos) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("# predicted: the simulator's time"), std::string::npos) << r.output;
  std::smatch row;
  ASSERT_TRUE(std::regex_search(r.output, row, std::regex(R"(\n\s+6291456\s+1572864\s+float(\s+\S+){4}\s+(\S+))")))
      << r.output;
  EXPECT_NEAR(std::stod(row[2]), 9805.4, 0.01 * 9805.4) << r.output;

  r = run(fmt::format("bench allreduce --local 2 -t {} --predict -b 8 -e 8", topo));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("-t/--topology: error: '" + topo + "' runs 3 ranks, but --local starts 2"), std::string::npos)
      << r.output;
  r = run(fmt::format("bench allreduce --local 3 -t {} -b 8 -e 8", topo));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("-t/--topology: error: with --local the ranks run on this machine"), std::string::npos)
      << r.output;
}

// --predict-only: the same closed form (9805.4 us for 6 MiB over local-3-fast) with no worker
// started, the table's time column the simulator's, nothing checked.
TEST_F(ExecCli, BenchPredictOnlyPricesAClusterWithoutWorkers) {
  std::string topo = src("tests/e2e/fixtures/local-3-fast.yaml");
  Result r = run(fmt::format("bench allreduce -t {} --predict-only -b 6M -e 6M -n 2 -w 1 --json {}", topo, out("p.json")));
  if (r.output.find("built without the simulator") != std::string::npos) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 ranks, predicted only, no workers"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("every result checked"), std::string::npos) << r.output;
  std::smatch row;
  ASSERT_TRUE(std::regex_search(r.output, row, std::regex(R"(\n\s+6291456\s+1572864\s+float\s+(\S+)\s+\S+\s+(\S+)\s+-\n)")))
      << r.output;
  EXPECT_NEAR(std::stod(row[1]), 9805.4, 0.01 * 9805.4) << r.output;
  // busbw = 4/3 x 6291456 B / time
  EXPECT_NEAR(std::stod(row[2]), 4.0 / 3 * 6291456 / (std::stod(row[1]) * 1e-6) / 1e9, 0.002) << r.output;
  auto j = nlohmann::json::parse(std::ifstream(out("p.json")));
  EXPECT_EQ(j["predicted_only"], true);
  EXPECT_FALSE(j["rows"][0].contains("wrong"));

  r = run(fmt::format("bench allreduce --local 3 -t {} --predict-only -b 8 -e 8", topo));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--predict-only: error: no worker runs with --predict-only"), std::string::npos) << r.output;
}

TEST_F(ExecCli, BenchWithAWrongResultSaysFailed) {
  Result r = run("bench allreduce --local 2 -b 64 -e 64 -n 1 -w 0 --corrupt-rank 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("# size 64 failed: exec: rank "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("gave a wrong result"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n# FAILED\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("clustertwin: error: bench: 1 of 1 sizes failed (see the table)"), std::string::npos) << r.output;
}

TEST_F(ExecCli, BenchRejectsBadSizes) {
  Result r = run("bench allreduce --local 2 -b 8X");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "-b/--minbytes: error: expected a size in bytes like 8, 1K, 128M or 1G, got '8X'\n");
}

TEST_F(ExecCli, RunOverSshStartsAWorkerPerNode) {
  Result r = run(fmt::format("run -t {} -w {} --micro-batch 1 --steps 1 --compute modelled --ssh-command {} "
                             "--remote-binary {} -o {}",
                             topology(), src("workloads/examples/ddp-gpt2.yaml"), fake_ssh(), CLUSTERTWIN_BIN, out("run")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 workers started over ssh, TCP, compute=modelled, clocks aligned by ping-pong to ±"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "run/summary.json"));
  EXPECT_TRUE(fs::exists(dir_ / "run/clocks.json"));
}

// probe launches like run: the same stand-in ssh starts its workers for every measurement.
TEST_F(ExecCli, ProbeOverSshMeasuresEveryPairAndWritesTheOverlay) {
  Result r = run(fmt::format("probe -t {} --quick --ssh-command {} --remote-binary {} -o {}", topology(), fake_ssh(),
                             CLUSTERTWIN_BIN, out("cal.yaml")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("probe: 'ssh-3' (3 workers started over ssh, TCP), 3 pairs to measure"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(fmt::format("wrote {} (6 link directions, 0 forwarders, 3 devices)", out("cal.yaml"))),
            std::string::npos)
      << r.output;
}

// Every measurement starts a worker on every node: one unreachable node fails them all, each
// naming it.
TEST_F(ExecCli, ProbeOverSshNamesAnUnreachableAliasAndFails) {
  Result r = run(fmt::format("probe -t {} --quick --ssh-command {} --remote-binary {} -o {}", topology("unreachable-c"),
                             fake_ssh(), CLUSTERTWIN_BIN, out("cal.yaml")));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("unreachable-c"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("probe: 3 of 3 pairs and the device measurement failed (see above)"), std::string::npos)
      << r.output;
}

TEST_F(ExecCli, RunOverSshNamesAnUnreachableAlias) {
  Result r = run(fmt::format("run -t {} -w {} --micro-batch 1 --steps 1 --compute modelled --ssh-command {} "
                             "--remote-binary {} -o {}",
                             topology("unreachable-c"), src("workloads/examples/ddp-gpt2.yaml"), fake_ssh(), CLUSTERTWIN_BIN,
                             out("run")));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("clustertwin: error: exec: rank 2: the worker on node 'c' (ssh alias 'unreachable-c') exited "
                          "with status 255 before announcing its port — ssh could not reach or log in to 'unreachable-c'"),
            std::string::npos)
      << r.output;
}

// Starts `clustertwin worker -t TOPO --node NAME` with the token in its environment; returns its
// pid and port.
std::pair<pid_t, int> start_worker(const std::string& topo, const std::string& node, const std::string& token) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, 0};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::setenv("CLUSTERTWIN_TOKEN", token.c_str(), 1);
    ::execl(CLUSTERTWIN_BIN, CLUSTERTWIN_BIN, "worker", "-t", topo.c_str(), "--node", node.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string line;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(fds[0]);
  const std::string prefix = "clustertwin-worker listening on ";
  if (line.rfind(prefix, 0) != 0) return {pid, 0};
  return {pid, std::stoi(line.substr(prefix.size()))};
}

TEST_F(ExecCli, RunAttachesToWorkersStartedByHand) {
  const std::string topo = topology();
  std::vector<std::pair<pid_t, int>> workers;
  for (const char* node : {"a", "b", "c"}) workers.push_back(start_worker(topo, node, "by-hand-token"));
  std::string attach;
  for (auto [pid, port] : workers) {
    ASSERT_GT(port, 0);
    attach += fmt::format("{}127.0.0.1:{}", attach.empty() ? "" : ",", port);
  }
  Result r = run(fmt::format("run -t {} -w {} --micro-batch 1 --steps 1 --compute modelled --attach {} -o {}", topo,
                             src("workloads/examples/ddp-gpt2.yaml"), attach, out("run")),
                 "CLUSTERTWIN_TOKEN=by-hand-token");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 attached workers over TCP"), std::string::npos) << r.output;
  for (auto [pid, port] : workers) {
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "worker " << pid << " did not exit after the run";
    }
  }
}

TEST_F(ExecCli, AttachWithoutTheTokenIsAnInputError) {
  Result r = run(fmt::format("run -t {} -w {} --attach 127.0.0.1:1,127.0.0.1:2,127.0.0.1:3 -o {}", topology(),
                             src("workloads/examples/ddp-gpt2.yaml"), out("run")),
                 "env -u CLUSTERTWIN_TOKEN");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--attach: error: attaching needs the run token"), std::string::npos) << r.output;
}

TEST_F(ExecCli, EmulateDryRunPrintsTheCommands) {
  Result r = run(fmt::format("emulate up {} --scale 0.5 --prefix ct-dry- --dry-run", src("topologies/examples/tb4-star-3minis.yaml")));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("ip netns add ct-dry-mini1\n", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("ip link add l0 netns ct-dry-mini1 type veth peer name l0 netns ct-dry-mini2\n"), std::string::npos)
      << r.output;
  // The hub's Thunderbolt Bridge joins its two cables at L2, one subnet across.
  EXPECT_NE(r.output.find("ip -n ct-dry-mini1 link set l1 master br0\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ip -n ct-dry-mini1 addr add 10.10.0.1/24 dev br0\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ip netns exec ct-dry-mini1 sysctl -qw net.ipv4.ip_forward=1\n"), std::string::npos) << r.output;
}

// The guide's hybrid cluster (Thunderbolt chain, two Pis behind forwarding Macs) emulated at a
// tenth of its bandwidths: a DDP and a pipeline workload run with every collective checked, and the
// emulation leaves no namespace behind. Linux and root only.
TEST_F(ExecCli, HybridClusterEmulatedRunsDdpAndPipeline) {
  if (::geteuid() != 0) GTEST_SKIP() << "emulation needs root";
  const std::string topo = src("topologies/examples/smolcluster-hybrid.yaml");
  const std::string prefix = fmt::format("ct-e2e{}-", ::getpid());
  struct Down {
    std::string cmd;
    ~Down() { run(cmd); }  // also when an assertion below fails
  } down{fmt::format("emulate down {} --prefix {}", topo, prefix)};
  Result up = run(fmt::format("emulate up {} --scale 0.1 --prefix {}", topo, prefix));
  ASSERT_EQ(up.code, 0) << up.output;
  const std::string model = "model: {name: tiny, layers: 5, hidden: 256, heads: 8, ffn: 1024, vocab: 8000, context: 256}\n"
                            "task: train\nbatch: {micro_batch: 2, seq_len: 256}\n";
  std::ofstream(out("ddp.yaml")) << "name: tiny-ddp\n" << model << "parallel: {strategy: ddp, allreduce: ring, bucket: all}\nsteps: 2\n";
  std::ofstream(out("pipe.yaml")) << "name: tiny-pipe\n" << model
                                  << "parallel: {strategy: pipeline, schedule: 1f1b, micro_batches: 4, split: even}\nsteps: 2\n";
  for (const char* w : {"ddp", "pipe"}) {
    Result r = run(fmt::format("run -t {} -w {} --emulated --prefix {} --compute real -o {}", topo, out(std::string(w) + ".yaml"),
                               prefix, out(std::string("run-") + w)));
    EXPECT_EQ(r.code, 0) << w << "\n" << r.output;
    EXPECT_NE(r.output.find("5 workers in an emulated cluster (network namespaces)"), std::string::npos) << r.output;
    std::ifstream steps(dir_ / (std::string("run-") + w) / "steps.jsonl");
    int lines = 0;
    for (std::string l; std::getline(steps, l);) ++lines;
    EXPECT_EQ(lines, 2 * 5) << w;
  }
  Result gone = run(fmt::format("emulate down {} --prefix {}", topo, prefix));
  EXPECT_EQ(gone.output, fmt::format("removed 5 network namespaces ({}*)\n", prefix));
}

// Two minis on one 100 Mbit/s cable, 200 us one way, 300 us back: --verify measures each way beside
// the configured figure, and `down` leaves no namespace.
TEST_F(ExecCli, EmulateDelayIsVerifiedAndRemoved) {
  if (::geteuid() != 0) GTEST_SKIP() << "emulation needs root";
  const std::string topo = out("pair.yaml");
  std::ofstream(topo) << "name: pair\nnodes:\n  - {name: mini1, device: mac-mini-m4, address: 10.93.0.1}\n"
                         "  - {name: mini2, device: mac-mini-m4, address: 10.93.0.2}\nlinks:\n"
                         "  - {between: [mini1, mini2], type: eth-1g, rate: 100Mbps, framing: tbf, latency: [200us, 300us]}\n";
  const std::string prefix = fmt::format("ct-e2d{}-", ::getpid());
  struct Down {
    std::string cmd;
    ~Down() { run(cmd); }
  } down{fmt::format("emulate down {} --prefix {}", topo, prefix)};
  Result up = run(fmt::format("emulate up {} --prefix {} --delay --verify", topo, prefix));
  ASSERT_EQ(up.code, 0) << up.output;
  EXPECT_NE(up.output.find("# direction                  configured     measured    error   round trip  within\n"),
            std::string::npos)
      << up.output;
  EXPECT_NE(up.output.find("  mini1 -> mini2                  205.3 "), std::string::npos) << up.output;
  EXPECT_NE(up.output.find("  mini2 -> mini1                  305.3 "), std::string::npos) << up.output;
  Result gone = run(fmt::format("emulate down {} --prefix {}", topo, prefix));
  EXPECT_EQ(gone.output, fmt::format("removed 2 network namespaces ({}*)\n", prefix));
}

TEST_F(ExecCli, VerifyNeedsDelay) {
  Result r = run(fmt::format("emulate up {} --verify --dry-run", src("topologies/examples/two-minis-1gbe.yaml")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--verify requires --delay"), std::string::npos) << r.output;
}

TEST_F(ExecCli, WorkerNeedsAnAddress) {
  Result r = run("worker --token t");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "--listen: error: the worker needs an address to listen on\n"
                      "hint: pass --listen ADDR:PORT, or -t TOPOLOGY [--node NAME] to use the node's address\n");
  r = run(fmt::format("worker --token t -t {} --node zz", topology()));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "--node: error: topology 'ssh-3' has no node 'zz'\nhint: its nodes that run ranks: a, b, c\n");
}

// -t without --node: the node whose address this machine has (binding it works), never 0.0.0.0.
TEST_F(ExecCli, WorkerFindsItsNodeByAddress) {
  // 192.0.2.0/24 is TEST-NET-1: documentation only, on no machine.
  std::string path = out("mine.yaml");
  std::ofstream(path) << "name: mine\n"
                         "nodes:\n"
                         "  - {name: far, device: this-machine, address: 192.0.2.7}\n"
                         "  - {name: here, device: this-machine, address: 127.0.0.1}\n"
                         "links:\n"
                         "  - {between: [far, here], type: eth-1g}\n";
  // The token on stdin, then EOF: the worker binds, announces, and stops (its session ended).
  std::ofstream(out("token")) << "t\n";
  Result r = run(fmt::format("worker --token-stdin -t {} < {}", path, out("token")));
  EXPECT_NE(r.output.find("clustertwin-worker: this machine is node 'here' of topology 'mine' (it has 127.0.0.1)\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("clustertwin-worker listening on "), std::string::npos) << r.output;

  r = run(fmt::format("worker --token t -t {}", topology()));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "--node: error: several nodes of topology 'ssh-3' have an address on this machine (a, b, c)\n"
                      "hint: pass --node NAME to say which one this worker is\n");

  std::ofstream(path) << "name: far\n"
                         "nodes:\n"
                         "  - {name: x, device: this-machine, address: 192.0.2.7}\n"
                         "  - {name: y, device: this-machine, address: 192.0.2.8}\n"
                         "links:\n"
                         "  - {between: [x, y], type: eth-1g}\n";
  r = run(fmt::format("worker --token t -t {}", path));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "--node: error: no node of topology 'far' has an address on this machine (x 192.0.2.7, y "
                      "192.0.2.8)\nhint: pass --node NAME, or bring up the cluster interface (ip addr / ifconfig)\n");
}

}  // namespace
