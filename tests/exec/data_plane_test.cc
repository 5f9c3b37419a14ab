// The data plane on loopback: messages in both directions at once, frames split at the payload
// bound, and every way a peer can fail (never connects, goes silent, closes, wrong token).
#include "exec/data_plane.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <array>
#include <chrono>
#include <functional>
#include <thread>

#include "exec/channel.h"
#include "exec/errors.h"
#include "support.h"

namespace clustertwin::exec {
namespace {

using std::chrono::duration;

double since(Clock::time_point t) { return duration<double>(Clock::now() - t).count(); }

TEST(DataPlane, MessagesBothWaysAtOnceDoNotDeadlock) {
  auto l = test::listen_loopback(2);
  const uint64_t big = 20 << 20;  // far more than both sockets' buffers
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    plane.send_message(1 - r, 10 + r, big, "send");
    plane.recv_message(1 - r, 11 - r, big, "recv");
  });
}

TEST(DataPlane, ARingOfSendsBeforeReceivesDoesNotStall) {
  // Each rank sends to the next, then receives from the previous: far more than the socket buffers,
  // so it finishes only because every rank drains its other connections while it sends.
  auto l = test::listen_loopback(3);
  const uint64_t big = 48 << 20;
  test::run_ranks(3, [&](int r) {
    int next = (r + 1) % 3, prev = (r + 2) % 3;
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {next, prev}, l.fds[r].get(), nullptr);
    plane.send_message(next, 7, big, "send");
    plane.recv_message(prev, 7, big, "recv");
  });
}

TEST(DataPlane, MessagesMatchByTagInOrderAcrossFrameSplits) {
  auto l = test::listen_loopback(2);
  const uint64_t huge = (70ull << 20) + 3;  // two frames: above the 64 MiB payload bound
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    if (r == 0) {
      plane.send_message(1, 5, 10, "a");
      plane.send_message(1, 6, 0, "b");
      plane.send_message(1, 5, huge, "c");
    } else {
      plane.recv_message(0, 6, 0, "b");
      plane.recv_message(0, 5, 10, "a");
      plane.recv_message(0, 5, huge, "c");
    }
  });
}

TEST(DataPlane, MessageOfTheWrongSizeIsAnError) {
  auto l = test::listen_loopback(2);
  std::string err;
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    if (r == 0) return plane.send_message(1, 1, 100, "send");
    try {
      plane.recv_message(0, 1, 200, "op 4 'act.recv' (step 0)");
    } catch (const RunError& e) {
      err = e.what();
    }
  });
  EXPECT_NE(err.find("rank 1 in op 4 'act.recv' (step 0): message tag 1 from rank 0 (127.0.0.1:"), std::string::npos) << err;
  EXPECT_NE(err.find("has 100 B, the program says 200 B"), std::string::npos) << err;
}

TEST(DataPlane, PeerThatNeverConnectsTimesOutNamingIt) {
  auto l = test::listen_loopback(2);
  auto t0 = Clock::now();
  try {
    DataPlane plane({1, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 0.3}}, {0}, l.fds[1].get(), nullptr);
    FAIL() << "no timeout";
  } catch (const Timeout& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1: rank 0 (" + l.addrs[0].str() + ") did not open its data connection within 0.3 s"),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(since(t0), 2.0);
}

TEST(DataPlane, SilentPeerTimesOutWithinTheOpBound) {
  auto l = test::listen_loopback(2);
  std::string err;
  double took = 0;
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 0.3, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    if (r == 1) return std::this_thread::sleep_for(std::chrono::milliseconds(800));  // connected, never answers
    std::vector<uint8_t> in(64), out(64);
    auto t0 = Clock::now();
    try {
      plane.exchange({1, 0, 0, out.data(), 64}, {1, 0, 0, in.data(), 64, {}}, "op 9 'grad.allreduce'");
    } catch (const Timeout& e) {
      err = e.what();
    }
    took = since(t0);
  });
  EXPECT_NE(err.find("rank 0 in op 9 'grad.allreduce': no progress for 0.3 s"), std::string::npos) << err;
  EXPECT_NE(err.find("receiving 64 B from rank 1 (" + l.addrs[1].str() + "): 0 B received"), std::string::npos) << err;
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 0.8);
}

TEST(DataPlane, PeerThatClosesIsReportedAsLost) {
  auto l = test::listen_loopback(2);
  std::string err;
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    if (r == 1) return;  // closes its end at once
    try {
      plane.recv_message(1, 0, 8, "op 2 'x'");
    } catch (const PeerLost& e) {
      err = e.what();
    }
  });
  EXPECT_NE(err.find("rank 0 in op 2 'x': rank 1 (" + l.addrs[1].str() + "): closed the connection"), std::string::npos) << err;
}

TEST(DataPlane, WrongTokenIsRefused) {
  auto l = test::listen_loopback(2);
  std::string err0, err1;
  test::run_ranks(2, [&](int r) {
    try {
      DataPlane plane({r, l.addrs, r == 0 ? "intruder" : "tok", {.op_timeout_s = 5, .connect_timeout_s = 0.5}}, {1 - r}, l.fds[r].get(), nullptr);
    } catch (const RunError& e) {
      (r == 0 ? err0 : err1) = e.what();
    }
  });
  EXPECT_NE(err0.find("refused the data connection: wrong run token"), std::string::npos) << err0;
  EXPECT_NE(err1.find("rank 0 (" + l.addrs[0].str() + ") did not open its data connection"), std::string::npos) << err1;
}

