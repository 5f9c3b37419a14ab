// `clustertwin run` over real ssh: an sshd (Debian openssh-server) in a network namespace this test
// creates, reached over a veth pair with private addresses, with a key made for the test — the path
// a run on real minis takes, minus the minis. Also a wrong key and a missing binary on the node.
// Needs root (namespaces, sshd): skipped with a message otherwise. Everything it makes (namespace,
// veth, sshd and whatever runs under it, files) is removed when the test ends, pass or fail, but
// sshd's standard /run/sshd.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/process.h"
#include "exec/socket.h"
#include "run_cli.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using clustertwin::cli_test::Result;
using clustertwin::cli_test::run;
namespace core = clustertwin::core;
namespace exec = clustertwin::exec;

constexpr const char* kSshd = "/usr/sbin/sshd";

core::Captured sh(const std::vector<std::string>& argv) { return core::run_captured(argv, 10); }

// A namespace with one veth pair to this one: HOST_IP here, three node addresses inside (one sshd
// listens on each, as three minis would), a /29 of 10.249/16
// picked from the pid so parallel runs do not collide.
class SshNode : public test::TempDirTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: it creates a network namespace and runs sshd in it";
    if (!fs::exists(kSshd)) GTEST_SKIP() << "no " << kSshd << ": install openssh-server (scripts/setup.sh does)";
    const unsigned pid = static_cast<unsigned>(::getpid());
    ns_ = fmt::format("ctssh-{}", pid);
    veth_ = fmt::format("ctsh{}", pid % 1000000);
    const unsigned third = (pid >> 5) & 255, fourth = (pid & 31) * 8;
    host_ip_ = fmt::format("10.249.{}.{}", third, fourth + 1);
    for (unsigned i = 0; i < 3; ++i) node_ips_.push_back(fmt::format("10.249.{}.{}", third, fourth + 2 + i));
    node_ip_ = node_ips_[0];
    made_ns_ = step({"ip", "netns", "add", ns_});
    if (!made_ns_) GTEST_SKIP() << "cannot create a network namespace here: " << last_error_;
    ASSERT_TRUE(step({"ip", "link", "add", veth_ + "a", "type", "veth", "peer", "name", veth_ + "b"})) << last_error_;
    made_veth_ = true;
    ASSERT_TRUE(step({"ip", "link", "set", veth_ + "b", "netns", ns_})) << last_error_;
    ASSERT_TRUE(step({"ip", "addr", "add", host_ip_ + "/29", "dev", veth_ + "a"})) << last_error_;
    ASSERT_TRUE(step({"ip", "link", "set", veth_ + "a", "up"})) << last_error_;
    for (const auto& ip : node_ips_)
      ASSERT_TRUE(step({"ip", "-n", ns_, "addr", "add", ip + "/29", "dev", veth_ + "b"})) << last_error_;
    ASSERT_TRUE(step({"ip", "-n", ns_, "link", "set", veth_ + "b", "up"})) << last_error_;
    ASSERT_TRUE(step({"ip", "-n", ns_, "link", "set", "lo", "up"})) << last_error_;
    ASSERT_TRUE(step({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", out("host_key")})) << last_error_;
    ASSERT_TRUE(step({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", out("key")})) << last_error_;
    ASSERT_TRUE(step({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", out("wrong_key")})) << last_error_;
    fs::copy_file(out("key.pub"), out("authorized_keys"));
    start_sshd();
  }

  void TearDown() override {
    if (sshd_.pid() > 0) {
      sshd_.signal(SIGTERM);
      if (!sshd_.wait_for(3)) sshd_.signal(SIGKILL);
      sshd_.wait();
      // sshd's own log (its readiness probe makes it complain): shown only when the test failed.
      // Non-blocking: a session sshd forked may still hold the pipe open until the namespace goes.
      exec::set_nonblocking(sshd_.err().get());
      std::string log;
      char buf[4096];
      for (ssize_t n; (n = ::read(sshd_.err().get(), buf, sizeof buf)) > 0;) log.append(buf, static_cast<size_t>(n));
      if (HasFailure()) std::fprintf(stderr, "sshd's log:\n%s", log.c_str());
    }
    if (made_ns_) {
      // Sessions and workers sshd started live in the namespace: none survives it.
      auto pids = sh({"ip", "netns", "pids", ns_});
      std::istringstream in(pids.out);
      for (std::string p; in >> p;) sh({"kill", "-9", p});
      sh({"ip", "netns", "del", ns_});
    }
    if (made_veth_) sh({"ip", "link", "del", veth_ + "a"});  // gone already with the namespace, normally
  }

  // Runs a setup command; false (and last_error_) when it fails.
  bool step(const std::vector<std::string>& argv) {
    auto r = sh(argv);
    if (r.ok()) return true;
    last_error_ = core::joined(argv) + ": " + r.err + r.out;
    return false;
  }

  void start_sshd() {
    // sshd's privilege separation directory, which the package's service makes at boot on a real
    // machine. Made if missing and left in place (empty, root's): another of these tests may be
    // starting its sshd in parallel.
    fs::create_directories("/run/sshd");
    std::ofstream config(out("sshd_config"));
    for (const auto& ip : node_ips_) config << "ListenAddress " << ip << "\n";
    config << "Port 22\n"
           << "HostKey " << out("host_key") << "\n"
           << "AuthorizedKeysFile " << out("authorized_keys") << "\n"
           << "PidFile none\n"
           << "StrictModes no\n"
           << "UsePAM no\n"
           << "PasswordAuthentication no\n"
           << "KbdInteractiveAuthentication no\n"
           << "PermitRootLogin prohibit-password\n"
           << "LogLevel ERROR\n";
    config.close();
    // The node is a fresh machine: its sessions get an empty home in a mount namespace of their own,
    // so this machine's ~/.bashrc (which bash reads for ssh commands) neither runs nor is touched.
    fs::create_directories(dir_ / "home");
    const char* home = ::getpwuid(::geteuid())->pw_dir;
    core::SpawnOptions so;
    so.argv = {"ip", "netns", "exec", ns_, "unshare", "--mount", "--propagation", "private", "sh", "-c",
               fmt::format("mount --bind '{}' '{}' && exec {} -D -e -f '{}'", out("home"), home, kSshd, out("sshd_config"))};
    so.pipe_stderr = true;
    sshd_ = core::Process(so);
    // Listening within 5 s, or the test fails (and still tears down).
    const auto end = exec::deadline_after(5);
    while (exec::Clock::now() < end) {
      try {
        exec::connect_until({node_ip_, 22}, exec::deadline_after(0.5), "sshd");
        return;
      } catch (const std::exception&) {
        ASSERT_FALSE(sshd_.try_wait()) << "sshd exited: " << sshd_.describe();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    FAIL() << "sshd did not listen on " << node_ip_ << ":22 within 5 s";
  }

  // Three nodes, each with its own address and ssh alias (workers on free ports).
  std::string topology() const {
    std::string path = out("ssh-node.yaml");
    const char* fast = "peak_fp32: 1PFLOPS, memory_bandwidth: 1PB/s, ";
    std::ofstream f(path);
    f << "name: ssh-node\nnodes:\n";
    for (int i = 0; i < 3; ++i)
      f << "  - {name: " << "abc"[i] << ", device: this-machine, " << fast << "address: " << node_ips_[i]
        << ", ssh: root@" << node_ips_[i] << "}\n";
    f << "  - {name: sw, kind: switch}\nlinks:\n";
    for (const char* n : {"a", "b", "c"}) f << "  - {between: [" << n << ", sw], type: eth-1g}\n";
    return path;
  }

  std::string ssh_command(const std::string& key) const {
    return fmt::format("ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no "
                       "-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR",
                       key);
  }

  // A model small enough that the run is the launch: two steps of a 2-layer model's all-reduce.
  std::string workload() const {
    std::string path = out("tiny-ddp.yaml");
    std::ofstream(path) << "name: tiny-ddp\n"
                           "model: {name: tiny, layers: 2, hidden: 64, heads: 4, ffn: 256, vocab: 100}\n"
                           "task: train\n"
                           "batch: {micro_batch: 1, seq_len: 16}\n"
                           "precision: {compute: fp32, gradients: fp32}\n"
                           "parallel: {strategy: ddp, allreduce: ring}\n"
                           "steps: 2\n";
    return path;
  }

  Result run_over_ssh(const std::string& key, const std::string& binary) const {
    return run(fmt::format("run -t {} -w {} --compute modelled --launch-timeout 15 --ssh-command '{}' "
                           "--remote-binary {} -o {}",
                           topology(), workload(), ssh_command(key), binary, out("run")));
  }

  std::string ns_, veth_, host_ip_, node_ip_, last_error_;
  std::vector<std::string> node_ips_;
  bool made_ns_ = false, made_veth_ = false;
  core::Process sshd_;
};

TEST_F(SshNode, RunStartsAWorkerPerNodeOverSsh) {
  Result r = run_over_ssh(out("key"), CLUSTERTWIN_BIN);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 workers started over ssh, TCP, compute=modelled, clocks aligned by ping-pong to ±"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "run/summary.json"));
}

TEST_F(SshNode, AWrongKeyNamesTheAliasAndTheFix) {
  Result r = run_over_ssh(out("wrong_key"), CLUSTERTWIN_BIN);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("Permission denied (publickey)"), std::string::npos) << r.output;  // ssh's own message
  // Every node refuses the key; whichever rank fails first is named, with its own node and alias.
  bool named = false;
  for (int i = 0; i < 3; ++i)
    named = named || r.output.find(fmt::format("the worker on node '{}' (ssh alias 'root@{}') exited with status 255 "
                                               "before announcing its port — ssh could not reach or log in to "
                                               "'root@{}'",
                                               "abc"[i], node_ips_[i], node_ips_[i])) != std::string::npos;
  EXPECT_TRUE(named) << r.output;
}

TEST_F(SshNode, AMissingBinaryOnTheNodeIsNamed) {
  Result r = run_over_ssh(out("key"), "/nonexistent/clustertwin");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("exited with status 127 before announcing its port — the node's shell found no "
                          "'/nonexistent/clustertwin': install clustertwin there or pass --remote-binary PATH"),
            std::string::npos)
      << r.output;
}

}  // namespace
