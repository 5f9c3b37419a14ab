// Frames over a real connected socket pair: JSON payloads both ways, every frame a control
// connection must refuse (with its whole message), the non-blocking FrameReader, and the full
// handshake between say_hello and accept_hello on two threads.
#include "exec/channel.h"

#include <sys/socket.h>

#include <thread>

#include <gtest/gtest.h>

#include "exec/errors.h"
#include "exec/handshake.h"

namespace clustertwin::exec {
namespace {

// Two connected non-blocking sockets: {client side named "server", server side named "client"}.
std::pair<Channel, Channel> channel_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  set_nonblocking(fds[0]);
  set_nonblocking(fds[1]);
  return {Channel(Fd(fds[0]), "server"), Channel(Fd(fds[1]), "client")};
}

// Raw bytes onto a channel's socket, past the encoder's checks.
void send_raw(Channel& c, const std::string& bytes) { write_all(c.fd(), bytes.data(), bytes.size(), deadline_after(5), "raw"); }

std::string header(uint16_t version, uint16_t type, uint32_t length) {
  auto h = wire::encode_header(wire::FrameType::Hello, length);
  h[4] = static_cast<uint8_t>(version >> 8), h[5] = static_cast<uint8_t>(version);
  h[6] = static_cast<uint8_t>(type >> 8), h[7] = static_cast<uint8_t>(type);
  return std::string(h.begin(), h.end());
}

std::string recv_error(Channel& c, uint32_t max_payload = wire::kMaxPayload) {
  try {
    c.recv(deadline_after(5), max_payload);
  } catch (const RunError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Channel, JsonFramesBothWays) {
  auto [a, b] = channel_pair();
  a.send(wire::FrameType::Step, nlohmann::json{{"step", 3}, {"rank", 1}}, deadline_after(5));
  Frame f = b.recv(deadline_after(5));
  EXPECT_EQ(f.type, wire::FrameType::Step);
  EXPECT_EQ(f.json()["step"], 3);
  b.send(wire::FrameType::Heartbeat, std::string_view(), deadline_after(5));
  Frame hb = a.recv(deadline_after(5));
  EXPECT_EQ(hb.type, wire::FrameType::Heartbeat);
  EXPECT_EQ(hb.payload, "");
}

TEST(Channel, APayloadThatIsNotJsonIsNamed) {
  Frame f{wire::FrameType::Step, "{oops"};
  try {
    f.json();
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: malformed 'step' frame: the payload is not JSON");
  }
}

TEST(Channel, RefusesAnOversizedFrame) {
  auto [a, b] = channel_pair();
  a.send(wire::FrameType::Step, std::string_view(std::string(100, 'x')), deadline_after(5));
  EXPECT_EQ(recv_error(b, 10), "exec: client: refused a frame: 'step' frame of 100 bytes exceeds the 10 byte limit here");
}

TEST(Channel, RefusesAnotherProtocolVersion) {
  auto [a, b] = channel_pair();
  send_raw(a, header(wire::kVersion + 1, 7, 0));
  EXPECT_EQ(recv_error(b), "exec: client: speaks protocol version 3, this build speaks 2 — run the same clustertwin build on "
                           "every node");
}

TEST(Channel, RefusesDataFramesOnAControlConnection) {
  auto [a, b] = channel_pair();
  send_raw(a, header(wire::kVersion, 17, wire::kDataHeaderSize));
  EXPECT_EQ(recv_error(b), "exec: client: refused a 'chunk' frame on a control connection");
}

TEST(Channel, RefusesGarbage) {
  auto [a, b] = channel_pair();
  send_raw(a, "GET / HTTP/1.1\r\n");
  std::string err = recv_error(b);
  EXPECT_EQ(err.rfind("exec: client: refused a frame: ", 0), 0u) << err;
}

TEST(Channel, EndOfConnectionIsPeerLostAndSilenceATimeout) {
  auto [a, b] = channel_pair();
  EXPECT_THROW(b.recv(deadline_after(0.05)), Timeout);
  a.close();
  EXPECT_THROW(b.recv(deadline_after(5)), PeerLost);
}

TEST(Channel, ExpectRethrowsAnErrorFrameAndNamesAWrongType) {
  Channel c(Fd(), "rank 2 (10.0.0.3:7000)");
  Frame error{wire::FrameType::Error, R"({"message":"exec: rank 2: out of memory","kind":"error"})"};
  try {
    c.expect(error, wire::FrameType::Ready);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 2 (10.0.0.3:7000): exec: rank 2: out of memory");
  }
  try {
    c.expect(Frame{wire::FrameType::Done, "{}"}, wire::FrameType::Ready);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()),
              "exec: rank 2 (10.0.0.3:7000): expected a 'ready' frame, got 'done' — protocol out of step");
  }
  EXPECT_NO_THROW(c.expect(Frame{wire::FrameType::Ready, ""}, wire::FrameType::Ready));
}

