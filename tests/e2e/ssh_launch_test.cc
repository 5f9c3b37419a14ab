// `clustertwin run` over real ssh: an sshd (Debian openssh-server) in a network namespace this test
// creates, reached over a veth pair with private addresses, with a key made for the test — the path
// a run on real minis takes, minus the minis. Also a wrong key and a missing binary on the node.
// Needs root (namespaces, sshd): skipped with a message otherwise. Everything it makes (namespace,
// veth, sshd and whatever runs under it, files) is removed when the test ends, pass or fail.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
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
using clustertwin::cli_test::src;
namespace core = clustertwin::core;
namespace exec = clustertwin::exec;

constexpr const char* kSshd = "/usr/sbin/sshd";

core::Captured sh(const std::vector<std::string>& argv) { return core::run_captured(argv, 10); }

// A namespace with one veth pair to this one: HOST_IP here, NODE_IP inside, a /30 of 10.249/16
// picked from the pid so parallel runs do not collide.
class SshNode : public test::TempDirTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: it creates a network namespace and runs sshd in it";
    if (!fs::exists(kSshd)) GTEST_SKIP() << "no " << kSshd << ": install openssh-server (scripts/setup.sh does)";
    const unsigned pid = static_cast<unsigned>(::getpid());
    ns_ = fmt::format("ctssh-{}", pid);
    veth_ = fmt::format("ctsh{}", pid % 1000000);
    const unsigned third = (pid >> 6) & 255, fourth = (pid & 63) * 4;
    host_ip_ = fmt::format("10.249.{}.{}", third, fourth + 1);
    node_ip_ = fmt::format("10.249.{}.{}", third, fourth + 2);
    made_ns_ = step({"ip", "netns", "add", ns_});
    if (!made_ns_) GTEST_SKIP() << "cannot create a network namespace here: " << last_error_;
    ASSERT_TRUE(step({"ip", "link", "add", veth_ + "a", "type", "veth", "peer", "name", veth_ + "b"})) << last_error_;
    made_veth_ = true;
    ASSERT_TRUE(step({"ip", "link", "set", veth_ + "b", "netns", ns_})) << last_error_;
    ASSERT_TRUE(step({"ip", "addr", "add", host_ip_ + "/30", "dev", veth_ + "a"})) << last_error_;
    ASSERT_TRUE(step({"ip", "link", "set", veth_ + "a", "up"})) << last_error_;
    ASSERT_TRUE(step({"ip", "-n", ns_, "addr", "add", node_ip_ + "/30", "dev", veth_ + "b"})) << last_error_;
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
    }
    if (made_ns_) {
      // Sessions and workers sshd started live in the namespace: none survives it.
      auto pids = sh({"ip", "netns", "pids", ns_});
      std::istringstream in(pids.out);
      for (std::string p; in >> p;) sh({"kill", "-9", p});
      sh({"ip", "netns", "del", ns_});
    }
    if (made_veth_) sh({"ip", "link", "del", veth_ + "a"});  // gone already with the namespace, normally
    if (made_run_dir_) fs::remove_all("/run/sshd");
  }

  // Runs a setup command; false (and last_error_) when it fails.
  bool step(const std::vector<std::string>& argv) {
    auto r = sh(argv);
    if (r.ok()) return true;
    last_error_ = core::joined(argv) + ": " + r.err + r.out;
    return false;
  }

  void start_sshd() {
    // sshd's privilege separation directory, made by the package's service start on a real machine.
    if (!fs::exists("/run/sshd")) {
      fs::create_directories("/run/sshd");
      made_run_dir_ = true;
    }
    std::ofstream(out("sshd_config")) << "ListenAddress " << node_ip_ << "\n"
                                      << "Port 22\n"
                                      << "HostKey " << out("host_key") << "\n"
                                      << "AuthorizedKeysFile " << out("authorized_keys") << "\n"
                                      << "PidFile none\n"
                                      << "StrictModes no\n"
                                      << "UsePAM no\n"
                                      << "PasswordAuthentication no\n"
                                      << "KbdInteractiveAuthentication no\n"
                                      << "PermitRootLogin prohibit-password\n"
                                      << "LogLevel ERROR\n";
    core::SpawnOptions so;
    so.argv = {"ip", "netns", "exec", ns_, kSshd, "-D", "-e", "-f", out("sshd_config")};
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

  // Three nodes behind the one sshd, as three minis with one address would be (workers on free ports).
  std::string topology() const {
    std::string path = out("ssh-node.yaml");
    const char* fast = "peak_fp32: 1PFLOPS, memory_bandwidth: 1PB/s, ";
    std::ofstream f(path);
    f << "name: ssh-node\nnodes:\n";
    for (const char* n : {"a", "b", "c"})
      f << "  - {name: " << n << ", device: this-machine, " << fast << "address: " << node_ip_ << ", ssh: root@" << node_ip_
        << "}\n";
    f << "  - {name: sw, kind: switch}\nlinks:\n";
    for (const char* n : {"a", "b", "c"}) f << "  - {between: [" << n << ", sw], type: eth-1g}\n";
    return path;
  }

  std::string ssh_command(const std::string& key) const {
    return fmt::format("ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no "
                       "-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR",
                       key);
  }

  Result run_over_ssh(const std::string& key, const std::string& binary) const {
    return run(fmt::format("run -t {} -w {} --micro-batch 1 --steps 1 --compute modelled --launch-timeout 15 "
                           "--ssh-command '{}' --remote-binary {} -o {}",
                           topology(), src("workloads/examples/ddp-gpt2.yaml"), ssh_command(key), binary, out("run")));
  }

  std::string ns_, veth_, host_ip_, node_ip_, last_error_;
  bool made_ns_ = false, made_veth_ = false, made_run_dir_ = false;
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
  EXPECT_NE(r.output.find(fmt::format("exited with status 255 before announcing its port — ssh could not reach or log in "
                                      "to 'root@{}'",
                                      node_ip_)),
            std::string::npos)
      << r.output;
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
