// TCP on loopback through the executor's socket layer: endpoints as users write them, deadlines,
// whole transfers on non-blocking sockets, and each kind of failure with its whole message.
#include "exec/socket.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "exec/errors.h"

namespace clustertwin::exec {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RunError& e) {
    return e.what();
  }
  return "no error";
}

// A connected pair on 127.0.0.1: {client, server}.
std::pair<Fd, Fd> loopback_pair() {
  Fd listener = listen_on({"127.0.0.1", 0});
  Endpoint ep{"127.0.0.1", local_port(listener.get())};
  Fd client = connect_until(ep, deadline_after(5), "server");
  Fd server = accept_until(listener.get(), deadline_after(5));
  EXPECT_TRUE(server.valid());
  return {std::move(client), std::move(server)};
}

// A port nothing listens on: bound once, then released.
uint16_t free_port() {
  Fd l = listen_on({"127.0.0.1", 0});
  return local_port(l.get());
}

TEST(Endpoint, ParsesHostAndPort) {
  Endpoint a = parse_endpoint("10.0.0.2:7000", "--listen");
  EXPECT_EQ(a.host, "10.0.0.2");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.str(), "10.0.0.2:7000");
  Endpoint b = parse_endpoint("[::1]:0", "--listen");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  EXPECT_EQ(b.str(), "[::1]:0");
  EXPECT_EQ(parse_endpoint("mini1.local:65535", "--worker").port, 65535);
}

TEST(Endpoint, EachMalformedFormIsNamed) {
  auto err = [](const std::string& text) { return error_of([&] { parse_endpoint(text, "--listen"); }); };
  const std::string expected = " (expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:7000)";
  EXPECT_EQ(err("127.0.0.1"), "exec: --listen '127.0.0.1': no port" + expected);
  EXPECT_EQ(err(":7000"), "exec: --listen ':7000': no host" + expected);
  EXPECT_EQ(err("h:70a"), "exec: --listen 'h:70a': the port is not a number" + expected);
  EXPECT_EQ(err("h:"), "exec: --listen 'h:': the port is not a number" + expected);
  EXPECT_EQ(err("h:65536"), "exec: --listen 'h:65536': the port is above 65535" + expected);
}

TEST(Deadline, NoneAndPollTimeouts) {
  EXPECT_EQ(deadline_after(0), kNoDeadline);
  EXPECT_EQ(deadline_after(-1), kNoDeadline);
  EXPECT_EQ(poll_timeout_ms(kNoDeadline), -1);
  EXPECT_EQ(poll_timeout_ms(Clock::now() - std::chrono::seconds(1)), 0);
  int ms = poll_timeout_ms(deadline_after(1));
  EXPECT_GT(ms, 900);
  EXPECT_LE(ms, 1001);
}

TEST(Socket, ListensOnAFreePortAndConnects) {
  auto [client, server] = loopback_pair();
  ASSERT_TRUE(client.valid());
  ASSERT_TRUE(server.valid());
  write_all(client.get(), "ping", 4, deadline_after(5), "server");
  char buf[4];
  read_all(server.get(), buf, 4, deadline_after(5), "client");
  EXPECT_EQ(std::string(buf, 4), "ping");
}

TEST(Socket, WholeTransfersLargerThanTheKernelBuffers) {
  auto [client, server] = loopback_pair();
  std::vector<uint8_t> data(24 << 20), got(data.size());
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + (i >> 13));
  std::thread reader([&] { read_all(server.get(), got.data(), got.size(), deadline_after(30), "client"); });
  write_all(client.get(), data.data(), data.size(), deadline_after(30), "server");
  reader.join();
  EXPECT_TRUE(got == data);
}

TEST(Socket, AcceptReturnsNothingWhenTheDeadlinePasses) {
  Fd listener = listen_on({"127.0.0.1", 0});
  auto t0 = Clock::now();
  EXPECT_FALSE(accept_until(listener.get(), deadline_after(0.05)).valid());
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
}