TEST(FrameReader, AssemblesAFrameArrivingByteByByte) {
  auto [a, b] = channel_pair();
  std::string bytes = wire::encode_frame(wire::FrameType::Hello, R"({"role":"data"})");
  FrameReader reader;
  for (size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_FALSE(reader.read_some(b.fd(), "client")) << "complete after " << i << " bytes";
    send_raw(a, bytes.substr(i, 1));
  }
  ASSERT_TRUE(reader.read_some(b.fd(), "client"));
  Frame f = reader.take();
  EXPECT_EQ(f.type, wire::FrameType::Hello);
  EXPECT_EQ(f.payload, R"({"role":"data"})");
}

TEST(FrameReader, RefusesFramesAboveTheHandshakeBound) {
  auto [a, b] = channel_pair();
  send_raw(a, header(wire::kVersion, 1, 5000));
  FrameReader reader;
  try {
    reader.read_some(b.fd(), "client");
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "'hello' frame of 5000 bytes refused: a handshake frame holds at most 4096 bytes");
  }
  auto [c, d] = channel_pair();
  send_raw(c, header(wire::kVersion, 1, 200));
  FrameReader small(100);
  try {
    small.read_some(d.fd(), "client");
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "'hello' frame of 200 bytes exceeds the 100 byte limit");
  }
}

TEST(FrameReader, RefusesAnotherProtocolVersion) {
  uint8_t bytes[wire::kHeaderSize];
  std::string h = header(1, 1, 10);
  std::copy(h.begin(), h.end(), bytes);
  try {
    decode_handshake_header(bytes);
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()),
              "protocol version 1 refused: this worker speaks version 2 — run the same clustertwin build on every node");
  }
}

// say_hello against accept_hello on two threads: what each side sees.
struct Outcome {
  std::string client_error, server_why;
  std::optional<Hello> accepted;
};
Outcome handshake(const Hello& client, std::string_view server_role, const std::string& server_token) {
  auto [a, b] = channel_pair();
  Outcome o;
  std::thread server([&, &b = b] { o.accepted = accept_hello(b, server_role, server_token, deadline_after(5), o.server_why); });
  try {
    say_hello(a, client, deadline_after(5));
  } catch (const RunError& e) {
    o.client_error = e.what();
  }
  server.join();
  return o;
}

TEST(Hello, BothSidesAgreeOnTheSameToken) {
  Outcome o = handshake({"data", "tok", 4}, "data", "tok");
  EXPECT_EQ(o.client_error, "");
  EXPECT_EQ(o.server_why, "");
  ASSERT_TRUE(o.accepted);
  EXPECT_EQ(o.accepted->role, "data");
  EXPECT_EQ(o.accepted->rank, 4);
  EXPECT_EQ(o.accepted->token, "");  // the token never travels
}

TEST(Hello, AWrongTokenIsRefusedOnBothSides) {
  Outcome o = handshake({"control", "guess", -1}, "control", "secret");
  const std::string why = "wrong run token — this worker serves another run (check --token / CLUSTERTWIN_TOKEN)";
  EXPECT_EQ(o.server_why, why);
  EXPECT_EQ(o.client_error, "exec: server: refused the connection: " + why);
  EXPECT_FALSE(o.accepted);
}

TEST(Hello, AWrongRoleIsRefused) {
  Outcome o = handshake({"data", "tok", 1}, "control", "tok");
  EXPECT_EQ(o.server_why, "expected a 'control' connection, got 'data'");
  EXPECT_EQ(o.client_error, "exec: server: refused the connection: expected a 'control' connection, got 'data'");
}

TEST(Hello, AClientThatSaysNothingTimesOutOnTheServer) {
  auto [a, b] = channel_pair();
  std::string why;
  EXPECT_FALSE(accept_hello(b, "control", "tok", deadline_after(0.05), why));
  EXPECT_EQ(why, "no 'hello' frame within the handshake's time");
}

}  // namespace
}  // namespace clustertwin::exec