TEST(DataPlane, IntruderWithAWrongTokenIsRefusedAndThePeersConnect) {
  auto l = test::listen_loopback(2);
  std::string intruder_error;
  std::thread intruder([&] {
    Channel c(connect_until(l.addrs[1], deadline_after(5), "rank 1"), "rank 1");
    try {
      say_hello(c, {"data", "stolen?", 0}, deadline_after(5));
    } catch (const RunError& e) {
      intruder_error = e.what();
    }
  });
  test::run_ranks(2, [&](int r) {
    // Rank 0 comes late, so rank 1 meets the intruder first.
    if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    if (r == 0) plane.send_message(1, 1, 1000, "send");
    if (r == 1) plane.recv_message(0, 1, 1000, "recv");
  });
  intruder.join();
  EXPECT_EQ(intruder_error, "exec: rank 1: refused the connection: wrong run token — this worker serves another run "
                            "(check --token / CLUSTERTWIN_TOKEN)");
}

// Strangers holding connections open to a rank's port (more than the acceptor keeps) do not keep
// its real peer out: the idle ones are dropped for room, the peer's handshake goes through.
TEST(DataPlane, IdleStrangersBeyondTheCapDoNotKeepThePeerOut) {
  auto l = test::listen_loopback(2);
  std::vector<Fd> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(connect_until(l.addrs[1], deadline_after(5), "rank 1"));
  const auto t0 = Clock::now();
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), nullptr);
    if (r == 0) plane.send_message(1, 1, 1000, "send");
    if (r == 1) plane.recv_message(0, 1, 1000, "recv");
  });
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
}

// An authenticated peer (it holds the token) that then breaks the framing: rank 1 refuses the frame
// and the op that reads it fails saying why, without allocating or waiting for the bytes announced.
std::string refusal_of(const std::function<void(Channel&)>& misbehave) {
  auto l = test::listen_loopback(2);
  std::string err;
  std::thread fake([&] {
    Channel c(connect_until(l.addrs[1], deadline_after(5), "rank 1"), "rank 1");
    say_hello(c, {"data", "tok", 0}, deadline_after(5));  // as rank 0, with the right token
    misbehave(c);
  });
  try {
    DataPlane plane({1, l.addrs, "tok", {.op_timeout_s = 5, .connect_timeout_s = 5}}, {0}, l.fds[1].get(), nullptr);
    plane.recv_message(0, 1, 8, "op 4 'x'");
  } catch (const RunError& e) {
    err = e.what();
  }
  fake.join();
  return err;
}

TEST(DataPlane, OversizedFrameFromAnAuthenticatedPeerIsRefused) {
  std::string err = refusal_of([](Channel& c) {
    auto h = wire::encode_header(wire::FrameType::Message, 100000000);
    std::array<uint8_t, wire::kHeaderSize + wire::kDataHeaderSize> bytes{};
    std::copy(h.begin(), h.end(), bytes.begin());
    write_all(c.fd(), bytes.data(), bytes.size(), deadline_after(5), "rank 1");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  EXPECT_NE(err.find("exec: rank 1 in op 4 'x': rank 0 (127.0.0.1:"), std::string::npos) << err;
  EXPECT_NE(err.find("refused a data frame: 'message' frame of 100000000 bytes exceeds the 67108864 byte limit"),
            std::string::npos)
      << err;
}

TEST(DataPlane, ControlFrameOnADataConnectionIsRefusedEvenWhenShort) {
  // 12 header bytes announcing 2 payload bytes, then EOF: shorter than a data frame's two headers.
  std::string err = refusal_of([](Channel& c) {
    auto h = wire::encode_header(wire::FrameType::Heartbeat, 2);
    write_all(c.fd(), h.data(), h.size(), deadline_after(5), "rank 1");
    write_all(c.fd(), "{}", 2, deadline_after(5), "rank 1");
  });
  EXPECT_NE(err.find("refused a data frame: a 'heartbeat' frame does not belong on a data connection"), std::string::npos)
      << err;
}

TEST(Socket, ErrorsNameTheLikelyCause) {
  EXPECT_NE(describe_errno(EHOSTUNREACH).find("`sudo pfctl -s info`"), std::string::npos);
  EXPECT_NE(describe_errno(ETIMEDOUT).find("Wi-Fi instead of the cluster link"), std::string::npos);
  EXPECT_NE(describe_errno(ECONNREFUSED).find("worker not running or port blocked"), std::string::npos);
}

TEST(DataPlane, CancelWakesAWait) {
  auto l = test::listen_loopback(2);
  Cancel cancel;
  std::string err;
  double took = 0;
  test::run_ranks(2, [&](int r) {
    DataPlane plane({r, l.addrs, "tok", {.op_timeout_s = 30, .connect_timeout_s = 5}}, {1 - r}, l.fds[r].get(), r == 0 ? &cancel : nullptr);
    if (r == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      cancel.cancel("exec: rank 1 failed first");
      return std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    auto t0 = Clock::now();
    try {
      plane.recv_message(1, 0, 8, "op 1");
    } catch (const Cancelled& e) {
      err = e.what();
    }
    took = since(t0);
  });
  EXPECT_EQ(err, "exec: rank 1 failed first");
  EXPECT_LT(took, 0.3);
}

}  // namespace
}  // namespace clustertwin::exec
