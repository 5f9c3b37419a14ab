// Real child processes through /bin/sh: exit statuses, captured output, environment, stdin, the
// timeout kill and what happens to a child its owner forgets.
#include "core/process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

using Seconds = std::chrono::duration<double>;

std::string read_all(Fd& fd) {
  std::string s;
  char buf[4096];
  for (size_t n; (n = read_full(fd.get(), buf, sizeof buf)) > 0;) s.append(buf, n);
  return s;
}

SpawnOptions sh(const std::string& script) { return {.argv = {"/bin/sh", "-c", script}}; }

TEST(Process, ExitStatusesAndTheirDescriptions) {
  Process ok(sh("exit 0"));
  EXPECT_EQ(WEXITSTATUS(ok.wait()), 0);
  EXPECT_EQ(ok.describe(), "exited with status 0");
  Process three(sh("exit 3"));
  int status = three.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_TRUE(three.reaped());
  EXPECT_EQ(three.describe(), "exited with status 3");
}

TEST(Process, CapturesStdoutAndStderrApart) {
  Captured c = run_captured({"/bin/sh", "-c", "printf 'hello\\nworld'; printf oops >&2"}, 10);
  EXPECT_TRUE(c.ok());
  EXPECT_FALSE(c.timed_out);
  EXPECT_EQ(c.out, "hello\nworld");
  EXPECT_EQ(c.err, "oops");
  Captured failed = run_captured({"/bin/sh", "-c", "echo no >&2; exit 2"}, 10);
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(WEXITSTATUS(failed.status), 2);
  EXPECT_EQ(failed.err, "no\n");
}

TEST(Process, CapturesMoreThanAPipeHolds) {
  // 1 MiB on stdout and 1 MiB on stderr: both must be drained together or the child blocks.
  Captured c = run_captured({"/bin/sh", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"}, 20);
  EXPECT_TRUE(c.ok());
  EXPECT_EQ(c.out.size(), 1u << 20);
  EXPECT_EQ(c.err.size(), 1u << 20);
}

TEST(Process, TimeoutKillsAHungCommand) {
  auto t0 = std::chrono::steady_clock::now();
  Captured c = run_captured({"/bin/sh", "-c", "echo started; exec sleep 30"}, 0.3);
  double took = Seconds(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(c.timed_out);
  EXPECT_FALSE(c.ok());
  ASSERT_TRUE(WIFSIGNALED(c.status));
  EXPECT_EQ(WTERMSIG(c.status), SIGKILL);
  EXPECT_EQ(c.out, "started\n");
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 5.0);
}

TEST(Process, WaitForTimesOutThenASignalEndsIt) {
  Process p(sh("exec sleep 30"));
  EXPECT_FALSE(p.wait_for(0.05));
  EXPECT_FALSE(p.reaped());
  EXPECT_EQ(p.describe(), "is still running");
  p.signal(SIGTERM);
  EXPECT_TRUE(p.wait_for(10));
  EXPECT_EQ(p.describe(), "was killed by signal 15 (" + std::string(strsignal(SIGTERM)) + ")");
}

TEST(Process, EnvironmentIsAddedAndReplaced) {
  ::setenv("CT_PROCESS_TEST_OLD", "parent", 1);
  SpawnOptions o = sh("printf '%s %s ' \"$CT_PROCESS_TEST_NEW\" \"$CT_PROCESS_TEST_OLD\"; env | grep -c '^CT_PROCESS_TEST_OLD='");
  o.env = {"CT_PROCESS_TEST_NEW=added", "CT_PROCESS_TEST_OLD=child"};
  o.pipe_stdout = true;
  Process p(o);
  EXPECT_EQ(read_all(p.out()), "added child 1\n");
  EXPECT_EQ(WEXITSTATUS(p.wait()), 0);
  ::unsetenv("CT_PROCESS_TEST_OLD");
}

TEST(Process, StdinPipeAndEndOfInput) {
  SpawnOptions o = sh("tr a-z A-Z");
  o.pipe_stdin = o.pipe_stdout = true;
  Process p(o);
  ASSERT_TRUE(write_full(p.in().get(), "shout\n", 6));
  p.in().reset();  // EOF: tr finishes
  EXPECT_EQ(read_all(p.out()), "SHOUT\n");
  EXPECT_EQ(WEXITSTATUS(p.wait()), 0);
}

TEST(Process, StdinIsDevNullUnlessPiped) {
  Captured c = run_captured({"/bin/sh", "-c", "cat; echo end"}, 10);
  EXPECT_EQ(c.out, "end\n");
}

TEST(Process, AMissingProgramIsASpawnErrorNamingIt) {
  try {
    Process p({.argv = {"/nonexistent/clustertwin", "worker"}});
    FAIL() << "started";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(std::string(e.what()), "cannot start '/nonexistent/clustertwin worker': No such file or directory");
  }
  EXPECT_THROW(run_captured({"no-such-program-clustertwin-test"}, 1), SpawnError);  // PATH searched
}

TEST(Process, AForgottenChildIsKilledAndReaped) {
  pid_t pid;
  {
    Process p(sh("exec sleep 30"));
    pid = p.pid();
  }
  int status;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(Process, MoveAssignmentStopsThePreviousChild) {
  Process a(sh("exec sleep 30"));
  pid_t first = a.pid();
  a = Process(sh("exit 4"));
  int status;
  EXPECT_EQ(::waitpid(first, &status, WNOHANG), -1);  // reaped by the assignment
  EXPECT_EQ(WEXITSTATUS(a.wait()), 4);
}

TEST(Process, JoinedForMessages) {
  EXPECT_EQ(joined({"ip", "netns", "add", "ct-a"}), "ip netns add ct-a");
  EXPECT_EQ(joined({}), "");
}

}  // namespace
}  // namespace clustertwin::core
