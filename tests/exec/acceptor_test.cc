// The acceptor on loopback: strangers that stay silent, hang up or flood the port are dropped (and
// logged by address) while a real client's handshake goes through.
#include "exec/acceptor.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "exec/channel.h"
#include "exec/errors.h"
#include "support.h"

namespace clustertwin::exec {
namespace {

// Runs an acceptor on its own thread until it has accepted `want` connections or `seconds` passed.
struct Server {
  Server(Acceptor::Options o, int want, double seconds) {
    o.log = [this](const std::string& line) {
      std::lock_guard lock(mu);
      log.push_back(line);
    };
    l = test::listen_loopback(1);
    thread = std::thread([this, o = std::move(o), want, seconds]() mutable {
      Acceptor a(l.fds[0].get(), std::move(o));
      const auto end = deadline_after(seconds);
      while (static_cast<int>(accepted.size()) < want && Clock::now() < end && !stop) {
        std::vector<pollfd> fds;
        a.add_polls(fds);
        ::poll(fds.data(), fds.size(), std::min(50, poll_timeout_ms(a.next_deadline())));
        for (auto& in : a.serve(fds.data())) {
          std::lock_guard lock(mu);
          accepted.push_back(std::move(in));
        }
        max_pending = std::max(max_pending, a.pending());
      }
    });
  }
  ~Server() { finish(); }
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mu);
    return log;
  }
  size_t count(const std::string& needle) {
    size_t n = 0;
    for (const auto& s : lines()) n += s.find(needle) != std::string::npos;
    return n;
  }

  test::Listeners l;
  std::mutex mu;
  std::vector<std::string> log;
  std::vector<Accepted> accepted;
  size_t max_pending = 0;
  std::atomic<bool> stop{false};
  std::thread thread;
};

void handshake(const Endpoint& ep, const std::string& token, int rank = -1, const std::string& role = "control") {
  Channel c(connect_until(ep, deadline_after(5), "server"), "server");
  say_hello(c, {role, token, rank}, deadline_after(5));
}

TEST(Acceptor, ASilentConnectionIsDroppedAtItsDeadlineNamingItsAddress) {
  Server s({"control", "t", {0.2, 8}}, 1, 5);
  Fd idle = connect_until(s.l.addrs[0], deadline_after(5), "server");
  const std::string me = "127.0.0.1:" + std::to_string(local_port(idle.get()));
  const auto t0 = Clock::now();
  // The server closes it: a read sees EOF once the deadline passed.
  ASSERT_TRUE(wait_fd(idle.get(), POLLIN, deadline_after(3)));
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(waited, 0.15);
  EXPECT_LT(waited, 1.5);
  char byte;
  EXPECT_EQ(::recv(idle.get(), &byte, 1, 0), 0);
  handshake(s.l.addrs[0], "t");
  s.finish();
  EXPECT_EQ(s.accepted.size(), 1u);
  EXPECT_EQ(s.count("clustertwin-worker: dropped a connection from " + me + ": no 'hello' frame within 0.2 s of connecting"),
            1u);
}

TEST(Acceptor, AHangUpIsLoggedAsTheStrangersNotTheCoordinators) {
  Server s({"control", "t", {5, 8}}, 1, 5);
  std::string me;
  {
    Fd gone = connect_until(s.l.addrs[0], deadline_after(5), "server");
    me = "127.0.0.1:" + std::to_string(local_port(gone.get()));
  }
  handshake(s.l.addrs[0], "t");
  s.finish();
  ASSERT_EQ(s.lines().size(), 1u);
  EXPECT_EQ(s.lines()[0], "clustertwin-worker: dropped a connection from " + me +
                              ": it closed the connection during the handshake");
}

TEST(Acceptor, AWrongTokenIsRefusedNamingTheAddress) {
  Server s({"control", "right", {5, 8}}, 1, 5);
  EXPECT_THROW(handshake(s.l.addrs[0], "wrong"), RunError);
  handshake(s.l.addrs[0], "right");
  s.finish();
  ASSERT_EQ(s.accepted.size(), 1u);
  EXPECT_EQ(s.count("clustertwin-worker: refused a connection from 127.0.0.1:"), 1u);
  EXPECT_EQ(s.count(": wrong run token"), 1u);
}

TEST(Acceptor, BeyondTheCapIdleConnectionsGoFirstAndARealClientGetsThrough) {
  Server s({"control", "t", {10, 4}}, 1, 5);
  std::vector<Fd> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(test::idle_connection(s.l.addrs[0]));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = Clock::now();
  handshake(s.l.addrs[0], "t");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.0);
  s.finish();
  EXPECT_EQ(s.accepted.size(), 1u);
  EXPECT_LE(s.max_pending, 4u);
  // 20 idle + 1 real, at most 4 held: at least 17 dropped for room.
  EXPECT_GE(s.count("connections were waiting to authenticate, the most this worker holds"), 17u);
}

TEST(Acceptor, TheClaimDecidesWhichRanksAreTaken) {
  Acceptor::Options o{"data", "t", {5, 8}, "clustertwin-worker: rank 3"};
  o.claim = [](int rank) { return rank == 1 ? std::string() : fmt::format("rank {} is not a peer this rank is waiting for", rank); };
  Server s(o, 1, 5);
  try {
    handshake(s.l.addrs[0], "t", 2, "data");
    ADD_FAILURE() << "rank 2 was taken";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("refused the connection: rank 2 is not a peer this rank is waiting for"),
              std::string::npos)
        << e.what();
  }
  handshake(s.l.addrs[0], "t", 1, "data");
  s.finish();
  ASSERT_EQ(s.accepted.size(), 1u);
  EXPECT_EQ(s.accepted[0].rank, 1);
  EXPECT_EQ(s.count("clustertwin-worker: rank 3: refused a data connection from 127.0.0.1:"), 1u);
}

}  // namespace
}  // namespace clustertwin::exec