TEST(Socket, ConnectionRefusedNamesThePeerAndTheLikelyCause) {
  uint16_t port = free_port();
  Endpoint ep{"127.0.0.1", port};
  EXPECT_EQ(error_of([&] { connect_until(ep, deadline_after(0.05), "rank 1 (127.0.0.1)"); }),
            "exec: rank 1 (127.0.0.1): cannot connect: Connection refused — worker not running or port blocked");
}

TEST(Socket, ConnectRetriesUntilTheListenerComesUp) {
  uint16_t port = free_port();
  Fd listener;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    listener = listen_on({"127.0.0.1", port});
  });
  Fd c = connect_until({"127.0.0.1", port}, deadline_after(10), "late");
  late.join();
  EXPECT_TRUE(c.valid());
}

TEST(Socket, APortInUseIsNamed) {
  Fd held = listen_on({"127.0.0.1", 0});
  uint16_t port = local_port(held.get());
  EXPECT_EQ(error_of([&] { listen_on({"127.0.0.1", port}); }),
            fmt::format("exec: cannot listen on 127.0.0.1:{}: Address already in use — another worker or program holds "
                        "this port; pick another port or 0",
                        port));
}

TEST(Socket, ASilentPeerTimesOut) {
  auto [client, server] = loopback_pair();
  char buf[8];
  try {
    read_all(server.get(), buf, sizeof buf, deadline_after(0.05), "rank 3 (127.0.0.1:9)");
    FAIL();
  } catch (const Timeout& e) {
    EXPECT_EQ(std::string(e.what()),
              "exec: rank 3 (127.0.0.1:9): no answer in time — the peer hung, or is not a clustertwin worker");
  }
}

TEST(Socket, APeerThatStopsReadingTimesOutTheSender) {
  auto [client, server] = loopback_pair();
  std::vector<uint8_t> data(64 << 20);
  try {
    write_all(client.get(), data.data(), data.size(), deadline_after(0.2), "rank 2 (h)");
    FAIL();
  } catch (const Timeout& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 2 (h): send timed out — the peer stopped reading (hung or overloaded)");
  }
}

TEST(Socket, AClosedPeerIsPeerLost) {
  auto [client, server] = loopback_pair();
  client.reset();
  char buf[4];
  try {
    read_all(server.get(), buf, sizeof buf, deadline_after(5), "rank 0 (h)");
    FAIL();
  } catch (const PeerLost& e) {
    EXPECT_EQ(std::string(e.what()),
              "exec: rank 0 (h): closed the connection — its worker failed or exited (see its own error)");
  }
}

TEST(Socket, WritingToAClosedPeerIsPeerLostNotSigpipe) {
  ignore_sigpipe();
  auto [client, server] = loopback_pair();
  server.reset();
  std::vector<uint8_t> data(1 << 20);
  EXPECT_THROW(
      {
        for (int i = 0; i < 100; ++i) write_all(client.get(), data.data(), data.size(), deadline_after(5), "rank 1 (h)");
      },
      PeerLost);
}

TEST(Socket, ErrnoTextsCarryTheLikelyCause) {
  EXPECT_EQ(describe_errno(ECONNREFUSED), std::string(std::strerror(ECONNREFUSED)) + " — worker not running or port blocked");
  EXPECT_EQ(describe_errno(EADDRNOTAVAIL),
            std::string(std::strerror(EADDRNOTAVAIL)) + " — this host has no such address; check the node's address in the topology");
  EXPECT_EQ(describe_errno(ENOMEM), std::strerror(ENOMEM));  // no hint known
}

TEST(Socket, NewSocketsAreNonBlockingAndCloseOnExec) {
  auto [client, server] = loopback_pair();
  for (int fd : {client.get(), server.get()}) {
    EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  }
}

}  // namespace
}  // namespace clustertwin::exec
