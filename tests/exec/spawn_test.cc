// WorkerProcesses with stand-in workers written in /bin/sh: the port announcement, the token on
// stdin, the environment, each way a start can go wrong (whole messages), and the clean-up that
// leaves no child behind. read_token_line from real pipes.
#include "exec/spawn.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/fd.h"
#include "exec/executor.h"

namespace clustertwin::exec {
namespace {

bool no_children_left() {
  int status;
  return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

WorkerLaunch fake(const std::string& script, const std::string& stdin_text = "") {
  WorkerLaunch l;
  l.argv = {"/bin/sh", "-c", script};
  l.what = "the fake worker";
  l.stdin_text = stdin_text;
  return l;
}

std::string start_error(std::vector<WorkerLaunch> launches, double timeout_s = 10) {
  try {
    WorkerProcesses w(std::move(launches), {});
    w.read_ports(timeout_s);
  } catch (const RunError& e) {
    return e.what();
  }
  return "no error";
}

TEST(WorkerProcesses, ReadsEachAnnouncedPort) {
  // Rank 1 announces in two pieces; both then wait for the end of their stdin as remote workers do.
  WorkerProcesses w({fake("echo 'clustertwin-worker listening on 4242'; cat >/dev/null", "x\n"),
                     fake("printf 'clustertwin-worker listen'; sleep 0.05; echo 'ing on 17'; cat >/dev/null", "x\n")},
                    {});
  EXPECT_EQ(w.read_ports(10), (std::vector<uint16_t>{4242, 17}));
  w.finish(10);
  EXPECT_EQ(w.abnormal_exits(), "");
  EXPECT_TRUE(no_children_left());
}

TEST(WorkerProcesses, TheTokenArrivesOnStdinAndTheEnvironmentIsAdded) {
  // The port it announces proves what it got: 1000 + (token == "s3cret") * 100 + (CT_SPAWN == "on").
  WorkerLaunch l = fake(
      "read t; p=1000; [ \"$t\" = s3cret ] && p=$((p+100)); [ \"$CT_SPAWN\" = on ] && p=$((p+1)); "
      "echo \"clustertwin-worker listening on $p\"",
      "s3cret\n");
  WorkerProcesses w({l}, {"CT_SPAWN=on"});
  EXPECT_EQ(w.read_ports(10), std::vector<uint16_t>{1101});
}

TEST(WorkerProcesses, AnExitBeforeTheAnnouncementIsExplained) {
  EXPECT_EQ(start_error({fake("exit 3")}),
            "exec: rank 0: the fake worker exited with status 3 before announcing its port — see its error output above");
  WorkerLaunch l = fake("exit 127");
  l.explain_exit = [](int status) { return fmt::format(" — status {} explained", WEXITSTATUS(status)); };
  EXPECT_EQ(start_error({l}),
            "exec: rank 0: the fake worker exited with status 127 before announcing its port — status 127 explained");
  EXPECT_TRUE(no_children_left());
}

TEST(WorkerProcesses, SomethingElseOnStdoutIsRefused) {
  EXPECT_EQ(start_error({fake("echo 'clustertwin-worker listening on 1'"), fake("echo hello; exec sleep 5")}),
            "exec: rank 1: the fake worker printed 'hello' instead of 'clustertwin-worker listening on PORT' — is it a "
            "clustertwin binary of this version?");
  EXPECT_TRUE(no_children_left());
}

TEST(WorkerProcesses, SilenceTimesOut) {
  WorkerProcesses w({fake("exec sleep 30")}, {});
  try {
    w.read_ports(0.2);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("exec: rank 0: the fake worker (pid ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find(") did not announce its port within 0 s — is it a clustertwin binary?"),
              std::string::npos)
        << e.what();
  }
}

TEST(WorkerProcesses, AProgramThatCannotStartIsNamed) {
  WorkerLaunch remote;
  remote.argv = {"/nonexistent/ssh", "-T", "node"};
  remote.what = "ssh";
  EXPECT_EQ(start_error({remote}),
            "exec: cannot start the worker of rank 0 ('/nonexistent/ssh'): No such file or directory — is it installed "
            "and in PATH?");
  WorkerLaunch local = local_worker_launch("/nonexistent/clustertwin");
  EXPECT_EQ(start_error({fake("echo 'clustertwin-worker listening on 1'; exec sleep 5"), local}),
            "exec: cannot start the worker of rank 1 ('/nonexistent/clustertwin worker'): No such file or directory — "
            "pass the clustertwin binary's path");
  EXPECT_TRUE(no_children_left());  // rank 0, started before rank 1 failed, is stopped too
}

TEST(WorkerProcesses, FinishTerminatesStragglersQuietly) {
  WorkerProcesses w({fake("echo 'clustertwin-worker listening on 1'; exec sleep 30")}, {});
  w.read_ports(10);
  auto t0 = Clock::now();
  w.finish(0.1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 5.0);
  EXPECT_EQ(w.abnormal_exits(), "");  // we sent the signal: not a crash
  EXPECT_TRUE(no_children_left());
}

TEST(WorkerProcesses, ACrashIsReportedWithTheSignal) {
  WorkerProcesses w({fake("echo 'clustertwin-worker listening on 1'; kill -9 $$")}, {});
  w.read_ports(10);
  w.finish(10);
  std::string text = w.abnormal_exits();
  EXPECT_EQ(text.rfind("\n  rank 0's worker (pid ", 0), 0u) << text;
  EXPECT_NE(text.find(") was killed by signal 9 (" + std::string(strsignal(SIGKILL)) + ")"), std::string::npos) << text;
}

TEST(WorkerProcesses, LocalLaunchesKeepTheTokenOutOfArgv) {
  WorkerLaunch l = local_worker_launch("/opt/clustertwin");
  EXPECT_EQ(l.argv, (std::vector<std::string>{"/opt/clustertwin", "worker", "--listen", "127.0.0.1:0"}));
  EXPECT_EQ(l.what, "the worker ('/opt/clustertwin worker')");
  EXPECT_EQ(local_worker_env("abc"),
            (std::vector<std::string>{"CLUSTERTWIN_TOKEN=abc", "OPENBLAS_NUM_THREADS=1", "VECLIB_MAXIMUM_THREADS=1"}));
}

// read_token_line from a pipe holding `text` (closed after it when `close` is set).
std::string token_from(const std::string& text, bool close = true, double timeout_s = 5, std::string* rest = nullptr) {
  core::Fd r, w;
  core::make_pipe(r, w);
  EXPECT_TRUE(core::write_full(w.get(), text.data(), text.size()));
  if (close) w.reset();
  std::string token;
  try {
    token = read_token_line(r.get(), timeout_s);
  } catch (const RunError& e) {
    token = std::string("error: ") + e.what();
  }
  if (rest) {
    w.reset();
    char buf[64];
    *rest = std::string(buf, core::read_full(r.get(), buf, sizeof buf));
  }
  return token;
}

TEST(ReadTokenLine, TakesTheFirstLineOnly) {
  std::string rest;
  EXPECT_EQ(token_from("tok\r\nnext line\n", true, 5, &rest), "tok");
  EXPECT_EQ(rest, "next line\n");  // nothing after the line is consumed
  EXPECT_EQ(token_from("no newline"), "no newline");
}

TEST(ReadTokenLine, EachBadInputIsNamed) {
  EXPECT_EQ(token_from("\n"), "error: exec: expected the run token on the first line of stdin, got an empty line or EOF");
  EXPECT_EQ(token_from(""), "error: exec: expected the run token on the first line of stdin, got an empty line or EOF");
  EXPECT_EQ(token_from(std::string(1100, 'a')), "error: exec: the run token on stdin is longer than 1 KiB");
  EXPECT_EQ(token_from("", false, 0.05), "error: exec: no run token on stdin within 0 s");
}

}  // namespace
}  // namespace clustertwin::exec
